"""JAX utilities outside the layers: `scan_in_dim` (flax: `flax.jax_utils`)."""

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax import lax

__all__ = ["scan_in_dim"]


def _front(axes: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    """The permutation that moves `axes` to the front, the other axes after them in order."""
    return axes + tuple(i for i in range(ndim) if i not in axes)


def scan_in_dim(
    body_fn: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any,
    axis: int | Sequence[int] = (0,),
    unroll: int | Sequence[int] = (1,),
    keepdims: bool = False,
) -> tuple[Any, Any]:
    """`lax.scan` along any axis, or along several (flax: `flax.jax_utils.scan_in_dim`).

    `body_fn(carry, x) -> (carry, y)` is called once per index of the `axis` axes of
    every leaf of `xs`, in row-major order over them (the last axis innermost), and
    the `y`s are stacked back on those axes. With `keepdims=True` the slices `x`
    keep the scanned axes as size-1 axes (and each `y` must have them too).
    `unroll` is `lax.scan`'s, per axis; a shorter tuple is padded with 1s on the
    left, so that `unroll=5` unrolls the innermost loop.

    >>> import jax.numpy as jnp
    >>> xs = jnp.arange(6.0).reshape(2, 3)
    >>> carry, ys = scan_in_dim(lambda c, x: (c + x, c + x), 0.0, xs, axis=(1, 0))
    >>> carry, ys   # column by column: 0, 3, 1, 4, 2, 5
    (Array(15., dtype=float32), Array([[ 0.,  4.,  9.],
           [ 3.,  8., 15.]], dtype=float32))
    """
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    unrolls = (unroll,) if isinstance(unroll, int) else tuple(unroll)
    unrolls = (1,) * (len(axes) - len(unrolls)) + unrolls
    n = len(axes)

    def to_front(x: Any) -> Any:
        return x.transpose(_front(axes, x.ndim))

    def from_front(x: Any) -> Any:
        return x.transpose(np.argsort(_front(axes, x.ndim)))

    def body(carry: Any, x: Any) -> tuple[Any, Any]:
        if keepdims:  # the slice as a size-1 block of the original layout
            x = jax.tree.map(lambda a: from_front(a.reshape((1,) * n + a.shape)), x)
        carry, y = body_fn(carry, x)
        if keepdims:
            y = jax.tree.map(lambda a: to_front(a).reshape(to_front(a).shape[n:]), y)
        return carry, y

    def scan(level: int, carry: Any, x: Any) -> tuple[Any, Any]:
        if level == n - 1:
            return lax.scan(body, carry, x, unroll=unrolls[level])
        return lax.scan(lambda c, s: scan(level + 1, c, s), carry, x, unroll=unrolls[level])

    carry, ys = scan(0, init, jax.tree.map(to_front, xs))
    return carry, jax.tree.map(from_front, ys)
