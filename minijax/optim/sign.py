r"""Updates that keep only the sign of the gradient: `scale_by_sign` (signSGD,
signum) and `scale_by_rprop` (optax: `scale_by_sign`, `scale_by_rprop`).

Throwing the magnitude away makes the step size the learning rate's alone,
whatever the scale of the loss.
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    GradientTransformation,
    OptState,
    Params,
    Updates,
    init_empty_state,
)
from minijax.optim.transform import _FROM_INIT
from minijax.optim.tree import check_tree_match, tree_full_like, tree_zeros_like

__all__ = ["ScaleByRpropState", "scale_by_rprop", "scale_by_sign"]


def scale_by_sign() -> GradientTransformation:
    r"""Keep the sign: $u = \operatorname{sign}(g)$ (optax: `scale_by_sign`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> u, _ = optax.scale_by_sign().update({"w": jnp.array([-3.0, 0.0, 0.5])}, ())
        >>> u["w"]
        Array([-1.,  0.,  1.], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(jnp.sign, updates), state

    return GradientTransformation(init_empty_state, update_fn)


class ScaleByRpropState(NamedTuple):
    """Rprop's per-entry step sizes and last updates (optax: `ScaleByRpropState`)."""

    step_sizes: Updates
    prev_updates: Updates


def scale_by_rprop(
    learning_rate: Any,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
) -> GradientTransformation:
    r"""Rprop: a step size per entry, grown while the gradient keeps its sign and
    shrunk when it flips (optax: `scale_by_rprop`).

    With $s = g \cdot u_{prev}$ (the sign agreement with the last step):

    $$\delta \leftarrow \begin{cases}
        \delta & s = 0 \\
        \operatorname{clip}(\eta_+ \delta, \delta_{min}, \delta_{max}) & s > 0 \\
        \operatorname{clip}(\eta_- \delta, \delta_{min}, \delta_{max}) & s < 0
      \end{cases}, \qquad
      u_{new} = \begin{cases} 0 & s < 0 \\ \delta \operatorname{sign}(g) & \text{otherwise}
      \end{cases}$$

    and the update returned is the *previous* call's $u_{new}$, zeroed where the
    sign flipped ($u = 0$ at the first call): optax's order, kept for equality.
    The update points *along* the gradient: `rprop` chains it with `scale(-1)`.
    Step sizes start at `learning_rate`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_rprop(0.1)
        >>> state = tx.init({"w": jnp.zeros(1)})
        >>> u1, state = tx.update({"w": jnp.array([5.0])}, state)
        >>> u2, state = tx.update({"w": jnp.array([5.0])}, state)  # same sign: grow
        >>> u1["w"], u2["w"], state.step_sizes["w"]
        (Array([0.], dtype=float32), Array([0.1], dtype=float32), Array([0.12], dtype=float32))
    """

    def init_fn(params: Params) -> ScaleByRpropState:
        return ScaleByRpropState(
            step_sizes=tree_full_like(params, learning_rate), prev_updates=tree_zeros_like(params)
        )

    def new_step_size(s: Any, step: Any) -> Any:
        grown = jnp.clip(
            step * jnp.where(s > 0, eta_plus, eta_minus), min=min_step_size, max=max_step_size
        )
        return jnp.where(s == 0, step, grown)

    def update_fn(
        updates: Updates, state: ScaleByRpropState, params: Params | None = None
    ) -> tuple[Updates, ScaleByRpropState]:
        del params
        check_tree_match(state.prev_updates, updates, _FROM_INIT, "updates")
        sign = jax.tree.map(lambda g, prev: g * prev, updates, state.prev_updates)
        step_sizes = jax.tree.map(new_step_size, sign, state.step_sizes)
        prev_updates = jax.tree.map(
            lambda s, g, step: jnp.where(s < 0, jnp.zeros_like(g), step * jnp.sign(g)),
            sign,
            updates,
            step_sizes,
        )
        # optax returns the step of the previous call (zero at the first)
        updates = jax.tree.map(
            lambda s, prev: jnp.where(s < 0, jnp.zeros_like(prev), prev),
            sign,
            state.prev_updates,
        )
        return updates, ScaleByRpropState(step_sizes, prev_updates)

    return GradientTransformation(init_fn, update_fn)
