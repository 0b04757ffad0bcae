r"""Run a transformation on all the parameters as one flat vector
(optax: `flatten`). Useful for transformations that are cheaper on one big
array than on many small ones, or that need the whole vector at once."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.optim.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
)
from minijax.optim.combine import call_update

__all__ = ["flatten"]


def _flatten(tree: Any) -> jax.Array:
    return jnp.concatenate([jnp.reshape(x, [-1]) for x in jax.tree.leaves(tree)])


def _unflatten(like: Any, flat: jax.Array) -> Any:
    leaves, treedef = jax.tree.flatten(like)
    treedef_: Any = treedef
    offsets = np.cumsum([np.size(x) for x in leaves])[:-1]
    parts = jnp.split(flat, offsets)
    return treedef_.unflatten([jnp.reshape(p, x.shape) for p, x in zip(parts, leaves, strict=True)])


def flatten(inner: GradientTransformation) -> GradientTransformationExtraArgs:
    """Give `inner` the updates and params concatenated into one vector, and
    split its output back into the tree (optax: `flatten`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.flatten(optax.scale_by_adam())
        >>> state = tx.init({"a": jnp.zeros(2), "b": jnp.zeros((1, 3))})
        >>> state.mu.shape
        (5,)
    """

    def init_fn(params: Params) -> OptState:
        return inner.init(_flatten(params))

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]:
        flat_params = None if params is None else _flatten(params)
        flat, state = call_update(inner, _flatten(updates), state, flat_params, extra_args)
        return _unflatten(updates, flat), state

    return GradientTransformationExtraArgs(init_fn, update_fn)
