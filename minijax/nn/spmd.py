"""Logical axis names: name axes by what they mean, map them to mesh axes by rules.

flax: `flax.linen.spmd` (and the rules context of `flax.core.spmd`). A model names
the axes of its parameters and activations by meaning, `("embed", "mlp")`, and a
list of *rules* says which mesh axis each name is split over:

    >>> import minijax.nn as nn
    >>> rules = (("batch", "data"), ("mlp", "model"), ("embed", None))
    >>> nn.logical_to_mesh_axes(("embed", "mlp"), rules)
    P(None, 'model')

The same model then runs data parallel, tensor parallel or both by changing only
the rules. Rules come from the argument, or else from `logical_axis_rules(rules)`
(a `with` block) or `set_logical_axis_rules(rules)`. How a rule is chosen:
the rules are read in order, and a rule `(name, mesh_axes)` applies to the array
axis called `name` if that axis has no mesh axes yet and none of `mesh_axes` is
used by another axis of the same array; axes left without a rule are not split.

`with_logical_partitioning(init, names)` boxes a parameter with its logical names
(`LogicallyPartitioned`); `with_logical_constraint(x, names)` constrains an
activation inside `jax.jit`. Both do nothing without rules (and a mesh, for the
constraint), so a model written with them runs unchanged on one device.

minijax runs on `jax.sharding`: nothing here moves data. The specs become
`jax.lax.with_sharding_constraint` calls and `out_shardings` of `jax.jit`, and
XLA's partitioner (GSPMD) inserts the communication.
"""

import collections
import contextlib
import dataclasses
import enum
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

from minijax import struct
from minijax.nn import meta

__all__ = [
    "LogicallyPartitioned",
    "RulesFallback",
    "get_logical_axis_rules",
    "logical_axis_rules",
    "logical_to_mesh",
    "logical_to_mesh_axes",
    "logical_to_mesh_sharding",
    "set_logical_axis_rules",
    "with_logical_constraint",
    "with_logical_partitioning",
]

LogicalRules = Sequence[tuple[str, Any]]
"""`((logical name, mesh axis | tuple of mesh axes | None), ...)`, in priority order."""
LogicalNames = tuple[Any, ...]


# --- the rules in effect ----------------------------------------------------------


@dataclasses.dataclass
class _AxisRules(threading.local):
    rules: LogicalRules = ()


_axis_rules = _AxisRules()


def set_logical_axis_rules(rules: LogicalRules) -> None:
    """Set the rules used when none are passed (flax: `nn.set_logical_axis_rules`).

    Args:
        rules: `((logical name, mesh axes), ...)`; `()` clears them.

    Raises:
        ValueError: the rules are not a tuple or list of pairs.

    >>> import minijax.nn as nn
    >>> nn.set_logical_axis_rules((("batch", "data"),))
    >>> nn.get_logical_axis_rules()
    (('batch', 'data'),)
    >>> nn.set_logical_axis_rules(())
    """
    _axis_rules.rules = _check_rules(rules)


def get_logical_axis_rules() -> LogicalRules:
    """The rules in effect (flax: `nn.get_logical_axis_rules`); `()` if none are set.

    >>> import minijax.nn as nn
    >>> nn.get_logical_axis_rules()
    ()
    """
    return _axis_rules.rules


@contextlib.contextmanager
def logical_axis_rules(rules: LogicalRules) -> Iterator[None]:
    """Use `rules` inside a `with` block (flax: `nn.logical_axis_rules`).

    The rules are per thread, and the previous ones come back at the end of the block.

    Args:
        rules: `((logical name, mesh axes), ...)`.

    >>> import minijax.nn as nn
    >>> with nn.logical_axis_rules((("mlp", "model"),)):
    ...     nn.logical_to_mesh_axes(("embed", "mlp"))
    P(None, 'model')
    """
    old = _axis_rules.rules
    _axis_rules.rules = _check_rules(rules)
    try:
        yield
    finally:
        _axis_rules.rules = old


def _check_rules(rules: Any) -> Any:
    if not isinstance(rules, tuple | list):
        hint = " Pass tuple(rules.items())." if isinstance(rules, dict) else ""
        raise ValueError(
            "Unknown axis rule specification type: rules are a tuple of (logical name, "
            "mesh axes) pairs such as (('batch', 'data'), ('mlp', 'model')), got a "
            f"{type(rules).__name__}.{hint}"
        )
    for rule in rules:
        if not (isinstance(rule, tuple | list) and len(rule) == 2 and isinstance(rule[0], str)):
            raise ValueError(
                f"the axis rule {rule!r} is not a (logical name, mesh axes) pair such as "
                "('mlp', 'model'), ('batch', ('replica', 'data')) or ('embed', None)."
            )
    return rules


