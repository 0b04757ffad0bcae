"""`FrozenDict`: an immutable, hashable nested dict that is a pytree.

Older flax code returns variables as `FrozenDict`s and passes them around frozen;
minijax's `init` and `apply` return plain dicts but accept both, and module
attributes that hold dicts are frozen into `FrozenDict`s so that modules stay
hashable. `freeze`, `unfreeze`, `copy` and `pop` work on either kind of dict.

In flax this is `flax/core/frozen_dict.py` (`flax.core.FrozenDict`).

>>> variables = freeze({"params": {"w": 1.0}})
>>> variables["params"]["w"], hash(variables) == hash(freeze({"params": {"w": 1.0}}))
(1.0, True)
>>> rest, params = pop(variables, "params")
>>> rest, unfreeze(params)
(FrozenDict({}), {'w': 1.0})
"""

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import jax

__all__ = ["FrozenDict", "copy", "freeze", "pop", "pretty_repr", "unfreeze"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(Mapping[K, V]):
    """An immutable mapping; nested dicts inside are frozen too (flax: `FrozenDict`).

    Args:
        *args: what `dict(...)` takes.
        **kwargs: what `dict(...)` takes.

    >>> dict(FrozenDict(a=1).copy({"b": 2}))
    {'a': 1, 'b': 2}
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._dict: dict[K, V] = {k: freeze(v) if isinstance(v, dict) else v  # type: ignore
                                  for k, v in dict(*args, **kwargs).items()}
        self._hash: int | None = None

    def __getitem__(self, key: K) -> V:
        return self._dict[key]

    def __setitem__(self, key: K, value: V) -> None:
        raise ValueError("FrozenDict is immutable: use .copy({key: value}) for a changed copy.")

    def __iter__(self) -> Iterator[K]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(frozenset(self._dict.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({pretty_repr(self._dict)})" if self._dict else "FrozenDict({})"

    def __reduce__(self) -> tuple[Any, ...]:
        return FrozenDict, (unfreeze(self),)

    def copy(self, add_or_replace: Mapping[K, V] | None = None) -> "FrozenDict[K, V]":
        """A new `FrozenDict` with the entries of `add_or_replace` added or replaced.

        >>> from minijax.core import FrozenDict
        >>> FrozenDict({"a": 1}).copy({"b": 2}).unfreeze()
        {'a': 1, 'b': 2}
        """
        return FrozenDict({**self._dict, **(add_or_replace or {})})

    def pop(self, key: K) -> tuple["FrozenDict[K, V]", V]:
        """`(a copy without key, the value at key)`.

        >>> from minijax.core import FrozenDict
        >>> rest, value = FrozenDict({"a": 1, "b": 2}).pop("a")
        >>> rest.unfreeze(), value
        ({'b': 2}, 1)
        """
        rest = dict(self._dict)
        value = rest.pop(key)
        return FrozenDict(rest), value

    def unfreeze(self) -> dict[K, V]:
        """A plain nested dict with the same entries.

        >>> from minijax.core import FrozenDict
        >>> FrozenDict({"params": {"w": 1}}).unfreeze()
        {'params': {'w': 1}}
        """
        plain: dict[K, V] = unfreeze(self)
        return plain

    def pretty_repr(self, num_spaces: int = 4) -> str:
        """The nested entries, one per line."""
        return f"FrozenDict({pretty_repr(self._dict, num_spaces)})"


def _flatten(x: FrozenDict[Any, Any]) -> tuple[list[tuple[Any, Any]], tuple[Any, ...]]:
    keys = tuple(sorted(x._dict))
    return [(jax.tree_util.DictKey(k), x._dict[k]) for k in keys], keys


def _unflatten(keys: tuple[Any, ...], values: Any) -> FrozenDict[Any, Any]:
    return FrozenDict(zip(keys, values, strict=True))


jax.tree_util.register_pytree_with_keys(FrozenDict, _flatten, _unflatten)


def freeze(xs: Mapping[Any, Any]) -> FrozenDict[Any, Any]:
    """`xs` as a `FrozenDict`, nested dicts included.

    >>> type(freeze({"a": {"b": 1}})["a"]).__name__
    'FrozenDict'
    """
    return xs if isinstance(xs, FrozenDict) else FrozenDict(xs)


def unfreeze(x: Any) -> Any:
    """A plain nested dict of `x` (a `FrozenDict` or a dict); other values unchanged.

    >>> unfreeze(freeze({"a": {"b": 1}}))
    {'a': {'b': 1}}
    """
    if isinstance(x, Mapping):
        return {k: unfreeze(v) for k, v in x.items()}
    return x


def copy(x: Mapping[Any, Any], add_or_replace: Mapping[Any, Any] | None = None) -> Any:
    """A copy of `x` with entries added or replaced, of the same kind (frozen or not).

    >>> copy({"a": 1}, {"b": 2})
    {'a': 1, 'b': 2}
    """
    if isinstance(x, FrozenDict):
        return x.copy(add_or_replace)
    return {**unfreeze(x), **(add_or_replace or {})}


def pop(x: Mapping[Any, Any], key: Any) -> tuple[Any, Any]:
    """`(a copy of x without key, x[key])`, of the same kind as `x`.

    >>> pop({"a": 1, "b": 2}, "a")
    ({'b': 2}, 1)
    """
    if isinstance(x, FrozenDict):
        return x.pop(key)
    rest = unfreeze(x)
    return rest, rest.pop(key)


def pretty_repr(x: Any, num_spaces: int = 4) -> str:
    """An indented text of a nested dict, one entry per line (flax: `pretty_repr`).

    >>> print(pretty_repr({"params": {"w": (3,)}}))
    {
        params: {
            w: (3,),
        },
    }
    """
    if isinstance(x, FrozenDict):
        return x.pretty_repr(num_spaces)
    if not isinstance(x, Mapping):
        return repr(x)
    if not x:
        return "{}"
    pad = " " * num_spaces
    body = "".join(f"{k}: {pretty_repr(v, num_spaces)},\n" for k, v in x.items())
    return "{\n" + "".join(pad + line + "\n" for line in body.splitlines()) + "}"
