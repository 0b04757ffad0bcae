"""Collection filters: which collections `mutable=` (or a lifted transform) selects.

A filter is one of

* `True` (every collection) or `False` (none),
* a collection name, `"batch_stats"`,
* a collection of names, `["batch_stats", "cache"]`,
* `DenyList(filter)`: every collection the inner filter does not select,
* a predicate `collection -> bool`.

In flax this is the filter part of `flax/core/scope.py` (`in_filter`, `DenyList`,
`union_filters`); `init` makes everything but `intermediates` mutable with
`DenyList("intermediates")`, exactly as flax.

>>> in_filter(["params", "cache"], "cache"), in_filter(DenyList("intermediates"), "params")
(True, True)
"""

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any

from minijax.nn import errors

__all__ = [
    "INIT_MUTABLE",
    "CollectionFilter",
    "DenyList",
    "group_collections",
    "in_filter",
    "union_filters",
]

CollectionFilter = Any  # bool | str | Collection[str] | DenyList | Callable[[str], bool]


@dataclasses.dataclass(frozen=True)
class DenyList:
    """Selects every collection that `deny` does not (in flax: `flax.core.DenyList`).

    Attributes:
        deny: a filter of the collections to leave out.

    >>> in_filter(DenyList("intermediates"), "intermediates")
    False
    """

    deny: CollectionFilter


INIT_MUTABLE = DenyList("intermediates")  # what `init` creates and returns by default


def in_filter(filter_like: CollectionFilter, collection: str) -> bool:
    """Whether `filter_like` selects `collection` (in flax: `flax.core.scope.in_filter`).

    Args:
        filter_like: a filter, as listed in the module docstring.
        collection: a collection name.

    Returns:
        True if the collection is selected.

    Raises:
        InvalidFilterError: `filter_like` is none of the accepted forms.

    >>> in_filter(True, "params"), in_filter("params", "cache"), in_filter(lambda c: True, "x")
    (True, False, True)
    """
    if isinstance(filter_like, DenyList):
        return not in_filter(filter_like.deny, collection)
    if isinstance(filter_like, bool):
        return filter_like
    if isinstance(filter_like, str):
        return collection == filter_like
    if isinstance(filter_like, Collection):
        return collection in filter_like
    if callable(filter_like):
        return bool(filter_like(collection))
    raise errors.InvalidFilterError(
        f"Invalid Filter: {filter_like!r}. A collection filter is True/False, a collection "
        "name, a list of names, DenyList(filter) or a function collection -> bool."
    )


def union_filters(a: CollectionFilter, b: CollectionFilter) -> Callable[[str], bool]:
    """A filter selecting what `a` or `b` selects (in flax: `union_filters`).

    >>> union_filters("params", "intermediates")("intermediates")
    True
    """
    return lambda collection: in_filter(a, collection) or in_filter(b, collection)


def group_collections(
    tree: Mapping[str, Any], filters: tuple[CollectionFilter, ...]
) -> tuple[dict[str, Any], ...]:
    """Split `{collection: value}` into one dict per filter; each collection goes to the first.

    Lifted transforms use this to take variables apart per collection (in flax:
    `flax.core.scope.group_collections`).

    >>> group_collections({"params": 1, "batch_stats": 2, "cache": 3}, ("params", True))
    ({'params': 1}, {'batch_stats': 2, 'cache': 3})
    """
    groups: tuple[dict[str, Any], ...] = tuple({} for _ in filters)
    for collection, value in tree.items():
        for group, filter_like in zip(groups, filters, strict=True):
            if in_filter(filter_like, collection):
                group[collection] = value
                break
    return groups