# --- logical names to mesh axes ---------------------------------------------------


class _UnassignedAxis:
    """A logical name that no rule has given a mesh axis (yet)."""

    def __repr__(self) -> str:
        return "UnassignedAxis"

    def __bool__(self) -> bool:
        return False


_unassigned_axis = _UnassignedAxis()


def _mesh_axes_free(candidate: Any, assigned: list[Any]) -> bool:
    """Whether none of the mesh axes of `candidate` is used in `assigned` already."""
    new = set(jax.tree.leaves(candidate)) - {PartitionSpec.UNCONSTRAINED, None}
    return not new & set(jax.tree.leaves(assigned))


def _logical_to_mesh_axes(
    array_dim_names: Sequence[Any] | None, rules: LogicalRules | None = None
) -> list[Any] | None:
    """`logical_to_mesh_axes`, with `_unassigned_axis` left where no rule applied."""
    if array_dim_names is None:
        return None
    rules = _check_rules(get_logical_axis_rules() if rules is None else rules)
    counts = collections.Counter(array_dim_names)
    dups = tuple(k for k, n in counts.items() if n > 1 and isinstance(k, str))
    if dups:
        raise ValueError(
            f"Unsupported: Dimensions {dups} occur more than once in array names "
            f"{tuple(array_dim_names)}: give each axis of one array its own logical name."
        )
    names = list(array_dim_names)
    result = [_unassigned_axis if isinstance(n, str) else n for n in names]
    for name, mesh_axes in rules:
        if name in names:
            i = names.index(name)
            if result[i] is _unassigned_axis and _mesh_axes_free(mesh_axes, result):
                result[i] = mesh_axes
    return result


def logical_to_mesh_axes(
    array_dim_names: Sequence[Any] | None, rules: LogicalRules | None = None
) -> PartitionSpec | None:
    """The mesh `PartitionSpec` of an array whose axes have logical names.

    flax: `nn.logical_to_mesh_axes`. For `array_dim_names = ("batch", "length",
    "heads", "features")` and `rules = (("batch", "X"), ("features", "X"), ("heads",
    "Y"), ("batch", "Z"))` the result is `PartitionSpec("X", None, "Y", None)`:
    `features` cannot take `X`, which `batch` took first.

    Args:
        array_dim_names: one logical name (or None) per axis; None gives None.
        rules: the rules; None uses the ones in effect.

    Returns:
        The `PartitionSpec`, None for names without a rule.

    Raises:
        ValueError: a logical name appears twice, or the rules are malformed.

    >>> import minijax.nn as nn
    >>> nn.logical_to_mesh_axes(("batch", "embed"), (("batch", "data"),))
    P('data', None)
    """
    result = _logical_to_mesh_axes(array_dim_names, rules)
    if result is None:
        return None
    return meta._spec(*(None if x is _unassigned_axis else x for x in result))


def _is_spec(x: Any) -> bool:
    return isinstance(x, PartitionSpec)


def logical_to_mesh(tree: Any, rules: LogicalRules | None = None) -> Any:
    """`logical_to_mesh_axes` on every `PartitionSpec` of `tree` (flax: `nn.logical_to_mesh`).

    Args:
        tree: a pytree of logical `PartitionSpec`s (None leaves stay None).
        rules: the rules; None uses the ones in effect.

    Returns:
        The tree of mesh `PartitionSpec`s.

    >>> import minijax.nn as nn
    >>> from jax.sharding import PartitionSpec as P
    >>> nn.logical_to_mesh({"kernel": P("embed", "mlp")}, (("mlp", "model"),))
    {'kernel': P(None, 'model')}
    """
    return jax.tree.map(lambda x: logical_to_mesh_axes(x, rules), tree, is_leaf=_is_spec)


