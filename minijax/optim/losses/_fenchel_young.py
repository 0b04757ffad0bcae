r"""Fenchel-Young losses (Blondel et al., 2020; optax: `optax.losses._fenchel_young`).

A "max" function $\Omega^*$ (convex: `logsumexp`, a max, a smoothed max) makes a
loss $\ell(s, y) = \Omega^*(s) - \langle y, s\rangle$, over the last axis. With
`logsumexp` it is the softmax cross-entropy.

>>> import jax.numpy as jnp
>>> from jax.scipy.special import logsumexp
>>> loss = make_fenchel_young_loss(logsumexp)
>>> loss(jnp.array([0.0, 0.0]), jnp.array([1.0, 0.0]))
Array(0.6931, dtype=float32)
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["make_fenchel_young_loss"]


def make_fenchel_young_loss(max_fun: Callable[..., Any]) -> Callable[..., jax.Array]:
    r"""The loss $(s, y) \mapsto \Omega^*(s) - \langle y, s\rangle$ over the last axis,
    for `max_fun` $= \Omega^*$ (optax: `make_fenchel_young_loss`). Leading axes are
    batch axes; extra arguments go to `max_fun`.

    Args:
        max_fun: a function of a vector returning a scalar.

    Returns:
        `loss(scores, targets, *args, **kwargs)`.

    >>> import jax.numpy as jnp
    >>> hinge_like = make_fenchel_young_loss(jnp.max)
    >>> hinge_like(jnp.array([[2.0, 1.0], [0.0, 3.0]]), jnp.array([[1.0, 0.0], [1.0, 0.0]]))
    Array([0., 3.], dtype=float32)
    """
    vdot_last_dim = jnp.vectorize(jnp.vdot, signature="(n),(n)->()")
    max_fun_last_dim = jnp.vectorize(max_fun, signature="(n)->()")

    def fenchel_young_loss(scores: Any, targets: Any, *args: Any, **kwargs: Any) -> jax.Array:
        return max_fun_last_dim(scores, *args, **kwargs) - vdot_last_dim(targets, scores)  # type: ignore[no-any-return]

    return fenchel_young_loss
