"""Per-example normalization ``LayerNorm``, ``RMSNorm``, ``GroupNorm`` (flax: same names).

All three compute statistics over some axes of each example and rescale::

    LayerNorm:  y = (x - mean) / sqrt(var + eps) * scale + bias
    RMSNorm:    y = x / sqrt(mean(x^2) + eps) * scale
    GroupNorm:  LayerNorm where the statistics of each group of channels are
                taken over that group and the spatial axes

As in flax, the variance is computed the fast way, ``var = max(0, E[x^2] - E[x]^2)``
(one pass; ``use_fast_variance=False`` gives ``E[(x - E[x])^2]``), the statistics
are computed in at least float32, and ``scale`` (init 1) and ``bias`` (init 0)
have one entry per feature: their shape is the input's shape on the feature axes.

BatchNorm (statistics over the batch, with running averages) lives in
`minijax.nn.batch_norm`; `WeightNorm` and `SpectralNorm`, which normalize the weights
of a wrapped layer rather than its activations, in `minijax.nn._weight_norms`.
"""

from collections.abc import Iterable
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import initializers
from minijax.nn._checks import canonicalize_axes
from minijax.nn._weight_norms import SpectralNorm, WeightNorm
from minijax.nn.module import Module, compact
from minijax.typing import Array, Inexact, Num, typed

ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax

__all__ = [
    "GroupNorm",
    "InstanceNorm",
    "LayerNorm",
    "RMSNorm",
    "SpectralNorm",
    "WeightNorm",
    "compute_stats",
    "normalize",
]

Axes = int | Iterable[int]


@typed
def compute_stats(
    x: Num[ArrayIn, "..."],
    axes: Axes,
    dtype: Any = None,
    *,
    axis_name: str | None = None,
    axis_index_groups: Any = None,
    use_mean: bool = True,
    use_fast_variance: bool = True,
    mask: Any = None,
    force_float32_reductions: bool = True,
) -> tuple[Inexact[Array, "..."], Inexact[Array, "..."]]:
    """`(mean, var)` of `x` over `axes`, in at least float32 (flax: `_compute_stats`).

    `use_fast_variance`: $\\mathrm{var} = \\max(0, E[x^2] - E[x]^2)$ (one fused pass;
    the `max` guards against a slightly negative round-off result), otherwise
    $E[(x - E[x])^2]$. `use_mean=False` (RMSNorm): mean $= 0$ and var $= E[x^2]$.
    The reduced axes are removed from both results.

    * `mask` (broadcastable to `x`): only the entries where it is True count.
    * `axis_name`: every mean $E[\\cdot]$ is also averaged over the devices of that
      mapped axis (`lax.pmean`, within `axis_index_groups` if given), as BatchNorm
      does across data-parallel replicas.
    * `force_float32_reductions=False`: compute in `dtype` (or `x`'s), even below
      float32.

    >>> import jax.numpy as jnp
    >>> compute_stats(jnp.array([[1.0, 3.0], [2.0, 2.0]]), axes=-1)
    (Array([2., 2.], dtype=float32), Array([1., 0.], dtype=float32))
    """
    dtype = jnp.result_type(x) if dtype is None else dtype
    if force_float32_reductions:
        dtype = jnp.promote_types(dtype, jnp.float32)
    x = jnp.asarray(x, dtype)
    axes_t = canonicalize_axes(x.ndim, axes)
    where = None if mask is None else jnp.asarray(mask, bool)

    # >>> TASK A5.2
    def expect(v: Array) -> Array:
        m = jnp.mean(v, axes_t, where=where)
        if axis_name is None:
            return m
        averaged: Array = lax.pmean(m, axis_name, axis_index_groups=axis_index_groups)  # type: ignore[no-untyped-call]
        return averaged

    if not use_mean:
        var = expect(_abs_sq(x))
        return jnp.zeros_like(var), var
    if use_fast_variance:
        sq = _abs_sq(x)  # squared before either mean, as flax: the gradient then sums alike
        mean, mean_sq = expect(x), expect(sq)
        return mean, jnp.maximum(0.0, mean_sq - _abs_sq(mean))
    mean = expect(x)
    return mean, expect(_abs_sq(x - jnp.expand_dims(mean, axes_t)))
    # <<< TASK A5.2


