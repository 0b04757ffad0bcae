"""Freezing parameters: zero updates for part of the params
(optax: `freeze`, `selective_transform`)."""

from typing import Any

import jax

from minijax.optim.base import GradientTransformation, set_to_zero
from minijax.optim.combine import masked, multi_transform

__all__ = ["freeze", "selective_transform"]


def freeze(mask: bool | Any) -> GradientTransformation:
    """Zero the updates of the leaves where `mask` is `True`, pass the others
    through (optax: `freeze`): `masked(set_to_zero(), mask)`. Chain it after the
    optimizer, or use `selective_transform` to keep the optimizer from keeping
    state for the frozen leaves.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.chain(optax.sgd(1.0), optax.freeze({"a": True, "b": False}))
        >>> g = {"a": jnp.ones(1), "b": jnp.ones(1)}
        >>> u, _ = tx.update(g, tx.init(g))
        >>> u["a"], u["b"]
        (Array([0.], dtype=float32), Array([-1.], dtype=float32))
    """
    return masked(set_to_zero(), mask)


def selective_transform(optimizer: GradientTransformation, *, freeze_mask: bool | Any) -> Any:
    """Run `optimizer` on the leaves where `freeze_mask` is `False` and zero the
    others (optax: `selective_transform`): a `partition` into `"train"` and
    `"freeze"`, so the optimizer keeps no state for frozen leaves.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.selective_transform(optax.adam(0.1), freeze_mask={"a": True, "b": False})
        >>> g = {"a": jnp.ones(1), "b": jnp.ones(1)}
        >>> u, state = tx.update(g, tx.init(g))
        >>> u["a"], sorted(state.inner_states)
        (Array([0.], dtype=float32), ['freeze', 'train'])
    """

    def labels(params: Any) -> Any:
        del params
        return jax.tree.map(lambda m: "freeze" if m else "train", freeze_mask)

    return multi_transform({"train": optimizer, "freeze": set_to_zero()}, labels)
