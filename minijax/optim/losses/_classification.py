r"""Classification losses: cross-entropies, margins, divergences (optax:
`optax.losses._classification`).

The cross-entropies work with log-probabilities (`log_softmax`, `log_sigmoid`),
never with `log(softmax(z))`, so they stay finite for logits of any size. Those
with `axis=` take the class axis (or axes) anywhere; `where=` masks classes out,
as `jax.nn.log_softmax(..., where=)` does. A NaN or an infinity in the inputs
comes out as it does in optax: the formulas are the same, operation for operation.

>>> import jax.numpy as jnp
>>> logits = jnp.array([[2.0, 0.0, -1.0]])
>>> softmax_cross_entropy_with_integer_labels(logits, jnp.array([0]))
Array([0.1698], dtype=float32)
"""

import operator
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special

from minijax.optim.losses._checks import check_broadcasts, check_floating, check_same_shape
from minijax.optim.projections import projection_simplex

__all__ = [
    "convex_kl_divergence",
    "generalized_kl_divergence",
    "hinge_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
]

ArrayLike = jax.typing.ArrayLike
Axis = int | tuple[int, ...] | None


def _canonical_axis(axis: int, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of {ndim} dimensions.")
    return axis % ndim


# ----------------------------------------------------------------------------- sigmoid


def sigmoid_binary_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""The binary cross-entropy of $\sigma(z)$ against labels $y \in [0, 1]$ (optax:
    `sigmoid_binary_cross_entropy`): $\ell = -y \log\sigma(z) - (1 - y)\log\sigma(-z)$.

    >>> import jax.numpy as jnp
    >>> sigmoid_binary_cross_entropy(jnp.array([0.0, 10.0]), jnp.array([1, 0]))
    Array([ 0.6931, 10.    ], dtype=float32)
    """
    check_floating("sigmoid_binary_cross_entropy", "logits", logits)
    check_broadcasts(
        "sigmoid_binary_cross_entropy", "labels", labels, "logits", logits,
        "Broadcasting must not grow the loss: give labels the shape of logits "
        "(e.g. labels[..., None], or logits.squeeze(-1) for one logit per example).",
    )
    logits = jnp.asarray(logits)
    labels = jnp.astype(labels, logits.dtype)
    log_p = jax.nn.log_sigmoid(logits)
    log_not_p = jax.nn.log_sigmoid(-logits)  # log(1 - sigmoid(z)), stably
    return -labels * log_p - (1.0 - labels) * log_not_p


def sigmoid_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: ArrayLike = 2.0,
) -> jax.Array:
    r"""The focal loss (Lin et al., 2017; optax: `sigmoid_focal_loss`): the binary
    cross-entropy down-weighted where the model is already right,
    $\ell = (1 - p_t)^\gamma\, \mathrm{BCE}$, with $p_t = p$ for $y = 1$ and $1 - p$
    for $y = 0$; times $\alpha$ for positives and $1 - \alpha$ for negatives if given.

    $\log(1 - p_t)$ is computed with a `logsumexp`, finite for logits of any size.

    >>> import jax.numpy as jnp
    >>> sigmoid_focal_loss(jnp.array([3.0, -3.0]), jnp.array([1.0, 1.0]))
    Array([0.0001, 2.7663], dtype=float32)
    """
    check_floating("sigmoid_focal_loss", "logits", logits)
    logits = jnp.asarray(logits)
    labels = jnp.astype(labels, logits.dtype)
    ce_loss = sigmoid_binary_cross_entropy(logits, labels)
    log_p, log_q = jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits)
    log_one_minus_p_t = jax.scipy.special.logsumexp(
        jnp.stack([log_p, log_q], axis=-1), axis=-1, b=jnp.stack([1 - labels, labels], axis=-1)
    )
    loss = ce_loss * jnp.exp(gamma * log_one_minus_p_t)
    if alpha is None:
        return loss
    weight: Any = alpha * labels + (1.0 - alpha) * (1.0 - labels)
    return weight * loss  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- softmax


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""The cross-entropy between `labels` (a probability vector per example) and
    $\operatorname{softmax}(z)$ over `axis` (optax: `softmax_cross_entropy`):
    $\ell = -\sum_c y_c \log \operatorname{softmax}(z)_c$.

    Args:
        logits: floating logits $z$.
        labels: class probabilities $y$, broadcastable to `logits`.
        axis: the class axis (or axes).
        where: a mask of the classes to include (of the shape of `logits`, or of the
            batch shape, then broadcast over `axis`).

    Returns:
        One value per example: `logits`' shape without `axis`.

    Raises:
        ValueError: `labels` does not broadcast to `logits` (integer labels, say).

    >>> import jax.numpy as jnp
    >>> softmax_cross_entropy(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
    Array(0.6931, dtype=float32)
    """
    check_floating("softmax_cross_entropy", "logits", logits)
    check_broadcasts(
        "softmax_cross_entropy", "labels", labels, "logits", logits,
        "labels hold a probability vector per example (one-hot: jax.nn.one_hot(labels, "
        "classes)); for integer class labels use softmax_cross_entropy_with_integer_labels.",
    )
    if jnp.issubdtype(jax.dtypes.result_type(labels), jnp.integer):
        raise TypeError(
            f"softmax_cross_entropy: labels have the integer dtype "
            f"{jax.dtypes.result_type(labels)}, but they are class probabilities per example. "
            "For one integer class per example use softmax_cross_entropy_with_integer_labels; "
            "for integer one-hot labels cast them, labels.astype(jnp.float32)."
        )
    logits = jnp.asarray(logits)
    if where is not None and jnp.ndim(where) != logits.ndim:
        where = jnp.expand_dims(where, axis)  # type: ignore[arg-type]
    # >>> TASK A1.3
    log_probs = jax.nn.log_softmax(logits, axis, where)
    mask: Any = where
    return -(labels * log_probs).sum(axis, where=mask)
    # <<< TASK A1.3


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: int | tuple[int, ...] = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""The cross-entropy with the class given as an integer per example (optax:
    `softmax_cross_entropy_with_integer_labels`): $\ell = \log\sum_c e^{z_c} - z_y$.

    Only the label's logit is subtracted from the normalizer, not from every logit.

    Args:
        logits: floating logits; `axis` holds the classes (several axes are
            flattened, in order, into one class index).
        labels: integer classes, of `logits`' shape without `axis`.
        axis: the class axis (or axes).
        where: a mask of the classes to include; a fully masked example has loss 0.

    Returns:
        One value per example, of the shape of `labels`.

    Raises:
        TypeError: `labels` are not integers.
        ValueError: `labels` does not have the batch shape of `logits`.

    >>> import jax.numpy as jnp
    >>> softmax_cross_entropy_with_integer_labels(jnp.zeros((2, 4)), jnp.array([0, 3]))
    Array([1.3863, 1.3863], dtype=float32)
    """
    name = "softmax_cross_entropy_with_integer_labels"
    check_floating(name, "logits", logits)
    check_floating(name, "labels", labels, kind=jnp.integer)
    logits, labels = jnp.asarray(logits), jnp.asarray(labels)
    if where is not None and jnp.ndim(where) != logits.ndim:
        where = jnp.expand_dims(where, axis)
    if isinstance(axis, int):
        axis = _canonical_axis(axis, logits.ndim)
        batch_shape = logits.shape[:axis] + logits.shape[axis + 1:]
    elif isinstance(axis, tuple):
        # Move the class axes to the end, in order, and flatten them into one.
        class_axes = tuple(_canonical_axis(a, logits.ndim) for a in axis)
        batch_axes = tuple(a for a in range(logits.ndim) if a not in class_axes)
        axis = len(batch_axes)
        logits = logits.transpose(batch_axes + class_axes)
        logits = logits.reshape((*logits.shape[:axis], -1))
        batch_shape = logits.shape[:-1]
        if where is not None:
            where = jnp.asarray(where).transpose(batch_axes + class_axes)
            where = where.reshape((*where.shape[:axis], -1))
    else:
        raise ValueError(f"{name}: axis must be an int or a tuple of ints, got {type(axis)}.")
    if labels.shape != batch_shape:
        raise ValueError(
            f"{name}: labels has shape {labels.shape} but logits {logits.shape} need one "
            f"integer label per example, shape {batch_shape} (logits without the class "
            "axis). For one-hot or soft labels use softmax_cross_entropy."
        )
    # >>> TASK A1.3
    label_logits = jnp.take_along_axis(logits, jnp.expand_dims(labels, axis), axis=axis).take(
        0, axis=axis
    )
    log_normalizers = jax.nn.logsumexp(logits, axis=axis, where=where)
    out = log_normalizers - label_logits
    # <<< TASK A1.3
    if where is not None:
        out = jnp.where(jnp.any(where, axis), out, 0.0)
    return out


@jax.custom_jvp
def _weighted_logsoftmax(x: jax.Array, weights: jax.Array) -> jax.Array:
    """`weights * log_softmax(x)`, and exactly 0 where the weight is 0 (also when
    `log_softmax(x)` is `-inf` there)."""
    logsoftmax_x = jax.nn.log_softmax(x, axis=-1)
    return jnp.where(weights != 0.0, weights * logsoftmax_x, jnp.zeros_like(logsoftmax_x))


@_weighted_logsoftmax.defjvp
def _weighted_logsoftmax_jvp(
    primals: tuple[jax.Array, jax.Array], tangents: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (x, weights), (x_dot, weights_dot) = primals, tangents
    logsoftmax_x = jax.nn.log_softmax(x, axis=-1)
    result = jnp.where(weights != 0.0, weights * logsoftmax_x, jnp.zeros_like(logsoftmax_x))
    out_tangents = (
        weights * x_dot
        - weights * jnp.sum(x_dot * jax.nn.softmax(x, axis=-1), axis=-1, keepdims=True)
        + weights_dot * logsoftmax_x
    )
    return result, out_tangents


def safe_softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""`softmax_cross_entropy` that stays finite when a logit is $-\infty$ where its
    label is 0 (optax: `safe_softmax_cross_entropy`): $0 \cdot (-\infty)$ counts as 0,
    in the value and in the gradient (a custom JVP).

    >>> import jax.numpy as jnp
    >>> safe_softmax_cross_entropy(jnp.array([0.0, -jnp.inf]), jnp.array([1.0, 0.0]))
    Array(0., dtype=float32)
    """
    check_floating("safe_softmax_cross_entropy", "logits", logits)
    return -jnp.sum(_weighted_logsoftmax(logits, labels), axis=-1)


def poly_loss_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    epsilon: ArrayLike = 2.0,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""PolyLoss (Leng et al., 2022; optax: `poly_loss_cross_entropy`): the
    cross-entropy plus the first polynomial term, $\ell = \mathrm{CE} + \epsilon\,
    \sum_c y_c (1 - p_c)$ with $p = \operatorname{softmax}(z)$.

    >>> import jax.numpy as jnp
    >>> poly_loss_cross_entropy(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
    Array(1.6931, dtype=float32)
    """
    check_floating("poly_loss_cross_entropy", "logits", logits)
    check_floating("poly_loss_cross_entropy", "labels", labels)
    p = jax.nn.softmax(logits, axis=axis, where=where)
    one_minus_pt = jnp.sum(labels * (1 - p), axis=axis, where=where)
    cross_entropy = softmax_cross_entropy(logits=logits, labels=labels, axis=axis, where=where)
    return cross_entropy + epsilon * one_minus_pt


# ----------------------------------------------------------------------------- margins


def hinge_loss(predictor_outputs: ArrayLike, targets: ArrayLike) -> jax.Array:
    r"""The hinge loss of scores against signed targets $t \in \{-1, 1\}$ (optax:
    `hinge_loss`): $\ell = \max(0, 1 - s\, t)$.

    >>> import jax.numpy as jnp
    >>> hinge_loss(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, 1.0, 1.0]))
    Array([0. , 0.5, 2. ], dtype=float32)
    """
    return jnp.maximum(0, 1 - predictor_outputs * targets)  # type: ignore[operator,unused-ignore]


def perceptron_loss(predictor_outputs: ArrayLike, targets: ArrayLike) -> jax.Array:
    r"""The perceptron loss of scores against signed targets $t \in \{-1, 1\}$ (optax:
    `perceptron_loss`): $\ell = \max(0, -s\, t)$.

    Raises:
        ValueError: `targets` has another shape than `predictor_outputs`.

    >>> import jax.numpy as jnp
    >>> perceptron_loss(jnp.array([2.0, -1.0]), jnp.array([1.0, 1.0]))
    Array([0., 1.], dtype=float32)
    """
    check_same_shape("perceptron_loss", "predictor_outputs", predictor_outputs, "targets",
                     targets)
    return jnp.maximum(0, -predictor_outputs * targets)  # type: ignore[operator]


def _dot_last_dim(a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.vectorize(jnp.dot, signature="(n),(n)->()")(a, b)  # type: ignore[no-any-return]


def multiclass_hinge_loss(scores: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""The multiclass hinge loss (optax: `multiclass_hinge_loss`):
    $\ell = \max_c (s_c + 1 - [c = y]) - s_y$.

    >>> import jax.numpy as jnp
    >>> multiclass_hinge_loss(jnp.array([[3.0, 2.5], [0.0, 2.0]]), jnp.array([0, 0]))
    Array([0.5, 3. ], dtype=float32)
    """
    scores = jnp.asarray(scores)
    one_hot_labels = jax.nn.one_hot(labels, scores.shape[-1])
    return jnp.max(scores + 1.0 - one_hot_labels, axis=-1) - _dot_last_dim(
        scores, one_hot_labels
    )


