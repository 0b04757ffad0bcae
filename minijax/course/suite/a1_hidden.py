"""A1 hidden tests."""

import math

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax import losses

RNG = np.random.default_rng(1)


def test_a1_1_large_inputs_stay_finite() -> None:
    x = jnp.array([1000.0, 1001.0, 999.0])
    s = nn.softmax(x)
    ls = nn.log_softmax(x)
    assert bool(jnp.all(jnp.isfinite(s))) and bool(jnp.all(jnp.isfinite(ls))), \
        f"softmax {s}, log_softmax {ls} of large inputs"
    np.testing.assert_allclose(float(s.sum()), 1.0, rtol=1e-6, err_msg="sum of softmax")
    np.testing.assert_allclose(ls, [-1.4076059, -0.4076059, -2.4076059], rtol=1e-5)


def test_a1_1_gradient_of_log_softmax() -> None:
    x = jnp.asarray(RNG.normal(size=4), jnp.float32) * 30
    g = jax.grad(lambda v: nn.log_softmax(v)[1])(x)
    want = np.eye(4)[1] - np.asarray(nn.softmax(x))
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6, err_msg="d log_softmax_1 / dx")


def test_a1_1_softmax_along_a_middle_axis() -> None:
    x = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    s = nn.softmax(x, axis=1)
    np.testing.assert_allclose(np.asarray(s).sum(1), np.ones((2, 4)), rtol=1e-5,
                               err_msg="softmax(x, axis=1) sums to 1 over axis 1")
    e = np.exp(x - x.max(1, keepdims=True))
    np.testing.assert_allclose(s, e / e.sum(1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_a1_2_gelu_exact_far_left() -> None:
    x = np.array([-8.0, -3.0, 0.0, 3.0], np.float32)
    want = [0.5 * v * math.erfc(-v / math.sqrt(2)) for v in x.tolist()]
    np.testing.assert_allclose(nn.gelu(x, approximate=False), want, rtol=1e-4, atol=1e-30,
                               err_msg="exact gelu in the left tail")


def test_a1_3_integer_labels_equal_one_hot() -> None:
    logits = RNG.normal(size=(4, 6)).astype(np.float32) * 5
    ids = np.array([0, 5, 2, 2])
    onehot = np.eye(6, dtype=np.float32)[ids]
    a = losses.softmax_cross_entropy_with_integer_labels(logits, ids)
    b = losses.softmax_cross_entropy(logits, onehot)
    m = logits.max(-1, keepdims=True)
    want = (np.log(np.exp(logits - m).sum(-1)) + m[:, 0]) - logits[np.arange(4), ids]
    np.testing.assert_allclose(a, want, rtol=1e-5, err_msg="integer-label cross-entropy")
    np.testing.assert_allclose(b, want, rtol=1e-5, err_msg="one-hot cross-entropy")


def test_a1_4_huber_with_delta_and_no_targets() -> None:
    e = np.array([-3.0, -0.2, 0.0, 0.4, 2.0], np.float32)
    d = 0.5
    a = np.abs(e)
    want = np.where(a <= d, 0.5 * a**2, d * (a - 0.5 * d))
    np.testing.assert_allclose(losses.huber_loss(e, delta=d), want, rtol=1e-6, atol=1e-7,
                               err_msg="huber_loss(errors, delta=0.5)")
