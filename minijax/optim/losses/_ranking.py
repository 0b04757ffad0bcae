r"""Ranking losses (optax: `optax.losses._ranking`).

>>> import jax.numpy as jnp
>>> ranking_softmax_loss(jnp.array([2.0, 0.0, -1.0]), jnp.array([1.0, 0.0, 0.0]))
Array(0.1698, dtype=float32)
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.losses._checks import check_floating

__all__ = ["ranking_softmax_loss"]


def _safe_reduce(a: Any, where: Any = None, reduce_fn: Callable[..., Any] | None = None) -> Any:
    """`reduce_fn(a, where=where)`; a mean over nothing is 0, not NaN (unless `a`
    holds a NaN); without `reduce_fn`, masked entries are 0."""
    output = reduce_fn(a, where=where) if reduce_fn is not None else a
    if reduce_fn is jnp.mean:
        is_input_valid = jnp.logical_not(jnp.any(jnp.isnan(a)))
        output = jnp.where(jnp.isnan(output) & is_input_valid, 0.0, output)
    if reduce_fn is None and where is not None:
        output = jnp.where(where, output, 0.0)
    return output


def ranking_softmax_loss(
    logits: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    *,
    where: jax.typing.ArrayLike | None = None,
    weights: jax.typing.ArrayLike | None = None,
    reduce_fn: Callable[..., Any] | None = jnp.mean,
) -> jax.Array:
    r"""The listwise softmax loss of learning to rank (ListNet; optax:
    `ranking_softmax_loss`): the cross-entropy between the relevance labels and the
    softmax of the scores of each list, $-\sum_i y_i \log \operatorname{softmax}(z)_i$,
    then reduced over the lists.

    Args:
        logits: `(..., list_size)` scores.
        labels: relevance labels of the same shape.
        where: the items that are in the list (the others get weight 0).
        weights: per-item weights of the labels.
        reduce_fn: `jnp.mean` (a list without items counts 0), `jnp.sum`, or `None`
            for one loss per list.

    Returns:
        A scalar, or one loss per list.

    >>> import jax.numpy as jnp
    >>> ranking_softmax_loss(jnp.zeros((2, 4)), jnp.eye(4)[:2], reduce_fn=None)
    Array([1.3863, 1.3863], dtype=float32)
    """
    check_floating("ranking_softmax_loss", "logits", logits)
    z: Any = jnp.asarray(logits)
    y: Any = jnp.asarray(labels).astype(z.dtype)
    if where is not None:
        y = jnp.where(where, y, jnp.zeros_like(y))
        z = jnp.where(where, z, -jnp.ones_like(z) * jnp.inf)
    if weights is not None:
        y *= weights
    loss = -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1, where=where)
    if where is not None:
        where = jnp.any(where, axis=-1)
    return _safe_reduce(loss, where=where, reduce_fn=reduce_fn)  # type: ignore[no-any-return]
