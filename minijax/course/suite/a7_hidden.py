"""A7 hidden tests."""

import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax.nn import recurrent

RNG = np.random.default_rng(1)


def test_a7_1_mask_and_bias() -> None:
    q = RNG.normal(size=(3, 1, 2)).astype(np.float32)
    k = RNG.normal(size=(3, 1, 2)).astype(np.float32)
    bias = RNG.normal(size=(1, 3, 3)).astype(np.float32)
    mask = np.tril(np.ones((3, 3), bool))[None]
    w = np.asarray(nn.dot_product_attention_weights(q, k, bias=bias, mask=mask))
    logits = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(2) + bias
    logits = np.where(mask, logits, -np.inf)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(w, e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7,
                               err_msg="masked, biased weights")


def test_a7_1_attention_output() -> None:
    q = RNG.normal(size=(4, 2, 3)).astype(np.float32)
    v = RNG.normal(size=(4, 2, 5)).astype(np.float32)
    out = nn.dot_product_attention(q, q, v)
    logits = np.einsum("qhd,khd->hqk", q, q) / np.sqrt(3)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    want = np.einsum("hqk,khd->qhd", e / e.sum(-1, keepdims=True), v)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6, err_msg="attention output")


def test_a7_2_causal_mask_with_batch_axes() -> None:
    m = nn.make_causal_mask(jnp.ones((2, 3)), extra_batch_dims=1)
    assert m.shape == (1, 2, 1, 3, 3), f"shape {m.shape}"
    np.testing.assert_array_equal(m[0, 1, 0], np.tril(np.ones((3, 3))))


def test_a7_3_lstm_with_other_functions() -> None:
    c, i, f, g, o = (RNG.normal(size=(4,)).astype(np.float32) for _ in range(5))
    j = jnp.asarray
    new_c, new_h = recurrent.lstm_gates(j(c), j(i), j(f), j(g), j(o), gate_fn=jnp.exp,
                                        activation_fn=jnp.sin)
    want_c = np.exp(f) * c + np.exp(i) * np.sin(g)
    np.testing.assert_allclose(new_c, want_c, rtol=1e-5, atol=1e-6, err_msg="c'")
    np.testing.assert_allclose(new_h, np.exp(o) * np.sin(want_c), rtol=1e-5, atol=1e-6)


def test_a7_4_gru_with_other_functions() -> None:
    h, xr, xz, xn, hr, hz, hn = (RNG.normal(size=(4,)).astype(np.float32) for _ in range(7))
    j = jnp.asarray
    got = recurrent.gru_gates(j(h), j(xr), j(xz), j(xn), j(hr), j(hz), j(hn),
                              gate_fn=jnp.tanh, activation_fn=jnp.sin)
    r, z = np.tanh(xr + hr), np.tanh(xz + hz)
    np.testing.assert_allclose(got, (1 - z) * np.sin(xn + r * hn) + z * h, rtol=1e-5,
                               atol=1e-6, err_msg="h'")
