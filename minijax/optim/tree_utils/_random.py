"""Random pytrees shaped like a given tree (optax: `optax.tree_utils._random`).

One key is split into one key per leaf, in the order of `jax.tree.leaves`.

>>> import jax, jax.numpy as jnp
>>> noise = tree_random_like(jax.random.key(0), {"w": jnp.zeros((2, 3))})
>>> noise["w"].shape, noise["w"].dtype
((2, 3), dtype('float32'))
"""

import inspect
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["tree_random_like", "tree_split_key_like", "tree_unwrap_random_key_data"]


def tree_split_key_like(rng_key: jax.Array, target_tree: Any) -> Any:
    """`jax.random.split(rng_key, n)` for the `n` leaves of `target_tree`, in its
    structure (optax: `optax.tree.split_key_like`).

    >>> import jax
    >>> keys = tree_split_key_like(jax.random.key(0), {"a": 1.0, "b": 2.0})
    >>> sorted(keys)
    ['a', 'b']
    """
    leaves, treedef = jax.tree.flatten(target_tree)
    keys = jax.random.split(rng_key, len(leaves))
    return jax.tree.unflatten(treedef, list(keys))


def tree_random_like(
    rng_key: jax.Array,
    target_tree: Any,
    sampler: Callable[..., Any] = jax.random.normal,
    dtype: jax.typing.DTypeLike | None = None,
) -> Any:
    """A tree of random arrays with the shapes of `target_tree`'s leaves (optax:
    `optax.tree.random_like`).

    Args:
        rng_key: the key, split once per leaf.
        target_tree: a pytree of arrays.
        sampler: `sampler(key, shape, dtype)`, e.g. `jax.random.normal` (samplers
            with an `out_sharding` argument get the leaf's sharding).
        dtype: the dtype of every sample; by default each leaf's own dtype.

    Returns:
        A pytree of samples with the structure of `target_tree`.

    >>> import jax, jax.numpy as jnp
    >>> tree_random_like(jax.random.key(0), [jnp.zeros(2, jnp.int32)],
    ...                  jax.random.rademacher)[0].dtype
    dtype('int32')
    """
    keys = tree_split_key_like(rng_key, target_tree)
    takes_sharding = "out_sharding" in inspect.signature(sampler).parameters

    def sample(leaf: Any, key: jax.Array) -> Any:
        if takes_sharding:
            return sampler(key, leaf.shape, dtype or leaf.dtype,
                           out_sharding=jax.typeof(leaf).sharding)
        return sampler(key, leaf.shape, dtype or leaf.dtype)

    return jax.tree.map(sample, target_tree, keys)


def tree_unwrap_random_key_data(input_tree: Any) -> Any:
    """Typed keys (`jax.random.key`) replaced by their `uint32` data, so that trees
    holding keys compare as numbers (optax: `optax.tree.unwrap_random_key_data`).

    >>> import jax
    >>> tree_unwrap_random_key_data({"k": jax.random.key(0)})["k"].dtype
    dtype('uint32')
    """

    def unwrap(x: Any) -> Any:
        if isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            return jax.random.key_data(x)
        return x

    return jax.tree.map(unwrap, input_tree)
