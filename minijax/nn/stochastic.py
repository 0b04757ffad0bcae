"""``Dropout`` (flax: ``flax/linen/stochastic.py``)."""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import _checks
from minijax.nn.module import Module, compact, merge_param
from minijax.typing import Array, PRNGKeyArray, Shaped, typed

__all__ = ["Dropout"]

ArrayIn = Array | np.ndarray


class Dropout(Module):
    """Zero each entry with probability ``rate``, scale the rest by ``1 / (1 - rate)``.

    flax: ``nn.Dropout``, with the same attributes and call arguments.

    ``y = select(bernoulli(rng, keep, shape), x / keep, 0)`` with ``keep = 1 - rate``,
    so ``E[y] = x``. The key comes from ``self.make_rng(rng_collection)`` (pass
    ``rngs={"dropout": key}`` to ``apply``) unless ``rng`` is given.
    ``deterministic=True`` (as an attribute or call argument, exactly one of them)
    returns ``x`` unchanged; so do ``rate == 0``; ``rate == 1`` returns zeros.

    Attributes:
        rate: the probability of dropping an entry (not the keep rate).
        broadcast_dims: axes that share one mask value (e.g. whole channels).
        deterministic: see above.
        rng_collection: the rng stream, ``"dropout"``.

    >>> import jax, jax.numpy as jnp
    >>> layer = Dropout(rate=0.5, deterministic=False)
    >>> y = layer.apply({}, jnp.ones(6), rngs={"dropout": jax.random.key(0)})
    >>> sorted(set(y.tolist()))  # dropped, or kept and scaled by 1 / (1 - rate)
    [0.0, 2.0]
    """

    rate: float
    broadcast_dims: Sequence[int] = ()
    deterministic: bool | None = None
    rng_collection: str = "dropout"

    @compact
    @typed
    def __call__(
        self,
        inputs: Shaped[ArrayIn, "*shape"],
        deterministic: bool | None = None,
        rng: PRNGKeyArray | None = None,
    ) -> Shaped[Array, "*shape"]:
        """Drop entries of ``inputs`` (training) or return it unchanged (deterministic)."""
        _checks.rate("Dropout", "rate", self.rate)
        deterministic = merge_param("deterministic", self.deterministic, deterministic)
        inputs = jnp.asarray(inputs)
        if self.rate == 0.0 or deterministic:
            return inputs
        if self.rate == 1.0:
            return jnp.zeros_like(inputs)
        # >>> TASK A5.4
        keep = 1.0 - self.rate
        if rng is None:
            rng = self.make_rng(self.rng_collection)
        mask_shape = list(inputs.shape)
        for dim in self.broadcast_dims:
            mask_shape[dim] = 1
        mask = jax.random.bernoulli(rng, p=keep, shape=mask_shape)
        mask = jnp.broadcast_to(mask, inputs.shape)
        return lax.select(mask, inputs / keep, jnp.zeros_like(inputs))
        # <<< TASK A5.4
