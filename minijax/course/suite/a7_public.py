"""A7 public tests: attention weights, the causal mask and the recurrent gates."""

from typing import Any

import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax.nn import recurrent

RNG = np.random.default_rng(0)


def np_softmax(x: np.ndarray) -> Any:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sigmoid(x: np.ndarray) -> Any:
    return 1 / (1 + np.exp(-x))


def test_a7_1_weights_match_numpy() -> None:
    q = RNG.normal(size=(2, 3, 2, 4)).astype(np.float32)
    k = RNG.normal(size=(2, 5, 2, 4)).astype(np.float32)
    want = np_softmax(np.einsum("bqhd,bkhd->bhqk", q, k) / 2.0)
    np.testing.assert_allclose(nn.dot_product_attention_weights(q, k), want, rtol=1e-5,
                               atol=1e-6, err_msg="softmax(q k^T / sqrt(4))")


def test_a7_2_causal_mask_is_lower_triangular() -> None:
    m = nn.make_causal_mask(jnp.ones((1, 4)))
    assert m.shape == (1, 1, 4, 4), f"shape {m.shape}, want (1, 1, 4, 4)"
    np.testing.assert_array_equal(m[0, 0], np.tril(np.ones((4, 4))), err_msg="mask[i, j] = i >= j")


def test_a7_3_lstm_gates_match_numpy() -> None:
    c, i, f, g, o = (RNG.normal(size=(2, 3)).astype(np.float32) for _ in range(5))
    j = jnp.asarray
    new_c, new_h = recurrent.lstm_gates(j(c), j(i), j(f), j(g), j(o))
    want_c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    np.testing.assert_allclose(new_c, want_c, rtol=1e-5, atol=1e-6, err_msg="c'")
    np.testing.assert_allclose(new_h, sigmoid(o) * np.tanh(want_c), rtol=1e-5, atol=1e-6,
                               err_msg="h'")


def test_a7_4_gru_gates_match_numpy() -> None:
    h, xr, xz, xn, hr, hz, hn = (RNG.normal(size=(2, 3)).astype(np.float32) for _ in range(7))
    j = jnp.asarray
    got = recurrent.gru_gates(j(h), j(xr), j(xz), j(xn), j(hr), j(hz), j(hn))
    r, z = sigmoid(xr + hr), sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    np.testing.assert_allclose(got, (1 - z) * n + z * h, rtol=1e-5, atol=1e-6, err_msg="h'")
