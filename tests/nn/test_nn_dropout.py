"""Dropout: rate statistics, 1/(1-rate) scaling, edge cases, keys, gradients."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings

import minijax.nn as nn
from minijax.testing import check_grads, on_device

X = jnp.ones((200, 100))
KEY = jax.random.key(0)


@settings(max_examples=5)
@given(rate=st.sampled_from([0.1, 0.5, 0.8]), seed=st.integers(0, 1000))
def test_drops_about_rate_and_rescales(rate: float, seed: int) -> None:
    y = nn.Dropout(rate).apply({}, X, deterministic=False, rngs={"dropout": jax.random.key(seed)})
    dropped = float(jnp.mean(y == 0))
    # 20 000 Bernoulli draws: the std of the fraction is <= 0.0036
    assert abs(dropped - rate) < 0.02
    kept = np.asarray(y[y != 0])
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-6)
    assert abs(float(y.mean()) - 1.0) < 0.1  # unbiased


def test_edge_cases_and_deterministic() -> None:
    rngs = {"dropout": KEY}
    np.testing.assert_array_equal(nn.Dropout(0.0).apply({}, X, False, rngs=rngs), X)
    np.testing.assert_array_equal(nn.Dropout(1.0).apply({}, X, False, rngs=rngs), 0)
    np.testing.assert_array_equal(nn.Dropout(0.5, deterministic=True).apply({}, X), X)
    np.testing.assert_array_equal(nn.Dropout(0.5).apply({}, X, True), X)  # no rng needed


def test_keys_fixed_per_key_different_per_key_and_per_call() -> None:
    d = nn.Dropout(0.5, deterministic=False)
    a = d.apply({}, X, rngs={"dropout": KEY})
    np.testing.assert_array_equal(a, d.apply({}, X, rngs={"dropout": KEY}))
    assert not np.array_equal(a, d.apply({}, X, rngs={"dropout": jax.random.key(1)}))

    class Two(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            drop = nn.Dropout(0.5, deterministic=False)
            return drop(x), drop(x), nn.Dropout(0.5, deterministic=False)(x)

    y1, y2, y3 = Two().apply({}, X, rngs={"dropout": KEY})
    assert not np.array_equal(y1, y2)  # the second call draws a new key
    assert not np.array_equal(y1, y3)  # another path, another key
    # an explicit rng wins; broadcast_dims share the mask
    y = nn.Dropout(0.5, broadcast_dims=(0,)).apply({}, X, False, rng=KEY)
    assert np.all((y == 0).all(axis=0) | (y != 0).all(axis=0))


@settings(max_examples=5)
@given(rate=st.sampled_from([0.2, 0.5]), shape=st.sampled_from([(3,), (2, 3)]))
def test_gradients_fixed_key(device, rate, shape) -> None:  # type: ignore[no-untyped-def]
    with on_device(device):
        x = jax.random.normal(jax.random.key(3), shape)
        d = nn.Dropout(rate, deterministic=False)
        check_grads(lambda x: d.apply({}, x, rngs={"dropout": KEY}), (x,))