def _abs_sq(x: Array) -> Array:
    """$|x|^2$, real also for complex `x`."""
    if jnp.iscomplexobj(x):
        return lax.square(lax.real(x)) + lax.square(lax.imag(x))
    return lax.square(x)


@typed
def normalize(
    module: Module,
    x: Num[Array, "*shape"],
    mean: Inexact[ArrayIn, "..."],
    var: Inexact[ArrayIn, "..."],
    reduction_axes: Axes,
    feature_axes: Axes,
    dtype: Any,
    param_dtype: Any,
    epsilon: float,
    use_bias: bool,
    use_scale: bool,
    bias_init: Any,
    scale_init: Any,
    force_float32_reductions: bool = True,
) -> Inexact[Array, "*shape"]:
    """``(x - mean) * rsqrt(var + eps) * scale + bias`` (flax: ``_normalize``).

    ``mean`` and ``var`` lack the ``reduction_axes``; they are broadcast back.
    ``scale`` and ``bias`` are parameters of ``module`` with the input's sizes on
    ``feature_axes`` (e.g. ``(features,)``), created in that order as in flax.
    The result has ``dtype``, or the promoted type of ``x`` and the parameters
    (at least float32 when that is an integer type, as flax's ``canonicalize_dtype``).
    With `force_float32_reductions=False` the scale and bias stay in `param_dtype`.
    """
    reduction_axes = canonicalize_axes(x.ndim, reduction_axes)
    feature_axes = canonicalize_axes(x.ndim, feature_axes)
    feature_shape = [1] * x.ndim
    param_shape = []
    for ax in feature_axes:
        feature_shape[ax] = x.shape[ax]
        param_shape.append(x.shape[ax])
    # >>> TASK A5.2
    mean = jnp.expand_dims(mean, reduction_axes)
    var = jnp.expand_dims(var, reduction_axes)
    y = x - mean
    mul = lax.rsqrt(var + epsilon)
    dtypes = [x.dtype]
    if use_scale:
        scale = module.param("scale", scale_init, tuple(param_shape), param_dtype)
        scale = scale.reshape(feature_shape)
        if not force_float32_reductions:
            scale = jnp.asarray(scale, param_dtype)
        mul = mul * scale
        dtypes.append(scale.dtype)
    y = y * mul
    if use_bias:
        bias = module.param("bias", bias_init, tuple(param_shape), param_dtype)
        bias = bias.reshape(feature_shape)
        if not force_float32_reductions:
            bias = jnp.asarray(bias, param_dtype)
        y = y + bias
        dtypes.append(bias.dtype)
    # <<< TASK A5.2
    if dtype is None:
        dtype = jnp.result_type(*dtypes)
        if not jnp.issubdtype(dtype, jnp.inexact):
            dtype = jnp.promote_types(jnp.float32, dtype)
    return jnp.asarray(y, dtype)


