r"""Layer-wise step sizes from the norms of the parameters: the trust ratio of
LARS and LAMB, and Adafactor's parameter-scale multipliers
(optax: `scale_by_trust_ratio`, `scale_by_param_block_norm`,
`scale_by_param_block_rms`).

All three are stateless and need `params`.
"""

from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    NO_PARAMS_MSG,
    EmptyState,
    GradientTransformation,
    OptState,
    Params,
    Updates,
    init_empty_state,
)
from minijax.optim.numerics import safe_norm, safe_root_mean_squares

__all__ = [
    "ScaleByTrustRatioState",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_trust_ratio",
]

ScaleByTrustRatioState = EmptyState
"""The (empty) state of `scale_by_trust_ratio` (optax: `ScaleByTrustRatioState`)."""


def _need_params(params: Params | None) -> Params:
    if params is None:
        raise ValueError(NO_PARAMS_MSG)
    return params


def scale_by_trust_ratio(
    min_norm: Any = 0.0, trust_coefficient: Any = 1.0, eps: Any = 0.0
) -> GradientTransformation:
    r"""Scale each leaf by its trust ratio (optax: `scale_by_trust_ratio`):

    $$u_\ell = g_\ell \cdot \frac{c\, \lVert p_\ell\rVert}{\lVert g_\ell\rVert + \epsilon}$$

    with norms floored at `min_norm`, and ratio 1 where either norm is zero.
    The step of every layer is then proportional to the size of its weights.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.array([3.0, 4.0])}
        >>> tx = optax.scale_by_trust_ratio()
        >>> u, _ = tx.update({"w": jnp.array([0.0, 0.5])}, tx.init(params), params)
        >>> u["w"]  # norm 5, like the params
        Array([0., 5.], dtype=float32)
    """

    def scale_leaf(g: jax.Array, p: jax.Array) -> jax.Array:
        param_norm = safe_norm(p, min_norm)
        update_norm = safe_norm(g, min_norm)
        ratio = trust_coefficient * param_norm / (update_norm + eps)
        zero_norm = jnp.logical_or(param_norm == 0.0, update_norm == 0.0)
        return g * jnp.where(zero_norm, jnp.array(1.0, dtype=p.dtype), ratio)

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        return jax.tree.map(scale_leaf, updates, _need_params(params)), state

    return GradientTransformation(init_empty_state, update_fn)


def scale_by_param_block_norm(min_scale: Any = 1e-3) -> GradientTransformation:
    r"""$u_\ell = g_\ell \max(\lVert p_\ell\rVert, \text{min\_scale})$
    (optax: `scale_by_param_block_norm`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.array([3.0, 4.0])}
        >>> u, _ = optax.scale_by_param_block_norm().update({"w": jnp.ones(2)}, (), params)
        >>> u["w"]
        Array([5., 5.], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        params = _need_params(params)
        return jax.tree.map(lambda g, p: g * safe_norm(p, min_scale), updates, params), state

    return GradientTransformation(init_empty_state, update_fn)


def scale_by_param_block_rms(min_scale: Any = 1e-3) -> GradientTransformation:
    r"""$u_\ell = g_\ell \max(\operatorname{rms}(p_\ell), \text{min\_scale})$
    (optax: `scale_by_param_block_rms`); Adafactor's `multiply_by_parameter_scale`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.array([3.0, -3.0])}
        >>> u, _ = optax.scale_by_param_block_rms().update({"w": jnp.ones(2)}, (), params)
        >>> u["w"]
        Array([3., 3.], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        params = _need_params(params)
        scaled = jax.tree.map(
            lambda g, p: g * safe_root_mean_squares(p, min_scale), updates, params
        )
        return scaled, state

    return GradientTransformation(init_empty_state, update_fn)