def multiclass_perceptron_loss(scores: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""The multiclass perceptron loss (optax: `multiclass_perceptron_loss`):
    $\ell = \max_c s_c - s_y$.

    >>> import jax.numpy as jnp
    >>> multiclass_perceptron_loss(jnp.array([[3.0, 2.5], [0.0, 2.0]]), jnp.array([0, 0]))
    Array([0., 2.], dtype=float32)
    """
    scores = jnp.asarray(scores)
    one_hot_labels = jax.nn.one_hot(labels, scores.shape[-1])
    return jnp.max(scores, axis=-1) - _dot_last_dim(scores, one_hot_labels)


def sparsemax_loss(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""The binary sparsemax loss (Martins & Astudillo, 2016; optax: `sparsemax_loss`):
    $\ell = \operatorname{sparse\_plus}(\mp z)$, with $-z$ for label 1: 0 beyond a
    margin of 1, quadratic inside it, linear on the wrong side.

    >>> import jax.numpy as jnp
    >>> sparsemax_loss(jnp.array([2.0, 0.0, -2.0]), jnp.array([1, 1, 1]))
    Array([0.  , 0.25, 2.  ], dtype=float32)
    """
    logits = jnp.asarray(logits)
    return jax.nn.sparse_plus(jnp.where(labels, -logits, logits))


def _multiclass_sparsemax_loss(scores: jax.Array, label: jax.Array) -> jax.Array:
    proba = projection_simplex(scores)
    # The Fenchel conjugate of the Gini negentropy, at the scores shifted by the label's.
    scores = (scores - scores[label]).at[label].set(0.0)
    return jnp.dot(proba, jnp.where(proba, scores, 0.0)) + 0.5 * (1.0 - jnp.dot(proba, proba))


def multiclass_sparsemax_loss(scores: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""The multiclass sparsemax loss (optax: `multiclass_sparsemax_loss`), with
    $p = \operatorname{sparsemax}(s)$, the Euclidean projection of $s$ onto the
    probability simplex: $\ell = \langle p, s - s_y\rangle + \tfrac12 (1 -
    \lVert p\rVert^2)$. Its gradient is $p - e_y$. `scores` has shape `(batch,
    classes)`.

    >>> import jax.numpy as jnp
    >>> multiclass_sparsemax_loss(jnp.array([[5.0, 0.0], [0.0, 0.0]]), jnp.array([0, 0]))
    Array([0.  , 0.25], dtype=float32)
    """
    return jax.vmap(_multiclass_sparsemax_loss)(jnp.asarray(scores), jnp.asarray(labels))


# ----------------------------------------------------------------------------- divergences


def kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""The Kullback-Leibler divergence $\mathrm{KL}(y \,\|\, p)$ of the predicted
    distribution $p$ (given as $\log p$) from the targets $y$ (optax:
    `kl_divergence`): $\sum_c y_c (\log y_c - \log p_c)$, with $0 \log 0 = 0$.

    >>> import jax.numpy as jnp
    >>> kl_divergence(jnp.log(jnp.array([0.5, 0.5])), jnp.array([1.0, 0.0]))
    Array(0.6931, dtype=float32)
    """
    check_floating("kl_divergence", "log_predictions", log_predictions)
    check_floating("kl_divergence", "targets", targets)
    targets = jnp.asarray(targets)
    loss = targets * (jnp.where(targets == 0, 0, jnp.log(targets)) - log_predictions)
    return jnp.sum(loss, axis=axis, where=where)


def kl_divergence_with_log_targets(
    log_predictions: ArrayLike,
    log_targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""`kl_divergence` with the targets given as logs too (optax:
    `kl_divergence_with_log_targets`): $\sum_c e^{\log y_c} (\log y_c - \log p_c)$.

    >>> import jax.numpy as jnp
    >>> kl_divergence_with_log_targets(jnp.log(jnp.array([0.5, 0.5])),
    ...                                jnp.log(jnp.array([0.5, 0.5])))
    Array(0., dtype=float32)
    """
    check_floating("kl_divergence_with_log_targets", "log_predictions", log_predictions)
    check_floating("kl_divergence_with_log_targets", "log_targets", log_targets)
    loss = jnp.exp(log_targets) * (log_targets - log_predictions)  # type: ignore[operator]
    return jnp.sum(loss, axis=axis, where=where)


def generalized_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""The generalized KL divergence, for unnormalized measures (optax:
    `generalized_kl_divergence`): $\sum_c y_c (\log y_c - \log p_c) + p_c - y_c$.
    It is convex in $\log p$.

    >>> import jax.numpy as jnp
    >>> generalized_kl_divergence(jnp.log(jnp.array([2.0])), jnp.array([1.0]))
    Array(0.3069, dtype=float32)
    """
    x = kl_divergence(log_predictions, targets, axis=axis, where=where)
    y = jnp.sum(jnp.exp(log_predictions) - targets, axis=axis, where=where)
    return x + y


def convex_kl_divergence(
    log_predictions: ArrayLike,
    targets: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    """The older name of `generalized_kl_divergence`, deprecated as in optax (optax:
    `convex_kl_divergence`): it warns with a `DeprecationWarning`.

    >>> import warnings, jax.numpy as jnp
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     convex_kl_divergence(jnp.log(jnp.array([2.0])), jnp.array([1.0]))
    Array(0.3069, dtype=float32)
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    warnings.warn(
        "convex_kl_divergence is deprecated: use generalized_kl_divergence (the same "
        "function).",
        DeprecationWarning,
        stacklevel=2,
    )
    return generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)
