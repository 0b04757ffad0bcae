"""The argument checks of the losses: a clear error before jax's broadcasting error
(or, worse, silent broadcasting), in optax's error types.

>>> import jax.numpy as jnp
>>> check_same_shape("l2_loss", "predictions", jnp.ones(3), "targets", jnp.ones(2))
Traceback (most recent call last):
...
ValueError: l2_loss: predictions has shape (3,) but targets has shape (2,); they must ...
"""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["check_broadcasts", "check_floating", "check_same_shape"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def check_same_shape(loss: str, a_name: str, a: Any, b_name: str, b: Any) -> None:
    """Raise a `ValueError` (optax's type) naming both arguments unless their shapes
    are equal.

    >>> import jax.numpy as jnp
    >>> check_same_shape("l2_loss", "predictions", jnp.ones(3), "targets", jnp.ones(3))
    """
    if _shape(a) != _shape(b):
        raise ValueError(
            f"{loss}: {a_name} has shape {_shape(a)} but {b_name} has shape {_shape(b)}; "
            f"they must be equal (elementwise loss, no broadcasting). Reshape {b_name}, "
            f"e.g. {b_name}.reshape({_shape(a)}) if it holds the same elements."
        )


def check_broadcasts(loss: str, name: str, x: Any, to_name: str, to: Any, hint: str) -> None:
    """Raise a `ValueError` naming both arguments unless `x` broadcasts to the shape
    of `to` (jax's own error would name neither).

    >>> import jax.numpy as jnp
    >>> check_broadcasts("softmax_cross_entropy", "labels", jnp.ones(3), "logits",
    ...                  jnp.ones((2, 3)), "")
    """
    try:
        if np.broadcast_shapes(_shape(x), _shape(to)) == _shape(to):
            return
    except ValueError:
        pass
    raise ValueError(
        f"{loss}: {name} has shape {_shape(x)}, which does not broadcast to the shape "
        f"{_shape(to)} of {to_name}. {hint}"
    )


def check_floating(loss: str, name: str, x: Any, kind: Any = jnp.floating) -> None:
    """Raise a `TypeError` (optax's type) unless `x` has a floating dtype (or one of
    `kind`, e.g. `jnp.integer`).

    >>> check_floating("l2_loss", "predictions", 1)
    Traceback (most recent call last):
    ...
    TypeError: l2_loss: predictions must have a floating dtype, got int32; ...
    """
    dtype = jax.dtypes.result_type(x)
    if not jnp.issubdtype(dtype, kind):
        wanted, example = ("an integer", "jnp.int32") if kind is jnp.integer else (
            "a floating", "jnp.float32")
        raise TypeError(
            f"{loss}: {name} must have {wanted} dtype, got {dtype}; cast it, e.g. "
            f"jnp.asarray({name}, {example})."
        )
