"""minijax.optim.numerics and .utils: bitwise equal to optax, zero gradients at zero,
the saturating counter, and optax's errors."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st
from optax._src import numerics as optax_numerics
from optax._src import utils as optax_utils

import minijax.optim as mo
from minijax.optim import numerics, utils


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64", "int8",
                                   "int32", "int64", "uint8", "uint32"])
def test_safe_increment_counts_and_saturates(dtype: str) -> None:
    with jax.enable_x64(dtype.endswith("64")):
        dt = jnp.dtype(dtype)
        top = jnp.iinfo(dt).max if jnp.issubdtype(dt, jnp.integer) else jnp.finfo(dt).max
        for start in [3, top]:
            x = jnp.asarray(start, dt)
            got = jax.jit(numerics.safe_increment)(x)
            assert got.dtype == dt
            np.testing.assert_array_equal(got, optax.safe_increment(x))
        np.testing.assert_array_equal(numerics.safe_increment(jnp.asarray(top, dt)), top)
    assert mo.safe_int32_increment is numerics.safe_increment


@pytest.mark.parametrize("dtype", [jnp.bool_, jnp.complex64])
def test_safe_increment_refuses_other_dtypes(dtype: Any) -> None:
    with pytest.raises(ValueError, match="integer or floating"):
        numerics.safe_increment(jnp.asarray(1, dtype))


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.0, 1e-3, 1.0, 1e3]),
       ord_axis=st.sampled_from([(None, None), (2, 1), (1, 0), (np.inf, 1), ("fro", None)]),
       keepdims=st.booleans(), min_norm=st.sampled_from([0.0, 0.5]))
def test_safe_norm_is_bitwise_optax_with_zero_gradient_at_zero(
    seed: int, scale: float, ord_axis: Any, keepdims: bool, min_norm: float
) -> None:
    ord_, axis = ord_axis
    x = jnp.asarray(np.random.default_rng(seed).normal(size=(3, 4)) * scale, jnp.float32)
    f = lambda v: numerics.safe_norm(v, min_norm, ord_, axis, keepdims)
    ref = lambda v: optax.safe_norm(v, min_norm, ord_, axis, keepdims)
    np.testing.assert_array_equal(f(x), ref(x))
    np.testing.assert_array_equal(jax.jacfwd(f)(x), jax.jacfwd(ref)(x))
    g = jax.jacfwd(f)(jnp.zeros((3, 4)))
    np.testing.assert_array_equal(g, jnp.zeros_like(g))  # not NaN
    naive = jax.jacfwd(lambda v: jnp.maximum(jnp.linalg.norm(v), min_norm))(jnp.zeros(3))
    assert np.isnan(naive).all()  # what the safe version avoids


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([0.0, 1e-3, 1.0]))
def test_safe_rms_and_abs_sq_are_bitwise_optax(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    x = jnp.asarray(rng.normal(size=5) * scale, jnp.float32)
    z = jnp.asarray((rng.normal(size=5) + 1j * rng.normal(size=5)) * scale, jnp.complex64)
    for m in [0.0, 0.1]:
        np.testing.assert_array_equal(numerics.safe_root_mean_squares(x, m),
                                      optax.safe_root_mean_squares(x, m))
        np.testing.assert_array_equal(jax.grad(numerics.safe_root_mean_squares)(x, m),
                                      jax.grad(optax.safe_root_mean_squares)(x, m))
    np.testing.assert_array_equal(jax.grad(numerics.safe_root_mean_squares)(jnp.zeros(3), 0.0),
                                  jnp.zeros(3))
    np.testing.assert_array_equal(numerics.abs_sq(z), optax_numerics.abs_sq(z))
    assert numerics.abs_sq(z).dtype == jnp.float32
    with pytest.raises(ValueError, match=r"jnp\.asarray"):
        numerics.abs_sq(3.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("scale", [-0.5, 0.0, 0.5, 1.0, 2.0])
def test_scale_gradient(scale: float) -> None:
    inputs = {"a": -1.0, "b": {"c": (2.0,), "d": 0.0}}
    f = lambda t: sum(jax.tree.leaves(jax.tree.map(lambda x: x**2, utils.scale_gradient(t, scale))))
    grads = jax.grad(f)(inputs)
    ref = jax.grad(lambda t: sum(jax.tree.leaves(
        jax.tree.map(lambda x: x**2, optax.scale_gradient(t, scale)))))(inputs)
    for i, g, r in zip(jax.tree.leaves(inputs), jax.tree.leaves(grads), jax.tree.leaves(ref),
                       strict=True):
        assert g == 2 * i * scale == r
    assert f(inputs) == 5.0  # the forward pass is the identity
    assert mo.scale_gradient is utils.scale_gradient


def test_x64_precision_restores_the_mode() -> None:
    before = jax.config.read("jax_enable_x64")
    with utils.x64_precision(True):
        assert jnp.asarray(1.0).dtype == jnp.float64
        with utils.x64_precision(False):
            assert jnp.asarray(1.0).dtype == jnp.float32
        assert jnp.asarray(1.0).dtype == jnp.float64
    assert jax.config.read("jax_enable_x64") == before


def test_small_utilities_as_optax() -> None:
    a = jnp.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(utils.tile_second_to_last_dim(a),
                                  optax_utils.tile_second_to_last_dim(a))
    m, d = jnp.zeros((2, 3, 3)), jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(utils.set_diags(m, d), optax_utils.set_diags(m, d))
    with pytest.raises(ValueError, match="new_diags"):
        utils.set_diags(m, jnp.ones((2, 4)))
    assert utils.canonicalize_dtype(jnp.bfloat16) is optax_utils.canonicalize_dtype(jnp.bfloat16)
    assert utils.canonicalize_dtype(None) is None
    key = utils.canonicalize_key(3)
    assert utils.canonicalize_key(key) is key
    with pytest.raises(TypeError, match="subdtype"):
        utils.check_subdtype(jnp.ones(2), jnp.integer)
    with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
        utils.check_shapes_equal(jnp.ones(2), jnp.ones(3))
    with pytest.raises(ValueError, match="rank 3"):
        utils.check_rank(jnp.ones(2), 3)
    assert utils.cast_tree(a, jnp.float32).dtype == jnp.float32


def test_multi_normal_as_optax() -> None:
    loc, log_scale = jnp.array([0.5, -1.0]), jnp.array([0.1, -0.2])
    mine, ref = mo.multi_normal(loc, log_scale), optax.multi_normal(loc, log_scale)
    key = jax.random.key(1)
    np.testing.assert_array_equal(mine.sample((4,), key), ref.sample((4,), key))
    x = jnp.array([[0.3, 0.2]])
    np.testing.assert_array_equal(mine.log_prob(x), ref.log_prob(x))
    assert [p.shape for p in mine.params] == [(2,), (2,)]
    np.testing.assert_array_equal(mine.log_scale, log_scale)
    with pytest.raises(ValueError):
        mo.multi_normal(jnp.zeros(3), jnp.zeros(2))
