r"""Transformations that run, or not, depending on the step or on the values:
`conditionally_transform`, `conditionally_mask` (optax:
`optax.transforms._conditionality`) and the constraints `zero_nans` and
`keep_params_nonnegative` (optax: `optax.transforms._constraining`).
`apply_if_finite` lives in `minijax.optim.wrappers`.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    NO_PARAMS_MSG,
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
    init_empty_state,
)
from minijax.optim.combine import call_update
from minijax.optim.transform import Count, _zero_count
from minijax.optim.tree import safe_increment, tree_zeros_like

__all__ = [
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "NonNegativeParamsState",
    "ZeroNansState",
    "conditionally_mask",
    "conditionally_transform",
    "keep_params_nonnegative",
    "zero_nans",
]


class ConditionallyTransformState(NamedTuple):
    """The inner state and the step count of `conditionally_transform`
    (optax: `ConditionallyTransformState`)."""

    inner_state: Any
    step: Count


class ConditionallyMaskState(NamedTuple):
    """The step count and the inner state of `conditionally_mask`
    (optax: `ConditionallyMaskState`)."""

    step: Count
    inner_state: OptState


def _conditional(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool,
    otherwise: Callable[[Updates], Updates],
    updates: Updates,
    inner_state: OptState,
    step: jax.Array,
    params: Params | None,
    extra_args: dict[str, Any],
) -> tuple[Updates, OptState]:
    def do_update(_: None) -> tuple[Updates, OptState]:
        return call_update(inner, updates, inner_state, params, extra_args)

    def reject_update(_: None) -> tuple[Updates, OptState]:
        return otherwise(updates), inner_state

    condition_kwargs = extra_args if forward_extra_args else {}
    return jax.lax.cond(  # type: ignore[no-any-return]
        should_transform_fn(step, **condition_kwargs), do_update, reject_update, operand=None
    )


def conditionally_transform(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Run `inner` at the steps where `should_transform_fn(step)` is true, pass the
    updates through unchanged (and keep `inner`'s state) at the others
    (optax: `conditionally_transform`). `step` counts every call, from 0.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.conditionally_transform(optax.scale(10.0), lambda step: step >= 1)
        >>> state = tx.init({"w": jnp.zeros(1)})
        >>> u0, state = tx.update({"w": jnp.ones(1)}, state)
        >>> u1, state = tx.update({"w": jnp.ones(1)}, state)
        >>> u0["w"], u1["w"]
        (Array([1.], dtype=float32), Array([10.], dtype=float32))
    """

    def init_fn(params: Params) -> ConditionallyTransformState:
        return ConditionallyTransformState(inner_state=inner.init(params), step=_zero_count())

    def update_fn(
        updates: Updates,
        state: ConditionallyTransformState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ConditionallyTransformState]:
        updates, inner_state = _conditional(
            inner,
            should_transform_fn,
            forward_extra_args,
            lambda u: u,
            updates,
            state.inner_state,
            state.step,
            params,
            extra_args,
        )
        return updates, ConditionallyTransformState(inner_state, safe_increment(state.step))

    return GradientTransformationExtraArgs(init_fn, update_fn)


def conditionally_mask(
    inner: GradientTransformation,
    should_transform_fn: Callable[..., Any],
    forward_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Run `inner` at the steps where `should_transform_fn(step)` is true and
    return *zero* updates at the others (optax: `conditionally_mask`), e.g. to
    hold the parameters still during a warm-up.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.conditionally_mask(optax.sgd(1.0), lambda step: step >= 1)
        >>> u0, state = tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.zeros(1)}))
        >>> u0["w"], int(state.step)
        (Array([0.], dtype=float32), 1)
    """

    def init_fn(params: Params) -> ConditionallyMaskState:
        return ConditionallyMaskState(step=_zero_count(), inner_state=inner.init(params))

    def update_fn(
        updates: Updates,
        state: ConditionallyMaskState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ConditionallyMaskState]:
        updates, inner_state = _conditional(
            inner,
            should_transform_fn,
            forward_extra_args,
            tree_zeros_like,
            updates,
            state.inner_state,
            state.step,
            params,
            extra_args,
        )
        return updates, ConditionallyMaskState(safe_increment(state.step), inner_state)

    return GradientTransformationExtraArgs(init_fn, update_fn)


class ZeroNansState(NamedTuple):
    """Whether each leaf of the last updates held a NaN (optax: `ZeroNansState`)."""

    found_nan: Any


def zero_nans() -> GradientTransformation:
    r"""Replace NaNs by zeros, recording per leaf whether there were any
    (optax: `zero_nans`): $u = [g \ne \text{NaN}]\, g$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.zero_nans()
        >>> u, state = tx.update({"w": jnp.array([1.0, jnp.nan])}, tx.init({"w": jnp.zeros(2)}))
        >>> u["w"], state.found_nan["w"]
        (Array([1., 0.], dtype=float32), Array(True, dtype=bool))
    """

    def init_fn(params: Params) -> ZeroNansState:
        return ZeroNansState(found_nan=jax.tree.map(lambda p: jnp.array(False), params))

    def update_fn(
        updates: Updates, state: ZeroNansState, params: Params | None = None
    ) -> tuple[Updates, ZeroNansState]:
        del params, state
        found_nan = jax.tree.map(lambda g: jnp.any(jnp.isnan(g)), updates)
        updates = jax.tree.map(lambda g: jnp.where(jnp.isnan(g), jnp.zeros_like(g), g), updates)
        return updates, ZeroNansState(found_nan=found_nan)

    return GradientTransformation(init_fn, update_fn)


NonNegativeParamsState = EmptyState
"""The (empty) state of `keep_params_nonnegative` (optax: `NonNegativeParamsState`)."""


def keep_params_nonnegative() -> GradientTransformation:
    r"""Stop at zero any parameter the update would make negative
    (optax: `keep_params_nonnegative`): $u = -p$ where $p + g < 0$, else $g$.
    Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.array([1.0, 1.0])}
        >>> tx = optax.keep_params_nonnegative()
        >>> tx.update({"w": jnp.array([-3.0, -0.5])}, tx.init(params), params)[0]["w"]
        Array([-1. , -0.5], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        updates = jax.tree.map(
            lambda p, g: None if p is None else jnp.where((p + g) < 0.0, -p, g),
            params,
            updates,
            is_leaf=lambda x: x is None,
        )
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)
