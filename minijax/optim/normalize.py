r"""Gradient normalisations: `centralize` (gradient centralisation) and
`normalize_by_update_norm` (optax: `centralize`, `normalize_by_update_norm`)."""

from typing import Any

import jax

from minijax.optim.base import GradientTransformation, OptState, Params, Updates, init_empty_state
from minijax.optim.tree import global_norm

__all__ = ["centralize", "normalize_by_update_norm"]


def _subtract_mean(g: jax.Array) -> jax.Array:
    if g.ndim > 1:
        return g - g.mean(tuple(range(1, g.ndim)), keepdims=True)
    return g


def centralize() -> GradientTransformation:
    r"""Gradient centralisation (optax: `centralize`): subtract from each leaf of
    rank 2 or more its mean over all axes but the first,
    $u_{i\cdot} = g_{i\cdot} - \operatorname{mean}(g_{i\cdot})$; vectors pass unchanged.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> u, _ = optax.centralize().update({"w": jnp.array([[1.0, 3.0], [0.0, 4.0]])}, ())
        >>> u["w"]
        Array([[-1.,  1.],
               [-2.,  2.]], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(_subtract_mean, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def normalize_by_update_norm(scale_factor: Any = 1.0, eps: Any = 1e-6) -> GradientTransformation:
    r"""Rescale the updates to global norm `scale_factor` (optax:
    `normalize_by_update_norm`): $u = s\, g / (\lVert g\rVert + \epsilon)$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.normalize_by_update_norm(eps=0.0)
        >>> u, _ = tx.update({"w": jnp.array([3.0, 4.0])}, ())
        >>> u["w"]
        Array([0.6, 0.8], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        g_norm = (global_norm(updates) + eps) / scale_factor
        return jax.tree.map(lambda g: g / g_norm, updates), state

    return GradientTransformation(init_empty_state, update_fn)
