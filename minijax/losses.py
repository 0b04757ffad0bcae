r"""Loss functions, elementwise or per example, with their shapes checked (optax: ``optax.losses``).

Every function returns the loss *per element* (or per example): reduce it
yourself, e.g. ``l2_loss(pred, y).mean()``. Each is also available as
``minijax.optim.<name>``, as in optax (``optax.l2_loss``).

The annotations are checked when the function runs (traced) with
:func:`minijax.typing.typed`: ``Float[ArrayLike, "*batch classes"]`` means any
number of leading batch axes and a class axis last; two arguments with the same
axis names must agree in size. A NumPy array is accepted where an array is.

The cross-entropies work with log-probabilities (``log_softmax``,
``log_sigmoid``), never with ``log(softmax(x))``, so they stay finite for
logits of any size.
"""

import jax
import jax.numpy as jnp

from minijax.typing import (
    Array,
    ArrayLike,
    Float,
    Int,
    Real,
    ScalarLike,
    check_dtype,
    check_same_shape,
    typed,
)

_SQUEEZE = "give both the same shape, e.g. predictions.squeeze(-1) or targets[:, None]"


def _check_pair(where: str, predictions: ArrayLike, targets: ArrayLike | None) -> None:
    """Static checks that stay on with MINIJAX_TYPECHECK=0 (they cost nothing)."""
    check_dtype(
        where, "predictions", predictions, "fc", "a float array", "predictions.astype(float)"
    )
    if targets is not None:
        check_same_shape(where, "predictions", predictions, "targets", targets, _SQUEEZE)


__all__ = [
    "cosine_distance",
    "cosine_similarity",
    "huber_loss",
    "l2_loss",
    "sigmoid_binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
]


@typed
def squared_error(
    predictions: Float[ArrayLike, "*shape"], targets: Float[ArrayLike, "*shape"] | None = None
) -> Float[Array, "*shape"]:
    r"""Squared error :math:`(\hat y - y)^2` (optax: ``squared_error``).
    Without ``targets``, :math:`\hat y^2`."""
    _check_pair("squared_error", predictions, targets)
    predictions = jnp.asarray(predictions)
    errors = predictions if targets is None else predictions - targets
    return errors**2


@typed
def l2_loss(
    predictions: Float[ArrayLike, "*shape"], targets: Float[ArrayLike, "*shape"] | None = None
) -> Float[Array, "*shape"]:
    r"""Half the squared error, :math:`\tfrac12 (\hat y - y)^2` (optax: ``l2_loss``)."""
    _check_pair("l2_loss", predictions, targets)
    return 0.5 * squared_error(predictions, targets)


@typed
def huber_loss(
    predictions: Float[ArrayLike, "*shape"],
    targets: Float[ArrayLike, "*shape"] | None = None,
    *,
    delta: ScalarLike = 1.0,
) -> Float[Array, "*shape"]:
    r"""Huber loss (optax: ``huber_loss``): quadratic near zero, linear beyond ``delta``.

    .. math:: e = |\hat y - y|, \qquad
              \ell = \tfrac12 \min(e, \delta)^2 + \delta\,(e - \min(e, \delta))
    """
    _check_pair("huber_loss", predictions, targets)
    predictions = jnp.asarray(predictions)
    errors = predictions if targets is None else predictions - targets
    abs_errors = jnp.abs(errors)
    quadratic = jnp.minimum(abs_errors, delta)
    linear = abs_errors - quadratic
    return 0.5 * quadratic**2 + delta * linear


