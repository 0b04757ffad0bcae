r"""Hand-written backward passes: `jax.custom_vjp` rules for three functions.

JAX differentiates `softplus`, `logsumexp` and an affine map on its own; here each
one carries its own reverse-mode rule instead, written from the math, so that the
rule can be read next to its formula and checked against finite differences with
`minijax.testing.check_grads`. The forward pass of each saves what its backward needs
(the residuals); the backward gets them and the output's cotangent $\bar y$ and
returns one cotangent per input.

Nothing in flax or optax corresponds: it is JAX's `jax.custom_vjp` tutorial, on the
functions a layer is made of.

>>> import jax, jax.numpy as jnp
>>> x = jnp.array([-1.0, 0.0, 2.0])
>>> bool(jnp.allclose(jax.grad(lambda v: softplus(v).sum())(x), jax.nn.sigmoid(x)))
True
"""

import jax
import jax.numpy as jnp

from minijax.typing import Array

__all__ = ["linear", "logsumexp", "softplus"]


# --- softplus ------------------------------------------------------------------------


@jax.custom_vjp
def softplus(x: Array) -> Array:
    r"""$\log(1 + e^x)$, elementwise, with the backward $\bar x = \bar y\,\sigma(x)$.

    >>> round(float(softplus(jnp.zeros(()))), 6)  # log 2
    0.693147
    """
    return jnp.logaddexp(x, 0.0)


def _softplus_fwd(x: Array) -> tuple[Array, Array]:
    return softplus(x), x


def _softplus_bwd(x: Array, g: Array) -> tuple[Array]:
    # >>> TASK A2.1
    return (g * jax.nn.sigmoid(x),)
    # <<< TASK A2.1


softplus.defvjp(_softplus_fwd, _softplus_bwd)


# --- logsumexp -----------------------------------------------------------------------


@jax.custom_vjp
def logsumexp(x: Array) -> Array:
    r"""$\log \sum_i e^{x_i}$ over the last axis, stable (the max is subtracted first).

    The backward is $\bar x_i = \bar y \, \mathrm{softmax}(x)_i$: the softmax is the
    gradient of logsumexp, and the forward pass saves it.

    >>> round(float(logsumexp(jnp.array([0.0, 0.0]))), 6)  # log 2
    0.693147
    """
    m = jax.lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    return jnp.log(jnp.sum(jnp.exp(x - m), axis=-1)) + m[..., 0]


def _logsumexp_fwd(x: Array) -> tuple[Array, Array]:
    y = logsumexp(x)
    return y, jnp.exp(x - y[..., None])  # the residual: softmax(x)


def _logsumexp_bwd(probs: Array, g: Array) -> tuple[Array]:
    # >>> TASK A2.2
    return (g[..., None] * probs,)
    # <<< TASK A2.2


logsumexp.defvjp(_logsumexp_fwd, _logsumexp_bwd)


# --- linear --------------------------------------------------------------------------


@jax.custom_vjp
def linear(x: Array, w: Array, b: Array) -> Array:
    r"""$y = x W + b$ for `x` of shape `(*batch, in)`, `w` `(in, out)`, `b` `(out,)`.

    The backward: $\bar x = \bar y W^\top$, $\bar W = \sum_{batch} x^\top \bar y$ and
    $\bar b = \sum_{batch} \bar y$.

    >>> linear(jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.zeros(4)).shape
    (2, 4)
    """
    return x @ w + b


def _linear_fwd(x: Array, w: Array, b: Array) -> tuple[Array, tuple[Array, Array]]:
    return linear(x, w, b), (x, w)


def _linear_bwd(res: tuple[Array, Array], g: Array) -> tuple[Array, Array, Array]:
    x, w = res
    # >>> TASK A2.3
    x2 = x.reshape(-1, x.shape[-1])
    g2 = g.reshape(-1, g.shape[-1])
    return g @ w.T, x2.T @ g2, g2.sum(axis=0)
    # <<< TASK A2.3


linear.defvjp(_linear_fwd, _linear_bwd)
