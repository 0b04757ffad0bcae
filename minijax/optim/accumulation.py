r"""Moving averages and accumulation over steps: `ema`, `apply_every`,
`incremental_update` and `periodic_update` (target networks), and the
`skip_large_updates` test of `MultiSteps` (optax: `optax.transforms._accumulation`,
`optax._src.update`).
"""

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import GradientTransformation, Params, Updates
from minijax.optim.transform import _FROM_INIT, Count, _canonical_dtype, _zero_count
from minijax.optim.tree import (
    bias_correction,
    check_tree_match,
    safe_increment,
    tree_cast,
    tree_zeros_like,
    update_moment,
)

__all__ = [
    "ApplyEvery",
    "EmaState",
    "apply_every",
    "ema",
    "incremental_update",
    "periodic_update",
    "skip_large_updates",
]


class EmaState(NamedTuple):
    """The step count and the moving average of `ema` (optax: `EmaState`)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    ema: Params


def ema(decay: Any, debias: bool = True, accumulator_dtype: Any = None) -> GradientTransformation:
    r"""Exponential moving average of the updates (optax: `ema`):

    $$m \leftarrow (1-\beta) g + \beta m, \qquad
      u = \begin{cases} m / (1-\beta^t) & \text{debias} \\ m & \text{otherwise}\end{cases}$$

    Unlike `trace` (momentum, $m \leftarrow g + \beta m$) the average is
    normalised. `m` is stored in `accumulator_dtype` (default: the params').

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.ema(0.9)
        >>> u, state = tx.update({"w": jnp.array([2.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> u["w"], state.ema["w"]
        (Array([2.], dtype=float32), Array([0.2], dtype=float32))
    """
    accumulator_dtype = _canonical_dtype(accumulator_dtype)

    def init_fn(params: Params) -> EmaState:
        return EmaState(count=_zero_count(), ema=tree_zeros_like(params, dtype=accumulator_dtype))

    def update_fn(
        updates: Updates, state: EmaState, params: Params | None = None
    ) -> tuple[Updates, EmaState]:
        del params
        check_tree_match(state.ema, updates, _FROM_INIT, "updates", none_is_leaf=True)
        updates = new_ema = update_moment(updates, state.ema, decay, 1)
        count = safe_increment(state.count)
        if debias:
            updates = bias_correction(new_ema, decay, count)
        return updates, EmaState(count=count, ema=tree_cast(new_ema, accumulator_dtype))

    return GradientTransformation(init_fn, update_fn)


class ApplyEvery(NamedTuple):
    """The state of `apply_every` (optax: `ApplyEvery`)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    grad_acc: Updates


def apply_every(k: Any = 1) -> GradientTransformation:
    r"""Sum the updates of `k` steps and emit the sum every `k`-th step, zeros
    otherwise (optax: `apply_every`; `MultiSteps` is the wrapper to prefer):

    $$a \leftarrow g + [c \ne 0]\, a, \qquad u = [c = k - 1]\, a, \qquad
      c \leftarrow (c + 1) \bmod k$$

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.apply_every(2)
        >>> state = tx.init({"w": jnp.zeros(1)})
        >>> u1, state = tx.update({"w": jnp.array([1.0])}, state)
        >>> u2, state = tx.update({"w": jnp.array([2.0])}, state)
        >>> u1["w"], u2["w"]
        (Array([0.], dtype=float32), Array([3.], dtype=float32))
    """

    def init_fn(params: Params) -> ApplyEvery:
        return ApplyEvery(count=_zero_count(), grad_acc=tree_zeros_like(params))

    def update_fn(
        updates: Updates, state: ApplyEvery, params: Params | None = None
    ) -> tuple[Updates, ApplyEvery]:
        del params
        check_tree_match(state.grad_acc, updates, _FROM_INIT, "updates")
        c = state.count % k
        keep = c != 0
        grad_acc = jax.tree.map(lambda g, a: keep * a + g, updates, state.grad_acc)
        emit = c == (k - 1)
        updates = jax.tree.map(lambda a: emit * a, grad_acc)
        return updates, ApplyEvery(count=safe_increment(state.count) % k, grad_acc=grad_acc)

    return GradientTransformation(init_fn, update_fn)


def incremental_update(new_tensors: Params, old_tensors: Params, step_size: Any) -> Params:
    r"""Polyak averaging of a target network (optax: `incremental_update`):
    $\theta_{old} \leftarrow \tau \theta_{new} + (1-\tau)\theta_{old}$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> optax.incremental_update({"w": jnp.ones(2)}, {"w": jnp.zeros(2)}, 0.25)["w"]
        Array([0.25, 0.25], dtype=float32)
    """
    return jax.tree.map(
        lambda new, old: None if new is None else step_size * new + (1.0 - step_size) * old,
        new_tensors,
        old_tensors,
        is_leaf=lambda x: x is None,
    )


def periodic_update(
    new_tensors: Params, old_tensors: Params, steps: Any, update_period: Any
) -> Params:
    r"""`new_tensors` every `update_period` steps (when `steps` is a multiple of
    it), `old_tensors` otherwise: a hard target-network update
    (optax: `periodic_update`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> optax.periodic_update(jnp.ones(1), jnp.zeros(1), steps=4, update_period=2)
        Array([1.], dtype=float32)
    """
    return jax.lax.cond(
        jnp.mod(steps, update_period) == 0, lambda _: new_tensors, lambda _: old_tensors, None
    )


def skip_large_updates(
    updates: Updates, gradient_step: Any, params: Params | None, max_squared_norm: Any
) -> tuple[jax.Array, dict[str, jax.Array]]:
    r"""A `should_skip_update_fn` for `MultiSteps`: skip when
    $\lVert g\rVert^2 \ge$ `max_squared_norm` (or it is NaN)
    (optax: `skip_large_updates`). Bind the bound with `functools.partial`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> skip, info = optax.skip_large_updates({"w": jnp.array([3.0])}, 0, None, 4.0)
        >>> skip, info["norm_squared"]
        (Array(True, dtype=bool), Array(9., dtype=float32))
    """
    del gradient_step, params
    norm_sq = jnp.sum(jnp.array([jnp.sum(p**2) for p in jax.tree.leaves(updates)]))
    should_skip = jnp.logical_not(norm_sq < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}
