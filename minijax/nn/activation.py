"""Activation functions, written on `jax.numpy` and `lax` (flax: `flax.linen.activation`).

flax re-exports `jax.nn`'s functions under these names; each one here computes the
same formula with the same operations, so the values are bitwise equal to flax's,
NaN and inf included: a NaN in is a NaN out (`relu(nan)` is `nan`, as `max(nan, 0)`
is), and $\\pm\\infty$ goes where the formula sends it. Each is elementwise unless
it takes an `axis`, and keeps the input's shape (`glu` halves its axis, `one_hot`
adds one). `PReLU` is a layer: its negative slope is a parameter.

>>> import jax.numpy as jnp
>>> import minijax.nn as nn
>>> nn.relu(jnp.array([-1.0, 0.0, 2.0, jnp.nan]))
Array([ 0.,  0.,  2., nan], dtype=float32)
"""

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn.module import Module, compact
from minijax.typing import Array, Inexact, Num, Shaped, typed

__all__ = [
    "PReLU",
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "normalize",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "standardize",
    "swish",
    "tanh",
]

ArrayIn = Array | np.ndarray | float | int
Axis = int | tuple[int, ...] | None
Dtype = Any
_F = TypeVar("_F", bound=Callable[..., Any])


def _compiled(**jit_kwargs: Any) -> Callable[[_F], _F]:
    """`jax.jit` the function where jax's namesake is jitted, keeping its signature.

    XLA compiles the whole formula (and its derivative) as one computation and fuses
    it, which can round differently from running the operations one by one; jitting
    at the same places as jax makes the values and the gradients bitwise equal.
    """

    def decorate(fn: _F) -> _F:
        jitted = jax.jit(fn, **jit_kwargs)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            return jitted(*args, **kwargs)

        return call  # type: ignore[return-value]

    return decorate


def _inexact(x: Any) -> Array:
    """`x` as an array of a float (or complex) dtype: integers become the default float."""
    y: Array = jnp.asarray(x)
    return y if jnp.issubdtype(y.dtype, jnp.inexact) else y.astype(jnp.result_type(float))


# --- piecewise linear ----------------------------------------------------------------


@jax.custom_jvp
@jax.jit
def _relu(x: Array) -> Array:
    return jnp.maximum(x, 0)


# The derivative at the kink is taken as 0 (as jax): the gradient of `maximum` alone
# would be 1/2 there.
_relu.defjvps(lambda g, ans, x: lax.select(x > 0, g, lax.full_like(g, 0)))


@typed
def relu(x: Num[ArrayIn, "*shape"]) -> Num[Array, "*shape"]:
    """Rectified linear unit $\\max(x, 0)$ (flax: `nn.relu`); its gradient at 0 is 0.

    `max` propagates NaN, so a NaN in the data stays visible.

    >>> import jax.numpy as jnp
    >>> relu(jnp.array([-2.0, 0.5, jnp.nan]))
    Array([0. , 0.5, nan], dtype=float32)
    """
    y: Array = _relu(jnp.asarray(x))
    return y


@jax.custom_jvp
@jax.jit
def _relu6(x: Array) -> Array:
    return jnp.minimum(jnp.maximum(x, 0), 6.0)


_relu6.defjvps(lambda g, ans, x: lax.select((x > 0) & (x < 6), g, lax.full_like(g, 0)))


@typed
def relu6(x: Num[ArrayIn, "*shape"]) -> Num[Array, "*shape"]:
    """$\\min(\\max(x, 0), 6)$ (flax: `nn.relu6`); the gradient is 0 at both kinks.

    >>> import jax.numpy as jnp
    >>> relu6(jnp.array([-1.0, 3.0, 8.0]))
    Array([0., 3., 6.], dtype=float32)
    """
    y: Array = _relu6(jnp.asarray(x))
    return y


