"""Checks of layer fields and call arguments, with messages that say what, where and the fix.

Each is called at the top of a layer's ``__call__``; the module system then adds the
layer's path (``(in module Encoder_0/Dense_1, Dense.__call__)``) below the message.
"""

from collections.abc import Iterable
from typing import Any

import numpy as np


def positive_int(layer: str, field: str, value: Any, meaning: str) -> None:
    """``value`` must be an int >= 1, e.g. ``Dense.features``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"{layer}({field}={value!r}): {field} must be a positive int ({meaning}), got "
            f"{type(value).__name__}. Fix: e.g. {layer}({field}=16)."
        )
    if value < 1:
        raise ValueError(
            f"{layer}({field}={value}): {field} must be at least 1 ({meaning}). Fix: pass the "
            f"size you want, e.g. {layer}({field}=16)."
        )


def rate(layer: str, field: str, value: Any) -> None:
    """A probability in [0, 1], e.g. ``Dropout.rate``."""
    try:
        ok = 0.0 <= float(value) <= 1.0
    except TypeError:
        ok = True  # a traced rate: not checkable here
    if not ok:
        raise ValueError(
            f"{layer}({field}={value}): {field} is the probability of dropping an entry and "
            f"must be in [0, 1]. Fix: e.g. {layer}({field}=0.1); for a keep probability p "
            f"pass {field}=1 - p."
        )


def broadcastable(
    where: str, name: str, shape: tuple[int, ...], to: tuple[int, ...], axes: str
) -> None:
    """``shape`` must broadcast to ``to`` (e.g. an attention mask to the logits)."""
    ok = len(shape) <= len(to) and all(
        s in (1, t) for s, t in zip(reversed(shape), reversed(to), strict=False)
    )
    if not ok:
        raise ValueError(
            f"{where}: {name} has shape {tuple(shape)}, which does not broadcast to {axes} = "
            f"{tuple(to)}. Fix: give {name} shape {tuple(to)} or size 1 on the axes to share, "
            f"e.g. (batch, 1, q_len, kv_len) from nn.make_attention_mask."
        )


def canonicalize_axes(
    rank: int, axes: int | Iterable[int], layer: str = "normalization"
) -> tuple[int, ...]:
    """Sorted, deduplicated, non-negative axes; out-of-range axes raise."""
    axes_t = (axes,) if isinstance(axes, int) else tuple(axes)
    for a in axes_t:
        if not -rank <= a < rank:
            raise ValueError(
                f"{layer}: axis {a} is out of range for an input with {rank} axes; use an "
                f"axis in [-{rank}, {rank - 1}]."
            )
    return tuple(sorted({a % rank for a in axes_t}))
