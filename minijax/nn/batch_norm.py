"""``BatchNorm`` (flax: ``BatchNorm`` in ``flax/linen/normalization.py``)."""

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import initializers
from minijax.nn.module import Module, compact, merge_param
from minijax.typing import Array, Inexact, Num, typed

__all__ = ["BatchNorm"]

ArrayIn = Array | np.ndarray


class BatchNorm(Module):
    r"""Normalize with batch statistics, keeping running averages for evaluation.

    Training (``use_running_average=False``): over every axis except ``axis``,

    .. math::
        \mu = E[x], \quad \sigma^2 = \max(0, E[x^2] - \mu^2)  \text{ (biased)}, \quad
        y = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} \cdot \mathrm{scale} + \mathrm{bias}

    and, unless initializing, the running statistics in ``batch_stats/{mean, var}``
    move as ``ra = momentum * ra + (1 - momentum) * stat`` (``momentum`` is the
    fraction *kept*: 0.99, the opposite of PyTorch's 0.1). ``apply`` must then be
    told that ``batch_stats`` may change: ``mutable=["batch_stats"]``. During
    ``init`` the running statistics stay at mean 0, var 1, as in flax, whatever
    the inputs. Evaluation (``use_running_average=True``) uses ``ra`` instead.

    Statistics are computed in at least float32.
    """

    use_running_average: bool | None = None
    axis: int | tuple[int, ...] = -1
    momentum: float = 0.99
    epsilon: float = 1e-5
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_bias: bool = True
    use_scale: bool = True
    bias_init: Any = initializers.zeros
    scale_init: Any = initializers.ones
    axis_name: str | None = None

    @compact
    @typed
    def __call__(
        self, x: Num[ArrayIn, "*shape"], use_running_average: bool | None = None
    ) -> Inexact[Array, "*shape"]:
        use_running_average = merge_param(
            "use_running_average", self.use_running_average, use_running_average
        )
        x = jnp.asarray(x)
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        feature_axes = tuple(a % x.ndim for a in axes)
        reduction_axes = tuple(i for i in range(x.ndim) if i not in feature_axes)
        feature_shape = tuple(x.shape[a] for a in feature_axes)
        ra_mean = self.variable("batch_stats", "mean", jnp.zeros, feature_shape, jnp.float32)
        ra_var = self.variable("batch_stats", "var", jnp.ones, feature_shape, jnp.float32)

        if use_running_average:
            mean, var = ra_mean.value, ra_var.value
        else:
            stats_dtype = jnp.promote_types(self.dtype or x.dtype, jnp.float32)
            xs = x.astype(stats_dtype)
            mean = xs.mean(reduction_axes)
            mean2 = (xs * xs).mean(reduction_axes)
            if self.axis_name is not None and not self.is_initializing():
                mean, mean2 = lax.pmean((mean, mean2), self.axis_name)  # type: ignore[no-untyped-call]
            var = jnp.maximum(0.0, mean2 - mean * mean)
            if not self.is_initializing():
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var

        # Broadcast the per-feature arrays against x.
        shape = [x.shape[i] if i in feature_axes else 1 for i in range(x.ndim)]
        y = x - mean.reshape(shape)
        mul = lax.rsqrt(var + self.epsilon).reshape(shape)
        args = [x]
        if self.use_scale:
            scale = self.param("scale", self.scale_init, feature_shape, self.param_dtype)
            mul = mul * scale.reshape(shape)
            args.append(scale)
        y = y * mul
        if self.use_bias:
            bias = self.param("bias", self.bias_init, feature_shape, self.param_dtype)
            y = y + bias.reshape(shape)
            args.append(bias)
        dtype = self.dtype or jnp.result_type(*args)
        if not jnp.issubdtype(dtype, jnp.inexact):
            dtype = jnp.float32
        return jnp.asarray(y, dtype)
