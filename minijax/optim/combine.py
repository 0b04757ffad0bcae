"""Combining transformations: in sequence (:func:`chain`), on part of the params
(:func:`masked`), or a different one per group of params (:func:`multi_transform`).

These mirror ``optax.chain``, ``optax.masked`` and ``optax.multi_transform``
(``optax.partition``), with the same state layouts, so code that indexes
``opt_state`` (``opt_state[0]``, ``opt_state.inner_states["adam"]``) works
unchanged.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple

import jax

from minijax.optim.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
)

__all__ = [
    "MaskedNode",
    "MaskedState",
    "MultiTransformState",
    "PartitionState",
    "call_update",
    "chain",
    "masked",
    "multi_transform",
    "named_chain",
    "partition",
]


def call_update(
    tx: Any, updates: Updates, state: OptState, params: Params | None, extra_args: dict[str, Any]
) -> tuple[Updates, OptState]:
    """``tx.update(updates, state, params, **extra_args)``, dropping the keyword
    arguments for a transformation that does not take them (optax's
    ``with_extra_args_support``). Works for minijax and optax transformations."""
    takes_extra = any(c.__name__ == "GradientTransformationExtraArgs" for c in type(tx).__mro__)
    if extra_args and takes_extra:
        return tx.update(updates, state, params, **extra_args)  # type: ignore[no-any-return]
    return tx.update(updates, state, params)  # type: ignore[no-any-return]


def chain(*transforms: GradientTransformation) -> GradientTransformationExtraArgs:
    r"""Apply the transformations one after the other (optax: ``chain``).

    .. math:: u = f_n(\dots f_2(f_1(g)))

    The state is the tuple of the inner states, so ``opt_state[i]`` is the state
    of the ``i``-th transformation. Any object with ``init`` and ``update``
    works, optax transformations included.
    """

    def init_fn(params: Params) -> tuple[OptState, ...]:
        return tuple(tx.init(params) for tx in transforms)

    def update_fn(
        updates: Updates,
        state: tuple[OptState, ...],
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, tuple[OptState, ...]]:
        if len(state) != len(transforms):
            raise ValueError(
                f"chain of {len(transforms)} transformations got a state with {len(state)} "
                "entries: pass the state returned by this chain's init."
            )
        # >>> TASK A3.4
        new_state = []
        for tx, inner_state in zip(transforms, state, strict=True):
            updates, inner_state = call_update(tx, updates, inner_state, params, extra_args)
            new_state.append(inner_state)
        return updates, tuple(new_state)
        # <<< TASK A3.4

    return GradientTransformationExtraArgs(init_fn, update_fn)


def named_chain(*transforms: tuple[str, GradientTransformation]) -> GradientTransformationExtraArgs:
    """`chain` with a name for each transformation (optax: `named_chain`): the
    state is a dict from the names to the inner states, in order.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.named_chain(("clip", optax.clip(1.0)), ("adam", optax.scale_by_adam()))
        >>> list(tx.init({"w": jnp.zeros(1)}))
        ['clip', 'adam']
    """
    names = [name for name, _ in transforms]
    if len(names) != len(set(names)):
        raise ValueError(f"named_chain needs unique names, got {names}.")

    def init_fn(params: Params) -> OrderedDict[str, OptState]:
        # ordered: a plain dict would be flattened in sorted key order
        return OrderedDict((name, tx.init(params)) for name, tx in transforms)

    def update_fn(
        updates: Updates,
        state: OrderedDict[str, OptState],
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, OrderedDict[str, OptState]]:
        new_state: OrderedDict[str, OptState] = OrderedDict()
        for name, tx in transforms:
            updates, new_state[name] = call_update(tx, updates, state[name], params, extra_args)
        return updates, new_state

    return GradientTransformationExtraArgs(init_fn, update_fn)


class MaskedNode(NamedTuple):
    """Stands in for a leaf that a mask leaves out: an empty pytree node, so the
    inner transformation sees no array there (optax: ``MaskedNode``)."""


class MaskedState(NamedTuple):
    """The inner state of :func:`masked` (optax: ``MaskedState``)."""

    inner_state: Any


def _mask_tree(tree: Any, mask_tree: Any) -> Any:
    return jax.tree.map(lambda m, x: x if m else MaskedNode(), mask_tree, tree)


def _mask_callable(mask: Any) -> bool:
    """Whether `mask` is a function of the params rather than a tree of bools.

    A callable *pytree* (an equinox module holding bools) is a mask tree: only
    a mask whose leaves are all callable, a plain function, is called."""
    callable_leaves = jax.tree.leaves(jax.tree.map(callable, mask))
    return len(callable_leaves) > 0 and all(callable_leaves)


def masked(
    inner: GradientTransformation,
    mask: Any | Callable[[Params], Any],
    *,
    mask_compatible_extra_args: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Apply ``inner`` only to the leaves where ``mask`` is ``True`` (optax: ``masked``).

    .. math:: u_i = \begin{cases} f(g)_i & \text{mask}_i \\ g_i & \text{otherwise} \end{cases}

    ``mask`` is a tree of bools with the structure of the params (or a function
    of the params returning one). Masked-out leaves are passed through
    unchanged, and ``inner`` keeps no state for them. A mask tree may itself be
    callable (an equinox module of bools): only a plain function is called.
    With ``mask_compatible_extra_args=True``, keyword arguments shaped like the
    updates are masked too.
    """

    def mask_for(tree: Any) -> Any:
        return mask(tree) if _mask_callable(mask) else mask

    def mask_extra_args(extra_args: dict[str, Any], updates: Any, mask_tree: Any) -> Any:
        if not mask_compatible_extra_args:
            return extra_args
        structure: Any = jax.tree.structure(updates)
        return {
            k: _mask_tree(v, mask_tree) if jax.tree.structure(v) == structure else v
            for k, v in extra_args.items()
        }

    def init_fn(params: Params) -> MaskedState:
        return MaskedState(inner_state=inner.init(_mask_tree(params, mask_for(params))))

    def update_fn(
        updates: Updates, state: MaskedState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MaskedState]:
        mask_tree = mask_for(updates)
        masked_params = None if params is None else _mask_tree(params, mask_tree)
        new_updates, inner_state = call_update(
            inner,
            _mask_tree(updates, mask_tree),
            state.inner_state,
            masked_params,
            mask_extra_args(extra_args, updates, mask_tree),
        )
        updates = jax.tree.map(
            lambda m, new, old: new if m else old, mask_tree, new_updates, updates
        )
        return updates, MaskedState(inner_state=inner_state)

    return GradientTransformationExtraArgs(init_fn, update_fn)