@typed
@_compiled()
def leaky_relu(x: Num[ArrayIn, "*shape"], negative_slope: float = 1e-2) -> Num[Array, "*shape"]:
    """$x$ for $x \\ge 0$, else $\\mathrm{negative\\_slope} \\cdot x$ (flax: `nn.leaky_relu`).

    >>> import jax.numpy as jnp
    >>> leaky_relu(jnp.array([-10.0, 2.0]), negative_slope=0.1)
    Array([-1.,  2.], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x >= 0, x, negative_slope * x)


@typed
@_compiled()
def hard_tanh(x: Num[ArrayIn, "*shape"]) -> Num[Array, "*shape"]:
    """$x$ clipped to $[-1, 1]$ (flax: `nn.hard_tanh`).

    >>> import jax.numpy as jnp
    >>> hard_tanh(jnp.array([-3.0, 0.5, 3.0]))
    Array([-1. ,  0.5,  1. ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x > 1, 1, jnp.where(x < -1, -1, x))


@typed
@_compiled()
def hard_sigmoid(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$\\mathrm{relu6}(x + 3) / 6$, a piecewise-linear sigmoid (flax: `nn.hard_sigmoid`).

    >>> import jax.numpy as jnp
    >>> hard_sigmoid(jnp.array([-4.0, 0.0, 4.0]))
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    return relu6(jnp.asarray(x) + 3.0) / 6.0


@typed
@_compiled()
def hard_silu(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$x \\cdot \\mathrm{hard\\_sigmoid}(x)$ (flax: `nn.hard_silu`, alias `hard_swish`).

    >>> import jax.numpy as jnp
    >>> hard_silu(jnp.array([-4.0, 0.0, 4.0]))
    Array([-0.,  0.,  4.], dtype=float32)
    """
    x = jnp.asarray(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


# --- smooth ---------------------------------------------------------------------------


@typed
@_compiled()
def sigmoid(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$\\sigma(x) = 1 / (1 + e^{-x})$ (flax: `nn.sigmoid`), by `lax.logistic`.

    >>> import jax.numpy as jnp
    >>> sigmoid(jnp.array([0.0, jnp.inf, -jnp.inf]))
    Array([0.5, 1. , 0. ], dtype=float32)
    """
    return lax.logistic(_inexact(x))


@typed
@_compiled()
def log_sigmoid(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$\\log \\sigma(x) = -\\mathrm{softplus}(-x)$ (flax: `nn.log_sigmoid`): no overflow.

    >>> import jax.numpy as jnp
    >>> log_sigmoid(jnp.array([-100.0, 0.0]))
    Array([-100.    ,   -0.6931], dtype=float32)
    """
    return -softplus(-_inexact(x))


@typed
def tanh(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$\\tanh(x) = (e^x - e^{-x}) / (e^x + e^{-x})$ (flax: `nn.tanh`, i.e. `jnp.tanh`).

    >>> import jax.numpy as jnp
    >>> tanh(jnp.array([0.0, jnp.inf]))
    Array([0., 1.], dtype=float32)
    """
    return jnp.tanh(x)


@typed
@_compiled()
def silu(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$x \\, \\sigma(x)$ (flax: `nn.silu`, alias `swish`).

    >>> import jax.numpy as jnp
    >>> silu(jnp.array([0.0, 1.0]))
    Array([0.    , 0.7311], dtype=float32)
    """
    x = _inexact(x)
    return x * sigmoid(x)


swish = silu


@typed
@_compiled()
def softplus(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$\\log(1 + e^x)$ (flax: `nn.softplus`), computed as `logaddexp(x, 0)`.

    No overflow for large $x$ (where it tends to $x$), and no early underflow to 0
    for very negative $x$.

    >>> import jax.numpy as jnp
    >>> softplus(jnp.array([0.0, 1000.0]))
    Array([   0.6931, 1000.    ], dtype=float32)
    """
    return jnp.logaddexp(x, 0)


@typed
@_compiled()
def soft_sign(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """$x / (|x| + 1)$ (flax: `nn.soft_sign`).

    >>> import jax.numpy as jnp
    >>> soft_sign(jnp.array([-1.0, 3.0]))
    Array([-0.5 ,  0.75], dtype=float32)
    """
    x = jnp.asarray(x)
    return x / (jnp.abs(x) + 1)


@typed
@_compiled()
def elu(x: Num[ArrayIn, "*shape"], alpha: float = 1.0) -> Inexact[Array, "*shape"]:
    """$x$ for $x > 0$, else $\\alpha (e^x - 1)$ (flax: `nn.elu`).

    The negative branch sees only $x \\le 0$ (0 elsewhere), so a large positive input
    never overflows `expm1` (an inf there would poison the gradient through `where`).

    >>> import jax.numpy as jnp
    >>> elu(jnp.array([-1.0, 2.0]))
    Array([-0.6321,  2.    ], dtype=float32)
    """
    x = jnp.asarray(x)
    return jnp.where(x > 0, x, alpha * jnp.expm1(jnp.where(x > 0, 0.0, x)))


@typed
@_compiled()
def celu(x: Num[ArrayIn, "*shape"], alpha: float = 1.0) -> Inexact[Array, "*shape"]:
    """Continuously differentiable ELU, $\\max(x, 0) + \\alpha\\,(e^{\\min(x, 0) / \\alpha} - 1)$.

    flax: `nn.celu`. Unlike `elu`, its derivative is continuous at 0 for every $\\alpha$.

    >>> import jax.numpy as jnp
    >>> celu(jnp.array([-1.0, 2.0]), alpha=2.0)
    Array([-0.7869,  2.    ], dtype=float32)
    """
    return jnp.maximum(x, 0.0) + alpha * jnp.expm1(jnp.minimum(x, 0.0) / alpha)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@typed
@_compiled()
def selu(x: Num[ArrayIn, "*shape"]) -> Inexact[Array, "*shape"]:
    """Self-normalising ELU, $\\lambda \\, \\mathrm{elu}(x, \\alpha)$ (flax: `nn.selu`).

    $\\alpha \\approx 1.6733$ and $\\lambda \\approx 1.0507$ keep unit-normal inputs at
    zero mean and unit variance through the layer.

    >>> import jax.numpy as jnp
    >>> selu(jnp.array([-1.0, 1.0]))
    Array([-1.1113,  1.0507], dtype=float32)
    """
    return SELU_SCALE * elu(x, SELU_ALPHA)


@typed
def gelu(x: Num[ArrayIn, "*shape"], approximate: bool = True) -> Inexact[Array, "*shape"]:
    """Gaussian error linear unit $x \\, \\Phi(x)$ (flax: `nn.gelu`).

    * exact (`approximate=False`): $\\tfrac{x}{2} \\, \\mathrm{erfc}(-x / \\sqrt{2})$, the
      same as $\\tfrac{x}{2}(1 + \\mathrm{erf}(x / \\sqrt{2}))$ but accurate for very
      negative $x$, where $1 + \\mathrm{erf}$ cancels to 0;
    * approximate (the default, as in flax):
      $\\tfrac{x}{2} (1 + \\tanh(\\sqrt{2/\\pi}\\,(x + 0.044715 x^3)))$.

    >>> import jax.numpy as jnp
    >>> gelu(jnp.array([-1.0, 1.0]), approximate=False)
    Array([-0.1587,  0.8413], dtype=float32)
    """
    # >>> TASK A1.2
    x = _inexact(x)
    if approximate:
        sqrt_2_over_pi = np.sqrt(2 / np.pi).astype(x.dtype)
        return x * (0.5 * (1.0 + jnp.tanh(sqrt_2_over_pi * (x + 0.044715 * x**3))))
    sqrt_half = np.sqrt(0.5).astype(x.dtype)
    return 0.5 * x * lax.erfc(-x * sqrt_half)
    # <<< TASK A1.2


@typed
@_compiled(static_argnames=("axis",))
def glu(x: Shaped[ArrayIn, "..."], axis: int = -1) -> Inexact[Array, "..."]:
    """Gated linear unit: `x` split in halves $a, b$ along `axis`, $a \\, \\sigma(b)$.

    flax: `nn.glu`. The size of `axis` must be even; the result has half of it.

    >>> import jax.numpy as jnp
    >>> glu(jnp.array([[2.0, 4.0, 0.0, 100.0]]))
    Array([[1., 4.]], dtype=float32)
    """
    x = jnp.asarray(x)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(
            f"glu: the size of axis {axis} of the input (shape {x.shape}) is {size}, an odd "
            "number; glu splits that axis in two equal halves, so give an even size."
        )
    a, b = jnp.split(x, 2, axis)
    return a * sigmoid(b)


# --- along an axis --------------------------------------------------------------------


@typed
@_compiled(static_argnames=("axis",))
def log_softmax(
    x: Num[ArrayIn, "*shape"], axis: Axis = -1, where: Any = None
) -> Inexact[Array, "*shape"]:
    """$x_i - \\log \\sum_j e^{x_j}$ along `axis` (flax: `nn.log_softmax`).

    Stable: the max $m = \\max_j x_j$ is subtracted first (held constant for the
    gradient, which is exact as the result does not depend on it), so
    $e^{x_j - m} \\le 1$ never overflows and the sum is at least 1. Entries where
    `where` is False do not count, and come out as $-\\infty$.

    >>> import jax.numpy as jnp
    >>> log_softmax(jnp.array([1000.0, 1000.0]))
    Array([-0.6931, -0.6931], dtype=float32)
    """
    # >>> TASK A1.1
    x = jnp.asarray(x)
    x_max = jnp.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, -np.inf)
    shifted = x_safe - lax.stop_gradient(x_max)
    shifted_logsumexp = jnp.log(jnp.sum(jnp.exp(shifted), axis, where=where, keepdims=True))
    result = shifted - shifted_logsumexp
    return result if where is None else jnp.where(where, result, -np.inf)
    # <<< TASK A1.1


@typed
def softmax(
    x: Num[ArrayIn, "*shape"], axis: Axis = -1, where: Any = None
) -> Inexact[Array, "*shape"]:
    """$e^{x_i} / \\sum_j e^{x_j}$ along `axis`, max subtracted first (flax: `nn.softmax`).

    Entries where `where` is False do not count, and come out as 0. An input of
    $+\\infty$ gives NaN (it is $\\infty / \\infty$), as in flax.

    >>> import jax.numpy as jnp
    >>> softmax(jnp.array([0.0, jnp.log(3.0)]))
    Array([0.25, 0.75], dtype=float32)
    """
    # >>> TASK A1.1
    x = jnp.asarray(x)
    x_max = jnp.max(x, axis, where=where, initial=-np.inf, keepdims=True)
    x_safe = x if where is None else jnp.where(where, x, -np.inf)
    unnormalized = jnp.exp(x_safe - lax.stop_gradient(x_max))
    result = unnormalized / jnp.sum(unnormalized, axis, where=where, keepdims=True)
    return result if where is None else jnp.where(where, result, 0)
    # <<< TASK A1.1


def logsumexp(
    a: Num[ArrayIn, "..."],
    axis: Axis = None,
    b: Any = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: Any = None,
) -> Any:
    """$\\log \\sum_i b_i e^{a_i}$ over `axis` (all axes by default; flax: `nn.logsumexp`).

    The max is subtracted before `exp` (replaced by 0 where it is not finite, so
    that an all $-\\infty$ slice gives $-\\infty$, not NaN). With `return_sign`, the
    result is `(log |sum|, sign(sum))`; without, a negative sum gives NaN.

    >>> import jax.numpy as jnp
    >>> logsumexp(jnp.array([1000.0, 1000.0]))
    Array(1000.6932, dtype=float32)
    """
    if where is not None:
        a = jnp.where(where, a, 0)
    if b is not None:
        a, b = _inexact(a), _inexact(b)
        dtype = jnp.result_type(a, b)
        ndim = max(a.ndim, b.ndim)  # jax's rank promotion: leading axes of size 1
        a, b = (jnp.reshape(t.astype(dtype), (1,) * (ndim - t.ndim) + t.shape) for t in (a, b))
        a = jnp.where(b != 0, a, -np.inf)
    else:
        a = _inexact(a)
    dims = tuple(range(a.ndim)) if axis is None else axis
    amax = jnp.max(a.real, axis=dims, keepdims=keepdims, where=where, initial=-np.inf)
    amax = lax.stop_gradient(lax.select(jnp.isfinite(amax), amax, lax.full_like(amax, 0)))
    amax_with_dims = amax if keepdims else jnp.expand_dims(amax, dims)
    exp_a = lax.exp(lax.sub(a, amax_with_dims.astype(a.dtype)))
    if b is not None:
        exp_a = lax.mul(exp_a, b)
    sumexp = exp_a.sum(axis=dims, keepdims=keepdims, where=where)
    sign = lax.sign(sumexp)
    complex_input = jnp.issubdtype(a.dtype, jnp.complexfloating)
    if return_sign or not complex_input:
        sumexp = abs(sumexp)
    out = lax.add(lax.log(sumexp), amax.astype(sumexp.dtype))
    if return_sign:
        return out, sign
    if b is not None and not complex_input:
        out = jnp.where(sign < 0, jnp.array(np.nan, dtype=out.dtype), out)
    return out


@_compiled(static_argnames=("axis", "algorithm"))
def standardize(
    x: Num[ArrayIn, "..."],
    axis: Axis = -1,
    mean: Any = None,
    variance: Any = None,
    epsilon: float = 1e-5,
    where: Any = None,
    *,
    algorithm: str = "fast",
) -> Array:
    """$(x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon}$ along `axis` (flax: `nn.standardize`).

    `mean` and `variance` default to the statistics of `x` over `axis` (of the
    entries where `where` is True). `algorithm="fast"` (the default, as flax)
    takes $\\sigma^2 = \\overline{x^2} - \\bar{x}^2$ clipped at 0; `"stable"` the
    two-pass $\\overline{(x - \\bar{x})^2}$, which does not cancel when
    $|\\bar x| \\gg \\sigma$. `normalize` is the old name.

    >>> import jax.numpy as jnp
    >>> standardize(jnp.array([1.0, 3.0]), epsilon=0.0)
    Array([-1.,  1.], dtype=float32)
    """
    x = jnp.asarray(x)
    if mean is None:
        mean = jnp.mean(x, axis, keepdims=True, where=where)
    if variance is None:
        if algorithm == "stable":
            variance = jnp.mean(jnp.square(x - mean), axis, keepdims=True, where=where)
        elif algorithm == "fast":
            variance = jnp.mean(jnp.square(x), axis, keepdims=True, where=where)
            variance = jnp.clip(variance - jnp.square(mean), 0)
        else:
            raise ValueError(
                f"standardize: unknown algorithm {algorithm!r}; use 'fast' (the default, "
                "one pass) or 'stable' (two passes, no cancellation)."
            )
    return jnp.subtract(x, mean) * lax.rsqrt(variance + epsilon)


normalize = standardize


@functools.partial(jax.jit, static_argnames=("num_classes", "dtype", "axis"))
def _one_hot(x: Array, num_classes: int, dtype: Dtype, axis: int) -> Array:
    position = axis % (x.ndim + 1)
    rhs_shape = [1] * x.ndim
    rhs_shape.insert(position, num_classes)
    classes = lax.broadcasted_iota(x.dtype, rhs_shape, position)
    return (jnp.expand_dims(x, axis) == classes).astype(dtype)


def one_hot(
    x: Shaped[ArrayIn, "..."], num_classes: int, *, dtype: Dtype | None = None, axis: int = -1
) -> Array:
    """Each index as a vector of `num_classes` zeros with a 1 at the index (flax: `nn.one_hot`).

    A new axis of size `num_classes` is inserted at `axis`; an index outside
    $[0, \\mathrm{num\\_classes})$ gives a row of zeros. `dtype` defaults to float32.

    >>> import jax.numpy as jnp
    >>> one_hot(jnp.array([0, 2, 5]), 3)
    Array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 0., 0.]], dtype=float32)
    """
    if not isinstance(num_classes, int | np.integer) or num_classes < 0:
        raise ValueError(
            f"one_hot: num_classes must be a non-negative Python int known at trace time, "
            f"got {num_classes!r}; pass the number of classes as a constant."
        )
    x = jnp.asarray(x)
    dtype = jnp.result_type(float) if dtype is None else dtype
    if not -(x.ndim + 1) <= axis <= x.ndim:
        raise ValueError(
            f"one_hot: axis {axis} is out of range for an input of {x.ndim} axes (the result "
            f"has {x.ndim + 1}); use an axis in [{-(x.ndim + 1)}, {x.ndim}]."
        )
    y: Array = _one_hot(x, int(num_classes), dtype, axis)
    return y


# --- a layer --------------------------------------------------------------------------


class PReLU(Module):
    """Parametric ReLU: $x$ for $x \\ge 0$, else $a x$ with a learned slope $a$.

    flax: `nn.PReLU`. The slope is one scalar parameter `negative_slope`, created as
    `negative_slope_init` in `param_dtype`.

    Attributes:
        param_dtype: the dtype of the slope (float32).
        negative_slope_init: the slope's initial value (0.01).

    >>> import jax, jax.numpy as jnp
    >>> layer = PReLU(negative_slope_init=0.5)
    >>> y, variables = layer.init_with_output(jax.random.key(0), jnp.array([-2.0, 3.0]))
    >>> y, variables["params"]["negative_slope"]
    (Array([-1.,  3.], dtype=float32), Array(0.5, dtype=float32))
    """

    param_dtype: Dtype = jnp.float32
    negative_slope_init: float = 0.01

    @compact
    def __call__(self, inputs: Array) -> Array:
        """Apply the activation, with the layer's slope, to `inputs`."""
        negative_slope = self.param(
            "negative_slope", lambda key: jnp.asarray(self.negative_slope_init, self.param_dtype)
        )
        inputs = jnp.asarray(inputs)
        return jnp.where(inputs >= 0, inputs, jnp.asarray(negative_slope, inputs.dtype) * inputs)
