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
    "delta_orthogonal",
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
COMPLEX_TRUNCATED_NORMAL_STDDEV = 0.95311164380491208  # complex N(0, 1), |z| cut at 2


def _dtype(dtype: DType | None) -> DType:
    return jnp.float32 if dtype is None else dtype  # jax: default_float_dtype()


def zeros(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = None) -> Array:
    """All zeros; `key` is ignored (flax: `nn.initializers.zeros`).

    >>> import jax
    >>> zeros(jax.random.key(0), (2,))
    Array([0., 0.], dtype=float32)
    """
    del key
    return jnp.zeros(shape, _dtype(dtype))


def ones(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = None) -> Array:
    """All ones; `key` is ignored (flax: `nn.initializers.ones`).

    >>> import jax
    >>> ones(jax.random.key(0), (2,))
    Array([1., 1.], dtype=float32)
    """
    del key
    return jnp.ones(shape, _dtype(dtype))


def zeros_init() -> Initializer:
    """flax's spelling of `zeros` as a factory: `zeros_init()` returns `zeros`.

    >>> import jax
    >>> zeros_init()(jax.random.key(0), (1, 2))
    Array([[0., 0.]], dtype=float32)
    """
    return zeros


def ones_init() -> Initializer:
    """flax's spelling of `ones` as a factory: `ones_init()` returns `ones`.

    >>> import jax
    >>> ones_init()(jax.random.key(0), (1, 2))
    Array([[1., 1.]], dtype=float32)
    """
    return ones


def constant(value: Any, dtype: DType | None = None) -> Initializer:
    """Every entry equal to `value` (flax: `nn.initializers.constant`).

    >>> import jax
    >>> constant(0.5)(jax.random.key(0), (2,))
    Array([0.5, 0.5], dtype=float32)
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        del key
        return jnp.full(shape, value, _dtype(dtype))

    return init


def normal(stddev: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """$x \\sim N(0, \\mathrm{stddev}^2)$ (flax: `nn.initializers.normal`).

    >>> import jax
    >>> w = normal(0.1)(jax.random.key(0), (1000,))
    >>> bool(abs(w.std() - 0.1) < 0.01)
    True
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        dtype = _dtype(dtype)
        return jax.random.normal(key, shape, dtype) * jnp.array(stddev, dtype)

    return init


def uniform(scale: float = 1e-2, dtype: DType | None = None) -> Initializer:
    """$x \\sim U[0, \\mathrm{scale})$, not centred, as jax's (flax: `nn.initializers.uniform`).

    >>> import jax
    >>> w = uniform(2.0)(jax.random.key(0), (1000,))
    >>> bool(w.min() >= 0 and w.max() < 2)
    True
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        dtype = _dtype(dtype)
        return jax.random.uniform(key, shape, dtype) * jnp.array(scale, dtype)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype: DType | None = None, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """`stddev` times a unit normal truncated to `[lower, upper]`, with no std correction.

    flax: `nn.initializers.truncated_normal`.

    >>> import jax
    >>> w = truncated_normal(0.5)(jax.random.key(0), (1000,))
    >>> bool(abs(w).max() <= 1.0)
    True
    """

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
    """`(fan_in, fan_out)` of a weight of `shape` (see the module docstring).

    >>> compute_fans((3, 3, 4, 5))
    (36.0, 45.0)
    """
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
    """Zero-mean draws with variance `scale / n`, `n` from `mode` (flax: `variance_scaling`).

    * `truncated_normal`: `truncated_normal(-2, 2) * sqrt(scale / n) / 0.8796...`
    * `normal`: `normal() * sqrt(scale / n)`
    * `uniform`: `U[-1, 1) * sqrt(3 * scale / n)` (a uniform on $[-a, a]$ has variance
      $a^2 / 3$)

    A complex `dtype` draws the modulus and the angle: uniform on a disk, or a
    complex normal with its modulus truncated at 2 (as jax).

    >>> import jax
    >>> w = variance_scaling(2.0, "fan_in", "normal")(jax.random.key(0), (400, 300))
    >>> bool(abs(w.var() * 400 - 2.0) < 0.05)
    True
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
        real = jnp.issubdtype(dtype, jnp.floating)
        if distribution == "truncated_normal" and real:
            stddev = jnp.sqrt(variance) / jnp.array(TRUNCATED_NORMAL_STDDEV, dtype)
            return jax.random.truncated_normal(key, -2, 2, shape, dtype) * stddev
        if distribution == "truncated_normal":
            stddev = jnp.sqrt(variance) / jnp.array(COMPLEX_TRUNCATED_NORMAL_STDDEV, dtype)
            return _complex_truncated_normal(key, 2, shape, dtype) * stddev
        if distribution == "normal":
            return jax.random.normal(key, shape, dtype) * jnp.sqrt(variance)
        if distribution == "uniform" and real:
            return jax.random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance)
        if distribution == "uniform":
            return _complex_uniform(key, shape, dtype) * jnp.sqrt(variance)
        raise ValueError(
            f"variance_scaling: invalid distribution {distribution!r}; use "
            "'truncated_normal', 'normal' or 'uniform'."
        )

    return init


