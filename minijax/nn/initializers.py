"""Parameter initializers: ``init(key, shape, dtype) -> array`` (``jax.nn.initializers``).

Every initializer here has the signature of jax's and flax's, so they can be
swapped freely: ``nn.Dense(3, kernel_init=nn.initializers.he_normal())``.

Fan-in and fan-out of a weight of ``shape`` (jax's convention): ``in_axis``
(default -2) and ``out_axis`` (default -1) give the input and output sizes;
``batch_axis`` (default none) is ignored; every other axis is a "receptive
field" (a convolution window) and multiplies both::

    fan_in  = shape[in_axis]  * receptive_field
    fan_out = shape[out_axis] * receptive_field

A Dense kernel ``(in, out)`` has fan_in = in; a Conv kernel ``(kh, kw, in, out)``
has fan_in = kh * kw * in.

:func:`variance_scaling` draws with variance ``scale / n`` where ``n`` is fan_in,
fan_out, their mean (fan_avg) or geometric mean (fan_geo_avg). The truncated
normal is cut at two standard deviations, which shrinks its standard deviation
by the factor 0.87962566103423978 (the std of a unit normal truncated to
[-2, 2]); dividing by it restores the intended variance. The named schemes:

==================  ========  ======  ==================
name                scale     mode    distribution
==================  ========  ======  ==================
lecun_normal        1         fan_in  truncated_normal
lecun_uniform       1         fan_in  uniform
glorot/xavier_*     1         fan_avg normal / uniform
he/kaiming_*        2         fan_in  normal / uniform
==================  ========  ======  ==================

In flax these are jax's own (``flax/linen/initializers.py`` re-exports
``jax.nn.initializers``); here they are written out.
"""

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from minijax.typing import Array, PRNGKeyArray

__all__ = [
    "Initializer",
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "ones_init",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
    "zeros_init",
]

Initializer = Callable[..., Array]
Axes = int | Sequence[int]
DType = Any

TRUNCATED_NORMAL_STDDEV = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]


def _dtype(dtype: DType | None) -> DType:
    return jnp.float32 if dtype is None else dtype  # jax: default_float_dtype()


def zeros(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = None) -> Array:
    """All zeros (``key`` is ignored)."""
    del key
    return jnp.zeros(shape, _dtype(dtype))


def ones(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = None) -> Array:
    """All ones (``key`` is ignored)."""
    del key
    return jnp.ones(shape, _dtype(dtype))


def zeros_init() -> Initializer:
    """flax's spelling: ``zeros_init()`` returns :func:`zeros`."""
    return zeros


def ones_init() -> Initializer:
    """flax's spelling: ``ones_init()`` returns :func:`ones`."""
    return ones


def constant(value: Any, dtype: DType | None = None) -> Initializer:
    """Every entry equal to ``value``."""

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        del key
        return jnp.full(shape, value, _dtype(dtype))

    return init


