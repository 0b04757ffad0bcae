"""The check that a tree matches another, with an error that names the first
differing path (minijax's own; optax leaves this to `jax.tree.map`).

jax's message for mismatched trees lists both whole tree definitions; these checks
name the first differing entry, e.g. `updates['dense']['bias']`.

>>> import jax.numpy as jnp
>>> check_tree_match({"w": jnp.ones(2)}, {"b": jnp.ones(2)}, "params", "updates")
Traceback (most recent call last):
...
TypeError: The updates do not match the params: at updates['b'], the params have nothing ...
"""

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["check_shapes_match", "check_tree_match"]


def _is_none(x: Any) -> bool:
    return x is None


def _one_level(x: Any) -> tuple[list[tuple[Any, Any]], Any]:
    """The children of ``x`` with their keys, and the one-level tree definition."""
    children, treedef = jax.tree_util.tree_flatten_with_path(
        x, is_leaf=lambda n: n is None or n is not x
    )
    return [(path[0], child) for path, child in children], treedef


def _describe(x: Any) -> str:
    if x is None:
        return "None"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array {x.dtype}{list(x.shape)}"
    if jax.tree_util.treedef_is_leaf(jax.tree.structure(x, is_leaf=_is_none)):
        return f"a leaf of type {type(x).__name__}"
    keys = ", ".join(jax.tree_util.keystr((k,))[1:-1] for k, _ in _one_level(x)[0])
    return f"a {type(x).__name__} with keys [{keys}]"


def _first_difference(
    a: Any, b: Any, path: tuple[Any, ...], none_is_leaf: bool, none_is_prefix: bool
) -> tuple[str, str, str] | None:
    if (none_is_leaf and b is None) or (none_is_prefix and a is None):
        return None  # a None stands for the whole subtree of the other side
    a_leaf = jax.tree_util.treedef_is_leaf(jax.tree.structure(a, is_leaf=_is_none))
    b_leaf = jax.tree_util.treedef_is_leaf(jax.tree.structure(b, is_leaf=_is_none))
    if a_leaf and b_leaf:
        if not none_is_leaf and (a is None) != (b is None):
            return jax.tree_util.keystr(path), _describe(a), _describe(b)
        return None
    if a_leaf != b_leaf or type(a) is not type(b):
        return jax.tree_util.keystr(path), _describe(a), _describe(b)
    (a_children, a_def), (b_children, b_def) = _one_level(a), _one_level(b)
    for (ka, ca), (kb, cb) in zip(a_children, b_children, strict=False):
        if ka != kb:
            # The first key present in one tree and not the other names the spot.
            if kb not in [k for k, _ in a_children]:
                return jax.tree_util.keystr((*path, kb)), "nothing", _describe(cb)
            return jax.tree_util.keystr((*path, ka)), _describe(ca), "nothing"
    if len(a_children) < len(b_children):  # `tree` has an extra entry
        key, child = b_children[len(a_children)]
        return jax.tree_util.keystr((*path, key)), "nothing", _describe(child)
    if len(a_children) > len(b_children):  # `tree` lacks an entry
        key, child = a_children[len(b_children)]
        return jax.tree_util.keystr((*path, key)), _describe(child), "nothing"
    for (k, ca), (_, cb) in zip(a_children, b_children, strict=True):
        found = _first_difference(ca, cb, (*path, k), none_is_leaf, none_is_prefix)
        if found is not None:
            return found
    if a_def != b_def:  # same keys, different static data (e.g. a dataclass's metadata)
        return jax.tree_util.keystr(path), str(a_def), str(b_def)
    return None


def check_tree_match(
    reference: Any,
    tree: Any,
    reference_name: str,
    tree_name: str,
    *,
    none_is_leaf: bool = False,
    none_is_prefix: bool = False,
) -> None:
    """Raise a `TypeError` naming the first path where the tree structure of `tree`
    differs from that of `reference` (`check_shapes_match` compares the leaf shapes
    too).

    Used to check that gradients have the structure of the params the optimizer was
    initialised with.

    Args:
        reference: the tree `tree` must match (the params, a state's moments).
        tree: the tree to check (the updates).
        reference_name: what `reference` is, for the message ("params").
        tree_name: what `tree` is, for the message ("updates").
        none_is_leaf: a `None` in `tree` stands for any subtree of `reference`
            (optax's transformations map over the updates and skip a missing
            gradient).
        none_is_prefix: a `None` in `reference` stands for any subtree of `tree`
            (`apply_updates` keeps a `None` parameter, whatever its update).

    Raises:
        TypeError: the trees differ; the message names the first differing path.

    >>> import jax.numpy as jnp
    >>> check_tree_match({"w": jnp.ones(2)}, {"w": None}, "params", "updates",
    ...                  none_is_leaf=True)
    """
    is_leaf = _is_none if none_is_leaf else None
    expected: Any = jax.tree.structure(reference, is_leaf=is_leaf)
    if expected == jax.tree.structure(tree, is_leaf=is_leaf):
        return
    found = _first_difference(reference, tree, (), none_is_leaf, none_is_prefix)
    if found is None:
        return
    where, expected_what, got = found
    raise TypeError(
        f"The {tree_name} do not match the {reference_name}: at {tree_name}{where}, the "
        f"{reference_name} have {expected_what} but the {tree_name} have {got}. The "
        f"{tree_name} must have exactly the tree structure of the {reference_name}."
    )


def check_shapes_match(
    reference: Any, tree: Any, reference_name: str, tree_name: str, *, none_is_prefix: bool = False
) -> None:
    """Like `check_tree_match`, and also compare the shapes of the leaves.

    Raises:
        TypeError: the structures or a leaf's shape differ, naming the path.

    >>> import jax.numpy as jnp
    >>> check_shapes_match({"w": jnp.ones(2)}, {"w": jnp.ones(3)}, "params", "updates")
    Traceback (most recent call last):
    ...
    TypeError: The updates do not match the params: at updates['w'] the shape is (3,) ...
    """
    check_tree_match(reference, tree, reference_name, tree_name, none_is_prefix=none_is_prefix)

    def check(path: Any, r: Any, x: Any) -> None:
        if r is None or x is None:
            return
        if jnp.shape(r) != jnp.shape(x):
            where = jax.tree_util.keystr(path)
            raise TypeError(
                f"The {tree_name} do not match the {reference_name}: at {tree_name}{where} "
                f"the shape is {jnp.shape(x)} but {reference_name}{where} has shape "
                f"{jnp.shape(r)}."
            )

    jax.tree_util.tree_map_with_path(check, reference, tree, is_leaf=_is_none)
