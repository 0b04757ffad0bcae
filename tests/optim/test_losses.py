"""minijax.losses (= minijax.optim.losses): parity with optax's losses, gradients against finite
differences (float64, jit), stability for huge logits, and the shape checks."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minijax.losses as losses
import minijax.optim as mo
from minijax.testing import check_grads

SHAPES = [(5,), (2, 3)]

# Each gradient check compiles several float64 functions: fewer examples there.
few_examples = settings(max_examples=max(3, settings.default.max_examples // 3))


@st.composite
def arrays(draw: Any, shape: tuple[int, ...], scale: float = 3.0, dtype: Any = np.float32) -> Any:
    seed = draw(st.integers(0, 2**31 - 1))
    s = draw(st.sampled_from([scale, scale * 1e-3, scale * 30]))
    return np.asarray(np.random.default_rng(seed).normal(size=shape) * s, dtype)


@st.composite
def pair(draw: Any) -> tuple[Any, Any]:
    shape = draw(st.sampled_from(SHAPES))
    return draw(arrays(shape)), draw(arrays(shape))


@st.composite
def logits_and_labels(draw: Any) -> tuple[Any, Any, Any]:
    shape = draw(st.sampled_from(SHAPES))
    logits = draw(arrays(shape))
    ints = np.random.default_rng(draw(st.integers(0, 99))).integers(0, shape[-1], size=shape[:-1])
    probs = np.asarray(jax.nn.softmax(draw(arrays(shape)), axis=-1))
    return logits, ints.astype(np.int32), probs


def close(a: Any, b: Any) -> None:
    """Bitwise equal: the formulas are optax's, operation for operation."""
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parity
@given(xy=pair(), delta=st.sampled_from([0.5, 1.0, 2.0]))
def test_regression_losses_match_optax(xy: tuple[Any, Any], delta: float) -> None:
    x, y = xy
    close(losses.squared_error(x, y), optax.losses.squared_error(x, y))
    close(losses.squared_error(x), optax.losses.squared_error(x))
    close(losses.l2_loss(x, y), optax.losses.l2_loss(x, y))
    close(losses.huber_loss(x, y, delta=delta), optax.losses.huber_loss(x, y, delta=delta))
    close(losses.cosine_similarity(x, y), optax.losses.cosine_similarity(x, y))
    close(
        losses.cosine_distance(x, y, epsilon=0.1),
        optax.losses.cosine_distance(x, y, epsilon=0.1),
    )


@pytest.mark.parity
@given(data=logits_and_labels())
def test_classification_losses_match_optax(data: tuple[Any, Any, Any]) -> None:
    logits, ints, probs = data
    close(
        losses.softmax_cross_entropy(logits, probs),
        optax.losses.softmax_cross_entropy(logits, probs),
    )
    close(
        losses.softmax_cross_entropy_with_integer_labels(logits, ints),
        optax.losses.softmax_cross_entropy_with_integer_labels(logits, ints),
    )
    binary = (probs > 0.3).astype(np.float32)
    close(
        losses.sigmoid_binary_cross_entropy(logits, binary),
        optax.losses.sigmoid_binary_cross_entropy(logits, binary),
    )
    close(
        losses.sigmoid_binary_cross_entropy(logits, probs),
        optax.losses.sigmoid_binary_cross_entropy(logits, probs),
    )


def test_reexported_from_optim_as_in_optax() -> None:
    for name in losses.__all__:
        assert getattr(mo.losses, name) is getattr(losses, name)
        assert hasattr(optax.losses, name)
        # optax's flat names (optax.l2_loss), and only those, are in minijax.optim too
        assert (getattr(mo, name, None) is getattr(losses, name)) == hasattr(optax, name)


