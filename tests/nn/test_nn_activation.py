"""Activations: values equal jax.nn's, gradients (away from kinks) pass check_grads, stable."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

import minijax.nn as nn
from minijax.testing import check_grads, on_device

X = jnp.linspace(-6.0, 6.0, 25).reshape(5, 5)

PAIRS = {
    "relu": (nn.relu, jax.nn.relu),
    "gelu": (nn.gelu, jax.nn.gelu),
    "gelu_exact": (
        lambda x: nn.gelu(x, approximate=False),
        lambda x: jax.nn.gelu(x, approximate=False),
    ),
    "silu": (nn.silu, jax.nn.silu),
    "swish": (nn.swish, jax.nn.swish),
    "tanh": (nn.tanh, jnp.tanh),
    "sigmoid": (nn.sigmoid, jax.nn.sigmoid),
    "softmax": (nn.softmax, jax.nn.softmax),
    "softmax_axis0": (lambda x: nn.softmax(x, axis=0), lambda x: jax.nn.softmax(x, axis=0)),
    "log_softmax": (nn.log_softmax, jax.nn.log_softmax),
    "elu": (nn.elu, jax.nn.elu),
    "elu_alpha": (lambda x: nn.elu(x, 0.5), lambda x: jax.nn.elu(x, 0.5)),
    "leaky_relu": (nn.leaky_relu, jax.nn.leaky_relu),
    "leaky_relu_slope": (lambda x: nn.leaky_relu(x, 0.2), lambda x: jax.nn.leaky_relu(x, 0.2)),
    "softplus": (nn.softplus, jax.nn.softplus),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", list(PAIRS))
def test_values_equal_jax(name: str) -> None:
    ours, theirs = PAIRS[name]
    np.testing.assert_allclose(ours(X), theirs(X), rtol=1e-6, atol=1e-7)
    assert ours(X).shape == X.shape and ours(X).dtype == jnp.float32


def test_stability_at_extremes() -> None:
    big = jnp.array([-1e4, -100.0, 0.0, 100.0, 1e4])
    np.testing.assert_allclose(
        nn.softplus(big), [0.0, 3.72e-44, np.log(2), 100.0, 1e4], rtol=1e-5, atol=1e-30
    )
    ls = nn.log_softmax(jnp.array([1000.0, 0.0, -1000.0]))
    assert np.all(np.isfinite(ls)) and abs(float(ls[0])) < 1e-6
    np.testing.assert_allclose(nn.softmax(jnp.array([1e4, 1e4])), [0.5, 0.5])
    assert np.all(np.isfinite(jax.grad(lambda x: nn.elu(x).sum())(big)))
    assert np.all(np.isfinite(jax.grad(lambda x: nn.softplus(x).sum())(big)))
    np.testing.assert_allclose(nn.sigmoid(jnp.array([-1e4, 1e4])), [0.0, 1.0])


def test_integer_inputs_and_relu_kink() -> None:
    assert nn.relu(jnp.arange(-2, 3)).dtype == jnp.int32
    assert nn.sigmoid(jnp.arange(3)).dtype == jnp.float32
    assert float(jax.grad(nn.relu)(0.0 * jnp.ones(()))) == 0.0


SMOOTH = {k: v[0] for k, v in PAIRS.items()}


@given(
    name=st.sampled_from(sorted(SMOOTH)),
    values=st.lists(st.floats(-4, 4).filter(lambda v: abs(v) > 0.05), min_size=6, max_size=6),
)
def test_gradients(device, name: str, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    # (the `on` fixture is a one-shot context manager; Hypothesis runs the body many times)
    with on_device(device):
        x = jnp.array(values, jnp.float32).reshape(2, 3)  # away from the kink at 0
        check_grads(SMOOTH[name], (x,))