@typed
def softmax_cross_entropy(
    logits: Float[ArrayLike, "*batch classes"], labels: Float[ArrayLike, "*batch classes"]
) -> Float[Array, "*batch"]:
    r"""Cross-entropy between ``labels`` (a probability vector per example) and
    ``softmax(logits)``, over the last axis (optax: ``softmax_cross_entropy``):

    .. math:: \ell = -\sum_c y_c \log \operatorname{softmax}(z)_c
    """
    check_dtype(
        "softmax_cross_entropy",
        "labels",
        labels,
        "fc",
        "float probabilities per class",
        "for integer class ids use softmax_cross_entropy_with_integer_labels, or one-hot "
        "them: jax.nn.one_hot(labels, num_classes)",
    )
    check_same_shape(
        "softmax_cross_entropy",
        "logits",
        logits,
        "labels",
        labels,
        "labels must be (*batch, classes) like logits: one-hot encode integer labels",
    )
    log_probs = jax.nn.log_softmax(jnp.asarray(logits), axis=-1)
    return -(labels * log_probs).sum(axis=-1)


@typed
def softmax_cross_entropy_with_integer_labels(
    logits: Float[ArrayLike, "*batch classes"], labels: Int[ArrayLike, "*batch"]
) -> Float[Array, "*batch"]:
    r"""Cross-entropy with the class given as an integer per example
    (optax: ``softmax_cross_entropy_with_integer_labels``):

    .. math:: \ell = \log \sum_c e^{z_c} - z_y
    """
    where = "softmax_cross_entropy_with_integer_labels"
    check_dtype(
        where,
        "labels",
        labels,
        "iu",
        "integer class ids",
        "labels.astype(jnp.int32); for one-hot or soft labels use softmax_cross_entropy",
    )
    check_same_shape(
        where,
        "logits.shape[:-1]",
        jax.ShapeDtypeStruct(jnp.shape(logits)[:-1], jnp.float32),  # type: ignore[no-untyped-call]
        "labels",
        labels,
        "one integer label per example: labels of shape logits.shape[:-1]",
    )
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    label_logits = jnp.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    return jax.nn.logsumexp(logits, axis=-1) - label_logits


@typed
def sigmoid_binary_cross_entropy(
    logits: Float[ArrayLike, "*shape"], labels: Real[ArrayLike, "*shape"]
) -> Float[Array, "*shape"]:
    r"""Binary cross-entropy of ``sigmoid(logits)`` against ``labels`` in [0, 1]
    (optax: ``sigmoid_binary_cross_entropy``):

    .. math:: \ell = -y \log \sigma(z) - (1 - y) \log \sigma(-z)
    """
    check_same_shape("sigmoid_binary_cross_entropy", "logits", logits, "labels", labels, _SQUEEZE)
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels).astype(logits.dtype)
    return -labels * jax.nn.log_sigmoid(logits) - (1.0 - labels) * jax.nn.log_sigmoid(-logits)


@typed
def cosine_similarity(
    predictions: Float[ArrayLike, "*batch dim"],
    targets: Float[ArrayLike, "*batch dim"],
    *,
    epsilon: ScalarLike = 0.0,
) -> Float[Array, "*batch"]:
    r"""Cosine of the angle between the vectors along the last axis
    (optax: ``cosine_similarity``):

    .. math:: \frac{\hat y \cdot y}{\max(\|\hat y\|, \sqrt\epsilon)\,\max(\|y\|, \sqrt\epsilon)}
    """
    a, b = jnp.asarray(predictions), jnp.asarray(targets)
    a_norm = jnp.sqrt(jnp.square(a).sum(axis=-1, keepdims=True).clip(epsilon))
    b_norm = jnp.sqrt(jnp.square(b).sum(axis=-1, keepdims=True).clip(epsilon))
    return ((a / a_norm) * (b / b_norm)).sum(axis=-1)


@typed
def cosine_distance(
    predictions: Float[ArrayLike, "*batch dim"],
    targets: Float[ArrayLike, "*batch dim"],
    *,
    epsilon: ScalarLike = 0.0,
) -> Float[Array, "*batch"]:
    r"""One minus :func:`cosine_similarity` (optax: ``cosine_distance``)."""
    return 1.0 - cosine_similarity(predictions, targets, epsilon=epsilon)