def _complex_uniform(key: PRNGKeyArray, shape: Sequence[int], dtype: DType) -> Array:
    """Uniform on the disk of radius $\\sqrt 2$ in the complex plane (zero mean, unit variance).

    The radius is $r = \\sqrt{2u}$ (so that the area, not the radius, is uniform) and
    the angle $\\theta = 2\\pi v$, for two independent uniforms $u, v$.
    """
    key_r, key_theta = jax.random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    r = jnp.sqrt(2 * jax.random.uniform(key_r, shape, real_dtype)).astype(dtype)
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * jnp.exp(1j * theta)


def _complex_truncated_normal(
    key: PRNGKeyArray, upper: float, shape: Sequence[int], dtype: DType
) -> Array:
    """A complex normal of unit variance with its modulus truncated to `upper`.

    The modulus of a complex normal has $P(|z| \\le r) = 1 - e^{-r^2}$; inverting it
    on a uniform scaled to $[0, 1 - e^{-\\mathrm{upper}^2})$ draws the truncated modulus.
    """
    key_r, key_theta = jax.random.split(key)
    real_dtype = np.array(0, dtype).real.dtype
    t = (1 - jnp.exp(jnp.array(-(upper**2), dtype))) * jax.random.uniform(
        key_r, shape, real_dtype
    ).astype(dtype)
    r = jnp.sqrt(-jnp.log(1 - t))
    theta = 2 * np.pi * jax.random.uniform(key_theta, shape, real_dtype).astype(dtype)
    return r * jnp.exp(1j * theta)


def _named(name: str, scale: float, mode: Any, distribution: Any) -> Callable[..., Initializer]:
    def make(
        in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: DType | None = None
    ) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"""`variance_scaling({scale}, {mode!r}, {distribution!r}, ...)`.

    flax: `nn.initializers.{name}` (see the table in the module docstring).

    >>> import jax
    >>> {name}()(jax.random.key(0), (2, 3)).shape
    (2, 3)
    """
    return make


lecun_normal = _named("lecun_normal", 1.0, "fan_in", "truncated_normal")
lecun_uniform = _named("lecun_uniform", 1.0, "fan_in", "uniform")
glorot_normal = _named("glorot_normal", 1.0, "fan_avg", "truncated_normal")
glorot_uniform = _named("glorot_uniform", 1.0, "fan_avg", "uniform")
he_normal = _named("he_normal", 2.0, "fan_in", "truncated_normal")
he_uniform = _named("he_uniform", 2.0, "fan_in", "uniform")
xavier_normal = _named("xavier_normal", 1.0, "fan_avg", "truncated_normal")
xavier_uniform = _named("xavier_uniform", 1.0, "fan_avg", "uniform")
kaiming_normal = _named("kaiming_normal", 2.0, "fan_in", "truncated_normal")
kaiming_uniform = _named("kaiming_uniform", 2.0, "fan_in", "uniform")


def orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: DType | None = None
) -> Initializer:
    """A (scaled) matrix with orthonormal columns, or rows if there are more columns.

    flax: `nn.initializers.orthogonal`.

    The weight is viewed as an ``(n_rows, n_cols)`` matrix, ``n_cols =
    shape[column_axis]``. A Gaussian matrix is QR-factorised and ``Q`` multiplied
    by the signs of `diag(R)`, which makes it uniformly (Haar) distributed.

    >>> import jax, jax.numpy as jnp
    >>> q = orthogonal()(jax.random.key(0), (4, 3))
    >>> bool(jnp.allclose(q.T @ q, jnp.eye(3), atol=1e-6))
    True
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


def delta_orthogonal(
    scale: float = 1.0, column_axis: int = -1, dtype: DType | None = None
) -> Initializer:
    """A convolution kernel that is an orthogonal matrix at the window's centre, 0 elsewhere.

    For a kernel `(*window, in, out)` of 3 to 5 axes, with `in <= out`: the centre
    tap `kernel[(k - 1) // 2, ..., :, :]` is `orthogonal(scale, column_axis)` of
    shape `(in, out)`, every other tap is zero, so at init the convolution is an
    orthogonal map of the channels (Xiao et al., 2018: "Dynamical isometry and a
    mean field theory of CNNs").

    >>> import jax, jax.numpy as jnp
    >>> kernel = delta_orthogonal()(jax.random.key(0), (3, 2, 2))
    >>> centre = kernel[1]
    >>> bool((kernel[0] == 0).all()), bool(jnp.allclose(centre.T @ centre, jnp.eye(2), atol=1e-6))
    (True, True)
    """

    def init(key: PRNGKeyArray, shape: Sequence[int], dtype: DType | None = dtype) -> Array:
        shape = tuple(int(d) for d in shape)
        dtype = _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError(
                f"delta_orthogonal: the shape {shape} has {len(shape)} axes; it takes a "
                "convolution kernel (*window, in, out) of 3, 4 or 5 axes."
            )
        if shape[-1] < shape[-2]:
            raise ValueError(
                f"delta_orthogonal: the kernel {shape} has more input channels "
                f"({shape[-2]}) than output channels ({shape[-1]}); the centre tap can only "
                "be orthogonal with in <= out."
            )
        centre_tap = orthogonal(scale, column_axis, dtype)(key, shape[-2:])
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        return jnp.zeros(shape, dtype).at[centre].set(centre_tap)

    return init
