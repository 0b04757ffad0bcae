"""The course's own property tests for A1: they catch every planted bug of A1's tasks.

Graded runs check that they do (`tools/course_check.py`); they are also the model
answer of A1.P. Properties only: no other library's softmax.
"""

import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given

import minijax.nn as nn
from minijax import losses
from minijax.testing import check_grads

SHAPES = st.sampled_from([(3, 4), (2, 5), (4, 3, 2)])
AXES = st.sampled_from([0, -1, 1])


def _x(shape: tuple[int, ...], seed: int, scale: float = 3.0) -> jax.Array:
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape) * scale, jnp.float32)


@given(SHAPES, AXES, st.integers(0, 100))
def test_a1p_softmax_sums_to_one_along_its_axis(shape: tuple[int, ...], axis: int,
                                                seed: int) -> None:
    s = nn.softmax(_x(shape, seed), axis=axis)
    np.testing.assert_allclose(s.sum(axis), 1.0, rtol=1e-5, err_msg=f"axis={axis}")


@given(SHAPES, AXES, st.integers(0, 100))
def test_a1p_log_softmax_is_log_of_softmax_and_nonpositive(shape: tuple[int, ...],
                                                           axis: int, seed: int) -> None:
    x = _x(shape, seed)
    ls = nn.log_softmax(x, axis=axis)
    assert bool((ls <= 1e-6).all()), "log_softmax is positive somewhere"
    np.testing.assert_allclose(jnp.exp(ls), nn.softmax(x, axis=axis), rtol=1e-5, atol=1e-6)


@given(st.floats(100.0, 5000.0), st.integers(0, 100))
def test_a1p_large_inputs_stay_finite(offset: float, seed: int) -> None:
    x = _x((4,), seed) + offset
    s, ls = nn.softmax(x), nn.log_softmax(x)
    assert bool(jnp.isfinite(s).all()) and bool(jnp.isfinite(ls).all()), f"not finite at +{offset}"
    np.testing.assert_allclose(s, nn.softmax(x - offset), rtol=1e-4, atol=1e-6,
                               err_msg="softmax is invariant to a shift")


def test_a1p_log_softmax_gradients() -> None:
    check_grads(lambda v: nn.log_softmax(v, axis=-1), (_x((2, 3), 0),), modes=("rev",))


@given(st.floats(-4.0, 4.0))
def test_a1p_gelu_forms_agree_and_exact_is_x_phi(x: float) -> None:
    exact = 0.5 * x * (1 + math.erf(x / math.sqrt(2)))
    np.testing.assert_allclose(float(nn.gelu(jnp.float32(x), approximate=False)), exact,
                               rtol=1e-5, atol=1e-6, err_msg="exact gelu = x Phi(x)")
    np.testing.assert_allclose(float(nn.gelu(jnp.float32(x))), exact, atol=1e-3,
                               err_msg="the tanh form is within 1e-3 of the exact one")


@given(st.integers(0, 4), st.integers(0, 100))
def test_a1p_cross_entropy_of_a_one_hot_label(label: int, seed: int) -> None:
    logits = _x((5,), seed)
    onehot = jnp.eye(5)[label]
    ce = losses.softmax_cross_entropy(logits, onehot)
    assert float(ce) >= 0, "cross-entropy is negative"
    np.testing.assert_allclose(ce, -nn.log_softmax(logits)[label], rtol=1e-5)
    np.testing.assert_allclose(
        losses.softmax_cross_entropy_with_integer_labels(logits[None], jnp.array([label]))[0],
        ce, rtol=1e-5, err_msg="integer labels agree with one-hot labels")


@given(st.floats(-10.0, 10.0), st.floats(0.1, 3.0))
def test_a1p_huber_is_symmetric_quadratic_then_linear(e: float, delta: float) -> None:
    h = float(losses.huber_loss(jnp.float32(e), delta=delta))
    np.testing.assert_allclose(h, float(losses.huber_loss(jnp.float32(-e), delta=delta)),
                               rtol=1e-6, err_msg="symmetric")
    a = abs(e)
    want = 0.5 * a * a if a <= delta else delta * (a - 0.5 * delta)
    np.testing.assert_allclose(h, want, rtol=1e-4, atol=1e-5, err_msg=f"e={e}, delta={delta}")
