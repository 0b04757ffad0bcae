"""Small utilities: gradient scaling, x64 precision for a block, dtype and shape checks
(optax: `optax._src.utils`).

`scale_gradient(x, s)` is the identity going forward and multiplies the gradient
by `s` going backward, a custom VJP:

>>> import jax
>>> jax.grad(lambda x: scale_gradient(x, 0.5) ** 2)(3.0)
Array(3., dtype=float32, weak_type=True)
"""

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.stats.norm as normal
import numpy as np

from minijax.optim.numerics import safe_int32_increment as safe_int32_increment
from minijax.optim.numerics import safe_norm as safe_norm
from minijax.optim.tree_utils import tree_cast

__all__ = [
    "MultiNormalDiagFromLogScale",
    "canonicalize_dtype",
    "canonicalize_key",
    "cast_tree",
    "check_rank",
    "check_shapes_equal",
    "check_subdtype",
    "multi_normal",
    "scale_gradient",
    "set_diags",
    "tile_second_to_last_dim",
    "x64_precision",
]

#: The older name of `minijax.optim.tree.cast` (optax: `cast_tree`).
cast_tree = tree_cast


# ----------------------------------------------------------------------------- gradients


@jax.custom_vjp
def _scale_gradient(inputs: Any, scale: jax.typing.ArrayLike) -> Any:
    return inputs


def _scale_gradient_fwd(inputs: Any, scale: jax.typing.ArrayLike) -> tuple[Any, Any]:
    return inputs, scale


def _scale_gradient_bwd(scale: Any, g: Any) -> tuple[Any, None]:
    return jax.tree.map(lambda g_: g_ * scale, g), None


_scale_gradient.defvjp(_scale_gradient_fwd, _scale_gradient_bwd)


def scale_gradient(inputs: Any, scale: jax.typing.ArrayLike) -> Any:
    r"""The identity on `inputs`, with the gradient scaled by `scale` on the way back
    (optax: `scale_gradient`): $\partial L / \partial x \leftarrow s\, \partial L /
    \partial x$. `scale=0` is `jax.lax.stop_gradient`, `scale=1` returns `inputs`.

    Args:
        inputs: a pytree of arrays.
        scale: the factor applied to the gradient.

    Returns:
        `inputs`, unchanged in value.

    >>> import jax
    >>> jax.grad(lambda x: scale_gradient(x, -1.0) * 2.0)(1.0)
    Array(-2., dtype=float32, weak_type=True)
    """
    if isinstance(scale, int | float) and scale == 1.0:
        return inputs
    if isinstance(scale, int | float) and scale == 0.0:
        return jax.lax.stop_gradient(inputs)
    return _scale_gradient(inputs, scale)


@contextlib.contextmanager
def x64_precision(enable_x64_precision: bool = True) -> Iterator[None]:
    """Turn jax's 64-bit mode on (or off) inside a `with` block, and back after it
    (optax: `optax._src.utils.x64_precision`).

    >>> import jax.numpy as jnp
    >>> with x64_precision():
    ...     print(jnp.asarray(1.0).dtype)
    float64
    >>> print(jnp.asarray(1.0).dtype)
    float32
    """
    old = jax.config.read("jax_enable_x64")  # type: ignore[no-untyped-call]
    try:
        jax.config.update("jax_enable_x64", enable_x64_precision)  # type: ignore[no-untyped-call]
        yield
    finally:
        jax.config.update("jax_enable_x64", old)  # type: ignore[no-untyped-call]


# ----------------------------------------------------------------------------- dtypes, keys


def canonicalize_dtype(dtype: jax.typing.DTypeLike | None) -> Any:
    """The dtype jax uses for `dtype` (float32 for float64 without x64); `None` stays
    `None` (optax: `optax._src.utils.canonicalize_dtype`).

    >>> import jax.numpy as jnp
    >>> canonicalize_dtype(jnp.float64), canonicalize_dtype(None)
    (dtype('float32'), None)
    """
    return None if dtype is None else jax.dtypes.canonicalize_dtype(dtype)


def canonicalize_key(key_or_seed: jax.Array | int) -> jax.Array:
    """A typed PRNG key: `key_or_seed` if it is one, else `jax.random.key(key_or_seed)`
    (optax: `optax._src.utils.canonicalize_key`).

    >>> canonicalize_key(0).dtype
    key<fry>
    """
    if isinstance(key_or_seed, jax.Array) and jnp.issubdtype(
        key_or_seed.dtype, jax.dtypes.prng_key
    ):
        return key_or_seed
    return jax.random.key(key_or_seed)


def check_subdtype(array: jax.typing.ArrayLike, subdtype: jax.typing.DTypeLike) -> None:
    """Raise a `TypeError` unless `array`'s dtype is a subdtype of `subdtype` (optax:
    `optax._src.utils.check_subdtype`).

    >>> import jax.numpy as jnp
    >>> check_subdtype(jnp.ones(2), jnp.floating)
    """
    dtype = jax.dtypes.result_type(array)
    if not jnp.issubdtype(dtype, subdtype):
        raise TypeError(
            f"Expected the input to have a dtype that is a subdtype of {subdtype}, got "
            f"{dtype} instead."
        )


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.asarray(x).shape


