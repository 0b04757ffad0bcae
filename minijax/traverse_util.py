"""Flat views of nested dicts: `flatten_dict`, `unflatten_dict`, `path_aware_map`.

flax: `flax.traverse_util`. Parameters are nested dicts (`{"Dense_0": {"kernel":
..., "bias": ...}}`); many tasks are easier on a flat dict keyed by paths:

    >>> from minijax import traverse_util
    >>> params = {"Dense_0": {"kernel": 1, "bias": 2}, "head": {}}
    >>> traverse_util.flatten_dict(params)
    {('Dense_0', 'kernel'): 1, ('Dense_0', 'bias'): 2}
    >>> traverse_util.flatten_dict(params, sep="/")
    {'Dense_0/kernel': 1, 'Dense_0/bias': 2}

The usual ones: print every parameter with its path, pick parameters by name for an
optimizer mask (`minijax.optim.masked`) or label them for `multi_transform`,
compare two checkpoints key by key. `unflatten_dict` is the inverse, and
`path_aware_map(f, tree)` is `jax.tree.map` with the path as the first argument.

Empty dicts have no leaves, so `flatten_dict` drops them unless
`keep_empty_nodes=True`, which writes the marker `empty_node` in their place
(`unflatten_dict` turns it back into `{}`).

flax's `Traversal` classes (`t_identity`, `ModelParamTraversal`) are deprecated
there in favour of these functions and optax's masks; minijax does not have them.
"""

from collections.abc import Callable, Mapping
from typing import Any

from minijax import struct

__all__ = ["empty_node", "flatten_dict", "path_aware_map", "unflatten_dict"]


@struct.dataclass
class _EmptyNode:
    """The marker of an empty dict in a flat dict (a pytree without leaves)."""

    def __repr__(self) -> str:
        return "empty_node"


empty_node = _EmptyNode()
"""Stands for an empty dict in `flatten_dict(..., keep_empty_nodes=True)`."""

Path = tuple[Any, ...]


def flatten_dict(
    xs: Mapping[Any, Any],
    keep_empty_nodes: bool = False,
    is_leaf: Callable[[Path, Any], bool] | None = None,
    sep: str | None = None,
) -> dict[Any, Any]:
    """A flat dict `{path: leaf}` of a nested dict (flax: `traverse_util.flatten_dict`).

    Args:
        xs: a nested dict (any `Mapping`, e.g. a `FrozenDict`).
        keep_empty_nodes: write `empty_node` for each empty dict instead of dropping it.
        is_leaf: `is_leaf(path, node) -> bool`; a dict for which it returns True is
            kept whole as a leaf.
        sep: join each path into one string with `sep` (e.g. `"/"`) instead of a tuple.

    Returns:
        `{("Dense_0", "kernel"): leaf, ...}` (or `{"Dense_0/kernel": leaf}` with `sep`),
        in the order of the nested dict.

    Raises:
        TypeError: `xs` is not a dict, or `sep` is given and a key is not a string.

    >>> from minijax.traverse_util import flatten_dict
    >>> flatten_dict({"a": 1, "b": {"c": 2, "d": {}}}, keep_empty_nodes=True)
    {('a',): 1, ('b', 'c'): 2, ('b', 'd'): empty_node}
    >>> flatten_dict({"a": {"b": 1}}, is_leaf=lambda path, node: path == ("a",))
    {('a',): {'b': 1}}
    """
    if not isinstance(xs, Mapping):
        raise TypeError(f"flatten_dict takes a nested dict, got a {type(xs).__name__}.")
    flat: dict[Any, Any] = {}

    def key(path: Path) -> Any:
        if sep is None:
            return path
        bad = [k for k in path if not isinstance(k, str)]
        if bad:
            raise TypeError(
                f"flatten_dict(sep={sep!r}) joins the keys into strings, but the path "
                f"{path} has the key {bad[0]!r} of type {type(bad[0]).__name__}. Use "
                "string keys, or sep=None for tuple paths."
            )
        return sep.join(path)

    def visit(node: Any, path: Path) -> None:
        if not isinstance(node, Mapping) or (is_leaf is not None and is_leaf(path, node)):
            flat[key(path)] = node
        elif not node:
            if keep_empty_nodes and path:
                flat[key(path)] = empty_node
        else:
            for k, v in node.items():
                visit(v, (*path, k))

    visit(xs, ())
    return flat


def unflatten_dict(xs: Mapping[Any, Any], sep: str | None = None) -> dict[Any, Any]:
    """The nested dict of a flat one: the inverse of `flatten_dict` (flax: the same name).

    Args:
        xs: `{path: leaf}` with tuple paths, or string paths when `sep` is given.
        sep: the separator the string paths were joined with.

    Returns:
        The nested dict; `empty_node` values become `{}`.

    Raises:
        ValueError: one path runs through another path's leaf.

    >>> from minijax.traverse_util import unflatten_dict
    >>> unflatten_dict({("a",): 1, ("b", "c"): 2})
    {'a': 1, 'b': {'c': 2}}
    >>> unflatten_dict({"b/c": 2}, sep="/")
    {'b': {'c': 2}}
    """
    if not isinstance(xs, Mapping):
        raise TypeError(f"unflatten_dict takes a flat dict, got a {type(xs).__name__}.")
    result: dict[Any, Any] = {}
    for path, value in xs.items():
        parts = tuple(path.split(sep)) if sep is not None else tuple(path)
        node = result
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(
                    f"unflatten_dict: the path {path!r} runs through {parts[: i + 1]}, "
                    f"which is a leaf ({type(child).__name__}) in the same flat dict."
                )
            node = child
        if isinstance(node.get(parts[-1]), dict) and node[parts[-1]]:
            raise ValueError(
                f"unflatten_dict: the path {path!r} is a leaf but also the prefix of "
                "other paths in the same flat dict."
            )
        node[parts[-1]] = {} if value is empty_node else value
    return result


def path_aware_map(f: Callable[[Path, Any], Any], nested_dict: Mapping[Any, Any]) -> Any:
    """`f(path, leaf)` on every leaf of a nested dict (flax: `traverse_util.path_aware_map`).

    Empty dicts are kept.

    Args:
        f: takes the path (a tuple of keys) and the leaf, returns the new leaf.
        nested_dict: a nested dict such as params.

    Returns:
        A nested dict of the same structure with the results of `f`.

    >>> from minijax.traverse_util import path_aware_map
    >>> params = {"Dense_0": {"kernel": 1.0, "bias": 0.0}}
    >>> path_aware_map(lambda path, x: "decay" if path[-1] == "kernel" else "none", params)
    {'Dense_0': {'kernel': 'decay', 'bias': 'none'}}
    """
    flat = flatten_dict(nested_dict, keep_empty_nodes=True)
    return unflatten_dict({k: v if v is empty_node else f(k, v) for k, v in flat.items()})
