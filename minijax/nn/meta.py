"""Boxed metadata on variables: `AxisMetadata` and `Partitioned` (flax: `flax.core.meta`).

A *box* wraps a variable's value together with facts about its axes, for example
how each axis is split over the devices:

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> init = nn.with_partitioning(nn.initializers.zeros, (None, "model"))
    >>> box = init(jax.random.key(0), (2, 4))
    >>> box
    Partitioned(value=Array([[0., 0., 0., 0.],
           [0., 0., 0., 0.]], dtype=float32), names=(None, 'model'), mesh=None)
    >>> box.get_partition_spec()
    P(None, 'model')

A box is a pytree node whose one child is the value (the metadata is static), so
`jax.jit`, `jax.grad`, `jax.eval_shape` and optimizers see only the array, and the
boxes come out again with the same metadata: an optimizer state built from boxed
params is boxed too. Inside a module, `self.param` stores the box in the variables
and returns the value (`unbox`), so layers never see boxes.

`get_partition_spec(tree)` turns every box into its `PartitionSpec` (and every other
array into `PartitionSpec()`, replicated); `get_sharding(tree, mesh)` into a
`NamedSharding`. Run `init` under `jax.jit(..., out_shardings=...)` with those and
the parameters are created directly in their shards (see docs/data-parallel.md).

Lifted transformations that add an axis to a variable (`nn.vmap`, `nn.scan` with
`variable_axes`) call `add_axis(tree, index, metadata_params)` on the way out and
`remove_axis` on the way in; `Partitioned` inserts the name `metadata_params[
PARTITION_NAME]` at that index.
"""

import abc
import functools
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import jax
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

from minijax import struct
from minijax.nn import errors

__all__ = [
    "PARTITION_NAME",
    "AxisMetadata",
    "Partitioned",
    "PartitioningUnspecifiedError",
    "add_axis",
    "get_global_mesh",
    "get_partition_spec",
    "get_sharding",
    "global_mesh_defined",
    "is_axis_metadata",
    "map_axis_meta",
    "remove_axis",
    "replace_boxed",
    "unbox",
    "with_partitioning",
]

A = TypeVar("A")
TAxisMetadata = TypeVar("TAxisMetadata", bound="AxisMetadata[Any]")

PARTITION_NAME = "partition_name"
"""The key of `metadata_params` that names the axis `nn.vmap`/`nn.scan` add."""

LogicalNames = tuple[Any, ...]


class PartitioningUnspecifiedError(errors.PartitioningUnspecifiedError):
    """A transformation adds an axis to a `Partitioned` value without naming it.

    flax: `errors.PartitioningUnspecifiedError`.

    >>> import minijax.nn as nn
    >>> try:
    ...     nn.Partitioned(0.0, ("embed",)).add_axis(0, {})
    ... except nn.meta.PartitioningUnspecifiedError as error:
    ...     print(str(error)[:60])
    Trying to transform a Partitioned variable but "partition_na
    """

    def __init__(self, target: Any) -> None:
        super().__init__(
            'Trying to transform a Partitioned variable but "partition_name" is not '
            f"specified in metadata_params: {target}. Pass metadata_params="
            "{nn.PARTITION_NAME: 'layers'} (or None, for an unsharded axis) to the "
            "transformation."
        )


class AxisMetadata(Generic[A], metaclass=abc.ABCMeta):
    """The interface of a metadata box (flax: `meta.AxisMetadata`).

    Subclasses are pytree nodes whose children are the value (`minijax.struct`
    dataclasses with static metadata fields) and implement the four methods below.
    `add_axis` and `remove_axis` are each other's inverse.

    >>> from minijax.nn import meta
    >>> issubclass(meta.Partitioned, meta.AxisMetadata)
    True
    """

    @abc.abstractmethod
    def unbox(self) -> A:
        """The wrapped value (one level: a box in a box stays boxed)."""

    @abc.abstractmethod
    def replace_boxed(self, val: Any) -> "AxisMetadata[Any]":
        """A copy of the box with `val` as its value."""

    @abc.abstractmethod
    def add_axis(self: TAxisMetadata, index: int, params: dict[Any, Any]) -> TAxisMetadata:
        """The box after a transformation inserted an axis at `index` of the value.

        Args:
            index: where the new axis is.
            params: the transformation's `metadata_params`.
        """

    @abc.abstractmethod
    def remove_axis(self: TAxisMetadata, index: int, params: dict[Any, Any]) -> TAxisMetadata:
        """The box after a transformation removed the axis at `index` of the value."""