class LayerNorm(Module):
    """Layer normalization, https://arxiv.org/abs/1607.06450 (flax: ``nn.LayerNorm``).

    For each example, over ``reduction_axes`` (default: the last axis)::

        mu = mean(x), var = mean(x^2) - mu^2
        y = (x - mu) / sqrt(var + epsilon) * scale + bias

    Parameters (shape: the input's sizes on ``feature_axes``, default ``(features,)``)::

        scale: ones   (when use_scale)
        bias:  zeros  (when use_bias)

    Attributes:
      epsilon: added to the variance (default 1e-6, as flax; BatchNorm uses 1e-5).
      dtype: output dtype (default: promoted from input and params).
      param_dtype: parameter dtype (default float32).
      use_bias, use_scale: learn a bias / a scale (default True).
      bias_init, scale_init: their initializers (zeros, ones).
      reduction_axes: axes of the statistics (default -1).
      feature_axes: axes with a separate scale and bias (default -1).
      axis_name: the mapped axis (`pmap`, `shard_map`) to average the statistics over,
        within the groups of device indices `axis_index_groups` if given.
      use_fast_variance: ``E[x^2] - E[x]^2`` (default True, as flax).
      force_float32_reductions: statistics in at least float32 (default True).

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    >>> y, variables = LayerNorm().init_with_output(jax.random.key(0), x)
    >>> y.round(3)
    Array([[-1.225,  0.   ,  1.225],
           [-0.707, -0.707,  1.414]], dtype=float32)
    >>> LayerNorm().apply(variables, x, mask=jnp.array([True, True, False]))[0].round(3)
    Array([-1.,  1.,  3.], dtype=float32)
    """

    epsilon: float = 1e-6
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_bias: bool = True
    use_scale: bool = True
    bias_init: Any = initializers.zeros
    scale_init: Any = initializers.ones
    reduction_axes: Axes = -1
    feature_axes: Axes = -1
    axis_name: str | None = None
    axis_index_groups: Any = None
    use_fast_variance: bool = True
    force_float32_reductions: bool = True

    @compact
    @typed
    def __call__(
        self, x: Inexact[ArrayIn, "*shape"], *, mask: Any = None
    ) -> Inexact[Array, "*shape"]:
        """Normalize `x` (statistics over the entries where `mask` is True, if given)."""
        x = jnp.asarray(x)
        name = type(self).__name__
        canonicalize_axes(x.ndim, self.reduction_axes, name)
        canonicalize_axes(x.ndim, self.feature_axes, name)
        check_mask(name, x, mask)
        mean, var = compute_stats(
            x, self.reduction_axes, self.dtype, axis_name=self.axis_name,
            axis_index_groups=self.axis_index_groups, use_fast_variance=self.use_fast_variance,
            mask=mask, force_float32_reductions=self.force_float32_reductions,
        )  # fmt: skip
        return normalize(
            self, x, mean, var, self.reduction_axes, self.feature_axes, self.dtype,
            self.param_dtype, self.epsilon, self.use_bias, self.use_scale,
            self.bias_init, self.scale_init, self.force_float32_reductions,
        )  # fmt: skip


class RMSNorm(Module):
    """Root-mean-square normalization, https://arxiv.org/abs/1910.07467 (flax: ``nn.RMSNorm``).

    No centring and no bias::

        y = x / sqrt(mean(x^2) + epsilon) * scale

    with the mean over ``reduction_axes`` (default -1) and ``scale`` (ones) of the
    input's sizes on ``feature_axes``.

    Attributes:
      epsilon: added to the mean square (default 1e-6).
      dtype: as `LayerNorm` (and likewise `param_dtype`, `use_scale`, `scale_init`,
        `reduction_axes`, `feature_axes`, `axis_name`, `axis_index_groups`,
        `force_float32_reductions`; `use_fast_variance` is accepted and unused).

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.array([[3.0, 4.0]])
    >>> RMSNorm(epsilon=0.0).init_with_output(jax.random.key(0), x)[0]
    Array([[0.8485..., 1.1313...]], dtype=float32)
    """

    epsilon: float = 1e-6
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_scale: bool = True
    scale_init: Any = initializers.ones
    reduction_axes: Axes = -1
    feature_axes: Axes = -1
    axis_name: str | None = None
    axis_index_groups: Any = None
    use_fast_variance: bool = True
    force_float32_reductions: bool = True

    @compact
    @typed
    def __call__(
        self, x: Inexact[ArrayIn, "*shape"], *, mask: Any = None
    ) -> Inexact[Array, "*shape"]:
        """Normalize `x` by its root mean square (over the entries where `mask` is True)."""
        x = jnp.asarray(x)
        name = type(self).__name__
        canonicalize_axes(x.ndim, self.reduction_axes, name)
        canonicalize_axes(x.ndim, self.feature_axes, name)
        check_mask(name, x, mask)
        mean, var = compute_stats(
            x, self.reduction_axes, self.dtype, axis_name=self.axis_name,
            axis_index_groups=self.axis_index_groups, use_mean=False, mask=mask,
            force_float32_reductions=self.force_float32_reductions,
        )  # fmt: skip
        return normalize(
            self, x, mean, var, self.reduction_axes, self.feature_axes, self.dtype,
            self.param_dtype, self.epsilon, False, self.use_scale,
            initializers.zeros, self.scale_init, self.force_float32_reductions,
        )  # fmt: skip


