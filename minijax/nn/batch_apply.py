"""`BatchApply`: run a function with leading axes merged into one (flax: `nn.BatchApply`).

A layer written for `(batch, features)` inputs runs on `(time, batch, features)`
ones by reshaping to `(time * batch, features)`, calling it, and reshaping its
outputs back to `(time, batch, ...)`. Unlike `jax.vmap`, the function sees one big
batch: one matmul instead of a batched one, which can be faster, also under `grad`.
"""

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["BatchApply"]


class BatchApply:
    """Merges the first `num_dims` axes of the inputs, calls `f`, splits its outputs.

    flax: `flax.linen.BatchApply`. Every array leaf of the arguments with at least
    `num_dims` axes has its leading `num_dims` axes merged into one, of size
    $\\prod_{i < n} d_i$; other leaves (scalars, small arrays, `None`) are passed as
    they are. Every output leaf then has its leading axis split back into the
    leading shape of the first input that has `num_dims` axes (the first leaf of
    `args`, then of `kwargs`). So `f` must keep the merged axis in front of its
    outputs.

    `BatchApply` wraps any callable, a bound module as well as a function; it is
    not a `Module` itself and holds no variables.

    Args:
        f: the function to call on the merged arguments.
        num_dims: how many leading axes to merge (default 2).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> x = jnp.ones((5, 4, 3))                         # (time, batch, features)
    >>> dense = nn.Dense(2).bind(nn.Dense(2).init(jax.random.key(0), x[0]))
    >>> nn.BatchApply(dense)(x).shape                  # Dense sees (20, 3)
    (5, 4, 2)
    """

    def __init__(self, f: Callable[..., Any], num_dims: int = 2) -> None:
        if not callable(f):
            raise TypeError(f"BatchApply(f={f!r}): f must be callable (a function or module).")
        if not isinstance(num_dims, int) or isinstance(num_dims, bool) or num_dims < 1:
            raise ValueError(
                f"BatchApply(num_dims={num_dims!r}): the number of leading axes to merge "
                "must be an int >= 1."
            )
        self._f = f
        self.num_dims = num_dims

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        n = self.num_dims
        leaves = jax.tree.leaves((args, kwargs))
        example = next((x for x in leaves if np.ndim(x) >= n), None)
        if example is None:
            shapes = [np.shape(x) for x in leaves]
            raise ValueError(
                f"BatchApply requires at least one input with ndim >= {n}, the number of "
                f"leading axes it merges (num_dims={n}); the inputs have shapes {shapes}. "
                "Pass an array with those axes, or a smaller num_dims."
            )
        lead = tuple(np.shape(example)[:n])

        def merge(x: Any) -> Any:
            shape = np.shape(x)
            return x if len(shape) < n else jnp.reshape(x, (math.prod(shape[:n]), *shape[n:]))

        def split(y: Any) -> Any:
            if np.shape(y)[:1] != (math.prod(lead),):
                raise ValueError(
                    f"BatchApply: f returned an output of shape {np.shape(y)}, whose leading "
                    f"axis should be the merged one, of size {math.prod(lead)} (the axes "
                    f"{lead} of the inputs): keep the batch axis first in every output of f."
                )
            return jnp.reshape(y, lead + tuple(np.shape(y)[1:]))

        outputs = self._f(*jax.tree.map(merge, args), **jax.tree.map(merge, kwargs))
        return jax.tree.map(split, outputs)
