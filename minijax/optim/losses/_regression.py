r"""Regression losses: the error between predictions and targets, per element (optax:
`optax.losses._regression`).

Every loss returns one value per element (or, for the cosine, per vector): reduce
it yourself, e.g. `l2_loss(pred, y).mean()`. The squared error and `l2_loss` refuse
targets of another shape (a `ValueError`, as in optax): `(n,)` against `(n, 1)`
would broadcast to `(n, n)` and silently average the wrong thing.

>>> import jax.numpy as jnp
>>> squared_error(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
Array([0., 4.], dtype=float32)
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.optim.losses._checks import check_broadcasts, check_floating, check_same_shape

__all__ = ["cosine_distance", "cosine_similarity", "huber_loss", "l2_loss", "log_cosh",
           "squared_error"]

Axis = int | tuple[int, ...] | None


def squared_error(
    predictions: jax.typing.ArrayLike, targets: jax.typing.ArrayLike | None = None
) -> jax.Array:
    r"""$(\hat y - y)^2$, or $\hat y^2$ without `targets` (optax: `squared_error`).

    Args:
        predictions: floating predictions $\hat y$.
        targets: targets $y$ of the same shape.

    Returns:
        The squared errors, of the shape of `predictions`.

    Raises:
        ValueError: `targets` has another shape.

    >>> import jax.numpy as jnp
    >>> squared_error(jnp.array([3.0]))
    Array([9.], dtype=float32)
    """
    check_floating("squared_error", "predictions", predictions)
    if targets is not None:
        check_same_shape("squared_error", "predictions", predictions, "targets", targets)
    errors: Any = predictions - targets if targets is not None else predictions  # type: ignore[operator]
    return errors**2  # type: ignore[no-any-return]


def l2_loss(
    predictions: jax.typing.ArrayLike, targets: jax.typing.ArrayLike | None = None
) -> jax.Array:
    r"""Half the squared error, $\tfrac12 (\hat y - y)^2$ (optax: `l2_loss`).

    >>> import jax.numpy as jnp
    >>> l2_loss(jnp.array([1.0, 2.0]), jnp.array([1.0, 4.0]))
    Array([0., 2.], dtype=float32)
    """
    check_floating("l2_loss", "predictions", predictions)
    if targets is not None:
        check_same_shape("l2_loss", "predictions", predictions, "targets", targets)
    return 0.5 * squared_error(jnp.asarray(predictions), targets)


def huber_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike | None = None,
    *,
    delta: jax.typing.ArrayLike = 1.0,
) -> jax.Array:
    r"""The Huber loss, quadratic near zero and linear beyond `delta` (optax:
    `huber_loss`): with $e = |\hat y - y|$,
    $\ell = \tfrac12 \min(e, \delta)^2 + \delta\,(e - \min(e, \delta))$.

    Writing the linear part as $e - \min(e, \delta)$ (not $\max(e - \delta, 0)$)
    keeps the gradient from doubling at the kink.

    >>> import jax.numpy as jnp
    >>> huber_loss(jnp.array([0.5, 3.0]))
    Array([0.125, 2.5  ], dtype=float32)
    """
    check_floating("huber_loss", "predictions", predictions)
    if targets is not None:
        check_broadcasts(
            "huber_loss", "targets", targets, "predictions", predictions,
            "An elementwise loss must not grow the result by broadcasting: give targets "
            "the shape of predictions (e.g. targets[..., None], or predictions.squeeze(-1)).",
        )
    # >>> TASK A1.4
    errors = predictions - targets if targets is not None else predictions  # type: ignore[operator]
    abs_errors = jnp.abs(errors)
    quadratic = jnp.minimum(abs_errors, delta)
    linear = abs_errors - quadratic
    return 0.5 * quadratic**2 + delta * linear
    # <<< TASK A1.4


def log_cosh(
    predictions: jax.typing.ArrayLike, targets: jax.typing.ArrayLike | None = None
) -> jax.Array:
    r"""$\log\cosh(\hat y - y)$, quadratic near zero and linear far away (optax:
    `log_cosh`), computed as $\operatorname{logaddexp}(e, -e) - \log 2$, which does
    not overflow where $\cosh$ does.

    >>> import jax.numpy as jnp
    >>> log_cosh(jnp.array([0.0, 100.0]))
    Array([ 0.    , 99.3069], dtype=float32)
    """
    check_floating("log_cosh", "predictions", predictions)
    errors = predictions - targets if targets is not None else predictions  # type: ignore[operator]
    errors = jnp.asarray(errors)
    return jnp.logaddexp(errors, -errors) - jnp.log(2.0).astype(errors.dtype)


def cosine_similarity(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    epsilon: jax.typing.ArrayLike = 0.0,
    axis: Axis = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    r"""The cosine of the angle between the vectors along `axis` (optax:
    `cosine_similarity`):
    $\dfrac{\hat y \cdot y}{\max(\lVert\hat y\rVert, \sqrt\epsilon)\,
    \max(\lVert y\rVert, \sqrt\epsilon)}$.

    Args:
        predictions: floating vectors.
        targets: floating vectors, broadcastable to `predictions`.
        epsilon: a lower bound on the squared norms, keeping zero vectors finite.
        axis: the axis (or axes) of the vectors.
        where: a mask of the elements to include.

    Returns:
        One value per vector.

    >>> import jax.numpy as jnp
    >>> cosine_similarity(jnp.array([[1.0, 0.0], [1.0, 1.0]]), jnp.array([1.0, 0.0]))
    Array([1.    , 0.7071], dtype=float32)
    """
    check_floating("cosine_similarity", "predictions", predictions)
    check_floating("cosine_similarity", "targets", targets)
    try:  # the two sides may broadcast against each other (all pairs of a batch)
        np.broadcast_shapes(np.shape(predictions), np.shape(targets))
    except ValueError:
        raise ValueError(
            f"cosine_similarity: targets has shape {np.shape(targets)}, which does not "
            f"broadcast to the shape {np.shape(predictions)} of predictions (nor the "
            "reverse). The vectors compared must agree in size along the last axis."
        ) from None
    a, b = jnp.asarray(predictions), jnp.asarray(targets)
    a_norm2 = jnp.square(a).sum(axis=axis, where=where, keepdims=True)
    b_norm2 = jnp.square(b).sum(axis=axis, where=where, keepdims=True)
    a_unit = a / jnp.sqrt(a_norm2.clip(epsilon))
    b_unit = b / jnp.sqrt(b_norm2.clip(epsilon))
    return (a_unit * b_unit).sum(axis=axis, where=where)


def cosine_distance(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    epsilon: jax.typing.ArrayLike = 0.0,
    axis: Axis = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    r"""$1 - \cos(\hat y, y)$, one minus `cosine_similarity` (optax: `cosine_distance`).

    >>> import jax.numpy as jnp
    >>> cosine_distance(jnp.array([0.0, 2.0]), jnp.array([1.0, 0.0]))
    Array(1., dtype=float32)
    """
    check_floating("cosine_distance", "predictions", predictions)
    check_floating("cosine_distance", "targets", targets)
    return 1.0 - cosine_similarity(predictions, targets, epsilon=epsilon, axis=axis,
                                   where=where)
