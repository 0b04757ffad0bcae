"""Unique ids for module instances: how adoption knows "the same instance" (flax: `flax.ids`).

A module passed to two parents must be bound once, so adoption (`Module._register`)
remembers instances by id. `id(obj)` will not do, since Python reuses it after an
object is freed; a counter does. A copy of a module is another module, so copying an
id (`copy.copy`, `copy.deepcopy`) gives a new one.

>>> import copy
>>> a = uuid()
>>> a == a, a == uuid(), copy.copy(a) == a
(True, False, False)
"""

import itertools
from typing import Any

__all__ = ["Id", "uuid"]

_counter = itertools.count(1)


class Id:
    """A hashable id; copies get fresh ones (in flax: `FlaxId`).

    Args:
        raw: the counter value.

    >>> Id(3) == Id(3), hash(Id(3)) == hash(3)
    (True, True)
    """

    def __init__(self, raw: int) -> None:
        self.raw = raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Id) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Id({self.raw})"

    def __copy__(self) -> "Id":
        return uuid()

    def __deepcopy__(self, memo: Any) -> "Id":
        return uuid()


def uuid() -> Id:
    """A new id, never handed out before in this process.

    >>> uuid() != uuid()
    True
    """
    return Id(next(_counter))