class GroupNorm(Module):
    """Group normalization, https://arxiv.org/abs/1803.08494 (flax: ``nn.GroupNorm``).

    The ``C`` channels (last axis) are split into ``G`` groups of ``C / G``
    consecutive channels. For each example and group::

        mu_g, var_g = mean and variance over (spatial axes, channels of group g)
        y[..., c] = (x[..., c] - mu_g) / sqrt(var_g + epsilon) * scale[c] + bias[c]

    ``num_groups=1`` is :class:`LayerNorm` over all axes but the first; a
    ``group_size=1`` is InstanceNorm. Give exactly one of ``num_groups`` (default
    32, as the paper and flax) or ``group_size`` (then pass ``num_groups=None``).

    By default the statistics run over every axis but the first (the batch);
    ``reduction_axes`` overrides that and must include the last axis.
    ``scale`` and ``bias`` have shape ``(C,)``.

    Attributes:
      num_groups: number of channel groups (default 32), or None.
      group_size: channels per group, or None (default).
      epsilon: added to the variance (default 1e-6).
      dtype: as `LayerNorm` (and likewise `param_dtype`, `use_bias`,
        `use_scale`, `bias_init`, `scale_init`, `use_fast_variance`).
      reduction_axes: axes of the statistics (default: all but the first).
      axis_name: as `LayerNorm` (and likewise `axis_index_groups`,
        `force_float32_reductions`).

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.array([[1.0, 3.0, 10.0, 30.0]])
    >>> GroupNorm(num_groups=2).init_with_output(jax.random.key(0), x)[0].round(3)
    Array([[-1., 1., -1., 1.]], dtype=float32)
    """

    num_groups: int | None = 32
    group_size: int | None = None
    epsilon: float = 1e-6
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_bias: bool = True
    use_scale: bool = True
    bias_init: Any = initializers.zeros
    scale_init: Any = initializers.ones
    reduction_axes: Axes | None = None
    axis_name: str | None = None
    axis_index_groups: Any = None
    use_fast_variance: bool = True
    force_float32_reductions: bool = True

    @compact
    @typed
    def __call__(
        self, x: Inexact[ArrayIn, "*batch_spatial channels"], *, mask: Any = None
    ) -> Inexact[Array, "*batch_spatial channels"]:
        """Normalize `x` `(*batch, *spatial, channels)` group by group (where `mask` is True)."""
        x = jnp.asarray(x)
        name = type(self).__name__
        check_mask(name, x, mask)
        if self.reduction_axes is not None:
            reduction_axes = canonicalize_axes(x.ndim, self.reduction_axes, name)
        else:
            reduction_axes = canonicalize_axes(x.ndim, [*range(1, x.ndim - 1), -1], name)
        if reduction_axes[-1] != x.ndim - 1:
            raise ValueError(
                f"{name}: reduction_axes={self.reduction_axes!r} must include the last axis "
                "(the channels, which are split into groups); add -1 to reduction_axes."
            )
        if (self.num_groups is None) == (self.group_size is None):
            raise ValueError(
                f"{name}: give exactly one of num_groups and group_size (got num_groups="
                f"{self.num_groups}, group_size={self.group_size}). To set group_size, also "
                "pass num_groups=None to override the default num_groups=32."
            )
        channels = x.shape[-1]
        if self.group_size is not None:
            if self.group_size <= 0 or channels % self.group_size != 0:
                raise ValueError(
                    f"{name}: the input has {channels} channels, which is not a multiple of "
                    f"group_size={self.group_size}. Use a group_size that divides {channels}."
                )
            num_groups = channels // self.group_size
        else:
            assert self.num_groups is not None
            num_groups = self.num_groups
            if num_groups <= 0 or channels % num_groups != 0:
                raise ValueError(
                    f"{name}: num_groups={num_groups} does not divide the {channels} channels "
                    f"of the input. Use a num_groups that divides {channels} (the default "
                    "is 32), or pass group_size=... with num_groups=None."
                )
        group_size = channels // num_groups
        grouped = x.reshape((*x.shape[:-1], num_groups, group_size))
        if mask is not None:
            mask = jnp.asarray(mask)
            mask = mask.reshape((*mask.shape[:-1], num_groups, group_size))
        # Statistics over the reduction axes (the channel axis now being the
        # within-group axis, the last one) with the group axis kept.
        mean, var = compute_stats(
            grouped, (*reduction_axes[:-1], grouped.ndim - 1), self.dtype,
            axis_name=self.axis_name, axis_index_groups=self.axis_index_groups,
            use_fast_variance=self.use_fast_variance, mask=mask,
            force_float32_reductions=self.force_float32_reductions,
        )  # fmt: skip
        mean = jnp.repeat(mean, group_size, axis=-1)
        var = jnp.repeat(var, group_size, axis=-1)
        return normalize(
            self, x, mean, var, reduction_axes[:-1], (x.ndim - 1,), self.dtype,
            self.param_dtype, self.epsilon, self.use_bias, self.use_scale,
            self.bias_init, self.scale_init, self.force_float32_reductions,
        )  # fmt: skip