def is_axis_metadata(val: Any) -> bool:
    """Whether `val` is a metadata box.

    >>> from minijax.nn import meta
    >>> meta.is_axis_metadata(meta.Partitioned(1.0, ())), meta.is_axis_metadata(1.0)
    (True, False)
    """
    return isinstance(val, AxisMetadata)


def map_axis_meta(fn: Callable[[AxisMetadata[Any]], Any], tree: Any) -> Any:
    """`fn(box)` for every box in `tree`; other leaves are kept (flax: the same name).

    >>> from minijax.nn import meta
    >>> tree = {"w": meta.Partitioned(1.0, ()), "b": 2.0}
    >>> meta.map_axis_meta(lambda box: box.names, tree)
    {'b': 2.0, 'w': ()}
    """
    return jax.tree.map(
        lambda x: fn(x) if isinstance(x, AxisMetadata) else x, tree, is_leaf=is_axis_metadata
    )


def add_axis(tree: Any, index: int, params: dict[Any, Any]) -> Any:
    """`box.add_axis(index, params)` for every box in `tree` (flax: `meta.add_axis`).

    >>> from minijax.nn import meta
    >>> box = meta.Partitioned(0.0, ("embed",))
    >>> meta.add_axis(box, 0, {meta.PARTITION_NAME: "layers"}).names
    ('layers', 'embed')
    """
    return map_axis_meta(lambda x: x.add_axis(index, params), tree)


def remove_axis(tree: Any, index: int, params: dict[Any, Any]) -> Any:
    """`box.remove_axis(index, params)` for every box in `tree` (flax: `meta.remove_axis`).

    >>> from minijax.nn import meta
    >>> box = meta.Partitioned(0.0, ("layers", "embed"))
    >>> meta.remove_axis(box, 0, {meta.PARTITION_NAME: "layers"}).names
    ('embed',)
    """
    return map_axis_meta(lambda x: x.remove_axis(index, params), tree)


def unbox(tree: Any) -> Any:
    """`tree` with every box replaced by its value, recursively (flax: `nn.unbox`).

    >>> import minijax.nn as nn
    >>> nn.unbox({"w": nn.Partitioned(1.0, ()), "b": 2.0})
    {'b': 2.0, 'w': 1.0}
    """
    return map_axis_meta(lambda x: unbox(x.unbox()), tree)


def replace_boxed(tree: Any, updates: Any) -> Any:
    """`tree`'s boxes with the values of `updates` (flax: `meta.replace_boxed`).

    `updates` has the structure of `unbox(tree)`; the metadata of `tree` is kept.

    >>> from minijax.nn import meta
    >>> boxed = {"w": meta.Partitioned(1.0, ("model",))}
    >>> meta.replace_boxed(boxed, {"w": 5.0})["w"]
    Partitioned(value=5.0, names=('model',), mesh=None)
    """

    def inner(box: Any, value: Any) -> Any:
        if isinstance(box, AxisMetadata):
            return box.replace_boxed(replace_boxed(box.unbox(), value))
        return value

    return jax.tree.map(inner, tree, updates, is_leaf=is_axis_metadata)


def get_global_mesh() -> AbstractMesh | Mesh | None:
    """The mesh set with `jax.set_mesh` (or `jax.sharding.use_mesh`), or None.

    >>> import jax
    >>> from minijax.nn import meta
    >>> mesh = jax.make_mesh((1,), ("data",))
    >>> with jax.set_mesh(mesh):
    ...     meta.get_global_mesh().axis_names
    ('data',)
    >>> meta.get_global_mesh() is None
    True
    """
    mesh = jax.sharding.get_abstract_mesh()
    return None if mesh.empty else mesh


def global_mesh_defined() -> bool:
    """Whether a mesh is set with `jax.set_mesh`: then boxes constrain their values.

    >>> from minijax.nn import meta
    >>> meta.global_mesh_defined()
    False
    """
    return get_global_mesh() is not None


