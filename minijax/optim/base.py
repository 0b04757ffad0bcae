"""The optimizer interface: a pair of pure functions and the state they pass along.

An optimizer in minijax (as in optax) is not an object that holds its moments.
It is a :class:`GradientTransformation`, a named pair of pure functions::

    state = tx.init(params)                              # the initial state
    updates, state = tx.update(grads, state, params)     # one step
    params = apply_updates(params, updates)              # params + updates

All the optimizer's memory (momentum, Adam's moments, step counters) lives in
``state``, a pytree of arrays that the caller keeps. Nothing is mutated, so the
step can be jitted, scanned, checkpointed and replayed.

Everything here mirrors ``optax._src.base`` and ``optax._src.update``.
"""

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from minijax.optim.tree import check_shapes_match

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "OptState",
    "Params",
    "ScalarOrSchedule",
    "Schedule",
    "TransformInitFn",
    "TransformUpdateFn",
    "Updates",
    "apply_updates",
    "identity",
    "init_empty_state",
    "set_to_zero",
    "stateless",
    "stateless_with_tree_map",
    "with_extra_args_support",
]

Params = Any
"""A pytree of arrays: the parameters being optimized."""
Updates = Any
"""A pytree with the structure of ``Params``: gradients in, updates out."""
OptState = Any
"""A pytree of arrays: whatever a transformation needs to remember."""
Schedule = Callable[[Any], Any]
"""A function from the step count (an int32 scalar) to a value."""
ScalarOrSchedule = float | jax.Array | Schedule

NO_PARAMS_MSG = (
    "This transformation needs the current parameters: call "
    "`update(updates, state, params)`, not `update(updates, state)`."
)


class TransformInitFn(Protocol):
    """``init(params) -> state``."""

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """``update(updates, state, params=None) -> (updates, state)``."""

    def __call__(
        self, updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A gradient transformation: two pure functions (optax: ``GradientTransformation``).

    * ``init(params)`` returns the initial state (moments, counters...).
    * ``update(updates, state, params=None)`` returns the transformed updates and
      the new state. ``params`` is only needed by transformations that read the
      parameters (weight decay).

    Being a plain ``NamedTuple`` of two functions, a minijax transformation can be
    passed to ``optax.chain`` or flax's ``TrainState``, and an optax transformation
    can be passed to :func:`minijax.optim.chain`.
    """

    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A transformation whose ``update`` also takes keyword arguments
    (optax: ``GradientTransformationExtraArgs``); combinators such as
    :func:`~minijax.optim.chain` return it and forward the keywords."""


class EmptyState(NamedTuple):
    """The state of a stateless transformation (optax: ``EmptyState``)."""


def init_empty_state(params: Params) -> EmptyState:
    """``init`` of a stateless transformation: returns :class:`EmptyState`."""
    del params
    return EmptyState()


def stateless(f: Callable[[Updates, Params | None], Updates]) -> GradientTransformation:
    """A stateless transformation from ``f(updates, params) -> updates`` (optax: ``stateless``)."""

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del state
        return f(updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def identity() -> GradientTransformation:
    r"""Leave the updates unchanged: :math:`u = g` (optax: ``identity``)."""

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


def set_to_zero() -> GradientTransformation:
    r"""Replace every update by zeros: :math:`u = 0` (optax: ``set_to_zero``).

    Applied to a part of the params (with :func:`~minijax.optim.masked` or
    :func:`~minijax.optim.multi_transform`) it freezes that part.
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def apply_updates(params: Params, updates: Updates) -> Params:
    r"""Return :math:`p + u` for every leaf, in the dtype of ``p`` (optax: ``apply_updates``).

    The sum is cast back to the parameter's dtype, so bfloat16 params stay
    bfloat16 even when the updates are float32. A ``None`` in ``params`` stays
    ``None``, whatever its update (``apply_updates(None, u)`` is ``None``, as in
    optax). An ``updates`` tree that does not match ``params`` (structure or
    leaf shapes) raises a ``TypeError`` naming the first differing path, where
    ``p + u`` would otherwise fail obscurely or broadcast silently.
    """
    # >>> TASK A3.1
    check_shapes_match(params, updates, "params", "updates", none_is_prefix=True)
    return jax.tree.map(
        lambda p, u: None if p is None else jnp.asarray(p + u).astype(jnp.asarray(p).dtype),
        params,
        updates,
        is_leaf=lambda x: x is None,
    )
    # <<< TASK A3.1


def stateless_with_tree_map(f: Callable[[Any, Any], Any]) -> GradientTransformation:
    """A stateless transformation from a function of one leaf `f(update, param)`
    (optax: `stateless_with_tree_map`); `param` is `None` when no params are given.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.stateless_with_tree_map(lambda g, p: 2 * g)
        >>> tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.ones(1)}))[0]["w"]
        Array([2.], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del state
        if params is None:
            return jax.tree.map(lambda g: f(g, None), updates), EmptyState()
        return jax.tree.map(f, updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """`tx` with an `update` that accepts (and ignores) keyword arguments
    (optax: `with_extra_args_support`); returned as is if it takes them already.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.with_extra_args_support(optax.scale(2.0))
        >>> tx.update({"w": jnp.ones(1)}, (), None, loss=1.0)[0]["w"]
        Array([2.], dtype=float32)
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, OptState]:
        del extra_args
        return tx.update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update_fn)
