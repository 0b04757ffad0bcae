"""Dataclasses that are pytrees, frozen by default (in flax: `flax.struct`).

A pytree is anything jax can take apart into a list of leaves (arrays) and a "tree
definition" (everything else), and put back together. `jax.jit`, `jax.grad` and
`jax.tree.map` only ever see the leaves. This module teaches jax to take apart a
dataclass:

* each field is a *child* (a pytree node, traced by jit, differentiated by grad),
* unless declared `field(pytree_node=False)`: then it is *static* metadata, stored
  in the tree definition, hashed and compared by `jax.jit` (a function such as
  `apply_fn`, an optimizer, a layer config).

Unflattening builds the object with `object.__new__` and sets the fields directly,
*without* calling `__init__`. jax unflattens with leaves that are not arrays at all
(`None` in `tree.map`, axis numbers in `vmap`'s `in_axes`, tracers in `grad`), and
an `__init__` or `__post_init__` that validated them would break those transforms.

>>> from typing import Any, Callable
>>> import jax
>>> @dataclass
... class State:
...     params: Any
...     step: int
...     apply_fn: Callable = field(pytree_node=False, default=None)
>>> state = State(params={"w": 1.0}, step=0)
>>> jax.tree.leaves(state.replace(step=state.step + 1))
[1.0, 1]
"""

import dataclasses
import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

import jax
import numpy as np

__all__ = ["PyTreeNode", "dataclass", "field", "static_fields"]

_T = TypeVar("_T")

_PYTREE_NODE = "pytree_node"


