"""Small pytree functions shared by the transformations (optax: ``optax.tree``).

Leafwise arithmetic over trees of the same structure (``None`` leaves, a
parameter without a gradient, are kept as ``None`` where optax keeps them),
the saturating step counter, bias correction, and the check that a gradient
tree matches the params, with an error that names the first differing path.
"""

import operator
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "bias_correction",
    "check_shapes_match",
    "check_tree_match",
    "global_norm",
    "safe_increment",
    "tree_add",
    "tree_cast",
    "tree_cast_like",
    "tree_full_like",
    "tree_scale",
    "tree_zeros_like",
    "update_moment",
]


def _is_none(x: Any) -> bool:
    return x is None


def safe_increment(count: jax.Array) -> jax.Array:
    """``count + 1``, but staying at the dtype's maximum instead of wrapping around
    (optax: ``safe_increment``). Step counters are int32 scalars."""
    count = jnp.asarray(count)
    if jnp.issubdtype(count.dtype, jnp.integer):
        max_value = jnp.array(np.iinfo(count.dtype).max, count.dtype)
    else:
        max_value = jnp.array(np.finfo(count.dtype).max, count.dtype)
    return jnp.where(count < max_value, count + jnp.array(1, count.dtype), max_value)


def tree_zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros with the shape (and dtype, unless given) of every leaf."""
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def tree_full_like(tree: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``fill_value`` with the shape (and dtype, unless given) of every leaf."""
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


def tree_add(tree_x: Any, tree_y: Any, *others: Any) -> Any:
    """Leafwise sum of two or more trees."""
    return jax.tree.map(lambda *leaves: sum(leaves), tree_x, tree_y, *others)


def tree_scale(scalar: Any, tree: Any) -> Any:
    """``scalar * leaf`` for every leaf."""
    return jax.tree.map(lambda x: scalar * x, tree)


def tree_cast(tree: Any, dtype: Any) -> Any:
    """Cast every leaf to ``dtype``; ``dtype=None`` leaves the tree as it is."""
    if dtype is None:
        return tree
    return jax.tree.map(lambda t: t.astype(dtype), tree)


def tree_cast_like(tree: Any, like: Any) -> Any:
    """Cast every leaf of ``tree`` to the dtype of the matching leaf of ``like``
    (optax: ``optax.tree.cast_like``)."""
    return jax.tree.map(lambda t, other: t.astype(other.dtype), tree, like)


def global_norm(tree: Any) -> jax.Array:
    r"""The L2 norm of all leaves together: :math:`\sqrt{\sum_\ell \sum_i x_{\ell i}^2}`
    (optax: ``optax.tree.norm``, formerly ``optax.global_norm``)."""
    squares = jax.tree.map(lambda x: jnp.sum(jnp.square(x.real) + jnp.square(x.imag)), tree)
    return jnp.array(jnp.sqrt(jax.tree.reduce(operator.add, squares, initializer=0)))


def update_moment(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    r"""Exponential moving average of a power of the updates (optax:
    ``optax.tree.update_moment``):

    .. math:: m \leftarrow (1 - d)\, g^k + d\, m
    """
    return jax.tree.map(
        lambda g, t: None if g is None else (1 - decay) * (g**order) + decay * t,
        updates,
        moments,
        is_leaf=_is_none,
    )


@partial(jax.jit, inline=True)
def _bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    correction = 1 - decay**count
    return jax.tree.map(lambda t: t / correction.astype(t.dtype), moment)


def bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    r"""Undo the bias of a moving average that started at zero (optax:
    ``optax.tree.bias_correction``):

    .. math:: \hat m = m / (1 - d^t)

    ``1 - d**t`` is computed as jax computes it for a traced ``d`` (float32, or
    float64 with x64 on) and cast to the moment's dtype before dividing. Like
    optax's, the function is jitted (and inlined into an enclosing jit): eager
    code then gets the same rounding as compiled code.
    """
    return _bias_correction(moment, decay, count)


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
    a: Any, b: Any, path: tuple[Any, ...], none_is_leaf: bool
) -> tuple[str, str, str] | None:
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
    if len(a_children) < len(b_children):  # ``tree`` has an extra entry
        key, child = b_children[len(a_children)]
        return jax.tree_util.keystr((*path, key)), "nothing", _describe(child)
    if len(a_children) > len(b_children):  # ``tree`` lacks an entry
        key, child = a_children[len(b_children)]
        return jax.tree_util.keystr((*path, key)), _describe(child), "nothing"
    for (k, ca), (_, cb) in zip(a_children, b_children, strict=True):
        found = _first_difference(ca, cb, (*path, k), none_is_leaf)
        if found is not None:
            return found
    if a_def != b_def:  # same keys, different static data (e.g. a dataclass's metadata)
        return jax.tree_util.keystr(path), str(a_def), str(b_def)
    return None


def check_tree_match(
    reference: Any, tree: Any, reference_name: str, tree_name: str, *, none_is_leaf: bool = False
) -> None:
    """Raise a ``TypeError`` naming the first path where the tree structure of
    ``tree`` differs from that of ``reference`` (see :func:`check_shapes_match`
    for the leaf shapes too).

    Used to check that gradients have the structure of the params the optimizer
    was initialised with. jax's own message for this case lists both whole tree
    definitions; this one names the first differing entry, e.g.
    ``updates['dense']['bias']``.

    ``none_is_leaf=True`` lets a ``None`` stand where the reference has an array
    (optax's transformations accept ``None`` for a missing gradient).
    """
    is_leaf = _is_none if none_is_leaf else None
    expected: Any = jax.tree.structure(reference, is_leaf=is_leaf)
    if expected == jax.tree.structure(tree, is_leaf=is_leaf):
        return
    found = _first_difference(reference, tree, (), none_is_leaf)
    where, expected_what, got = found if found is not None else ("", "?", "?")
    raise TypeError(
        f"The {tree_name} do not match the {reference_name}: at {tree_name}{where}, the "
        f"{reference_name} have {expected_what} but the {tree_name} have {got}. The "
        f"{tree_name} must have exactly the tree structure of the {reference_name}."
    )


def check_shapes_match(reference: Any, tree: Any, reference_name: str, tree_name: str) -> None:
    """Like :func:`check_tree_match`, and also compare the shapes of the leaves."""
    check_tree_match(reference, tree, reference_name, tree_name)
    ref_leaves = jax.tree_util.tree_flatten_with_path(reference, is_leaf=_is_none)[0]
    leaves = jax.tree.leaves(tree, is_leaf=_is_none)
    for (path, r), x in zip(ref_leaves, leaves, strict=True):
        if r is None or x is None:
            continue
        if jnp.shape(r) != jnp.shape(x):
            where = jax.tree_util.keystr(path)
            raise TypeError(
                f"The {tree_name} do not match the {reference_name}: at {tree_name}{where} "
                f"the shape is {jnp.shape(x)} but {reference_name}{where} has shape "
                f"{jnp.shape(r)}."
            )
