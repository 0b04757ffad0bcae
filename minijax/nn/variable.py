"""`Variable`: a handle on one variable of a module, read and written through `.value`.

`self.variable("batch_stats", "mean", jnp.zeros, (3,))` returns one. Reading `.value`
always goes to the store, so after `v.value = ...` every handle on the same variable
sees the new value; writing needs the collection to be mutable in this call.

In flax this is `flax.core.scope.Variable` (`nn.Variable`).

>>> from minijax.nn.scope import Scope
>>> scope = Scope({}, mutable=True)
>>> count = scope.variable("counter", "n", lambda: 0)
>>> count.value += 1
>>> scope.variables()
{'counter': {'n': 1}}
"""

from typing import Any, Generic, TypeVar

import jax

from minijax.nn import errors, meta

__all__ = ["Variable"]

T = TypeVar("T")


class Variable(Generic[T]):
    """A handle on `collection/<scope path>/name` (in flax: `nn.Variable`).

    Args:
        scope: the `minijax.nn.scope.Scope` of the module that owns it.
        collection: e.g. `"batch_stats"`.
        name: e.g. `"mean"`.
        unbox: whether `.value` sees through metadata boxes (`nn.Partitioned`, see
            `minijax.nn.meta`): reads return the boxed value, and a write of a value
            of the same structure goes back into the boxes, keeping their metadata.

    >>> from minijax.nn.scope import Scope
    >>> Scope({"c": {"n": 2}}).variable("c", "n").value
    2
    """

    def __init__(self, scope: Any, collection: str, name: str, unbox: bool = True) -> None:
        self.scope, self.collection, self.name, self.unbox = scope, collection, name, unbox

    @property
    def value(self) -> T:
        """The current value in the store; assigning `.value` writes it back.

        >>> import jax.numpy as jnp
        >>> from minijax.nn.scope import Scope
        >>> scope = Scope({}, mutable=True)
        >>> count = scope.variable("counter", "count", jnp.zeros, (), jnp.int32)
        >>> count.value = count.value + 1
        >>> int(scope.mutable_variables()["counter"]["count"]), count.is_mutable()
        (1, True)
        """
        value = self.scope.get_variable(self.collection, self.name)
        unboxed: T = meta.unbox(value) if self.unbox else value
        return unboxed

    @value.setter
    def value(self, new: T) -> None:
        if self.unbox:  # keep the boxes' metadata when `new` has the boxes' structure
            current = self.scope.get_variable(self.collection, self.name)
            structure: Any = jax.tree.structure(current, is_leaf=meta.is_axis_metadata)
            if (structure == jax.tree.structure(new, is_leaf=meta.is_axis_metadata)
                    and any(map(meta.is_axis_metadata, structure.flatten_up_to(current)))):
                new = meta.replace_boxed(current, new)
        self.scope.put_variable(self.collection, self.name, new)

    def is_mutable(self) -> bool:
        """Whether the collection may be written in this call."""
        return bool(self.scope.store.is_mutable(self.collection))

    def __repr__(self) -> str:
        return f"Variable({errors.path_text(self.scope.path)}/{self.collection}/{self.name})"