class PartitionState(NamedTuple):
    """The state of each group's transformation (optax: ``PartitionState``,
    alias ``MultiTransformState``)."""

    inner_states: Mapping[Hashable, Any]


MultiTransformState = PartitionState


def multi_transform(
    transforms: Mapping[Hashable, GradientTransformation], param_labels: Any
) -> GradientTransformationExtraArgs:
    """Apply a different transformation to each group of params
    (optax: ``multi_transform`` / ``partition``).

    ``param_labels`` is a tree with the structure of the params whose leaves are
    keys of ``transforms`` (or a function of the params returning it). Each
    transformation runs :func:`masked` to the leaves carrying its label, e.g.
    ``multi_transform({"train": adam(1e-3), "frozen": set_to_zero()}, labels)``.
    """

    def labels_for(tree: Any) -> Any:
        return param_labels(tree) if callable(param_labels) else param_labels

    def group_tx(labels: Any, group: Hashable) -> GradientTransformationExtraArgs:
        return masked(transforms[group], jax.tree.map(lambda label: label == group, labels))

    def init_fn(params: Params) -> PartitionState:
        labels = labels_for(params)
        unknown = set(jax.tree.leaves(labels)) - set(transforms)
        if unknown:
            raise ValueError(
                f"Some parameters have labels {sorted(map(str, unknown))} with no "
                f"transformation; transformations: {sorted(map(str, transforms))}."
            )
        return PartitionState({g: group_tx(labels, g).init(params) for g in transforms})

    def update_fn(
        updates: Updates, state: PartitionState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, PartitionState]:
        labels = labels_for(updates)
        new_states = {}
        for group in transforms:
            updates, new_states[group] = call_update(
                group_tx(labels, group), updates, state.inner_states[group], params, extra_args
            )
        return updates, PartitionState(new_states)

    return GradientTransformationExtraArgs(init_fn, update_fn)


partition = multi_transform
