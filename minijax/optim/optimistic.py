r"""Optimistic gradient descent (optax: `scale_by_optimistic_gradient`): a step
along the gradient extrapolated from the last one, for min-max games where
plain gradient descent cycles.

$$u_t = (\alpha + \beta)\, g_t - \beta\, g_{t-1} \qquad (g_0 \text{ at the first step})$$
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import GradientTransformation, Params, Updates
from minijax.optim.transform import _FROM_INIT
from minijax.optim.tree import check_tree_match, tree_zeros_like

__all__ = ["ScaleByOptimisticGradientState", "scale_by_optimistic_gradient"]


class ScaleByOptimisticGradientState(NamedTuple):
    """Whether no step was taken yet, and the last gradient
    (optax: `ScaleByOptimisticGradientState`)."""

    is_initial_step: jax.Array
    previous_gradient: Updates


def scale_by_optimistic_gradient(alpha: Any = 1.0, beta: Any = 1.0) -> GradientTransformation:
    r"""$u = (\alpha + \beta)\, g - \beta\, g_{prev}$, with $g_{prev} = g$ at the first
    step (optax: `scale_by_optimistic_gradient`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_optimistic_gradient()
        >>> state = tx.init({"w": jnp.zeros(1)})
        >>> u1, state = tx.update({"w": jnp.array([1.0])}, state)
        >>> u2, state = tx.update({"w": jnp.array([3.0])}, state)
        >>> u1["w"], u2["w"]  # 2 * 1 - 1, 2 * 3 - 1
        (Array([1.], dtype=float32), Array([5.], dtype=float32))
    """

    def init_fn(params: Params) -> ScaleByOptimisticGradientState:
        return ScaleByOptimisticGradientState(
            is_initial_step=jnp.array(True), previous_gradient=tree_zeros_like(params)
        )

    def update_fn(
        updates: Updates, state: ScaleByOptimisticGradientState, params: Params | None = None
    ) -> tuple[Updates, ScaleByOptimisticGradientState]:
        del params
        check_tree_match(state.previous_gradient, updates, _FROM_INIT, "updates")

        def step(g: Any, prev: Any) -> Any:
            prev = jnp.where(state.is_initial_step, g, prev)
            return (alpha + beta) * g - beta * prev

        new_updates = jax.tree.map(step, updates, state.previous_gradient)
        return new_updates, ScaleByOptimisticGradientState(jnp.array(False), updates)

    return GradientTransformation(init_fn, update_fn)