def logical_to_mesh_sharding(tree: Any, mesh: Mesh, rules: LogicalRules | None = None) -> Any:
    """A `NamedSharding` on `mesh` for every logical `PartitionSpec` of `tree`.

    flax: `nn.logical_to_mesh_sharding`. The usual input is
    `nn.get_partition_spec(jax.eval_shape(model.init, key, x))`; the output goes to
    `jax.jit(model.init, out_shardings=...)`.

    Args:
        tree: a pytree of logical `PartitionSpec`s.
        mesh: the mesh.
        rules: the rules; None uses the ones in effect.

    Returns:
        The tree with a `NamedSharding` for each spec.

    >>> import jax
    >>> import minijax.nn as nn
    >>> from jax.sharding import PartitionSpec as P
    >>> mesh = jax.make_mesh((1,), ("model",))
    >>> sharding = nn.logical_to_mesh_sharding(P("embed", "mlp"), mesh, (("mlp", "model"),))
    >>> sharding.spec
    P(None, 'model')
    """
    return jax.tree.map(
        lambda spec: NamedSharding(mesh, spec), logical_to_mesh(tree, rules), is_leaf=_is_spec
    )


# --- constraints ------------------------------------------------------------------


class RulesFallback(enum.Enum):
    """What a constraint does with an axis name that no rule covers (flax: the same).

    `AXIS_IS_UNSHARDED` (the default) leaves that axis whole, `RAISE_ERROR` raises a
    `ValueError`, `NO_CONSTRAINT` skips the whole constraint.

    >>> import jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> with nn.logical_axis_rules((("batch", "data"),)):
    ...     nn.with_logical_constraint(jnp.ones(2), ("embed",),
    ...                                fallback=nn.spmd.RulesFallback.NO_CONSTRAINT).shape
    (2,)
    """

    AXIS_IS_UNSHARDED = "axis_is_unsharded"
    RAISE_ERROR = "raise_error"
    NO_CONSTRAINT = "no_constraint"


def _with_sharding_constraint(
    x: Any, axis_resources: PartitionSpec | None, mesh: Mesh | None = None
) -> Any:
    """`lax.with_sharding_constraint`, or `x` itself where there is no mesh at all."""
    if mesh is None and not meta.global_mesh_defined():
        return x
    if mesh is not None and axis_resources is not None:
        sharding = NamedSharding(mesh, axis_resources)
        return jax.lax.with_sharding_constraint(x, sharding)  # type: ignore[no-untyped-call]
    return jax.lax.with_sharding_constraint(x, axis_resources)  # type: ignore[no-untyped-call]


def _constrain_one(
    logical: Any,
    x: Any,
    fallback: RulesFallback = RulesFallback.AXIS_IS_UNSHARDED,
    rules: LogicalRules | None = None,
    mesh: Mesh | None = None,
) -> Any:
    mesh_axes = _logical_to_mesh_axes(logical, rules)
    if mesh_axes is None:
        return _with_sharding_constraint(x, None, mesh=mesh)
    if any(a is _unassigned_axis for a in mesh_axes):
        if fallback == RulesFallback.RAISE_ERROR:
            pairs = zip(logical, mesh_axes, strict=True)
            missing = [n for n, a in pairs if a is _unassigned_axis]
            raise ValueError(
                f"Axis names {tuple(logical)} did not match a rule: no rule for {missing}. "
                "Add rules for them (or use fallback=RulesFallback.AXIS_IS_UNSHARDED)."
            )
        if fallback == RulesFallback.NO_CONSTRAINT:
            return x
    spec = meta._spec(*(None if a is _unassigned_axis else a for a in mesh_axes))
    return _with_sharding_constraint(x, spec, mesh=mesh)


def _is_logical_spec(x: Any) -> bool:
    """A tuple of axis names (str, None or `UNCONSTRAINED`), a `PartitionSpec`, or None."""
    if x is None or isinstance(x, PartitionSpec):
        return True
    return isinstance(x, tuple) and all(
        isinstance(e, str) or e is None or e is PartitionSpec.UNCONSTRAINED for e in x
    )


