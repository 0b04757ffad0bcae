"""The dtypes of pytrees: cast a tree, read its dtype (optax: `optax.tree_utils._casting`).

>>> import jax.numpy as jnp
>>> tree_cast({"a": jnp.array(1.5)}, jnp.bfloat16)
{'a': Array(1.5, dtype=bfloat16)}
"""

import functools
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["tree_cast", "tree_cast_like", "tree_dtype"]


def tree_cast(tree: Any, dtype: jax.typing.DTypeLike | None) -> Any:
    """Every leaf cast to `dtype`; `dtype=None` returns the tree as it is (optax:
    `optax.tree.cast`).

    >>> import jax.numpy as jnp
    >>> tree_cast({"a": jnp.array(1.7)}, jnp.int32)
    {'a': Array(1, dtype=int32)}
    """
    if dtype is None:
        return tree
    return jax.tree.map(lambda t: t.astype(dtype), tree)


def tree_cast_like(tree: Any, other_tree: Any) -> Any:
    """Every leaf of `tree` cast to the dtype of the matching leaf of `other_tree`;
    a leaf without a dtype (a Python number) is kept (optax: `optax.tree.cast_like`).

    >>> import jax.numpy as jnp
    >>> tree_cast_like({"a": jnp.array(2.0)}, {"a": jnp.array(0, jnp.int8)})
    {'a': Array(2, dtype=int8)}
    """
    return jax.tree.map(
        lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, other_tree
    )


def _lower_dtype(a: Any, b: Any) -> Any:
    """The one of `a`, `b` that promotes to the other."""
    promoted = jnp.promote_types(a, b)
    if promoted == a:
        return b
    if promoted == b:
        return a
    raise ValueError(
        f"tree_dtype: cannot order {a} and {b}, neither promotes to the other; use "
        "mixed_dtype_handler='promote'."
    )


def _higher_dtype(a: Any, b: Any) -> Any:
    return b if _lower_dtype(a, b) == a else a


def tree_dtype(tree: Any, mixed_dtype_handler: str | None = None) -> Any:
    """The dtype of the leaves of `tree` (optax: `optax.tree.dtype`).

    Args:
        tree: a pytree of arrays (an empty tree has jax's default float dtype).
        mixed_dtype_handler: what to do when leaves differ: `None` raises,
            `"promote"` returns `jnp.promote_types` of all, `"highest"` / `"lowest"`
            the dtype the others promote to / that promotes to all others.

    Returns:
        A NumPy dtype.

    Raises:
        ValueError: mixed dtypes with `mixed_dtype_handler=None` (naming the leaf),
            dtypes that cannot be ordered, or an unknown handler.

    >>> import jax.numpy as jnp
    >>> tree = {"a": jnp.ones(1, jnp.float16), "b": jnp.ones(1, jnp.float32)}
    >>> tree_dtype(tree, "lowest"), tree_dtype(tree, "highest")
    (dtype('float16'), dtype('float32'))
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]
    if mixed_dtype_handler is None:
        errors = [
            f"Expected dtype={dtypes[0]} for {jax.tree_util.keystr(path)} but got {d}."
            for (path, _), d in zip(jax.tree_util.tree_leaves_with_path(tree), dtypes,
                                    strict=True)
            if d != dtypes[0]
        ]
        if errors:
            raise ValueError("\n".join(errors))
        return dtypes[0]
    if mixed_dtype_handler == "promote":
        return functools.reduce(jnp.promote_types, dtypes)
    if mixed_dtype_handler == "highest":
        return functools.reduce(_higher_dtype, dtypes)
    if mixed_dtype_handler == "lowest":
        return functools.reduce(_lower_dtype, dtypes)
    raise ValueError(
        f"Invalid value for mixed_dtype_handler={mixed_dtype_handler!r}; possible values "
        "are None, 'promote', 'highest', 'lowest'."
    )