def _spec(*names: Any) -> PartitionSpec:
    """`PartitionSpec(*names)`, typed."""
    return PartitionSpec(*names)  # type: ignore[no-untyped-call]


def _check_names(names: Any, where: str) -> None:
    if isinstance(names, str):
        raise TypeError(
            f"{where}: names must be a tuple with one entry per array axis, e.g. "
            f"({names!r},), not the string {names!r} (which would name one axis per "
            "character)."
        )


class Partitioned(struct.PyTreeNode, AxisMetadata[A]):
    """A value with a mesh axis name for each of its axes (flax: `nn.Partitioned`).

    `names[i]` is the mesh axis (or tuple of mesh axes) axis `i` is split over, or
    None for an axis kept whole; there may be fewer names than axes (the rest are
    whole). Make them with `with_partitioning` around an initializer.

    Attributes:
        value: the array (any pytree).
        names: the mesh axis names, static.
        mesh: the mesh to constrain to in `unbox`; None uses the `jax.set_mesh` one.

    >>> import jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> box = nn.Partitioned(jnp.zeros((4, 2)), ("data", None))
    >>> box.get_partition_spec()
    P('data', None)
    """

    value: Any
    names: LogicalNames = struct.field(pytree_node=False)
    mesh: Mesh | None = struct.field(default=None, pytree_node=False)

    def unbox(self, apply_constraint: bool = True) -> A:
        """The value; under a mesh (`jax.set_mesh`, or `mesh=`) constrained to the names.

        Args:
            apply_constraint: False returns the value as it is.

        Returns:
            The value, through `jax.lax.with_sharding_constraint` under a mesh.
        """
        if not apply_constraint or (self.mesh is None and not global_mesh_defined()):
            return self.value  # type: ignore[no-any-return]
        spec = self.get_partition_spec()
        target = spec if self.mesh is None else NamedSharding(self.mesh, spec)
        return jax.lax.with_sharding_constraint(  # type: ignore[no-any-return,no-untyped-call]
            self.value, target
        )

    def replace_boxed(self, val: Any) -> "Partitioned[Any]":
        """A copy with `val` as the value."""
        return self.replace(value=val)

    def _partition_name(self, params: dict[Any, Any]) -> Any:
        if PARTITION_NAME not in params:
            raise PartitioningUnspecifiedError(self)
        return params[PARTITION_NAME]

    def add_axis(self, index: int, params: dict[Any, Any]) -> "Partitioned[A]":
        """Insert `params[PARTITION_NAME]` at `index` of the names (padding with None)."""
        name = self._partition_name(params)
        names = list(self.names)
        names.extend([None] * (index - len(names)))
        names.insert(index, name)
        return self.replace(names=tuple(names))

    def remove_axis(self, index: int, params: dict[Any, Any]) -> "Partitioned[A]":
        """Remove the name at `index`, which must be `params[PARTITION_NAME]`."""
        name = self._partition_name(params)
        names = list(self.names)
        if index >= len(names) or names[index] != name:
            raise ValueError(
                f"remove_axis({index}): expected the axis name {name!r} at position {index} "
                f"of {self.names}. add_axis and remove_axis must get the same index and "
                "metadata_params."
            )
        del names[index]
        return self.replace(names=tuple(names))

    def get_partition_spec(self) -> PartitionSpec:
        """`PartitionSpec(*names)`."""
        return _spec(*self.names)

    def get_sharding(self, mesh: Mesh | AbstractMesh) -> NamedSharding:
        """`NamedSharding(mesh, self.get_partition_spec())`."""
        return NamedSharding(mesh, self.get_partition_spec())


