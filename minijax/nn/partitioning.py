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
(= `nn.with_logical_constraint`). flax's `scan_with_axes`, `vmap_with_axes` and
`remat` are lifted transformations and are not here.
"""

import re
from collections.abc import Callable
from typing import Any

import jax

from minijax import struct
from minijax.nn import errors, meta
from minijax.nn import module as module_lib
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
    "set_axis_rules",
    "variable_with_axes",
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
