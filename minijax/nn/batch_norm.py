"""``BatchNorm`` (flax: ``BatchNorm`` in ``flax/linen/normalization.py``).

It shares the statistics (:func:`~minijax.nn.normalization.compute_stats`) and the
rescaling (:func:`~minijax.nn.normalization.normalize`) with LayerNorm, as in flax.
"""

from typing import Any

import jax.numpy as jnp
import numpy as np

from minijax.nn import initializers
from minijax.nn._checks import canonicalize_axes
from minijax.nn.module import Module, compact, merge_param
from minijax.nn.normalization import check_mask, compute_stats, normalize
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

    Statistics are computed in at least float32. ``axis_name`` (inside ``jax.pmap``
    or ``shard_map``) averages the statistics over that axis's devices.

    Attributes:
      use_running_average: evaluate with the running statistics; may instead be
        given to ``__call__`` (exactly one of the two).
      axis: the feature axis or axes (default -1); the others are reduced.
      momentum: the fraction of the running statistics kept per step (default 0.99).
      epsilon: added to the variance (default 1e-5).
      dtype, param_dtype, use_bias, use_scale, bias_init, scale_init: as LayerNorm.
      axis_name: the mapped axis to average the batch statistics over (default None),
        within the groups of device indices `axis_index_groups` if given.
      use_fast_variance: $E[x^2] - E[x]^2$ (default True, as flax).
      force_float32_reductions: statistics in at least float32 (default True); False
        keeps them, and the running averages, in `param_dtype`.

    >>> import jax, jax.numpy as jnp
    >>> layer = BatchNorm(use_running_average=False)
    >>> x = jnp.array([[1.0, 10.0], [3.0, 30.0]])
    >>> variables = layer.init(jax.random.key(0), x)
    >>> y, updates = layer.apply(variables, x, mutable=["batch_stats"])
    >>> y.round(3), updates["batch_stats"]["mean"]
    (Array([[-1., -1.],
           [ 1.,  1.]], dtype=float32), Array([0.02, 0.2 ], dtype=float32))
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
    axis_index_groups: Any = None
    use_fast_variance: bool = True
    force_float32_reductions: bool = True

    @compact
    @typed
    def __call__(
        self,
        x: Num[ArrayIn, "*shape"],
        use_running_average: bool | None = None,
        *,
        mask: Any = None,
    ) -> Inexact[Array, "*shape"]:
        """Normalize `x`; with `mask`, the batch statistics count only where it is True."""
        use_running_average = merge_param(
            "use_running_average", self.use_running_average, use_running_average
        )
        x = jnp.asarray(x)
        feature_axes = canonicalize_axes(x.ndim, self.axis, type(self).__name__)
        reduction_axes = tuple(i for i in range(x.ndim) if i not in feature_axes)
        feature_shape = tuple(x.shape[a] for a in feature_axes)
        stats_dtype = jnp.float32 if self.force_float32_reductions else self.param_dtype
        ra_mean = self.variable("batch_stats", "mean", jnp.zeros, feature_shape, stats_dtype)
        ra_var = self.variable("batch_stats", "var", jnp.ones, feature_shape, stats_dtype)

        # >>> TASK A5.3
        if use_running_average:
            mean, var = ra_mean.value, ra_var.value
            if not self.force_float32_reductions:
                mean, var = jnp.asarray(mean, self.param_dtype), jnp.asarray(var, self.param_dtype)
        else:
            initializing = self.is_initializing()
            check_mask(type(self).__name__, x, mask)
            mean, var = compute_stats(
                x, reduction_axes, self.dtype,
                axis_name=None if initializing else self.axis_name,
                axis_index_groups=self.axis_index_groups,
                use_fast_variance=self.use_fast_variance, mask=mask,
                force_float32_reductions=self.force_float32_reductions,
            )  # fmt: skip
            if not initializing:
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
        # <<< TASK A5.3

        return normalize(
            self, x, mean, var, reduction_axes, feature_axes, self.dtype, self.param_dtype,
            self.epsilon, self.use_bias, self.use_scale, self.bias_init, self.scale_init,
            self.force_float32_reductions,
        )  # fmt: skip