def with_partitioning(
    fn: Callable[..., Any], names: LogicalNames, mesh: Mesh | None = None
) -> Callable[..., Partitioned[Any]]:
    """Wrap an initializer so that its result is `Partitioned(result, names, mesh)`.

    flax: `nn.with_partitioning`.

    Args:
        fn: the initializer, e.g. `nn.initializers.lecun_normal()`.
        names: one mesh axis name (or None) per axis of the result.
        mesh: the mesh for `unbox`'s constraint; None uses the `jax.set_mesh` one.

    Returns:
        An initializer with the signature of `fn`.

    Raises:
        TypeError: `names` is a string (it must be a tuple).
        ValueError: (when called) there are more names than the result has axes.

    >>> import jax
    >>> import minijax.nn as nn
    >>> kernel_init = nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model"))
    >>> dense = nn.Dense(4, kernel_init=kernel_init)
    >>> params = dense.init(jax.random.key(0), jax.numpy.ones((1, 3)))["params"]
    >>> params["kernel"].names
    (None, 'model')
    """
    _check_names(names, "with_partitioning")

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Partitioned[Any]:
        value = fn(*args, **kwargs)
        _check_rank(value, names)
        return Partitioned(value, tuple(names), mesh=mesh)

    return wrapper


def _check_rank(value: Any, names: LogicalNames) -> None:
    ndim = getattr(value, "ndim", None)
    if ndim is not None and len(names) > ndim:
        raise ValueError(
            f"{len(names)} partition names {tuple(names)} for a value of shape "
            f"{value.shape}: give at most one name per axis ({ndim})."
        )


def _leaf_spec(x: Any) -> PartitionSpec | None:
    if hasattr(x, "get_partition_spec"):
        return x.get_partition_spec()  # type: ignore[no-any-return]
    return _spec() if hasattr(x, "shape") else None


def get_partition_spec(tree: Any) -> Any:
    """The `PartitionSpec` of every leaf: a box's names, `P()` for other arrays.

    flax: `nn.get_partition_spec`. Leaves without a shape (Python numbers, strings)
    become None. Use it on `jax.eval_shape(model.init, ...)` to know the layout of
    the variables before creating them.

    >>> import jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> nn.get_partition_spec({"w": nn.Partitioned(jnp.zeros((2, 3)), ("model",)),
    ...                        "b": jnp.zeros(3)})
    {'b': P(), 'w': P('model',)}
    """
    return jax.tree.map(_leaf_spec, tree, is_leaf=is_axis_metadata)


def get_sharding(tree: Any, mesh: Mesh | AbstractMesh) -> Any:
    """The `NamedSharding` on `mesh` of every leaf (flax: `nn.get_sharding`).

    A box gives `box.get_sharding(mesh)`; another array is replicated. Use it on
    `jax.eval_shape(model.init, ...)` for `out_shardings`: each split axis is checked
    to divide evenly over its mesh axes, and an error names the variable.

    Raises:
        ValueError: an axis size is not a multiple of the devices it is split over.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn
    >>> mesh = jax.make_mesh((1,), ("model",))
    >>> tree = {"w": nn.Partitioned(jnp.zeros((2, 3)), (None, "model"))}
    >>> nn.get_sharding(tree, mesh)["w"].spec
    P(None, 'model')
    """

    def leaf(path: Any, x: Any) -> Any:
        if hasattr(x, "get_sharding"):
            sharding = x.get_sharding(mesh)
            _check_divisible(path, x.unbox(apply_constraint=False), sharding)
            return sharding
        spec = _leaf_spec(x)
        return None if spec is None else NamedSharding(mesh, spec)

    return jax.tree_util.tree_map_with_path(leaf, tree, is_leaf=is_axis_metadata)


def _path_text(path: Any) -> str:
    """A key path as `params/Dense_0/kernel`."""
    parts = (getattr(k, "key", getattr(k, "name", getattr(k, "idx", k))) for k in path)
    return "/".join(map(str, parts))


def _check_divisible(path: Any, value: Any, sharding: NamedSharding) -> None:
    shape = getattr(value, "shape", None)
    if shape is None:
        return
    for axis, entry in enumerate(sharding.spec):
        names = entry if isinstance(entry, tuple) else (entry,)
        names = tuple(n for n in names if isinstance(n, str))
        devices = 1
        for n in names:
            devices *= sharding.mesh.shape[n]
        if axis < len(shape) and shape[axis] % devices:
            raise ValueError(
                f"{_path_text(path)}: axis {axis} of shape {tuple(shape)} is split "
                f"over mesh axes {names} ({devices} devices), but {shape[axis]} is not a "
                f"multiple of {devices}. Change the size, the mesh or the rules."
            )
