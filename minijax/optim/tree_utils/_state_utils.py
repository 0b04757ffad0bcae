"""Reading and rewriting optimizer states by name (optax: `optax.tree_utils._state_utils`).

An optimizer state is a pytree of `NamedTuple`s and dicts. `tree_get(state,
"count")` finds the field named `count` wherever it is, `tree_set(state,
count=...)` returns a copy with it replaced, and `tree_map_params` maps a function
over the parts of the state that mirror the params (Adam's `mu` and `nu`), e.g. to
give them the params' sharding.

A path returned here names each `NamedTuple` field with a `NamedTupleKey`
(`ScaleByAdamState.count`), so that two fields of the same name in different
states can be told apart.

>>> import jax.numpy as jnp
>>> import minijax.optim as optax
>>> state = optax.adam(1e-3).init(jnp.zeros(3))
>>> tree_get(state, "count")
Array(0, dtype=int32)
"""

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax

__all__ = [
    "NamedTupleKey",
    "tree_get",
    "tree_get_all_with_path",
    "tree_map_params",
    "tree_set",
]

KeyPath = tuple[Any, ...]


@jax.tree_util.register_pytree_node_class
class _ParamsPlaceholder:
    """A leafless pytree that stands for the params while the state is initialised."""

    def tree_flatten(self) -> tuple[tuple[()], None]:
        return (), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: Any) -> "_ParamsPlaceholder":
        return cls()


@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """The path entry of a `NamedTuple` field: the tuple's class name and the field
    (optax: `optax.tree_utils.NamedTupleKey`).

    >>> str(NamedTupleKey("ScaleByAdamState", "count"))
    'ScaleByAdamState.count'
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


@runtime_checkable
class Initable(Protocol):
    """Anything with an `init(params) -> state` method (a `GradientTransformation`)."""

    def init(self, params: Any) -> Any: ...


def tree_map_params(
    initable: Callable[[Any], Any] | Initable,
    f: Callable[..., Any],
    state: Any,
    /,
    *rest: Any,
    transform_non_params: Callable[..., Any] | None = None,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Map `f` over every copy of the params tree inside an optimizer state (optax:
    `optax.tree.map_params`).

    The state's params-shaped parts are found by initialising `initable` with a
    placeholder for the params: where the placeholder lands, `state` holds a tree
    like the params, and `f(leaf, *rest_leaves)` is mapped over it. Elsewhere
    (counters, ...) `transform_non_params(value)` is applied, if given.

    Args:
        initable: the optimizer (or its `init` function).
        f: the function of one leaf (and of the matching leaves of `rest`).
        state: the state to map over.
        *rest: trees with the params' structure, passed to `f` leafwise.
        transform_non_params: applied to the leaves that do not mirror the params.
        is_leaf: passed to `jax.tree.map` over the params-shaped parts.

    Returns:
        A state of the same structure.

    >>> import jax.numpy as jnp
    >>> import minijax.optim as optax
    >>> opt = optax.adam(1e-3)
    >>> state = opt.init({"w": jnp.ones(2)})
    >>> doubled = tree_map_params(opt, lambda p: 2 * p + 1, state)
    >>> doubled[0].mu, doubled[0].count
    ({'w': Array([1., 1.], dtype=float32)}, Array(0, dtype=int32))
    """
    placeholder = _ParamsPlaceholder()
    init = initable.init if isinstance(initable, Initable) else initable
    with_placeholders = init(placeholder)

    def map_params(marker: Any, value: Any) -> Any:
        if isinstance(marker, _ParamsPlaceholder):
            return jax.tree.map(f, value, *rest, is_leaf=is_leaf)
        return value if transform_non_params is None else transform_non_params(value)

    return jax.tree.map(
        map_params,
        with_placeholders,
        state,
        is_leaf=lambda v: isinstance(v, _ParamsPlaceholder),
    )


# ----------------------------------------------------------------------------- search


def _is_named_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _has_keys(node: Any, keys: tuple[Any, ...]) -> bool:
    """Whether `node` is a NamedTuple with one of `keys` as field or class name, or a
    dict with one of `keys`."""
    if _is_named_tuple(node):
        return any(k in node._fields for k in keys) or type(node).__name__ in keys
    return isinstance(node, dict) and any(k in node for k in keys)


def _leaves_with_path(tree: Any, is_leaf: Callable[[Any], bool]) -> list[tuple[KeyPath, Any]]:
    """`jax.tree_util.tree_leaves_with_path`, but with a `NamedTupleKey` for every
    NamedTuple field, and stopping at nodes where `is_leaf` holds."""
    out = []
    flat = jax.tree_util.tree_leaves_with_path(
        tree, is_leaf=lambda x: is_leaf(x) or _is_named_tuple(x)
    )
    for path, node in flat:
        if is_leaf(node) or not _is_named_tuple(node):
            out.append((path, node))
            continue
        for field in node._fields:
            key = NamedTupleKey(type(node).__name__, field)
            for sub, value in _leaves_with_path(getattr(node, field), is_leaf):
                out.append(((*path, key, *sub), value))
    return out