def check_mask(layer: str, x: Array, mask: Any) -> None:
    if mask is None:
        return
    shape = jnp.shape(mask)
    try:
        np.broadcast_shapes(shape, x.shape)
    except ValueError:
        raise ValueError(
            f"{layer}: mask has shape {shape}, which does not broadcast to the input's shape "
            f"{x.shape}; give a boolean mask of shape {x.shape} (or one that broadcasts to it)."
        ) from None


class InstanceNorm(Module):
    """Instance normalization, https://arxiv.org/abs/1607.08022 (flax: `nn.InstanceNorm`).

    Each example and each feature is normalized on its own, over every other
    axis but the first (the batch): for an image `(batch, h, w, c)`, the
    statistics of `x[b, :, :, c]`,
    $y = (x - \\mu_{b,c}) / \\sqrt{\\sigma^2_{b,c} + \\epsilon} \\cdot \\mathrm{scale}_c
    + \\mathrm{bias}_c$. It is `GroupNorm` with one channel per group.

    Attributes:
      epsilon: added to the variance (default 1e-6).
      dtype: as `LayerNorm` (and likewise `param_dtype`, `use_bias`, `use_scale`,
        `bias_init`, `scale_init`, `axis_name`, `axis_index_groups`,
        `use_fast_variance`, `force_float32_reductions`).
      feature_axes: the axes with their own statistics, scale and bias (default -1);
        they may not include the batch axis 0.

    >>> import jax, jax.numpy as jnp
    >>> x = jnp.arange(8.0).reshape(1, 4, 2)
    >>> y, variables = InstanceNorm().init_with_output(jax.random.key(0), x)
    >>> y.mean(axis=1), variables["params"]["scale"].shape
    (Array([[0., 0.]], dtype=float32), (2,))
    """

    epsilon: float = 1e-6
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_bias: bool = True
    use_scale: bool = True
    bias_init: Any = initializers.zeros
    scale_init: Any = initializers.ones
    feature_axes: Axes = -1
    axis_name: str | None = None
    axis_index_groups: Any = None
    use_fast_variance: bool = True
    force_float32_reductions: bool = True

    @compact
    @typed
    def __call__(
        self, x: Inexact[ArrayIn, "*shape"], *, mask: Any = None
    ) -> Inexact[Array, "*shape"]:
        """Normalize each example and feature of `x` (where `mask` is True)."""
        x = jnp.asarray(x)
        name = type(self).__name__
        feature_axes = canonicalize_axes(x.ndim, self.feature_axes, name)
        if 0 in feature_axes:
            raise ValueError(
                f"{name}: The channel axes cannot include the leading dimension as this is "
                f"assumed to be the batch axis. feature_axes={self.feature_axes!r} includes "
                f"axis 0; use feature axes among 1..{x.ndim - 1}, e.g. -1 for the channels."
            )
        check_mask(name, x, mask)
        reduction_axes = tuple(i for i in range(1, x.ndim) if i not in feature_axes)
        mean, var = compute_stats(
            x, reduction_axes, self.dtype, axis_name=self.axis_name,
            axis_index_groups=self.axis_index_groups, use_fast_variance=self.use_fast_variance,
            mask=mask, force_float32_reductions=self.force_float32_reductions,
        )  # fmt: skip
        return normalize(
            self, x, mean, var, reduction_axes, feature_axes, self.dtype, self.param_dtype,
            self.epsilon, self.use_bias, self.use_scale, self.bias_init, self.scale_init,
            self.force_float32_reductions,
        )  # fmt: skip