def check_shapes_equal(a: jax.typing.ArrayLike, b: jax.typing.ArrayLike) -> None:
    """Raise a `ValueError` unless `a` and `b` have the same shape (optax:
    `optax._src.utils.check_shapes_equal`).

    >>> import jax.numpy as jnp
    >>> check_shapes_equal(jnp.ones(2), jnp.ones(3))
    Traceback (most recent call last):
    ...
    ValueError: Shape mismatch: got (2,) and (3,).
    """
    if _shape(a) != _shape(b):
        raise ValueError(f"Shape mismatch: got {_shape(a)} and {_shape(b)}.")


def check_rank(array: jax.typing.ArrayLike, rank: int) -> None:
    """Raise a `ValueError` unless `array` has `rank` axes (optax:
    `optax._src.utils.check_rank`).

    >>> import jax.numpy as jnp
    >>> check_rank(jnp.ones((2, 3)), 2)
    """
    if len(_shape(array)) != rank:
        raise ValueError(
            f"Expected the input to have rank {rank}, got {len(_shape(array))} instead."
        )


# ----------------------------------------------------------------------------- arrays


def tile_second_to_last_dim(a: jax.typing.ArrayLike) -> jax.Array:
    """`a[..., None, :]` repeated along a new second-to-last axis, `a.shape[-1]` times:
    shape `(*s, d) -> (*s, d, d)` with `out[..., i, j] = a[..., i]` (optax:
    `optax._src.utils.tile_second_to_last_dim`).

    >>> import jax.numpy as jnp
    >>> tile_second_to_last_dim(jnp.array([1, 2]))
    Array([[1, 1],
           [2, 2]], dtype=int32)
    """
    ones = jnp.ones_like(a)
    return jnp.expand_dims(ones, axis=-2) * jnp.expand_dims(a, axis=-1)


def set_diags(a: jax.Array, new_diags: jax.Array) -> jax.Array:
    """`a` (shape `(n, d, d)`) with the diagonal of each `d x d` matrix replaced by a
    row of `new_diags` (shape `(n, d)`) (optax: `optax._src.utils.set_diags`).

    Raises:
        ValueError: the shapes are not `(n, d, d)` and `(n, d)`.

    >>> import jax.numpy as jnp
    >>> set_diags(jnp.zeros((1, 2, 2)), jnp.array([[1.0, 2.0]]))[0]
    Array([[1., 0.],
           [0., 2.]], dtype=float32)
    """
    if a.ndim != 3:
        raise ValueError(f"Expected `a` to be a 3D tensor, got {a.ndim}D instead.")
    if new_diags.ndim != 2:
        raise ValueError(f"Expected `new_diags` to be a 2D array, got {new_diags.ndim}D instead.")
    n, d, d1 = a.shape
    if d != d1:
        raise ValueError(
            f"Shape mismatch: expected `a.shape` to be {(n, d, d)}, got {(n, d, d1)} instead."
        )
    if new_diags.shape != (n, d):
        raise ValueError(
            f"Shape mismatch: expected `new_diags.shape` to be {(n, d)}, got "
            f"{new_diags.shape} instead."
        )
    rows = jnp.repeat(jnp.arange(n), d)
    cols = jnp.tile(jnp.arange(d), n)
    return a.at[rows, cols, cols].set(new_diags.flatten())


class MultiNormalDiagFromLogScale:
    r"""A normal distribution with diagonal covariance, parametrised by its mean and
    the log of its standard deviations (optax: `optax._src.utils.MultiNormalDiagFromLogScale`).

    >>> import jax, jax.numpy as jnp
    >>> dist = MultiNormalDiagFromLogScale(jnp.zeros(2), jnp.zeros(2))
    >>> dist.sample((3,), jax.random.key(0)).shape
    (3, 2)
    """

    def __init__(self, loc: jax.typing.ArrayLike, log_scale: jax.typing.ArrayLike) -> None:
        self._log_scale = jnp.asarray(log_scale)
        self._scale = jnp.exp(log_scale)
        self._mean = jnp.asarray(loc)
        self._param_shape = jax.lax.broadcast_shapes(self._mean.shape, self._scale.shape)

    def sample(self, shape: Sequence[int], key: jax.Array) -> jax.Array:
        """`shape` draws, each of the parameters' shape."""
        sample_shape = tuple(shape) + self._param_shape
        return jax.random.normal(key, shape=sample_shape) * self._scale + self._mean

    def log_prob(self, x: jax.typing.ArrayLike) -> jax.Array:
        """The log-density of `x`, summed over the parameters' axes."""
        log_prob = normal.logpdf(x, loc=self._mean, scale=self._scale)
        return jnp.sum(log_prob, axis=[-(i + 1) for i in range(len(self._param_shape))])

    @property
    def log_scale(self) -> jax.Array:
        """The log standard deviations."""
        return self._log_scale

    @property
    def params(self) -> Sequence[jax.Array]:
        """`[mean, log_scale]`."""
        return [self._mean, self._log_scale]


def multi_normal(
    loc: jax.typing.ArrayLike, log_scale: jax.typing.ArrayLike
) -> MultiNormalDiagFromLogScale:
    """`MultiNormalDiagFromLogScale(loc, log_scale)` (optax: `multi_normal`).

    >>> import jax.numpy as jnp
    >>> float(multi_normal(jnp.zeros(1), jnp.zeros(1)).log_prob(jnp.zeros(1)))
    -0.9189...
    """
    return MultiNormalDiagFromLogScale(loc=loc, log_scale=log_scale)
