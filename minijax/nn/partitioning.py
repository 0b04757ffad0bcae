"""Axis names kept in side collections (flax: `flax.linen.partitioning`, the older API).

Before metadata boxes (`nn.with_logical_partitioning`), flax recorded the logical
axis names of a parameter in a *second collection*: `param_with_axes("kernel",
init, shape, axes=("embed", "mlp"))` creates `params/.../kernel` as usual and
writes `params_axes/.../kernel_axes = AxisMetadata(names=("embed", "mlp"))`.
`get_axis_names(variables["params_axes"])` turns that collection into a tree of
logical `PartitionSpec`s with the structure of `params`:

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Layer(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         w = partitioning.param_with_axes(
    ...             "w", nn.initializers.ones, (x.shape[-1], 3), axes=("embed", "mlp"))
    ...         return x @ w
    >>> variables = Layer().init(jax.random.key(0), jnp.ones((1, 2)))
    >>> partitioning.get_axis_names(variables["params_axes"])
    {'w': P('embed', 'mlp')}

Both the parameter and the activations are constrained with the logical rules in
effect (`axis_rules`, the same as `nn.logical_axis_rules`). flax keeps this module
for old code (T5X); new code uses the boxes of `minijax.nn.spmd`. The names here are
flax's: `axis_rules`, `set_axis_rules`, `get_axis_rules`, `with_sharding_constraint`
(= `nn.with_logical_constraint`). `scan_with_axes` and `vmap_with_axes` are
`nn.scan` and `nn.vmap` that also put the new axis into the recorded names;
`remat` is `nn.remat` (flax wrote its own here for `static_argnums`, which
`nn.remat` takes).
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

import jax

from minijax import struct
from minijax.nn import errors, meta, transforms
from minijax.nn import module as module_lib
from minijax.nn.filters import CollectionFilter, union_filters
from minijax.nn.module import Module
from minijax.nn.scope import Variable
from minijax.nn.spmd import (
    RulesFallback,
    _is_logical_spec,
    logical_to_mesh,
    logical_to_mesh_axes,
)
from minijax.nn.spmd import get_logical_axis_rules as get_axis_rules
from minijax.nn.spmd import logical_axis_rules as axis_rules
from minijax.nn.spmd import set_logical_axis_rules as set_axis_rules
from minijax.nn.spmd import with_logical_constraint as with_sharding_constraint
from minijax.nn.transforms import checkpoint as remat
from minijax.traverse_util import flatten_dict, unflatten_dict

__all__ = [
    "AxisMetadata",
    "PartitionedVariable",
    "RulesFallback",
    "axis_rules",
    "get_axis_names",
    "get_axis_rules",
    "logical_to_mesh",
    "logical_to_mesh_axes",
    "param_with_axes",
    "remat",
    "scan_with_axes",
    "set_axis_rules",
    "variable_with_axes",
    "vmap_with_axes",
    "with_sharding_constraint",
]


@struct.dataclass
class AxisMetadata:
    """The logical axis names of one variable, stored in `<collection>_axes`.

    flax: `partitioning.AxisMetadata` (not the box interface `nn.meta.AxisMetadata`).

    Attributes:
        names: a tuple of logical names, or a pytree of them for a pytree variable.

    >>> from minijax.nn import partitioning
    >>> partitioning.AxisMetadata(names=("embed", "mlp")).names
    ('embed', 'mlp')
    """

    names: Any = struct.field(pytree_node=False)


def _current_module(module: Module | None, what: str) -> Module:
    if module is not None:
        return module
    stack = module_lib._context.module_stack
    if not stack:
        raise errors.AssignSubModuleError(
            f"partitioning.{what} was called outside a module: call it inside setup() or "
            "an @nn.compact method, or pass module=self."
        )
    return stack[-1]


def _record_axes(module: Module, collection: str, name: str, axes: Any) -> None:
    """Write `AxisMetadata(axes)` to `<collection>_axes/<name>_axes` if it is mutable."""
    col, key = f"{collection}_axes", f"{name}_axes"
    if not module.is_mutable_collection(col):
        return
    new = AxisMetadata(axes)
    old = module.get_variable(col, key)
    if old is not None and old != new:
        raise ValueError(
            f"{'/'.join(module.path) or '<root>'}: the axis names of {collection}/{name} "
            f"were recorded as {old.names} and now as {axes}: give the variable the same "
            "axes every time."
        )
    module.put_variable(col, key, new)


def param_with_axes(
    name: str,
    init_fn: Callable[..., Any],
    *init_args: Any,
    axes: Any = None,
    module: Module | None = None,
    **init_kwargs: Any,
) -> Any:
    """`self.param(name, init_fn, ...)` that also records and applies logical axes.

    flax: `partitioning.param_with_axes`.

    Args:
        name: the parameter's name.
        init_fn: `init_fn(key, *init_args, **init_kwargs)` makes the value.
        *init_args: passed to `init_fn`.
        axes: one logical name per axis (a pytree of them for a pytree parameter), or
            None for no annotation.
        module: the module; default the one whose method is running.
        **init_kwargs: passed to `init_fn`.

    Returns:
        The parameter's value, constrained to the mesh axes the rules give.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Layer(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return x @ partitioning.param_with_axes(
    ...             "w", nn.initializers.ones, (2, 2), axes=("embed", "mlp"))
    >>> sorted(Layer().init(jax.random.key(0), jnp.ones((1, 2))))
    ['params', 'params_axes']
    """
    module = _current_module(module, "param_with_axes")
    value = module.param(name, init_fn, *init_args, **init_kwargs)
    if axes is not None:
        value = with_sharding_constraint(value, axes)
        _record_axes(module, "params", name, axes)
    return value


class PartitionedVariable(Variable[Any]):
    """A `Variable` whose value is constrained to its logical axes on every read and write.

    flax: `partitioning.PartitionedVariable`. `variable_with_axes` returns one.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Count(nn.Module):
    ...     @nn.compact
    ...     def __call__(self):
    ...         v = partitioning.variable_with_axes("s", "n", jnp.zeros, (2,), axes=("batch",))
    ...         v.value = v.value + 1
    ...         return type(v).__name__
    >>> Count().init_with_output(jax.random.key(0))[0]
    'PartitionedVariable'
    """

    def __init__(
        self,
        scope: Any,
        collection: str,
        name: str,
        axes: Any = None,
        fallback: RulesFallback = RulesFallback.AXIS_IS_UNSHARDED,
    ) -> None:
        super().__init__(scope, collection, name)
        self.axes, self.fallback = axes, fallback

    def _constrain(self, value: Any) -> Any:
        if self.axes is None:
            return value
        return with_sharding_constraint(value, self.axes, fallback=self.fallback)

    @property
    def value(self) -> Any:
        return self._constrain(self.scope.get_variable(self.collection, self.name))

    @value.setter
    def value(self, new: Any) -> None:
        self.scope.put_variable(self.collection, self.name, self._constrain(new))


def variable_with_axes(
    collection: str,
    name: str,
    init_fn: Callable[..., Any] | None,
    *init_args: Any,
    axes: Any = None,
    module: Module | None = None,
    fallback: RulesFallback = RulesFallback.AXIS_IS_UNSHARDED,
    **init_kwargs: Any,
) -> PartitionedVariable:
    """`self.variable(collection, name, init_fn, ...)` that records and applies logical axes.

    flax: `partitioning.variable_with_axes`. The names go to `<collection>_axes`.

    Args:
        collection: the variable's collection, e.g. `"batch_stats"`.
        name: the variable's name.
        init_fn: `init_fn(*init_args, **init_kwargs)` makes the value (no key).
        *init_args: passed to `init_fn`.
        axes: one logical name per axis, or None.
        module: the module; default the one whose method is running.
        fallback: what the constraint does with names that no rule covers.
        **init_kwargs: passed to `init_fn`.

    Returns:
        A `PartitionedVariable`.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Counter(nn.Module):
    ...     @nn.compact
    ...     def __call__(self):
    ...         v = partitioning.variable_with_axes("stats", "n", jnp.zeros, (3,),
    ...                                             axes=("batch",))
    ...         return v.value
    >>> partitioning.get_axis_names(Counter().init(jax.random.key(0))["stats_axes"])
    {'n': P('batch',)}
    """
    module = _current_module(module, "variable_with_axes")

    def make() -> Any:
        assert init_fn is not None
        value = init_fn(*init_args, **init_kwargs)
        return value if axes is None else with_sharding_constraint(value, axes, fallback=fallback)

    var = module.variable(collection, name, None if init_fn is None else make)
    if axes is not None:
        _record_axes(module, collection, name, axes)
    return PartitionedVariable(var.scope, collection, name, axes, fallback)


def get_axis_names(axes_metadata: Any) -> dict[str, Any]:
    """The logical `PartitionSpec`s recorded in an `*_axes` collection.

    flax: `partitioning.get_axis_names`. The `_axes` suffix is dropped, so the result
    has the structure of the variables' own collection.

    Args:
        axes_metadata: one collection, e.g. `variables["params_axes"]`.

    Returns:
        `{"Dense_0": {"kernel": PartitionSpec("embed", "mlp")}, ...}`.

    >>> from minijax.nn import partitioning
    >>> partitioning.get_axis_names({"Dense_0": {"kernel_axes":
    ...     partitioning.AxisMetadata(names=("embed", "mlp"))}})
    {'Dense_0': {'kernel': P('embed', 'mlp')}}
    """
    def to_spec(names: Any) -> Any:
        return jax.tree.map(
            lambda x: None if x is None else meta._spec(*x), names, is_leaf=_is_logical_spec
        )

    flat = {
        (*path[:-1], re.sub(r"_axes$", "", path[-1])): to_spec(box.names)
        for path, box in flatten_dict(axes_metadata).items()
    }
    return unflatten_dict(flat)


# -- scan and vmap, with the new axis named in the `*_axes` collections -----------------


def _add_axis_to_metadata(target: Any, axis: Any, axis_name: str, collection: str) -> Any:
    """`target` whose `collection` (`params_axes`...) names `axis` `axis_name`.

    On the way out (what the transformed module recorded, per step or per index)
    `axis_name` is inserted at `axis`; on the way in it is removed again, so the
    module inside sees the names it recorded itself.
    """
    axis = getattr(axis, "axis", axis)  # nn.scan's In(axis) / Out(axis) markers

    def insert(names: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        return None if names is None else (*names[:axis], axis_name, *names[axis:])

    def remove(names: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        if names is None:
            return None
        if names[axis] != axis_name:
            raise ValueError(
                f"{collection}: expected the axis name {axis_name!r} at position {axis} of "
                f"the recorded axis names {names}: the variables were not made by this "
                "transformation (the same variable_axes and axis name)."
            )
        return (*names[:axis], *names[axis + 1:])

    def on_boxes(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def each(box: Any) -> Any:
            if not isinstance(box, AxisMetadata):
                return box
            return AxisMetadata(jax.tree.map(fn, box.names, is_leaf=_is_logical_spec))

        return lambda tree: jax.tree.map(each, tree, is_leaf=lambda x: isinstance(x, AxisMetadata))

    stack = module_lib._context.module_stack
    mutable = stack[-1].is_mutable_collection(collection) if stack else True
    return transforms.map_variables(target, collection, trans_in_fn=on_boxes(remove),
                                    trans_out_fn=on_boxes(insert), mutable=mutable)


def scan_with_axes(
    target: Any,
    variable_axes: Mapping[CollectionFilter, Any] | None = None,
    variable_broadcast: CollectionFilter = False,
    variable_carry: CollectionFilter = False,
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
    in_axes: Any = 0,
    out_axes: Any = 0,
    length: int | None = None,
    reverse: bool = False,
    unroll: int = 1,
    axis_name: str = "layers",
    axes_collections: tuple[str, ...] = ("params",),
    data_transform: Callable[..., Any] | None = None,
    methods: Any = None,
) -> Any:
    """`nn.scan` that also adds the scanned axis to the recorded axis names.

    flax: `partitioning.scan_with_axes`. The arguments are `nn.scan`'s, and:

    Args:
        target: a Module class, a method or a function of a module.
        variable_axes: as in `nn.scan`; for a collection of `axes_collections`,
            `axis_name` is inserted at its axis in `<collection>_axes`.
        variable_broadcast: as in `nn.scan`; the `<collection>_axes` collections
            are broadcast too (one set of names for every step).
        variable_carry: as in `nn.scan`.
        split_rngs: as in `nn.scan`.
        in_axes: as in `nn.scan`.
        out_axes: as in `nn.scan`.
        length: as in `nn.scan`.
        reverse: as in `nn.scan`.
        unroll: as in `nn.scan`.
        axis_name: the logical name of the scanned axis.
        axes_collections: the collections whose names are recorded
            (`param_with_axes`, `variable_with_axes`).
        data_transform: as in `nn.scan`.
        methods: as in `nn.scan`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Block(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x, _):
    ...         w = partitioning.param_with_axes(
    ...             "w", nn.initializers.ones, (x.shape[-1], x.shape[-1]), axes=("embed", "mlp"))
    ...         return x @ w, None
    >>> Stack = partitioning.scan_with_axes(
    ...     Block, variable_axes={"params": 0}, split_rngs={"params": True}, length=3)
    >>> variables = Stack().init(jax.random.key(0), jnp.ones((2, 4)), None)
    >>> variables["params"]["w"].shape, partitioning.get_axis_names(variables["params_axes"])
    ((3, 4, 4), {'w': P('layers', 'embed', 'mlp')})
    """
    variable_axes = dict(variable_axes or {})
    axes_filters = tuple(f"{col}_axes" for col in axes_collections)
    scanned = transforms.scan(
        target, variable_axes=variable_axes,
        variable_broadcast=union_filters(variable_broadcast, axes_filters),
        variable_carry=variable_carry, split_rngs=split_rngs, in_axes=in_axes,
        out_axes=out_axes, length=length, reverse=reverse, unroll=unroll,
        data_transform=data_transform, methods=methods)
    for col in axes_collections:
        if col in variable_axes:
            scanned = _add_axis_to_metadata(scanned, variable_axes[col], axis_name, f"{col}_axes")
    return scanned


def vmap_with_axes(
    target: Any,
    variable_axes: Mapping[CollectionFilter, Any],
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    axis_name: str | None = None,
    partitioning_axis_names: Mapping[str, str] | None = None,
    spmd_axis_name: str | None = None,
    methods: Any = None,
) -> Any:
    """`nn.vmap` that also adds the mapped axis to the recorded axis names.

    flax: `partitioning.vmap_with_axes`. The arguments are `nn.vmap`'s, and:

    Args:
        target: a Module class, a method or a function of a module.
        variable_axes: as in `nn.vmap`.
        split_rngs: as in `nn.vmap`.
        in_axes: as in `nn.vmap`.
        out_axes: as in `nn.vmap`.
        axis_size: as in `nn.vmap`.
        axis_name: as in `nn.vmap` (the name for collectives, not a logical name).
        partitioning_axis_names: `{collection: logical name}`: that name is inserted
            at the collection's axis (of `variable_axes`) in `<collection>_axes`,
            which is shared by every index.
        spmd_axis_name: as in `nn.vmap`.
        methods: as in `nn.vmap`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> from minijax.nn import partitioning
    >>> class Layer(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return x @ partitioning.param_with_axes(
    ...             "w", nn.initializers.ones, (3, 2), axes=("in", "out"))
    >>> Batched = partitioning.vmap_with_axes(Layer, variable_axes={"params": 1},
    ...     split_rngs={"params": True}, partitioning_axis_names={"params": "ensemble"})
    >>> variables = Batched().init(jax.random.key(0), jnp.ones((5, 3)))
    >>> variables["params"]["w"].shape, variables["params_axes"]["w_axes"].names
    ((3, 5, 2), ('in', 'ensemble', 'out'))
    """
    names = dict(partitioning_axis_names or {})
    variable_axes = {**variable_axes, **{f"{col}_axes": None for col in names}}
    vmapped = transforms.vmap(
        target, variable_axes=variable_axes, split_rngs=split_rngs, in_axes=in_axes,
        out_axes=out_axes, axis_size=axis_size, axis_name=axis_name,
        spmd_axis_name=spmd_axis_name, methods=methods)
    for col, axis in variable_axes.items():
        if col in names:
            vmapped = _add_axis_to_metadata(vmapped, axis, names[col], f"{col}_axes")
    return vmapped
