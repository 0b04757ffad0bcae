"""minijax.optim.tree / tree_utils: bitwise equal to optax.tree on drawn trees, one
implementation behind the short and the older names, optax's None leaves."""

import contextlib
from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.optim as mo
from minijax.optim import tree, tree_utils

DTYPES = [np.float32, np.float64, jnp.bfloat16]


@st.composite
def tree_pair(draw: Any, complex_ok: bool = False) -> tuple[Any, Any, Any]:
    """A dtype and two NumPy trees of one structure (a dict with a nested tuple), made
    jax arrays by `as_jax` (inside float64 mode for float64)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from(DTYPES))
    shapes = draw(st.sampled_from([((3,), (2, 2), ()), ((1,), (4,), (2, 3))]))

    def leaf(shape: tuple[int, ...]) -> Any:
        x = rng.normal(size=shape) * draw(st.sampled_from([1.0, 1e-3, 1e3]))
        if complex_ok and draw(st.booleans()):
            return (x + 1j * rng.normal(size=shape)).astype(np.complex64)
        return x

    def one() -> Any:
        a, b, c = (leaf(s) for s in shapes)
        return {"w": a, "sub": (b, c)}

    return dtype, one(), one()


@contextlib.contextmanager
def as_jax(drawn: tuple[Any, Any, Any]) -> Iterator[tuple[Any, Any]]:
    dtype, x, y = drawn
    cast = lambda t: jax.tree.map(
        lambda a: jnp.asarray(a) if np.iscomplexobj(a) else jnp.asarray(a, dtype), t)
    with jax.enable_x64(dtype is np.float64):
        yield cast(x), cast(y)


def same(a: Any, b: Any) -> None:
    """Same structure (optax's states are other classes of the same names), dtypes, bits."""
    assert str(jax.tree.structure(a)) == str(jax.tree.structure(b))  # class names too
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        x, y = jnp.asarray(x), jnp.asarray(y)
        assert x.dtype == y.dtype
        if x.dtype == jnp.bfloat16:
            x, y = x.astype(jnp.float32), y.astype(jnp.float32)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# Every short name of optax.tree, with its older tree_utils name.
SHORT_TO_OLD = {
    name: f"tree_{name}" for name in [
        "add", "add_scale", "allclose", "batch_shape", "bias_correction", "cast",
        "cast_like", "clip", "conj", "div", "dtype", "full_like", "get",
        "get_all_with_path", "map_params", "max", "min", "mul", "norm", "ones_like",
        "random_like", "real", "scale", "set", "size", "split_key_like", "sub", "sum",
        "unwrap_random_key_data", "update_infinity_moment", "update_moment",
        "update_moment_per_elem_norm", "vdot", "where", "zeros_like",
    ]
}


def test_every_optax_tree_name_is_there_once() -> None:
    optax_short = {n for n in dir(optax.tree) if not n.startswith("_")}
    assert optax_short <= set(tree.__all__)
    for short, old in SHORT_TO_OLD.items():
        assert getattr(tree, short) is getattr(tree_utils, old), short
    optax_old = {n for n in dir(optax.tree_utils) if n.startswith("tree_")}
    older = {"NamedTupleKey", "tree_l2_norm", "tree_scalar_mul"}  # optax's deprecated names too
    assert optax_old | older <= set(tree_utils.__all__)
    assert mo.tree_utils is tree_utils
    assert mo.update_moment is tree.update_moment
    assert mo.bias_correction is tree.bias_correction


@pytest.mark.parity
@given(xy=tree_pair(complex_ok=True), s=st.sampled_from([0.5, -3.0, 1e-3]))
def test_leafwise_arithmetic_is_bitwise_optax(xy: Any, s: float) -> None:
    with as_jax(xy) as (x, y):
        leafwise_arithmetic(x, y, s)


def leafwise_arithmetic(x: Any, y: Any, s: float) -> None:
    for name in ["add", "sub", "mul", "div"]:
        same(getattr(tree, name)(x, y), getattr(optax.tree, name)(x, y))
    same(tree.add(x, y, x), optax.tree.add(x, y, x))
    same(tree.scale(s, x), optax.tree.scale(s, x))
    same(tree.add_scale(x, s, y), optax.tree.add_scale(x, s, y))
    for name in ["conj", "real", "zeros_like", "ones_like"]:
        same(getattr(tree, name)(x), getattr(optax.tree, name)(x))
    same(tree.full_like(x, s), optax.tree.full_like(x, s))
    same(tree.where(True, x, y), optax.tree.where(True, x, y))
    same(tree.batch_shape(x, (2,)), optax.tree.batch_shape(x, (2,)))


@pytest.mark.parity
@given(xy=tree_pair(), lo=st.sampled_from([None, -0.5]), hi=st.sampled_from([None, 0.5]))
def test_reductions_and_clip_are_bitwise_optax(xy: Any, lo: Any, hi: Any) -> None:
    with as_jax(xy) as (x, y):
        reductions_and_clip(x, y, lo, hi)


def reductions_and_clip(x: Any, y: Any, lo: Any, hi: Any) -> None:
    same(tree.clip(x, lo, hi), optax.tree.clip(x, lo, hi))
    for name in ["sum", "max", "min"]:
        same(getattr(tree, name)(x), getattr(optax.tree, name)(x))
    same(tree.vdot(x, y), optax.tree.vdot(x, y))
    for ord_ in [None, 1, 2, jnp.inf, "inf"]:
        for squared in [False, True]:
            same(tree.norm(x, ord_, squared), optax.tree.norm(x, ord_, squared))
    assert tree.size(x) == optax.tree.size(x)
    assert bool(tree.allclose(x, y)) == bool(optax.tree.allclose(x, y))
    same(tree_utils.tree_l1_norm(x), optax.tree.norm(x, ord=1))
    same(tree_utils.tree_linf_norm(x), optax.tree.norm(x, ord="inf"))


@pytest.mark.parity
@given(xy=tree_pair(complex_ok=True), decay=st.sampled_from([0.9, 0.999]),
       order=st.sampled_from([1, 2, 3]), count=st.integers(1, 100))
def test_moments_are_bitwise_optax(xy: Any, decay: float, order: int, count: int) -> None:
    with as_jax(xy) as (g, m):
        moments(g, m, decay, order, count)


def moments(g: Any, m: Any, decay: float, order: int, count: int) -> None:
    real = tree.real(g)
    same(tree.update_moment(real, m, decay, order), optax.tree.update_moment(real, m, decay, order))
    same(tree.update_moment_per_elem_norm(g, tree.real(m), decay, order),
         optax.tree.update_moment_per_elem_norm(g, tree.real(m), decay, order))
    same(tree.update_infinity_moment(real, tree.real(m), decay, 1e-8),
         optax.tree.update_infinity_moment(real, tree.real(m), decay, 1e-8))
    n = jnp.asarray(count, jnp.int32)
    same(tree.bias_correction(real, decay, n), optax.tree.bias_correction(real, decay, n))


def test_empty_reductions_as_optax() -> None:
    empty = {"a": jnp.zeros((0,))}
    assert tree.max(empty) == optax.tree.max(empty) == -jnp.inf
    assert tree.min({}) == optax.tree.min({}) == jnp.inf
    assert tree.sum({}) == optax.tree.sum({}) == 0
    with pytest.raises(ValueError, match="ord"):
        tree.norm(empty, ord=3)


def test_none_leaves_as_optax() -> None:
    g = {"a": None, "b": jnp.ones(2)}
    m = {"a": None, "b": jnp.zeros(2)}
    for name in ["update_moment", "update_infinity_moment"]:
        args = (g, m, 0.9, 2 if name == "update_moment" else 1e-8)
        same(getattr(tree, name)(*args), getattr(optax.tree, name)(*args))
        assert getattr(tree, name)(*args)["a"] is None
    assert tree.add_scale(g, 2.0, m)["a"] is None


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bfloat16, None])
def test_casting_as_optax(dtype: Any) -> None:
    x = {"a": jnp.array([1.7, -2.2]), "b": (jnp.array(3, jnp.int8),)}
    same(tree.cast(x, dtype), optax.tree.cast(x, dtype))
    like = {"a": jnp.zeros(2, jnp.float16), "b": (1.0,)}  # a Python float has no dtype
    same(tree.cast_like(x, like), optax.tree.cast_like(x, like))
    mixed = {"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1, jnp.float32)}
    for handler in ["promote", "highest", "lowest"]:
        assert tree.dtype(mixed, handler) == optax.tree.dtype(mixed, handler)
    with pytest.raises(ValueError, match=r"\['b'\]"):
        tree.dtype(mixed)
    with pytest.raises(ValueError, match="mixed_dtype_handler"):
        tree.dtype(mixed, "largest")


@pytest.mark.parity
@pytest.mark.parametrize("sampler, dtype", [(jax.random.normal, None),
                                            (jax.random.normal, jnp.bfloat16),
                                            (jax.random.rademacher, jnp.int32)])
def test_random_trees_are_bitwise_optax(sampler: Any, dtype: Any) -> None:
    target = {"w": jnp.zeros((2, 3)), "b": (jnp.zeros(4),)}
    key = jax.random.key(3)
    same(tree.random_like(key, target, sampler, dtype),
         optax.tree.random_like(key, target, sampler, dtype))
    keys, ref = tree.split_key_like(key, target), optax.tree.split_key_like(key, target)
    same(tree.unwrap_random_key_data(keys), optax.tree.unwrap_random_key_data(ref))


class Inner(NamedTuple):
    count: Any
    mu: Any


def test_get_set_and_paths_as_optax() -> None:
    state = (Inner(jnp.int32(1), {"w": jnp.ones(2)}), {"count": jnp.int32(7), "lr": 0.1})
    for key in ["count", "mu", "lr", "Inner", "nothing"]:
        mine = tree.get_all_with_path(state, key)
        ref = optax.tree.get_all_with_path(state, key)
        assert [jax.tree_util.keystr(p) for p, _ in mine] == \
            [jax.tree_util.keystr(p) for p, _ in ref]
        assert [str(p[-1]) for p, _ in mine if p] == [str(p[-1]) for p, _ in ref if p]
    with pytest.raises(KeyError, match="multiple"):
        tree.get(state, "count")
    is_inner = lambda path, value: isinstance(path[-1], tree_utils.NamedTupleKey)
    assert tree.get(state, "count", filtering=is_inner) == 1
    assert tree.get(state, "nothing", default=5) == 5
    new = tree.set(state, is_inner, count=jnp.int32(9))
    ref = optax.tree.set(state, lambda p, v: isinstance(p[-1], optax.tree_utils.NamedTupleKey),
                         count=jnp.int32(9))
    same(new, ref)
    assert int(new[0].count) == 9 and int(new[1]["count"]) == 7
    same(tree.set(state, Inner=Inner(0, 0)), optax.tree.set(state, Inner=Inner(0, 0)))
    with pytest.raises(KeyError, match="nothing"):
        tree.set(state, nothing=1)


def test_map_params_as_optax() -> None:
    params = {"w": jnp.ones(3), "b": jnp.zeros(2)}
    pairs = [(mo.adam(1e-3), optax.adam(1e-3)), (mo.sgd(0.1, 0.9), optax.sgd(0.1, 0.9))]
    for opt, ref_opt in pairs:
        mapped = tree.map_params(opt, lambda p: p + 1.0, opt.init(params),
                                 transform_non_params=lambda v: v * 0 - 1)
        ref = optax.tree.map_params(ref_opt, lambda p: p + 1.0, ref_opt.init(params),
                                    transform_non_params=lambda v: v * 0 - 1)
        same(mapped, ref)
        assert int(tree.get(mapped, "count", default=-1)) == -1  # a counter is not a param


def test_apply_updates_none_as_optax() -> None:
    x = jnp.array([1.0, 2.0, 3.0])
    assert mo.apply_updates(None, x) is None is optax.apply_updates(None, x)
    params = {"frozen": None, "w": jnp.ones(2, jnp.bfloat16)}
    updates = {"frozen": {"anything": x}, "w": jnp.ones(2)}
    same(mo.apply_updates(params, updates), optax.apply_updates(params, updates))
    with pytest.raises(TypeError, match=r"updates\['w'\].*None"):
        mo.apply_updates(params, {"frozen": None, "w": None})
    tx = mo.add_decayed_weights(1e-2)
    assert tx.update(None, tx.init(x), x)[0] is None
