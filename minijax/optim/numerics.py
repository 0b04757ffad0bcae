"""Numerically safe building blocks: norms with a zero gradient at zero, a step
counter that saturates instead of wrapping around (optax: `optax._src.numerics`).

`jnp.maximum(jnp.linalg.norm(x), m)` has a `NaN` gradient at `x = 0`: jax
differentiates both branches, and the norm's gradient `x / |x|` is `0 / 0` there.
The functions below swap `x` for ones where the minimum wins, so that branch
never divides by zero, and return the minimum there.

>>> import jax, jax.numpy as jnp
>>> jax.grad(lambda x: safe_norm(x, 0.0))(jnp.zeros(3))
Array([0., 0., 0.], dtype=float32)
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "abs_sq",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
]


def abs_sq(x: jax.Array | np.ndarray) -> jax.Array:
    r"""The squared magnitude $|x|^2 = \operatorname{Re}(\bar x\, x)$, for real or complex
    arrays (optax: `optax._src.numerics.abs_sq`).

    For a real `x` jax compiles it to the same program as `x * x`.

    Args:
        x: a NumPy or jax array (a Python number is refused, as in optax).

    Returns:
        The real array $|x|^2$.

    Raises:
        ValueError: `x` is not an array.

    >>> import jax.numpy as jnp
    >>> abs_sq(jnp.array([3.0 + 4.0j, 2.0]))
    Array([25.,  4.], dtype=float32)
    """
    if not isinstance(x, np.ndarray | jax.Array):
        raise ValueError(
            f"abs_sq accepts only arrays, got {type(x).__name__} {x!r}: wrap it in "
            "jnp.asarray(...)."
        )
    return jnp.asarray((x.conj() * x).real)


def safe_norm(
    x: jax.typing.ArrayLike,
    min_norm: jax.typing.ArrayLike,
    ord: int | float | str | None = None,
    axis: int | tuple[int, ...] | None = None,
    keepdims: bool = False,
) -> jax.Array:
    r"""$\max(\lVert x\rVert, m)$ with the gradient $0$ where the minimum $m$ wins
    (optax: `safe_norm`).

    Args:
        x: an array.
        min_norm: the lower bound $m$.
        ord: the order of the norm, as in `jnp.linalg.norm`.
        axis: the axis (or two axes, for a matrix norm) to take the norm over.
        keepdims: keep the reduced axes with size one.

    Returns:
        The norm, at least `min_norm`.

    >>> import jax.numpy as jnp
    >>> safe_norm(jnp.array([3.0, 4.0]), 1.0), safe_norm(jnp.zeros(2), 1.0)
    (Array(5., dtype=float32), Array(1., dtype=float32))
    """
    norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=True)
    x = jnp.where(norm <= min_norm, jnp.ones_like(x), x)  # no 0/0 in the unused branch
    norm = norm if keepdims else jnp.squeeze(norm, axis=axis)
    masked_norm = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    return jnp.where(norm <= min_norm, min_norm, masked_norm)


def safe_root_mean_squares(x: jax.Array, min_rms: jax.typing.ArrayLike) -> jax.Array:
    r"""$\max\big(\sqrt{\operatorname{mean}(|x|^2)}, m\big)$ with the gradient $0$ where
    the minimum wins (optax: `safe_root_mean_squares`).

    Args:
        x: an array.
        min_rms: the lower bound $m$.

    Returns:
        The root mean square of `x`, at least `min_rms`.

    >>> import jax.numpy as jnp
    >>> safe_root_mean_squares(jnp.array([1.0, -1.0]), 0.1)
    Array(1., dtype=float32)
    """
    rms = jnp.sqrt(jnp.mean(abs_sq(x)))
    x = jnp.where(rms <= min_rms, jnp.ones_like(x), x)
    return jnp.where(rms <= min_rms, min_rms, jnp.sqrt(jnp.mean(abs_sq(x))))


def safe_increment(count: jax.typing.ArrayLike) -> jax.Array:
    """`count + 1`, but staying at the dtype's largest value instead of wrapping
    around to the smallest (optax: `safe_increment`). Step counters are int32 scalars.

    Args:
        count: an integer or floating-point counter.

    Returns:
        `count + 1` in the dtype of `count`, or `count` at the dtype's maximum.

    Raises:
        ValueError: the dtype is neither integer nor floating (bool, complex).

    >>> import jax.numpy as jnp
    >>> safe_increment(jnp.int32(1)), safe_increment(jnp.int32(2**31 - 1))
    (Array(2, dtype=int32), Array(2147483647, dtype=int32))
    """
    count = jnp.asarray(count)
    dtype = count.dtype
    if jnp.issubdtype(dtype, jnp.integer):
        largest: Any = jnp.iinfo(dtype).max  # type: ignore[no-untyped-call]
    elif jnp.issubdtype(dtype, jnp.floating):
        largest = jnp.finfo(dtype).max  # type: ignore[no-untyped-call]
    else:
        raise ValueError(
            f"safe_increment cannot count in {dtype}: a counter must have an integer or "
            "floating dtype, e.g. jnp.asarray(0, jnp.int32)."
        )
    max_value = jnp.array(largest, dtype)
    return jnp.where(count < max_value, count + jnp.array(1, dtype), max_value)


#: The older name of `safe_increment` (optax: `safe_int32_increment`).
safe_int32_increment = safe_increment