def _children(path: KeyPath, node: Any) -> list[tuple[KeyPath, Any]]:
    """The children of a NamedTuple or a dict, with their paths."""
    if _is_named_tuple(node):
        name = type(node).__name__
        return [((*path, NamedTupleKey(name, f)), getattr(node, f)) for f in node._fields]
    return [((*path, jax.tree_util.DictKey(k)), v) for k, v in node.items()]


def _find(tree: Any, key: Any) -> list[tuple[KeyPath, Any]]:
    """Every value named `key` in `tree`, outermost first, with its path."""

    def has_key(node: Any) -> bool:
        return _has_keys(node, (key,))

    found = []
    matches = [(p, n) for p, n in _leaves_with_path(tree, has_key) if has_key(n)]
    for path, node in matches:
        if _is_named_tuple(node) and type(node).__name__ == key:
            found.append((path, node))  # the state itself, found by its class name
        elif _is_named_tuple(node):
            found.append(((*path, NamedTupleKey(type(node).__name__, key)), getattr(node, key)))
        else:
            found.append(((*path, jax.tree_util.DictKey(key)), node[key]))
    for path, node in matches:  # and deeper inside the matching nodes
        for child_path, child in _children(path, node):
            found += [((*child_path, *p), v) for p, v in _find(child, key)]
    return found


def tree_get_all_with_path(
    tree: Any, key: Any, filtering: Callable[[KeyPath, Any], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """Every value in `tree` under the dict key or NamedTuple field `key` (or a
    NamedTuple whose class is named `key`), with its path (optax:
    `optax.tree_utils.tree_get_all_with_path`).

    Args:
        tree: the tree to search.
        key: the key, field or NamedTuple class name.
        filtering: keeps only the `(path, value)` pairs for which it is true.

    Returns:
        A list of `(path, value)`; `jax.tree_util.keystr(path)` prints a path.

    >>> import jax.numpy as jnp
    >>> import minijax.optim as optax
    >>> state = optax.adam(1e-3).init(jnp.zeros(2))
    >>> (path, value), = tree_get_all_with_path(state, "count")
    >>> str(path[-1]), int(value)
    ('ScaleByAdamState.count', 0)
    """
    found = _find(tree, key)
    if filtering is not None:
        found = [(p, v) for p, v in found if filtering(p, v)]
    return found


def tree_get(
    tree: Any,
    key: Any,
    default: Any = None,
    filtering: Callable[[KeyPath, Any], bool] | None = None,
) -> Any:
    """The one value named `key` in `tree`, or `default` if there is none (optax:
    `optax.tree.get`). See `tree_get_all_with_path` for what `key` and `filtering` match.

    Raises:
        KeyError: more than one value matches.

    >>> import jax.numpy as jnp
    >>> import minijax.optim as optax
    >>> state = optax.adam(1e-3).init(jnp.zeros(2))
    >>> tree_get(state, "mu"), tree_get(state, "lr", default=-1)
    (Array([0., 0.], dtype=float32), -1)
    """
    found = tree_get_all_with_path(tree, key, filtering=filtering)
    if len(found) > 1:
        paths = ", ".join(jax.tree_util.keystr(p) for p, _ in found)
        raise KeyError(
            f"Found multiple values for '{key}' in {tree}: at {paths}. Pass a filtering "
            "function to pick one."
        )
    return found[0][1] if found else default


def tree_set(
    tree: Any, filtering: Callable[[KeyPath, Any], bool] | None = None, /, **kwargs: Any
) -> Any:
    """A copy of `tree` with the values named by the keywords replaced (optax:
    `optax.tree.set`): `tree_set(state, count=2)` replaces every `count` field (a
    NamedTuple class name replaces the whole state).

    Args:
        tree: the tree to copy.
        filtering: replaces only the values for which `filtering(path, value)` holds.
        **kwargs: the names and their new values.

    Returns:
        The new tree.

    Raises:
        KeyError: a keyword matches no value.

    >>> import jax.numpy as jnp
    >>> import minijax.optim as optax
    >>> state = optax.adam(1e-3).init(jnp.zeros(2))
    >>> tree_set(state, count=jnp.int32(5))[0].count
    Array(5, dtype=int32)
    """
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            given = " given the filtering operation" if filtering else ""
            raise KeyError(f"Found no values matching '{key}'{given} in {tree}")

    keys = tuple(kwargs)

    def has_any_key(node: Any) -> bool:
        return _has_keys(node, keys)

    def keep(path: KeyPath, value: Any) -> bool:
        return filtering is None or filtering(path, value)

    def replace(path: KeyPath, node: Any) -> Any:
        if not has_any_key(node):
            return node
        if _is_named_tuple(node) and type(node).__name__ in kwargs and keep(path, node):
            return kwargs[type(node).__name__]
        new = {}
        for child_path, child in _children(path, node):
            last = child_path[-1]
            name = last.name if isinstance(last, NamedTupleKey) else last.key
            if name in kwargs and keep(child_path, child):
                new[name] = kwargs[name]
            elif isinstance(child, dict | list | tuple):
                new[name] = replace(child_path, child)
            else:
                new[name] = child
        return node._replace(**new) if _is_named_tuple(node) else new

    treedef = jax.tree.structure(tree, is_leaf=has_any_key)
    leaves = _leaves_with_path(tree, has_any_key)
    return jax.tree.unflatten(treedef, [replace(p, n) for p, n in leaves])
