"""The dtype a layer computes in (flax: `flax/linen/dtypes.py`).

A layer with `dtype=None` computes in the common dtype of its inputs and parameters,
as `jnp.result_type` finds it; with `dtype=jnp.bfloat16` it casts everything to
bfloat16 first. Most layers also want an *inexact* dtype (a float or complex one):
the mean of integers, or a matmul with float weights, is no integer operation, so
an integer common dtype is promoted to (at least) float32.

>>> import jax.numpy as jnp
>>> from minijax.nn import dtypes
>>> x, w = dtypes.promote_dtype(jnp.ones(2, jnp.int32), jnp.ones(2, jnp.bfloat16))
>>> x.dtype, w.dtype
(dtype(bfloat16), dtype(bfloat16))
"""

from typing import Any

import jax.numpy as jnp

__all__ = ["canonicalize_dtype", "promote_dtype"]

Dtype = Any


def canonicalize_dtype(*args: Any, dtype: Dtype | None = None, inexact: bool = True) -> Any:
    """The dtype `args` compute in: `dtype` if given, else their common dtype.

    flax: `flax.linen.dtypes.canonicalize_dtype`. With `dtype=None` the result is
    `jnp.result_type(*args)` (`None` arguments are ignored); with `inexact`, an
    integer or bool result becomes `jnp.promote_types(float32, result)`, i.e.
    float32 (jax has no wider float for int64 unless float64 is on).

    Args:
        *args: arrays, scalars or `None`.
        dtype: the dtype to use instead of inferring one.
        inexact: require a float or complex dtype.

    Returns:
        The dtype.

    Raises:
        ValueError: `inexact` and an explicit integer `dtype`.

    >>> import jax.numpy as jnp
    >>> canonicalize_dtype(jnp.int32(1)), canonicalize_dtype(jnp.int32(1), inexact=False)
    (dtype('float32'), dtype('int32'))
    """
    if dtype is None:
        dtype = jnp.result_type(*(jnp.asarray(x) for x in args if x is not None))
        if inexact and not jnp.issubdtype(dtype, jnp.inexact):
            dtype = jnp.promote_types(jnp.float32, dtype)
    if inexact and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(
            f"dtype={jnp.dtype(dtype).name} is not a float or complex dtype, and this "
            "computation needs one (inexact=True): pass a float dtype such as "
            "jnp.float32, or dtype=None to infer one from the inputs."
        )
    return dtype


def promote_dtype(*args: Any, dtype: Dtype | None = None, inexact: bool = True) -> list[Any]:
    """`args` cast to one dtype, that of `canonicalize_dtype`; `None` stays `None`.

    flax: `flax.linen.dtypes.promote_dtype`. Layers call it on their inputs and
    parameters (`x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)`),
    so that a given `dtype` downcasts float32 parameters too.

    Args:
        *args: arrays, scalars or `None`.
        dtype: the dtype to cast to instead of inferring one.
        inexact: require a float or complex dtype (see `canonicalize_dtype`).

    Returns:
        A list of arrays of that dtype (and the `None`s), in the order of `args`.

    >>> import jax.numpy as jnp
    >>> [a.dtype for a in promote_dtype(jnp.float32(1.0), jnp.ones(2), dtype=jnp.float16)]
    [dtype('float16'), dtype('float16')]
    """
    dtype = canonicalize_dtype(*args, dtype=dtype, inexact=inexact)
    return [None if x is None else jnp.asarray(x, dtype) for x in args]
