"""A1 public tests: activations and losses against NumPy."""

import math
from typing import Any

import numpy as np

import minijax.nn as nn
from minijax import losses

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 5)).astype(np.float32)


def np_softmax(x: np.ndarray, axis: int = -1) -> Any:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_a1_1_softmax_matches_numpy() -> None:
    for axis in (-1, 0):
        np.testing.assert_allclose(nn.softmax(X, axis=axis), np_softmax(X, axis),
                                   rtol=1e-5, atol=1e-6, err_msg=f"softmax, axis={axis}")


def test_a1_1_log_softmax_matches_numpy() -> None:
    for axis in (-1, 0):
        np.testing.assert_allclose(nn.log_softmax(X, axis=axis), np.log(np_softmax(X, axis)),
                                   rtol=1e-5, atol=1e-5, err_msg=f"log_softmax, axis={axis}")


def test_a1_2_gelu_matches_the_formulas() -> None:
    approx = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
    exact = np.vectorize(lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2)))(X)
    np.testing.assert_allclose(nn.gelu(X), approx, rtol=1e-5, atol=1e-6, err_msg="tanh form")
    np.testing.assert_allclose(nn.gelu(X, approximate=False), exact, rtol=1e-5, atol=1e-6,
                               err_msg="exact form")


def test_a1_3_cross_entropy_matches_numpy() -> None:
    labels = np_softmax(RNG.normal(size=(3, 5)))
    want = -(labels * np.log(np_softmax(X))).sum(-1)
    np.testing.assert_allclose(losses.softmax_cross_entropy(X, labels), want, rtol=1e-5,
                               err_msg="softmax_cross_entropy")


def test_a1_4_huber_matches_numpy() -> None:
    p, t = X, np.zeros_like(X)
    e = np.abs(p - t)
    want = np.where(e <= 1.0, 0.5 * e**2, e - 0.5)
    np.testing.assert_allclose(losses.huber_loss(p, t), want, rtol=1e-5, atol=1e-6,
                               err_msg="huber_loss, delta=1")
