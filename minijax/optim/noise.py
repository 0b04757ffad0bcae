r"""Gradient noise (optax: `add_noise`): annealed Gaussian noise added to the
updates, as in "Adding Gradient Noise Improves Learning for Very Deep Networks"."""

import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import GradientTransformation, Params, Updates
from minijax.optim.transform import _zero_count
from minijax.optim.tree import safe_increment

__all__ = ["AddNoiseState", "add_noise"]


class AddNoiseState(NamedTuple):
    """The step count and the random key of `add_noise` (optax: `AddNoiseState`)."""

    count: jax.Array  # type: ignore[assignment]  # optax's name; shadows tuple.count
    rng_key: jax.Array


def _as_key(key: jax.Array | int) -> jax.Array:
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    return jax.random.key(key)


def add_noise(
    eta: Any, gamma: Any, key: jax.Array | int | None = None, *, seed: int | None = None
) -> GradientTransformation:
    r"""Add annealed Gaussian noise (optax: `add_noise`):

    $$u = g + \sigma_t\, \xi, \qquad \sigma_t = \sqrt{\eta / t^{\gamma}}, \qquad
      \xi \sim \mathcal N(0, I)$$

    `key` (a `jax.random.key` or an int seed) starts the noise; each step
    splits it into the next key and one key per leaf, as optax does, so the
    noise is the same in both. `seed` is optax's deprecated spelling of `key`.

    Examples:
        >>> import jax, jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.add_noise(eta=0.01, gamma=0.55, key=0)
        >>> u, state = tx.update({"w": jnp.zeros(3)}, tx.init({"w": jnp.zeros(3)}))
        >>> int(state.count), bool(jnp.all(u["w"] != 0))
        (1, True)
    """
    if seed is not None:
        warnings.warn('"seed" is deprecated, use "key".', DeprecationWarning, stacklevel=2)
        if key is not None:
            raise ValueError("add_noise: give either key or seed, not both.")
        key = seed
    if key is None:
        warnings.warn("add_noise: no key given, using key 0.", stacklevel=2)
        key = 0
    start_key = key

    def init_fn(params: Params) -> AddNoiseState:
        del params
        return AddNoiseState(count=_zero_count(), rng_key=_as_key(start_key))

    def update_fn(
        updates: Updates, state: AddNoiseState, params: Params | None = None
    ) -> tuple[Updates, AddNoiseState]:
        del params
        count = safe_increment(state.count)
        stddev = jnp.sqrt(eta / count**gamma)
        rng_key, sample_key = jax.random.split(state.rng_key)
        leaves, treedef_ = jax.tree.flatten(updates)
        treedef: Any = treedef_
        keys = jax.random.split(sample_key, treedef.num_leaves)
        noise = [jax.random.normal(k, x.shape, x.dtype) for k, x in zip(keys, leaves, strict=True)]
        scale = jnp.asarray(stddev)
        updates = treedef.unflatten([g + scale * n for g, n in zip(leaves, noise, strict=True)])
        return updates, AddNoiseState(count=count, rng_key=rng_key)

    return GradientTransformation(init_fn, update_fn)