def normal(stddev: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """:math:`x \\sim N(0, \\mathrm{stddev}^2)`."""

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        dtype = _dtype(dtype)
        return jax.random.normal(key, shape, dtype) * jnp.array(stddev, dtype)

    return init


def uniform(scale: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """:math:`x \\sim U[0, \\mathrm{scale})` (jax's convention: not centred)."""

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        dtype = _dtype(dtype)
        return jax.random.uniform(key, shape, dtype) * jnp.array(scale, dtype)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype: DType | None = None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """``stddev`` times a unit normal truncated to ``[lower, upper]`` (no std correction)."""

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        dtype = _dtype(dtype)
        return jax.random.truncated_normal(key, lower, upper, shape, dtype) * jnp.array(
            stddev, dtype
        )

    return init


def _size(shape: Sequence[int], axes: Axes) -> int:
    return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)


def compute_fans(
    shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = ()
) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` (see the module docstring)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(
            f"Can't compute fan-in/fan-out of a {len(shape)}-D weight with the default "
            "in_axis=-2: the weight must be at least 2-D, or give in_axis explicitly."
        )
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive_field = math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive_field, out_size * receptive_field


def variance_scaling(
    scale: float,
    mode: Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"],
    distribution: Literal["truncated_normal", "normal", "uniform"],
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DType | None = None,
) -> Initializer:
    """Zero-mean draws with variance ``scale / n``, ``n`` from ``mode`` (jax's signature).

    * ``truncated_normal``: ``truncated_normal(-2, 2) * sqrt(scale / n) / 0.8796...``
    * ``normal``: ``normal() * sqrt(scale / n)``
    * ``uniform``: ``U[-1, 1) * sqrt(3 * scale / n)`` (a uniform on [-a, a] has variance a²/3)
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        shape = tuple(int(d) for d in shape)
        dtype = _dtype(dtype)
        fan_in, fan_out = compute_fans(shape, in_axis, out_axis, batch_axis)
        denominators = {
            "fan_in": fan_in,
            "fan_out": fan_out,
            "fan_avg": (fan_in + fan_out) / 2,
            "fan_geo_avg": (fan_in * fan_out) ** 0.5,
        }
        if mode not in denominators:
            raise ValueError(
                f"variance_scaling: invalid mode {mode!r}; use 'fan_in', 'fan_out', "
                "'fan_avg' or 'fan_geo_avg'."
            )
        variance = jnp.array(scale / denominators[mode], dtype)
        if distribution == "truncated_normal":
            stddev = jnp.sqrt(variance) / jnp.array(TRUNCATED_NORMAL_STDDEV, dtype)
            return jax.random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "normal":
            return jax.random.normal(key, shape, dtype) * jnp.sqrt(variance)
        if distribution == "uniform":
            return jax.random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
        raise ValueError(
            f"variance_scaling: invalid distribution {distribution!r}; use "
            "'truncated_normal', 'normal' or 'uniform'."
        )

    return init


def _named(scale: float, mode: Any, distribution: Any) -> Callable[..., Initializer]:
    def make(
        in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DType | None = None
    ) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    make.__doc__ = f"``variance_scaling({scale}, {mode!r}, {distribution!r}, ...)``."
    return make


lecun_normal = _named(1.0, "fan_in", "truncated_normal")
lecun_uniform = _named(1.0, "fan_in", "uniform")
glorot_normal = xavier_normal = _named(1.0, "fan_avg", "truncated_normal")
glorot_uniform = xavier_uniform = _named(1.0, "fan_avg", "uniform")
he_normal = kaiming_normal = _named(2.0, "fan_in", "truncated_normal")
he_uniform = kaiming_uniform = _named(2.0, "fan_in", "uniform")


def orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: DType | None = None
) -> Initializer:
    """A (scaled) matrix with orthonormal columns, or rows if there are more columns.

    The weight is viewed as an ``(n_rows, n_cols)`` matrix, ``n_cols =
    shape[column_axis]``. A Gaussian matrix is QR-factorised and ``Q`` multiplied
    by the signs of ``diag(R)``, which makes it uniformly (Haar) distributed.
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        shape = tuple(int(d) for d in shape)
        dtype = _dtype(dtype)
        if len(shape) < 2:
            raise ValueError(
                f"orthogonal: the shape {shape} has {len(shape)} axes, but an orthogonal "
                "weight must be at least 2-D (rows and columns); give a 2-D or larger shape."
            )
        if 0 in shape:
            return jnp.zeros(shape, dtype)
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        tall = (max(n_rows, n_cols), min(n_rows, n_cols))
        q, r = jnp.linalg.qr(jax.random.normal(key, tall, dtype))
        q = q * jnp.sign(jnp.diag(r))
        if n_rows < n_cols:
            q = q.T
        rest = tuple(np.delete(np.array(shape), column_axis))
        q = jnp.moveaxis(q.reshape((*rest, n_cols)), -1, column_axis)
        return jnp.array(scale, dtype) * q

    return init
