"""Einsum, DenseGeneral(batch_dims=), and dot_general / dot_general_cls / promote_dtype on
Dense and DenseGeneral: bitwise equal to flax (init and apply), gradient checks, errors."""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import check_layer_grads
from jax import lax

import minijax.nn as mnn

KEY = jax.random.key(0)


def normal(seed: int, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.normal(jax.random.key(seed), shape)


def assert_same(ours: Any, theirs: Any) -> None:
    a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(a) == len(b) and len(a) > 0
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


def both(name: str, args: tuple[Any, ...], call: dict[str, Any] | None = None, **kw: Any) -> Any:
    call = call or {}
    ours, theirs = getattr(mnn, name)(**kw), getattr(fnn, name)(**kw)
    for seed in (0, 5):
        v_ours = ours.init(jax.random.key(seed), *args, **call)
        v_theirs = theirs.init(jax.random.key(seed), *args, **call)
        assert_same(v_ours, v_theirs)
        v = jax.tree.map(lambda p: p + normal(9, p.shape).astype(p.dtype), v_theirs)
        assert_same(ours.apply(v, *args, **call), theirs.apply(v, *args, **call))
    return ours, v_ours


EINSUM = {
    "btd,dnh->btnh": ((4, 2, 3), (5, 7, 4)),
    "bd,df->bf": ((4, 6), (3, 4)),
    "bnd,nde->bne": ((3, 4, 2), (2, 3, 4)),  # the kernel's n is also the input's: batched
    "...d,dnh->...nh": ((4, 2, 3), (2, 5, 4)),
    "btd,dh->bth": ((4, 3), (2, 5, 4)),
    "bd,de->eb": ((4, 3), (2, 4)),  # the bias on a non-final axis
    # '...' in the kernel too: one ellipsis shared by both operands, aligned on the right
    "d...ab,bc...->ad...c": ((4, 5, 6, 7), (8, 6, 7, 3, 4)),
    "a...d,ej...f->adef": ((7, 4, 5, 8), (3, 4, 5, 6)),
    "ab...d,ej...f->ad...f": ((7, 4, 5, 8), (3, 4, 5, 6)),
}


@pytest.mark.parity
@pytest.mark.parametrize("equation", list(EINSUM))
@pytest.mark.parametrize("use_bias", [True, False])
def test_einsum_bitwise_equal_flax(equation: str, use_bias: bool) -> None:
    shape, x_shape = EINSUM[equation]
    both("Einsum", (normal(1, x_shape),), shape=shape, einsum_str=equation, use_bias=use_bias)


@pytest.mark.parity
def test_einsum_string_at_call_and_dtypes() -> None:
    x = normal(1, (2, 3, 4))
    both("Einsum", (x,), call={"einsum_str": "btd,dh->bth"}, shape=(4, 5))
    both(
        "Einsum",
        (x.astype(jnp.bfloat16),),
        shape=(4, 5),
        einsum_str="btd,dh->bth",
        param_dtype=jnp.bfloat16,
        preferred_element_type=jnp.float32,
    )


@pytest.mark.parity
@pytest.mark.parametrize(
    "kwargs,x_shape",
    [
        ({"features": 5, "batch_dims": (0,)}, (3, 4, 6)),
        ({"features": (2, 3), "axis": -1, "batch_dims": (0,)}, (3, 4, 6)),
        ({"features": 4, "axis": (-2, -1), "batch_dims": (0, 1)}, (2, 3, 4, 5)),
        ({"features": 4, "axis": 2, "batch_dims": (0,)}, (2, 3, 4, 5)),
        ({"features": (2, 2), "axis": (1, 2), "batch_dims": (0,), "use_bias": False}, (2, 3, 4)),
        ({"features": 3, "axis": (0, 2)}, (2, 3, 4)),
    ],
)
def test_dense_general_batch_dims_bitwise_equal_flax(kwargs: dict[str, Any], x_shape: Any) -> None:
    both("DenseGeneral", (normal(2, x_shape),), **kwargs)


@pytest.mark.parity
def test_dense_general_reshapes_boxed_initializers_as_flax() -> None:
    """An initializer wrapped in `with_logical_partitioning` returns a box of the flat
    shape: DenseGeneral reshapes the value inside the box and keeps the names (flax's
    lm1b example names the attention kernels this way)."""
    x = normal(3, (2, 4, 6))

    def build(lib: Any) -> Any:
        return lib.DenseGeneral(
            (2, 3), axis=-1,
            kernel_init=lib.with_logical_partitioning(
                lib.initializers.lecun_normal(), ("embed", "kv")),
            bias_init=lib.with_logical_partitioning(lib.initializers.normal(0.1), ("kv",)))

    v_ours = build(mnn).init(KEY, x)
    v_theirs = build(fnn).init(KEY, x)
    for name, names in (("kernel", ("embed", "kv")), ("bias", ("kv",))):
        ours, theirs = v_ours["params"][name], v_theirs["params"][name]
        assert isinstance(ours, mnn.LogicallyPartitioned)
        assert tuple(ours.names) == tuple(theirs.names) == names
        np.testing.assert_array_equal(ours.unbox(), theirs.unbox())
    assert v_ours["params"]["kernel"].unbox().shape == (6, 2, 3)
    np.testing.assert_array_equal(build(mnn).apply(v_ours, x), build(fnn).apply(v_theirs, x))


def _scaled_dot(lhs: Any, rhs: Any, dims: Any, precision: Any = None, **kw: Any) -> Any:
    return 2.0 * lax.dot_general(lhs, rhs, dims, precision=precision, **kw)


class _CountingDot:
    """A dot_general_cls: each instance is a matmul (here: with its inputs rounded)."""

    def __call__(self, lhs: Any, rhs: Any, dims: Any, precision: Any = None, **kw: Any) -> Any:
        return lax.dot_general(jnp.round(lhs, 1), rhs, dims, precision=precision, **kw)


def _promote_to_bf16(*args: Any, dtype: Any = None, inexact: bool = True) -> list[Any]:
    return [None if a is None else jnp.asarray(a, jnp.bfloat16) for a in args]


@pytest.mark.parity
@pytest.mark.parametrize("layer", ["Dense", "DenseGeneral"])
@pytest.mark.parametrize(
    "option",
    [
        {"dot_general": _scaled_dot},
        {"dot_general_cls": _CountingDot},
        {"dot_general": _scaled_dot, "dot_general_cls": _CountingDot},  # the class wins
        {"promote_dtype": _promote_to_bf16},
    ],
    ids=["dot_general", "dot_general_cls", "both", "promote_dtype"],
)
def test_dot_general_options_bitwise_equal_flax(layer: str, option: dict[str, Any]) -> None:
    x = normal(3, (2, 3, 4))
    ours, variables = both(layer, (x,), features=3, **option)
    plain = getattr(mnn, layer)(features=3).apply(variables, x)
    assert not np.array_equal(ours.apply(variables, x), plain)  # the option was used


@pytest.mark.parametrize(
    "build,x_shape",
    [
        (lambda: mnn.Einsum((4, 2, 3), "btd,dnh->btnh"), (2, 3, 4)),
        (lambda: mnn.Einsum((4, 3), "...d,dh->...h"), (2, 4)),
        (lambda: mnn.DenseGeneral((2, 2), axis=-1, batch_dims=(0,)), (3, 2, 4)),
        (lambda: mnn.Dense(3, dot_general=_scaled_dot), (2, 4)),
    ],
)
def test_gradients(build: Any, x_shape: tuple[int, ...]) -> None:
    layer, x = build(), normal(4, x_shape)
    check_layer_grads(layer, layer.init(KEY, x), x)


def test_bad_arguments_name_the_problem() -> None:
    x = normal(1, (2, 3, 4))
    with pytest.raises(ValueError, match=r"must be explicit and include \"->\". Got .btd,dh."):
        mnn.Einsum((4, 5), "btd,dh").init(KEY, x)
    with pytest.raises(ValueError, match=r"exactly two operands .* instead of 2"):
        mnn.Einsum((4, 5), "btd,dh,hk->btk").init(KEY, x)
    with pytest.raises(ValueError, match=r"names 3 axes, but shape=\(4, 5\) has 2"):
        mnn.Einsum((4, 5), "btd,dhk->bthk").init(KEY, x)
    with pytest.raises(ValueError, match=r"batch_dims=\(1,\) must be the leading axes"):
        mnn.DenseGeneral(3, batch_dims=(1,)).init(KEY, x)
    with pytest.raises(ValueError, match=r"share an axis"):
        mnn.DenseGeneral(3, axis=0, batch_dims=(0,)).init(KEY, x)