@pytest.mark.parametrize("big", [1e4, -1e4, 3e4])
def test_large_logits_are_finite(big: float) -> None:
    logits = jnp.array([[big, 0.0, -big], [0.0, big, big]], jnp.float32)
    onehot = jax.nn.one_hot(jnp.array([2, 0]), 3)
    labels = jnp.array([2, 0])
    values = {
        "softmax_cross_entropy": lambda z: losses.softmax_cross_entropy(z, onehot),
        "integer_labels": lambda z: losses.softmax_cross_entropy_with_integer_labels(z, labels),
        "sigmoid_bce": lambda z: losses.sigmoid_binary_cross_entropy(z, onehot),
        "cosine": lambda z: losses.cosine_similarity(z, onehot + 0.5),
    }
    for name, f in values.items():
        value, grad = jax.value_and_grad(lambda z, f=f: f(z).sum())(logits)
        assert np.isfinite(value), name
        assert np.all(np.isfinite(grad)), name
    # the right answer, not just a finite one: off by 2 * big when big > 0
    np.testing.assert_allclose(
        losses.softmax_cross_entropy_with_integer_labels(logits, labels)[0], max(2 * big, 0.0)
    )


# ----------------------------------------------------------------------------- gradients


@few_examples
@given(xy=pair(), delta=st.sampled_from([0.5, 2.0]))
def test_regression_gradients(xy: tuple[Any, Any], delta: float) -> None:
    x, y = xy
    # away from the kink of the Huber loss and the zero vector of the cosine
    assume(np.all(np.abs(np.abs(x - y) - delta) > 1e-3))
    assume(np.all(np.linalg.norm(x, axis=-1) > 1e-2) and np.all(np.linalg.norm(y, axis=-1) > 1e-2))
    check_grads(losses.squared_error, (x, y))
    check_grads(losses.l2_loss, (x, y))
    check_grads(lambda a, b: losses.huber_loss(a, b, delta=delta), (x, y))
    check_grads(losses.cosine_similarity, (x, y))
    check_grads(losses.cosine_distance, (x, y))


@few_examples
@given(data=logits_and_labels())
def test_classification_gradients(data: tuple[Any, Any, Any]) -> None:
    logits, ints, probs = data
    check_grads(losses.softmax_cross_entropy, (logits, probs))
    check_grads(losses.softmax_cross_entropy_with_integer_labels, (logits, ints))
    check_grads(losses.sigmoid_binary_cross_entropy, (logits, probs))


# ----------------------------------------------------------------------------- shapes


def test_shape_mismatches_are_value_errors_as_in_optax() -> None:
    with pytest.raises(ValueError, match=r"l2_loss: predictions has shape \(3, 2\) but targets"):
        losses.l2_loss(jnp.ones((3, 2)), jnp.ones((2, 3)))
    with pytest.raises(ValueError):
        optax.losses.l2_loss(jnp.ones((3, 2)), jnp.ones((2, 3)))
    with pytest.raises(ValueError, match=r"squared_error: .* \(3,\) .* \(3, 1\)"):
        losses.squared_error(jnp.ones(3), jnp.ones((3, 1)))  # would broadcast to (3, 3)
    with pytest.raises(ValueError, match=r"labels has shape \(5,\).*shape \(4,\)"):
        losses.softmax_cross_entropy_with_integer_labels(jnp.ones((4, 3)), jnp.zeros(5, jnp.int32))
    with pytest.raises(ValueError, match="perceptron_loss"):
        losses.perceptron_loss(jnp.ones(3), jnp.ones(2))


def test_dtype_errors_are_type_errors_as_in_optax() -> None:
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        losses.softmax_cross_entropy_with_integer_labels(jnp.ones((4, 3)), jnp.zeros(4))
    with pytest.raises(TypeError):
        optax.losses.softmax_cross_entropy_with_integer_labels(jnp.ones((4, 3)), jnp.zeros(4))
    with pytest.raises(TypeError, match="logits must have a floating dtype"):
        losses.softmax_cross_entropy(jnp.ones((4, 3), jnp.int32), jnp.ones((4, 3)))


def test_output_shapes() -> None:
    z = jnp.ones((2, 5, 3))
    assert losses.softmax_cross_entropy(z, jax.nn.softmax(z)).shape == (2, 5)
    assert losses.softmax_cross_entropy_with_integer_labels(
        z, jnp.zeros((2, 5), jnp.int32)
    ).shape == (2, 5)
    assert losses.cosine_distance(z, z).shape == (2, 5)
    assert losses.huber_loss(z).shape == (2, 5, 3)
    assert losses.sigmoid_binary_cross_entropy(z, jnp.zeros((2, 5, 3), jnp.int32)).shape == z.shape
