"""Activation functions, written on ``jax.numpy``/``lax``.

Each is elementwise unless it takes an ``axis``; each keeps the input's shape.
In flax these are ``nn.relu``, ``nn.gelu``, ... : re-exports of ``jax.nn``'s
functions of the same names, with the same arguments and defaults as here.
"""

import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.typing import Array, Inexact, Num, typed

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "swish",
    "tanh",
]

ArrayIn = Array | np.ndarray
Axis = int | tuple[int, ...]


@typed
def relu(x: Num[ArrayIn, "*shape"]) -> Num[Array, "*shape"]:
    r""":math:`\mathrm{relu}(x) = \max(x, 0)`; the gradient at 0 is taken as 0."""
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, jnp.zeros_like(x))


@typed
def leaky_relu(x: Num[ArrayIn, "*shape"], negative_slope: float = 1e-2) -> Inexact[Array, "*shape"]:
    r""":math:`x` for :math:`x \ge 0`, else :math:`\mathrm{negative\_slope} \cdot x`."""
    x = jnp.asarray(x)
    return jnp.where(x >= 0, x, negative_slope * x)


@typed
def elu(x: Num[ArrayIn, "*shape"], alpha: float = 1.0) -> Inexact[Array, "*shape"]:
    r""":math:`x` for :math:`x > 0`, else :math:`\alpha (e^x - 1)`.

    The negative branch sees only :math:`\min(x, 0)`, so large positive inputs never
    overflow ``expm1`` (an inf there would poison the gradient through ``where``).
    """
    x = jnp.asarray(x)
    safe = jnp.where(x > 0, jnp.zeros_like(x), x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(safe))


@typed
def sigmoid(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})` (``lax.logistic``, stable for large :math:`|x|`)."""
    return lax.logistic(jnp.asarray(x, jnp.result_type(float, x)))


@typed
def tanh(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    r""":math:`\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})`."""
    return jnp.tanh(x)


@typed
def silu(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    r""":math:`\mathrm{silu}(x) = x \, \sigma(x)` (also called swish)."""
    x = jnp.asarray(x, jnp.result_type(float, x))
    return x * lax.logistic(x)


swish = silu


@typed
def softplus(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    r""":math:`\log(1 + e^x)`, computed as ``logaddexp(x, 0)``: no overflow for large :math:`x`
    (where it tends to :math:`x`), no underflow to 0 too early for very negative :math:`x`."""
    return jnp.logaddexp(x, 0)


@typed
def gelu(x: Num[ArrayIn, "*shape"], approximate: bool = True) -> Inexact[Array, "*shape"]:
    r"""Gaussian error linear unit :math:`x \, \Phi(x)`.

    * exact (``approximate=False``): :math:`\tfrac{x}{2} (1 + \mathrm{erf}(x / \sqrt{2}))
      = \tfrac{x}{2} \mathrm{erfc}(-x / \sqrt{2})`; the erfc form keeps its accuracy for
      very negative :math:`x`, where :math:`1 + \mathrm{erf}` cancels to 0
    * approximate (the default, as flax and jax):
      :math:`\tfrac{x}{2} (1 + \tanh(\sqrt{2/\pi}\,(x + 0.044715 x^3)))`
    """
    # >>> TASK A1.2
    x = jnp.asarray(x, jnp.result_type(float, x))
    if approximate:
        c = math.sqrt(2 / math.pi)
        return 0.5 * x * (1 + jnp.tanh(c * (x + 0.044715 * x**3)))
    return 0.5 * x * lax.erfc(-x / math.sqrt(2))
    # <<< TASK A1.2


@typed
def log_softmax(x: Num[ArrayIn, "*shape"], axis: Axis = -1) -> Inexact[Array, "*shape"]:
    r""":math:`x_i - \log \sum_j e^{x_j}` along ``axis``.

    Stable: the max is subtracted first (:math:`m = \max_j x_j`, treated as a constant
    for the gradient, which is exact since the result does not depend on it), so
    :math:`e^{x_j - m} \le 1` never overflows and the sum is at least 1.
    """
    # >>> TASK A1.1
    x = jnp.asarray(x, jnp.result_type(float, x))
    shifted = x - lax.stop_gradient(jnp.max(x, axis, keepdims=True))
    return shifted - jnp.log(jnp.sum(jnp.exp(shifted), axis, keepdims=True))
    # <<< TASK A1.1


@typed
def softmax(x: Num[ArrayIn, "*shape"], axis: Axis = -1) -> Inexact[Array, "*shape"]:
    r""":math:`e^{x_i} / \sum_j e^{x_j}` along ``axis``, with the max subtracted first."""
    # >>> TASK A1.1
    x = jnp.asarray(x, jnp.result_type(float, x))
    unnormalized = jnp.exp(x - lax.stop_gradient(jnp.max(x, axis, keepdims=True)))
    return unnormalized / jnp.sum(unnormalized, axis, keepdims=True)
    # <<< TASK A1.1