def with_logical_constraint(
    x: Any,
    logical_axis_resources: Any,
    rules: LogicalRules | None = None,
    mesh: Mesh | None = None,
    fallback: RulesFallback = RulesFallback.AXIS_IS_UNSHARDED,
) -> Any:
    """`jax.lax.with_sharding_constraint` with logical axis names.

    flax: `nn.with_logical_constraint`. Use it inside `jax.jit` on an activation,
    e.g. `x = nn.with_logical_constraint(x, ("batch", "length", "embed"))`.

    Args:
        x: an array or a pytree of arrays.
        logical_axis_resources: the logical names of the axes of `x` (a tuple or a
            `PartitionSpec`), or a pytree of them with the structure of `x`.
        rules: the rules; None uses the ones in effect.
        mesh: the mesh; None uses the `jax.set_mesh` one.
        fallback: what to do with names that no rule covers.

    Returns:
        `x`, constrained; `x` unchanged without rules, without names, or without a mesh.

    >>> import jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> nn.with_logical_constraint(jnp.ones(2), ("batch",)).shape   # no rules: no-op
    (2,)
    """
    if rules is None:
        rules = get_logical_axis_rules()
    if not rules or logical_axis_resources is None:
        return x
    constrain = functools.partial(_constrain_one, fallback=fallback, rules=rules, mesh=mesh)
    return jax.tree.map(constrain, logical_axis_resources, x, is_leaf=_is_logical_spec)


# --- the box ----------------------------------------------------------------------


class LogicallyPartitioned(meta.Partitioned[Any]):
    """A value with a *logical* axis name for each axis (flax: `nn.LogicallyPartitioned`).

    `get_partition_spec()` gives the logical names, for `logical_to_mesh_sharding`;
    `get_sharding(mesh)` translates them with the box's `rules` (or the ones in
    effect) and is ready for `out_shardings` (flax uses the logical names there as
    if they were mesh axes, which only works when they are).

    Attributes:
        value: the array.
        names: the logical axis names, static.
        mesh: the mesh for `unbox`'s constraint; None uses the `jax.set_mesh` one.
        rules: the rules; None uses the ones in effect.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> box = nn.LogicallyPartitioned(jnp.zeros((4, 8)), ("embed", "mlp"),
    ...                               rules=(("mlp", "model"),))
    >>> box.get_partition_spec(), box.get_sharding(jax.make_mesh((1,), ("model",))).spec
    (P('embed', 'mlp'), P(None, 'model'))
    """

    rules: LogicalRules | None = struct.field(default=None, pytree_node=False)

    def unbox(self, apply_constraint: bool = True) -> Any:
        """The value; under a mesh, constrained to the mesh axes the rules give."""
        if not apply_constraint or (self.mesh is None and not meta.global_mesh_defined()):
            return self.value
        return with_logical_constraint(
            self.value, self.get_partition_spec(), rules=self.rules, mesh=self.mesh
        )

    def get_sharding(self, mesh: Mesh | AbstractMesh) -> NamedSharding:
        """`NamedSharding(mesh, logical_to_mesh_axes(names, rules))`.

        Without any rules the names are used as mesh axes, as `Partitioned` does.
        """
        rules = self.rules if self.rules is not None else get_logical_axis_rules()
        if not rules:
            return super().get_sharding(mesh)
        return NamedSharding(mesh, meta._spec(*logical_to_mesh_axes(self.names, rules) or ()))


def with_logical_partitioning(
    fn: Callable[..., Any],
    names: LogicalNames,
    mesh: Mesh | None = None,
    rules: LogicalRules | None = None,
) -> Callable[..., LogicallyPartitioned]:
    """Wrap an initializer so that its result is `LogicallyPartitioned(result, names)`.

    flax: `nn.with_logical_partitioning`.

    Args:
        fn: the initializer.
        names: one logical axis name (or None) per axis of the result.
        mesh: the mesh for `unbox`'s constraint; None uses the `jax.set_mesh` one.
        rules: the rules for this parameter; None uses the ones in effect.

    Returns:
        An initializer with the signature of `fn`.

    Raises:
        TypeError: `names` is a string (it must be a tuple).
        ValueError: (when called) there are more names than the result has axes.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> init = nn.with_logical_partitioning(nn.initializers.lecun_normal(), ("embed", "mlp"))
    >>> variables = nn.Dense(8, kernel_init=init).init(jax.random.key(0), jnp.ones((1, 4)))
    >>> nn.get_partition_spec(variables)["params"]["kernel"]
    P('embed', 'mlp')
    """
    meta._check_names(names, "with_logical_partitioning")
    # Static metadata must hash (jax.jit compares it): rules as tuples of tuples.
    frozen_rules = None if rules is None else tuple(tuple(r) for r in _check_rules(rules))

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> LogicallyPartitioned:
        value = fn(*args, **kwargs)
        meta._check_rank(value, names)
        return LogicallyPartitioned(value, tuple(names), mesh=mesh, rules=frozen_rules)

    return wrapper
