"""``Dense`` and ``Embed`` (flax: ``flax/linen/linear.py``).

Both keep flax's parameter names, shapes and layouts, so flax-initialised params
load unchanged: Dense ``kernel (in, features)`` and ``bias (features,)``; Embed
``embedding (num_embeddings, features)``.
"""

from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import _checks, initializers
from minijax.nn.module import Module, compact
from minijax.typing import Array, Float, Inexact, Num, Shaped, typed

__all__ = ["Dense", "Embed", "promote_dtype"]

Dtype = Any
ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax

default_kernel_init = initializers.lecun_normal()
default_embed_init = initializers.variance_scaling(1.0, "fan_in", "normal", out_axis=0)


def promote_dtype(*args: Any, dtype: Dtype | None = None, inexact: bool = True) -> list[Any]:
    """Cast ``args`` (None stays None) to ``dtype``, or to their common dtype (flax's rule).

    With ``inexact`` an integer common dtype becomes float32.
    """
    if dtype is None:
        dtype = jnp.result_type(*(x for x in args if x is not None))
        if inexact and not jnp.issubdtype(dtype, jnp.inexact):
            dtype = jnp.promote_types(jnp.float32, dtype)
    return [None if x is None else jnp.asarray(x, dtype) for x in args]


class Dense(Module):
    """``y = x @ kernel + bias`` over the last axis (flax: ``nn.Dense``).

    ``y[..., j] = sum_i x[..., i] kernel[i, j] + bias[j]``, computed by
    ``lax.dot_general``; parameters ``kernel (in, features)`` and ``bias (features,)``.

    Attributes:
        features: output size.
        use_bias: add ``bias`` (zeros at init).
        dtype: the computation dtype (default: promote inputs and params).
        param_dtype: the dtype params are created in (float32).
        precision: passed to ``lax.dot_general``.
        kernel_init: default ``lecun_normal()``, i.e. variance ``1 / in``.
        bias_init: default ``zeros``.
    """

    features: int
    use_bias: bool = True
    dtype: Dtype | None = None
    param_dtype: Dtype = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros

    @compact
    @typed
    def __call__(self, inputs: Num[ArrayIn, "*batch in"]) -> Inexact[Array, "*batch features"]:
        """Apply the affine map to the last axis of ``inputs``."""
        _checks.positive_int("Dense", "features", self.features, "the output size")
        kernel = self.param(
            "kernel", self.kernel_init, (jnp.shape(inputs)[-1], self.features), self.param_dtype
        )
        bias = (
            self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias
            else None
        )
        inputs, kernel, bias = promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = lax.dot_general(
            inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())), precision=self.precision
        )
        if bias is not None:
            y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        return y


class Embed(Module):
    """A lookup table of vectors, one row per integer id (flax: ``nn.Embed``).

    ``y[..., :] = embedding[ids[...], :]``: ids ``(*batch,)`` give vectors
    ``(*batch, features)``.

    ``attend(query)`` reuses the table as an output layer: ``query @ embedding.T``
    gives one logit per id (weight tying in language models).

    Attributes:
        num_embeddings: the number of ids (rows).
        features: the vector size (columns).
        embedding_init: default ``variance_scaling(1, "fan_in", "normal", out_axis=0)``
            as flax: with in and out both on axis 0, fan_in = ``features``, so entries
            have variance ``1 / features`` and each row has unit expected squared norm.
    """

    num_embeddings: int
    features: int
    dtype: Dtype | None = None
    param_dtype: Dtype = jnp.float32
    embedding_init: Any = default_embed_init

    def setup(self) -> None:
        self.embedding = self.param(
            "embedding",
            self.embedding_init,
            (self.num_embeddings, self.features),
            self.param_dtype,
        )

    @typed
    def __call__(self, inputs: Shaped[ArrayIn, "*batch"]) -> Shaped[Array, "*batch features"]:
        """The rows of the table for the integer ids ``inputs``."""
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            raise ValueError(
                f"Embed takes integer ids, got dtype {inputs.dtype}: cast with "
                "x.astype(jnp.int32) (or use Dense for real-valued inputs)."
            )
        (embedding,) = promote_dtype(self.embedding, dtype=self.dtype, inexact=False)
        if self.num_embeddings == 1:
            return jnp.broadcast_to(embedding, (*inputs.shape, self.features))
        return jnp.take(embedding, inputs, axis=0)

    @typed
    def attend(
        self, query: Float[ArrayIn, "*batch features"]
    ) -> Inexact[Array, "*batch num_embeddings"]:
        """``query @ embedding.T``: one logit per id (flax: ``Embed.attend``)."""
        query, embedding = promote_dtype(query, self.embedding, dtype=self.dtype)
        return jnp.dot(query, embedding.T)
