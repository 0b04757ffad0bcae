"""The Hypothesis strategies produce what they promise."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.testing.strategies as mst


@given(mst.shapes())
def test_default_shapes_are_small(shape: tuple[int, ...]) -> None:
    assert len(shape) <= 2
    assert all(1 <= side <= 3 for side in shape)


@given(
    st.data(),
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_shapes_within_bounds(
    data: st.DataObject, min_dims: int, extra_dims: int, min_side: int, extra_side: int
) -> None:
    max_dims, max_side = min_dims + extra_dims, min_side + extra_side
    shape = data.draw(
        mst.shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)
    )
    assert min_dims <= len(shape) <= max_dims
    assert all(min_side <= side <= max_side for side in shape)


def test_shapes_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError):
        mst.shapes(min_dims=3, max_dims=1)
    with pytest.raises(ValueError):
        mst.shapes(min_side=4, max_side=2)


@given(mst.float_arrays())
def test_default_float_arrays(x: jax.Array) -> None:
    assert isinstance(x, jax.Array)
    assert x.dtype == jnp.float32
    assert x.ndim <= 2 and all(1 <= s <= 3 for s in x.shape)
    v = np.asarray(x)  # NumPy checks: jnp ops would compile once per shape
    assert np.all(np.isfinite(v))
    assert np.all((v >= -2.0) & (v <= 2.0))


@given(
    mst.float_arrays((4, 3), min_value=-3.0, max_value=5.0, away_from=(0.0, 1.0, 4.9), margin=0.25)
)
def test_float_arrays_in_range_and_away_from_kinks(x: jax.Array) -> None:
    assert x.shape == (4, 3)
    v = np.asarray(x, np.float64)
    assert np.all((v >= -3.0) & (v <= 5.0))
    for kink in (0.0, 1.0, 4.9):
        assert np.all(np.abs(v - kink) >= 0.25)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@given(data=st.data())
def test_float_arrays_dtypes(dtype: str, data: st.DataObject) -> None:
    x = data.draw(mst.float_arrays(5, dtype=dtype, away_from=(0.0,), margin=0.05, as_numpy=True))
    assert isinstance(x, np.ndarray)
    assert x.dtype == jnp.dtype(dtype)
    assert x.shape == (5,)
    v = x.astype(np.float64)
    # the bounds hold after rounding to the dtype
    assert np.all(np.abs(v) >= 0.05) and np.all(np.abs(v) <= 2.0)


@given(data=st.data())
def test_float64_jax_arrays_under_x64(data: st.DataObject) -> None:
    with jax.enable_x64(True):
        x = data.draw(mst.float_arrays(3, dtype=jnp.float64))
        assert isinstance(x, jax.Array) and x.dtype == jnp.float64


@given(data=st.data())
def test_float64_jax_arrays_without_x64_raise(data: st.DataObject) -> None:
    with pytest.raises(ValueError, match="jax_enable_x64"):
        data.draw(mst.float_arrays(3, dtype=jnp.float64))


@given(mst.float_arrays(mst.shapes(min_dims=1, max_dims=1, min_side=2, max_side=4)))
def test_float_arrays_take_a_shape_strategy(x: jax.Array) -> None:
    assert x.ndim == 1 and 2 <= x.shape[0] <= 4


def test_allowed_intervals() -> None:
    assert mst.allowed_intervals(-1.0, 1.0, (0.0,), 0.1) == [(-1.0, -0.1), (0.1, 1.0)]
    assert mst.allowed_intervals(0.0, 1.0, (5.0,), 0.1) == [(0.0, 1.0)]
    assert mst.allowed_intervals(0.0, 1.0, (0.0,), 0.25) == [(0.25, 1.0)]
    with pytest.raises(ValueError, match="no value"):
        mst.allowed_intervals(-0.1, 0.1, (0.0,), 0.5)
    with pytest.raises(ValueError, match="dtype"):
        mst.float_arrays(3, dtype=jnp.int32)


@given(mst.pytrees_of_arrays(max_leaves=4))
def test_pytrees_of_arrays(tree: object) -> None:
    leaves = jax.tree.leaves(tree)
    assert 1 <= len(leaves) <= 4
    assert all(isinstance(leaf, jax.Array) and leaf.dtype == jnp.float32 for leaf in leaves)
    # round trip through flatten/unflatten
    rebuilt = jax.tree.unflatten(jax.tree.structure(tree), leaves)
    assert jax.tree.structure(rebuilt) == jax.tree.structure(tree)


@given(mst.pytrees_of_arrays(mst.float_arrays(2, min_value=0.5, max_value=1.0)))
def test_pytrees_of_arrays_use_the_leaf_strategy(tree: object) -> None:
    for leaf in jax.tree.leaves(tree):
        assert leaf.shape == (2,) and np.all(np.asarray(leaf) >= 0.5)


@given(mst.prng_keys(), mst.prng_keys(raw=True))
def test_prng_keys(key: jax.Array, raw: jax.Array) -> None:
    assert jnp.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ()
    assert raw.dtype == jnp.uint32 and raw.shape == (2,)
    jax.random.normal(key, (2,))  # usable


@given(mst.seeds())
def test_seeds(seed: int) -> None:
    assert isinstance(seed, int) and 0 <= seed < 2**32


@given(mst.learning_rates(), mst.learning_rates(1e-3, 1e-3))
def test_learning_rates(lr: float, fixed: float) -> None:
    assert 1e-4 <= lr <= 1e-1
    assert fixed == pytest.approx(1e-3)


@given(mst.probabilities(), mst.batch_sizes(), mst.float_dtypes(low_precision=True))
def test_small_value_strategies(p: float, batch: int, dtype: np.dtype) -> None:
    assert 0.0 <= p <= 0.9
    assert 1 <= batch <= 4
    assert dtype.name in {"float16", "bfloat16", "float32", "float64"}


def test_value_strategies_reject_bad_bounds() -> None:
    with pytest.raises(ValueError):
        mst.learning_rates(0.0, 1.0)
    with pytest.raises(ValueError):
        mst.probabilities(0.5, 1.5)
