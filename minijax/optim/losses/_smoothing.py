r"""Label smoothing (optax: `optax.losses._smoothing`).

>>> import jax.numpy as jnp
>>> smooth_labels(jnp.array([0.0, 1.0]), 0.2)
Array([0.1, 0.9], dtype=float32)
"""

from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.losses._checks import check_floating

__all__ = ["smooth_labels"]


def smooth_labels(
    labels: jax.typing.ArrayLike,
    alpha: jax.typing.ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    where: jax.typing.ArrayLike | None = None,
) -> jax.Array:
    r"""Mix one-hot `labels` with the uniform distribution over the $K$ classes
    (optax: `smooth_labels`): $y \leftarrow (1 - \alpha)\, y + \alpha / K$.

    Args:
        labels: floating one-hot (or probability) vectors.
        alpha: the weight of the uniform distribution.
        axis: the class axis.
        where: a mask of the classes that count; $K$ is then the number of them.

    Returns:
        The smoothed labels, of the shape of `labels`.

    >>> import jax.numpy as jnp
    >>> smooth_labels(jnp.array([1.0, 0.0, 0.0, 0.0]), 0.4)
    Array([0.7, 0.1, 0.1, 0.1], dtype=float32)
    """
    check_floating("smooth_labels", "labels", labels)
    num_categories: Any
    if where is None:
        num_categories = jnp.size(labels, axis)
    else:
        num_categories = jnp.sum(where, axis, keepdims=True)
    labels_: Any = labels
    return (1.0 - alpha) * labels_ + alpha / num_categories  # type: ignore[no-any-return]