def field(pytree_node: bool = True, **kwargs: Any) -> Any:
    """A dataclass field; `pytree_node=False` makes it static (in flax: `struct.field`).

    Args:
        pytree_node: False for static metadata (part of the tree definition).
        **kwargs: `default`, `default_factory`, `metadata`, ... of `dataclasses.field`.

    >>> @dataclass
    ... class Layer:
    ...     w: float
    ...     activation: str = field(pytree_node=False, default="relu")
    >>> static_fields(Layer)
    ('activation',)
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata[_PYTREE_NODE] = pytree_node
    result: Any = dataclasses.field(metadata=metadata, **kwargs)
    return result


def static_fields(cls: type) -> tuple[str, ...]:
    """The names of the fields of a `dataclass` that are static metadata.

    >>> @dataclass
    ... class Config:
    ...     lr: float
    >>> static_fields(Config)
    ()
    """
    return tuple(
        f.name for f in dataclasses.fields(cls) if not f.metadata.get(_PYTREE_NODE, True)
    )


def _warn_if_array(cls: type, name: str, value: object) -> None:
    if isinstance(value, (jax.Array, np.ndarray)):
        warnings.warn(
            f"{cls.__name__}.{name} is a static field (pytree_node=False) but holds an "
            f"array of shape {value.shape}. Static fields are part of the tree structure: "
            "jax.jit hashes and compares them instead of tracing them, so every new value "
            "recompiles (or fails to hash), and jax.grad never sees them. Declare the "
            f"field as a normal field (drop pytree_node=False) to make {name} a leaf.",
            stacklevel=_user_stacklevel(),
        )


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside jax, dataclasses and this file."""
    skip = (os.path.dirname(jax.__file__), dataclasses.__file__, __file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def _register(cls: type[_T]) -> type[_T]:
    """Register the dataclass `cls` as a pytree with named (keyed) children.

    Also wraps `__init__` (which `replace` calls too) to warn about arrays in static
    fields once, where the object is made, rather than at every flatten.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    data_names = tuple(f.name for f in fields if f.metadata.get(_PYTREE_NODE, True))
    meta_names = tuple(f.name for f in fields if not f.metadata.get(_PYTREE_NODE, True))
    keys = tuple(jax.tree_util.GetAttrKey(name) for name in data_names)

    def flatten_with_keys(obj: Any) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
        # >>> TASK A0.1
        children = [(k, getattr(obj, n)) for k, n in zip(keys, data_names, strict=True)]
        return children, tuple(getattr(obj, n) for n in meta_names)
        # <<< TASK A0.1

    def flatten(obj: Any) -> tuple[list[Any], tuple[Any, ...]]:
        # >>> TASK A0.1
        children = [getattr(obj, n) for n in data_names]
        return children, tuple(getattr(obj, n) for n in meta_names)
        # <<< TASK A0.1

    def unflatten(meta: tuple[Any, ...], children: Any) -> Any:
        # >>> TASK A0.1
        obj = object.__new__(cls)  # no __init__: see the module docstring
        for n, v in zip(meta_names, meta, strict=True):
            object.__setattr__(obj, n, v)
        for n, v in zip(data_names, children, strict=True):
            object.__setattr__(obj, n, v)
        return obj
        # <<< TASK A0.1

    if meta_names:
        generated_init = cls.__init__

        @functools.wraps(generated_init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            generated_init(self, *args, **kwargs)
            for n in meta_names:
                _warn_if_array(cls, n, getattr(self, n))

        cls.__init__ = __init__  # type: ignore[method-assign]

    jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
    return cls


def _replace(self: _T, **changes: Any) -> _T:
    """Return a copy with the given fields changed (`dataclasses.replace`)."""
    # >>> TASK A0.2
    return dataclasses.replace(self, **changes)  # type: ignore[type-var]
    # <<< TASK A0.2


@overload
def dataclass(cls: type[_T], /, **kwargs: Any) -> type[_T]: ...
@overload
def dataclass(cls: None = None, /, **kwargs: Any) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, dataclasses.field))
def dataclass(cls: type[_T] | None = None, /, **kwargs: Any) -> Any:
    """Make `cls` a dataclass registered as a pytree (in flax: `struct.dataclass`).

    Use as `@dataclass` or `@dataclass(kw_only=True)`; keyword arguments go to
    `dataclasses.dataclass`. The class is frozen unless `frozen=False` is given:
    change a frozen object with `obj.replace(field=new_value)`. With `slots=True`
    the class gets `__slots__` (a new class, as `dataclasses` makes it). Decorating
    a class twice does nothing the second time.

    Args:
        cls: the class; omit it to get a decorator with `kwargs` bound.
        **kwargs: `frozen`, `kw_only`, `slots`, `eq`, `order`, ... of `dataclasses`.

    Returns:
        The dataclass, with a `replace` method, registered with jax.

    >>> @dataclass(frozen=False)
    ... class Counter:
    ...     n: int = 0
    >>> c = Counter()
    >>> c.n += 1
    >>> c
    Counter(n=1)
    """

    def wrap(c: type[_T]) -> type[_T]:
        if "_flax_dataclass" in c.__dict__:  # already done (e.g. a PyTreeNode subclass)
            return c
        dc = dataclasses.dataclass(**{"frozen": True, **kwargs})(c)
        if "replace" not in dc.__dict__:
            dc.replace = _replace  # type: ignore[attr-defined]
        dc._flax_dataclass = True  # type: ignore[attr-defined]  # flax's marker, checked by users
        return _register(dc)

    return wrap if cls is None else wrap(cls)


@dataclass_transform(frozen_default=True, field_specifiers=(field, dataclasses.field))
class PyTreeNode:
    """Base class: every subclass is a `dataclass` (in flax: `struct.PyTreeNode`).

    Class keywords go to `dataclass`: `class Config(PyTreeNode, frozen=False)`,
    `class Child(Base, kw_only=True)`.

    >>> import jax
    >>> class TrainState(PyTreeNode):
    ...     step: int
    ...     params: Any
    >>> class WithStats(TrainState):     # subclasses are dataclasses too
    ...     batch_stats: Any = None
    >>> jax.tree.leaves(WithStats(step=0, params={"w": 1.0}, batch_stats={"m": 2.0}))
    [0, 1.0, 2.0]
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__()
        dataclass(cls, **kwargs)

    def replace(self: _T, **changes: Any) -> _T:
        """Return a copy with the given fields changed.

        >>> from minijax import struct
        >>> class Point(struct.PyTreeNode):
        ...     x: float
        ...     y: float
        >>> p = Point(1.0, 2.0)
        >>> p.replace(y=5.0), p                 # a new object; p is unchanged
        (Point(x=1.0, y=5.0), Point(x=1.0, y=2.0))
        """
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]
