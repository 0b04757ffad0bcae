"""The course's own property tests for A5: they catch every planted bug of A5's tasks."""

from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given

import minijax.nn as nn


def _x(shape: tuple[int, ...], seed: int, loc: float = 0.0) -> jax.Array:
    return jnp.asarray(np.random.default_rng(seed).normal(loc, 2.0, size=shape), jnp.float32)


def _set(variables: Any, **params: Any) -> Any:
    return {**variables, "params": {**variables["params"], **params}}


@given(st.integers(1, 3), st.integers(0, 50))
def test_a5p_conv_with_a_zero_kernel_is_its_bias(features: int, seed: int) -> None:
    x = _x((2, 5, 2), seed)
    layer = nn.Conv(features, (3,))
    v = layer.init(jax.random.key(0), x)
    b = jnp.arange(1.0, features + 1)
    y = layer.apply(_set(v, kernel=jnp.zeros_like(v["params"]["kernel"]), bias=b), x)
    np.testing.assert_allclose(y, jnp.broadcast_to(b, y.shape), err_msg="0 * x + b")


def test_a5p_conv_mask_zero_removes_the_kernel() -> None:
    x = _x((1, 4, 2), 0)
    layer = nn.Conv(2, (2,), mask=jnp.zeros((2, 2, 2)))
    v = layer.init(jax.random.key(0), x)
    np.testing.assert_allclose(layer.apply(v, x), 0.0, atol=1e-6, err_msg="masked conv")


@given(st.integers(0, 50), st.floats(-5.0, 5.0))
def test_a5p_layernorm_standardizes_each_row(seed: int, loc: float) -> None:
    x = _x((3, 6), seed, loc)
    layer = nn.LayerNorm(epsilon=1e-6)
    y = np.asarray(layer.apply(layer.init(jax.random.key(0), x), x))
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-4, err_msg="mean 0")
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-3, err_msg="variance 1")


def test_a5p_layernorm_of_a_constant_is_its_bias() -> None:
    x = jnp.full((2, 4), 3.0)
    layer = nn.LayerNorm()
    v = layer.init(jax.random.key(0), x)
    y = layer.apply(_set(v, bias=jnp.ones(4)), x)
    np.testing.assert_allclose(y, 1.0, atol=1e-5, err_msg="a constant row normalizes to 0")


@given(st.floats(0.5, 0.99), st.integers(0, 50))
def test_a5p_batchnorm_running_averages(momentum: float, seed: int) -> None:
    x = _x((16, 3), seed, 3.0)
    layer = nn.BatchNorm(use_running_average=False, momentum=momentum)
    v = layer.init(jax.random.key(0), x)
    _, new = layer.apply(v, x, mutable=["batch_stats"])
    xs = np.asarray(x)
    np.testing.assert_allclose(new["batch_stats"]["mean"], (1 - momentum) * xs.mean(0),
                               rtol=1e-4, atol=1e-5, err_msg="mean moves by 1 - momentum")
    np.testing.assert_allclose(new["batch_stats"]["var"],
                               momentum + (1 - momentum) * xs.var(0), rtol=1e-4,
                               err_msg="var moves by 1 - momentum")


def test_a5p_batchnorm_eval_uses_the_running_statistics() -> None:
    x = _x((8, 3), 1, 4.0)
    layer = nn.BatchNorm(use_running_average=True, epsilon=0.0)
    v = layer.init(jax.random.key(0), x)
    np.testing.assert_allclose(layer.apply(v, x), x, rtol=1e-5, atol=1e-5,
                               err_msg="mean 0, var 1 statistics leave x unchanged")


@given(st.sampled_from([0.2, 0.5, 0.7]), st.integers(0, 50))
def test_a5p_dropout_keeps_one_minus_rate_and_rescales(rate: float, seed: int) -> None:
    x = jnp.ones((2000,))
    y = np.asarray(nn.Dropout(rate).apply({}, x, deterministic=False,
                                          rngs={"dropout": jax.random.key(seed)}))
    kept = y[y != 0]
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-5, err_msg="rescaled")
    assert abs(kept.size / 2000 - (1 - rate)) < 0.05, f"kept {kept.size / 2000}"


def test_a5p_dropout_broadcast_dims_share_the_mask() -> None:
    y = np.asarray(nn.Dropout(0.5, broadcast_dims=(0,)).apply(
        {}, jnp.ones((5, 40)), deterministic=False, rngs={"dropout": jax.random.key(0)}))
    assert (y == y[:1]).all(), "rows differ with broadcast_dims=(0,)"


@given(st.integers(0, 50))
def test_a5p_pooling_is_per_example_and_strided(seed: int) -> None:
    x = _x((3, 4, 4, 2), seed)
    y = nn.avg_pool(x, (2, 2), strides=(2, 2))
    assert y.shape == (3, 2, 2, 2), f"shape {y.shape}"
    one = nn.avg_pool(x[1:2], (2, 2), strides=(2, 2))
    np.testing.assert_allclose(y[1:2], one, rtol=1e-6, err_msg="examples pooled apart")
    np.testing.assert_allclose(y.mean(), x.mean(), rtol=1e-4, atol=1e-6,
                               err_msg="non-overlapping windows keep the mean")


def test_a5p_embed_returns_table_rows() -> None:
    layer = nn.Embed(5, 3)
    ids = jnp.array([[1, 4], [0, 0]])
    v = layer.init(jax.random.key(0), ids)
    out = layer.apply(v, ids)
    np.testing.assert_array_equal(out, v["params"]["embedding"][ids], err_msg="rows")
