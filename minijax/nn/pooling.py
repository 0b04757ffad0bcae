"""Pooling: max, average and min over sliding windows (flax: ``flax.linen.pooling``).

A pooling function slides a window over the spatial axes of a channels-last
array ``x`` of shape ``(*batch, *spatial, features)`` and reduces each window
to one number, channel by channel::

    max_pool(x)[b, i, j, c] = max over (p, q) in window of x[b, i*s0 + p, j*s1 + q, c]
    avg_pool(x)[b, i, j, c] = (1 / n) * sum over (p, q) in window of x[b, ...]

All three are one call of ``lax.reduce_window`` (the XLA ``ReduceWindow`` op)
with an initial value and a binary reduction: ``(-inf, max)``, ``(inf, min)``
and ``(0, add)``. The window never moves along the batch axes or the feature
axis (window size and stride 1 there).

Padding is ``'VALID'`` (no padding: only whole windows), ``'SAME'`` (pad so that
the output has ``ceil(size / stride)`` positions) or explicit ``(low, high)``
pairs per spatial axis. Padded positions hold the initial value, so they never
win a max or a min, and add 0 to a sum.

Differentiability: ``max_pool`` and ``min_pool`` have the gradient of the
selected element (1 at the winner, 0 elsewhere); at ties it is not defined.
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.typing import Array, Inexact, Real, Shaped, typed

__all__ = ["avg_pool", "max_pool", "min_pool", "pool"]

Padding = str | Sequence[tuple[int, int]]
ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays


def _check_pool_args(
    name: str,
    x_shape: tuple[int, ...],
    window_shape: Sequence[int],
    strides: Sequence[int] | None,
    padding: Padding,
) -> tuple[tuple[int, ...], tuple[int, ...], Padding]:
    """Check the pooling arguments; return ``(window, strides, padding)`` normalized."""
    window = tuple(int(w) for w in window_shape)
    n = len(window)
    if len(x_shape) < n + 1:
        raise ValueError(
            f"{name}: the input of shape {x_shape} has {len(x_shape)} axes, but window_shape "
            f"{window} needs at least {n + 1}: (*batch, {n} spatial axes, features). Pass a "
            "channels-last array, e.g. x[..., None] for a single channel."
        )
    stride = (1,) * n if strides is None else tuple(int(s) for s in strides)
    if len(stride) != n:
        raise ValueError(
            f"{name}: strides {stride} has {len(stride)} entries but window_shape {window} "
            f"has {n}; give one stride per spatial axis."
        )
    if any(w < 1 for w in window) or any(s < 1 for s in stride):
        raise ValueError(
            f"{name}: window_shape {window} and strides {stride} must be positive integers."
        )
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise ValueError(
                f"{name}: padding {padding!r} is not supported; use 'SAME', 'VALID' or a "
                "sequence of (low, high) pairs, one per spatial axis."
            )
        return window, stride, padding.upper()
    pads = tuple(tuple(int(v) for v in p) for p in padding)
    if len(pads) != n or any(len(p) != 2 for p in pads):
        raise ValueError(
            f"{name}: padding {padding!r} must be 'SAME', 'VALID' or {n} (low, high) pairs, "
            f"one per spatial axis of window_shape {window}."
        )
    return window, stride, tuple((p[0], p[1]) for p in pads)


@typed
def pool(
    inputs: Shaped[ArrayIn, "*batch_and_spatial features"],
    init: Any,
    reduce_fn: Callable[[Array, Array], Array],
    window_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: Padding = "VALID",
    *,
    name: str = "pool",
) -> Shaped[Array, "*out_batch_and_spatial features"]:
    """Reduce every window of ``inputs`` with ``reduce_fn`` (flax: ``nn.pooling.pool``).

    ``y[b, i, c] = reduce_fn over p < window of x[b, i * stride + p - pad_low, c]``,
    starting from ``init``, the identity of ``reduce_fn`` (``-inf`` for max, ``0``
    for add), which padded positions also hold. ``inputs`` has shape ``(*batch,
    *spatial, features)`` with ``len(window_shape)`` spatial axes; with no batch
    axis a batch of one is added and removed again.
    """
    inputs = jnp.asarray(inputs)
    window, stride, pads = _check_pool_args(name, inputs.shape, window_shape, strides, padding)
    num_batch = inputs.ndim - (len(window) + 1)
    squeeze = num_batch == 0
    if squeeze:
        inputs = inputs[None]
        num_batch = 1
    # >>> TASK A5.5
    dims = (1,) * num_batch + window + (1,)
    full_strides = (1,) * num_batch + stride + (1,)
    if not isinstance(pads, str):
        pads = ((0, 0),) * num_batch + tuple(pads) + ((0, 0),)
    y: Array = lax.reduce_window(inputs, init, reduce_fn, dims, full_strides, pads)
    # <<< TASK A5.5
    return y[0] if squeeze else y


def _lowest(dtype: Any) -> Any:
    """The identity of ``max``: ``-inf``, or the smallest integer of ``dtype``."""
    return -jnp.inf if jnp.issubdtype(dtype, jnp.inexact) else np.iinfo(dtype).min


def _highest(dtype: Any) -> Any:
    """The identity of ``min``: ``+inf``, or the largest integer of ``dtype``."""
    return jnp.inf if jnp.issubdtype(dtype, jnp.inexact) else np.iinfo(dtype).max


@typed
def max_pool(
    inputs: Real[ArrayIn, "*batch_and_spatial features"],
    window_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: Padding = "VALID",
) -> Real[Array, "*out_batch_and_spatial features"]:
    """The maximum of each window (flax: ``nn.max_pool``).

    ``y[b, i, c] = max_{p < window} x[b, i * stride + p - pad_low, c]``, padded
    positions count as ``-inf``. Shape: ``(*batch, *spatial, features)`` to
    ``(*batch, *out_spatial, features)`` with, per spatial axis of size ``n``,
    ``out = (n + pad_low + pad_high - window) // stride + 1`` (``'VALID'``: no pad;
    ``'SAME'``: ``out = ceil(n / stride)``).

    Args:
      inputs: channels-last array ``(*batch, *spatial, features)``.
      window_shape: the window, one size per spatial axis, e.g. ``(2, 2)``.
      strides: the step between windows per spatial axis (default: all 1).
      padding: ``'VALID'`` (default), ``'SAME'`` or ``(low, high)`` pairs.

    >>> import jax.numpy as jnp
    >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    >>> max_pool(x, (2, 2), strides=(2, 2))[0, :, :, 0]
    Array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """
    inputs = jnp.asarray(inputs)
    return pool(
        inputs, _lowest(inputs.dtype), lax.max, window_shape, strides, padding, name="max_pool"
    )


@typed
def min_pool(
    inputs: Real[ArrayIn, "*batch_and_spatial features"],
    window_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: Padding = "VALID",
) -> Real[Array, "*out_batch_and_spatial features"]:
    """The minimum of each window (flax: ``nn.min_pool``); padding counts as ``+inf``.

    Same arguments and shapes as `max_pool`.

    >>> import jax.numpy as jnp
    >>> min_pool(jnp.array([[[3.0], [1.0], [2.0]]]), (2,))[0, :, 0]
    Array([1., 1.], dtype=float32)
    """
    inputs = jnp.asarray(inputs)
    return pool(
        inputs, _highest(inputs.dtype), lax.min, window_shape, strides, padding, name="min_pool"
    )


@typed
def avg_pool(
    inputs: Inexact[ArrayIn, "*batch_and_spatial features"],
    window_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    padding: Padding = "VALID",
    count_include_pad: bool = True,
) -> Inexact[Array, "*out_batch_and_spatial features"]:
    """The mean of each window (flax: ``nn.avg_pool``).

    ``y[b, i, c] = (1 / d_i) * sum_{p < window} x[b, i * stride + p - pad_low, c]``
    where padded positions contribute 0 and the divisor ``d_i`` is

    * ``prod(window_shape)`` when ``count_include_pad=True`` (the default, as flax):
      padded zeros count as elements, so border windows average towards 0;
    * the number of *real* (unpadded) elements in the window otherwise, computed
      by pooling an array of ones with the same window, stride and padding.

    Same arguments and shapes as `max_pool`, plus `count_include_pad`.

    >>> import jax.numpy as jnp
    >>> x = jnp.array([[[2.0], [4.0], [6.0]]])
    >>> avg_pool(x, (2,), padding="SAME")[0, :, 0]
    Array([3., 5., 3.], dtype=float32)
    >>> avg_pool(x, (2,), padding="SAME", count_include_pad=False)[0, :, 0]
    Array([3., 5., 6.], dtype=float32)
    """
    inputs = jnp.asarray(inputs)
    y = pool(inputs, 0.0, lax.add, window_shape, strides, padding, name="avg_pool")
    if count_include_pad:
        return y / np.prod(window_shape)
    # Count the real elements per window: pool ones of the input's shape with the
    # batch axes (and the feature axis) set to 1, broadcasting over them.
    n = len(window_shape)
    ones_shape = (1,) * (inputs.ndim - n - 1) + inputs.shape[-n - 1 : -1] + (1,)
    counts = pool(jnp.ones(ones_shape, inputs.dtype), 0.0, lax.add, window_shape, strides, padding)
    return y / counts
