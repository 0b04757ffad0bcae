"""Dot-product attention, multi-head attention and attention masks (flax: ``nn.attention``).

Scaled dot-product attention (https://arxiv.org/abs/1706.03762), per head::

    weights = softmax(q k^T / sqrt(d) + bias, masked)    # (q_len, kv_len), rows sum to 1
    out     = weights v                                  # (q_len, d_v)

Layout, as flax: queries ``(*batch, q_len, heads, d)``, keys ``(*batch, kv_len,
heads, d)``, values ``(*batch, kv_len, heads, d_v)``; weights
``(*batch, heads, q_len, kv_len)``. A mask broadcastable to the weights' shape
keeps a position where it is True (non-zero): masked logits are replaced by the
dtype's most negative number before the softmax, so they get weight 0 (or
``1 / kv_len`` each if a whole row is masked).

:class:`MultiHeadDotProductAttention` projects the inputs to ``heads`` queries,
keys and values with :class:`DenseGeneral` layers named ``query``, ``key`` and
``value`` (kernels ``(in, heads, head_dim)``, biases ``(heads, head_dim)``),
attends, and projects the heads back with ``out`` (kernel ``(heads, head_dim,
out)``, bias ``(out,)``), the same variable tree as flax's.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.nn import _checks, initializers
from minijax.nn.linear import DenseGeneral, promote_dtype
from minijax.nn.module import Module, compact
from minijax.typing import Array, Inexact, PRNGKeyArray, Shaped, typed

__all__ = [
    "DenseGeneral",
    "MultiHeadAttention",
    "MultiHeadDotProductAttention",
    "SelfAttention",
    "combine_masks",
    "dot_product_attention",
    "dot_product_attention_weights",
    "make_attention_mask",
    "make_causal_mask",
]

default_kernel_init = initializers.lecun_normal()
ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax


# --- functions ------------------------------------------------------------------------


@typed
def dot_product_attention_weights(
    query: Inexact[ArrayIn, "*batch q heads depth"],
    key: Inexact[ArrayIn, "*batch k heads depth"],
    bias: Shaped[ArrayIn, "..."] | None = None,
    mask: Shaped[ArrayIn, "..."] | None = None,
    broadcast_dropout: bool = True,
    dropout_rng: PRNGKeyArray | None = None,
    dropout_rate: float = 0.0,
    deterministic: bool = False,
    dtype: Any = None,
    precision: Any = None,
) -> Inexact[Array, "*batch heads q k"]:
    """Attention weights ``softmax(q k^T / sqrt(depth) + bias)`` (flax: same name).

    ``weights[..., h, i, j] = softmax_j(sum_d q[..., i, h, d] k[..., j, h, d] / sqrt(depth)
    + bias[..., h, i, j])``, with ``logits`` replaced by ``finfo(dtype).min`` where
    ``mask`` is False. ``bias`` and ``mask`` broadcast to ``(*batch, heads, q, k)``.

    Dropout (when ``not deterministic and dropout_rate > 0``) multiplies the weights
    by ``bernoulli(dropout_rng, 1 - rate) / (1 - rate)``; with ``broadcast_dropout``
    one mask of shape ``(q, k)`` is shared by every batch element and every head
    (as flax).
    """
    query, key = promote_dtype(query, key, dtype=dtype)
    dtype = query.dtype
    # >>> TASK A7.1
    depth = query.shape[-1]
    query = query / jnp.sqrt(depth).astype(dtype)
    logits = jnp.einsum("...qhd,...khd->...hqk", query, key, precision=precision)
    if bias is not None:
        logits = logits + bias
    if mask is not None:
        _checks.broadcastable(
            "dot_product_attention", "mask", jnp.shape(mask), logits.shape,
            "(*batch, num_heads, q_len, kv_len)",
        )
        logits = jnp.where(mask, logits, jnp.finfo(dtype).min)  # type: ignore[no-untyped-call]
    weights = jax.nn.softmax(logits).astype(dtype)
    # <<< TASK A7.1
    if not deterministic and dropout_rate > 0.0:
        if dropout_rng is None:
            raise ValueError(
                "dot_product_attention_weights: dropout_rate > 0 and deterministic=False "
                "need a dropout_rng key; pass dropout_rng=... or deterministic=True."
            )
        keep_prob = 1.0 - dropout_rate
        # broadcast: one (q, k) mask for every batch element and head
        shape = (1,) * (key.ndim - 2) + weights.shape[-2:] if broadcast_dropout else weights.shape
        keep = jax.random.bernoulli(dropout_rng, keep_prob, shape)
        weights = weights * (keep.astype(dtype) / jnp.asarray(keep_prob, dtype=dtype))
    return weights


@typed
def dot_product_attention(
    query: Inexact[ArrayIn, "*batch q heads depth"],
    key: Inexact[ArrayIn, "*batch k heads depth"],
    value: Inexact[ArrayIn, "*batch k heads v_depth"],
    bias: Shaped[ArrayIn, "..."] | None = None,
    mask: Shaped[ArrayIn, "..."] | None = None,
    broadcast_dropout: bool = True,
    dropout_rng: PRNGKeyArray | None = None,
    dropout_rate: float = 0.0,
    deterministic: bool = False,
    dtype: Any = None,
    precision: Any = None,
) -> Inexact[Array, "*batch q heads v_depth"]:
    """Scaled dot-product attention ``softmax(q k^T / sqrt(d)) v`` (flax: same name).

    ``out[..., i, h, :] = sum_j weights[..., h, i, j] * value[..., j, h, :]`` with the
    weights of :func:`dot_product_attention_weights` (same arguments). The inputs
    need no batch axes at all: ``(len, heads, depth)`` works.
    """
    query, key, value = promote_dtype(query, key, value, dtype=dtype)
    weights = dot_product_attention_weights(
        query, key, bias, mask, broadcast_dropout, dropout_rng, dropout_rate,
        deterministic, dtype, precision,
    )  # fmt: skip
    return jnp.einsum("...hqk,...khd->...qhd", weights, value, precision=precision)


@typed
def make_attention_mask(
    query_input: Shaped[ArrayIn, "*batch q"],
    key_input: Shaped[ArrayIn, "*batch k"],
    pairwise_fn: Callable[..., Any] = jnp.multiply,
    extra_batch_dims: int = 0,
    dtype: Any = jnp.float32,
) -> Shaped[Array, "..."]:
    """``mask[..., 0, i, j] = pairwise_fn(query_input[..., i], key_input[..., j])`` (flax: same).

    For a padding mask pass ``query_input = key_input = tokens > 0``: position
    ``(i, j)`` is kept when both tokens are real. The result has shape
    ``(1,) * extra_batch_dims + (*batch, 1, q, k)``: the ``1`` broadcasts over heads.
    """
    mask = pairwise_fn(jnp.expand_dims(query_input, -1), jnp.expand_dims(key_input, -2))
    mask = jnp.expand_dims(mask, -3)
    mask = jnp.expand_dims(mask, tuple(range(extra_batch_dims)))
    return mask.astype(dtype)


@typed
def make_causal_mask(
    x: Shaped[ArrayIn, "*batch length"], extra_batch_dims: int = 0, dtype: Any = jnp.float32
) -> Shaped[Array, "..."]:
    """A causal (lower-triangular) mask: ``mask[..., 0, i, j] = (i >= j)`` (flax: same name).

    Query position ``i`` may only attend to key positions ``j <= i``, so the output
    at ``i`` does not depend on inputs after ``i``. Only ``x.shape`` is used; the
    result has shape ``(1,) * extra_batch_dims + (*batch, 1, length, length)``.
    """
    # >>> TASK A7.2
    idxs = jnp.broadcast_to(jnp.arange(x.shape[-1], dtype=jnp.int32), x.shape)
    return make_attention_mask(idxs, idxs, jnp.greater_equal, extra_batch_dims, dtype)
    # <<< TASK A7.2


@typed
def combine_masks(
    *masks: Shaped[ArrayIn, "..."] | None, dtype: Any = jnp.float32
) -> Shaped[Array, "..."] | None:
    """The logical AND of the masks that are not None, as ``dtype`` (flax: same name).

    ``mask[...] = m_1[...] and m_2[...] and ...`` with broadcasting. All masks must
    have the same rank; None when no mask is given.
    """
    present = [m for m in masks if m is not None]
    if not present:
        return None
    ranks = tuple(m.ndim for m in present)
    if len(set(ranks)) != 1:
        raise ValueError(
            f"combine_masks: the masks have different ranks {ranks}; give every mask the "
            "same number of axes, e.g. (batch, 1, q, k), with size-1 axes to broadcast."
        )
    mask = jnp.asarray(present[0])
    for other in present[1:]:
        mask = jnp.logical_and(mask, other)
    return mask.astype(dtype)


# --- multi-head attention -------------------------------------------------------------


class MultiHeadDotProductAttention(Module):
    """Multi-head dot-product attention (flax: ``nn.MultiHeadDotProductAttention``).

    With ``H = num_heads`` and ``D = qkv_features // H``::

        q = x_q W_q + b_q,  k = x_k W_k + b_k,  v = x_v W_v + b_v   # (*batch, len, H, D)
        o_h = softmax(q_h k_h^T / sqrt(D), masked) v_h                # per head h
        y = sum_h o_h W_out[h] + b_out                                # (*batch, q_len, out)

    Variables (as flax)::

        query/kernel (in_q, H, D)   query/bias (H, D)
        key/kernel   (in_k, H, D)   key/bias   (H, D)
        value/kernel (in_v, H, D)   value/bias (H, D)
        out/kernel   (H, D, out)    out/bias   (out,)

    Attributes:
      num_heads: number of heads ``H``; must divide ``qkv_features``.
      qkv_features: size of the query/key/value projections (default: the
        query input's feature size).
      out_features: output size (default: the query input's feature size).
      dropout_rate: dropout on the attention weights (default 0).
      deterministic: switch dropout off; may instead be given to ``__call__``.
      broadcast_dropout: one dropout mask for all batch elements (default True).
      use_bias: as flax (and likewise `dtype`, `param_dtype`, `precision`,
        `kernel_init`, `bias_init`, `out_kernel_init`, `out_bias_init`).
      attention_fn: the attention function (default :func:`dot_product_attention`).
    """

    num_heads: int
    dtype: Any = None
    param_dtype: Any = jnp.float32
    qkv_features: int | None = None
    out_features: int | None = None
    broadcast_dropout: bool = True
    dropout_rate: float = 0.0
    deterministic: bool | None = None
    precision: Any = None
    kernel_init: Any = default_kernel_init
    out_kernel_init: Any = None
    bias_init: Any = initializers.zeros_init()
    out_bias_init: Any = None
    use_bias: bool = True
    attention_fn: Callable[..., Array] = dot_product_attention

    @compact
    @typed
    def __call__(
        self,
        inputs_q: Inexact[ArrayIn, "*batch q_len q_features"],
        inputs_k: Inexact[ArrayIn, "*batch kv_len k_features"] | None = None,
        inputs_v: Inexact[ArrayIn, "*batch kv_len v_features"] | None = None,
        *,
        mask: Shaped[ArrayIn, "..."] | None = None,
        deterministic: bool | None = None,
        dropout_rng: PRNGKeyArray | None = None,
    ) -> Inexact[Array, "*batch q_len out_features"]:
        """Attend from ``inputs_q`` to ``inputs_k``/``inputs_v`` (both default to ``inputs_q``).

        ``mask`` broadcasts to ``(*batch, num_heads, q_len, kv_len)``; False drops a
        position. ``dropout_rng`` overrides ``make_rng('dropout')``.
        """
        return self._attend(
            jnp.asarray(inputs_q),
            None if inputs_k is None else jnp.asarray(inputs_k),
            None if inputs_v is None else jnp.asarray(inputs_v),
            None if mask is None else jnp.asarray(mask),
            deterministic,
            dropout_rng,
        )

    def _attend(
        self,
        inputs_q: Array,
        inputs_k: Array | None,
        inputs_v: Array | None,
        mask: Array | None,
        deterministic: bool | None,
        dropout_rng: PRNGKeyArray | None,
    ) -> Array:
        """The body of ``__call__``, shared with :class:`SelfAttention` (runs inside it)."""
        name = type(self).__name__
        if inputs_k is None:
            if inputs_v is not None:
                raise ValueError(
                    f"{name}: inputs_k is None but inputs_v is not. To use one array for "
                    "keys and values pass it as inputs_k and leave inputs_v as None."
                )
            inputs_k = inputs_q
        if inputs_v is None:
            inputs_v = inputs_k
        features = self.out_features or inputs_q.shape[-1]
        qkv_features = self.qkv_features or inputs_q.shape[-1]
        if self.num_heads < 1 or qkv_features % self.num_heads != 0:
            raise ValueError(
                f"{name}: num_heads={self.num_heads} does not divide qkv_features="
                f"{qkv_features}; each head needs qkv_features // num_heads channels. "
                "Choose qkv_features as a multiple of num_heads (qkv_features defaults to "
                "the query's feature size)."
            )
        head_dim = qkv_features // self.num_heads

        def dense(layer_name: str) -> DenseGeneral:
            return DenseGeneral(
                features=(self.num_heads, head_dim),
                axis=-1,
                use_bias=self.use_bias,
                dtype=self.dtype,
                param_dtype=self.param_dtype,
                kernel_init=self.kernel_init,
                bias_init=self.bias_init,
                precision=self.precision,
                name=layer_name,
            )

        query = dense("query")(inputs_q)
        key = dense("key")(inputs_k)
        value = dense("value")(inputs_v)

        if self.dropout_rate > 0.0:
            if self.deterministic is not None and deterministic is not None:
                raise ValueError(
                    f"{name}: deterministic was given both as an attribute "
                    f"({self.deterministic}) and in the call ({deterministic}); give it once."
                )
            m_deterministic = self.deterministic if deterministic is None else deterministic
            if m_deterministic is None:
                raise ValueError(
                    f"{name}: dropout_rate={self.dropout_rate} > 0 needs deterministic: pass "
                    "deterministic=True (evaluation) or False (training, with "
                    "rngs={'dropout': key}) to the layer or to the call."
                )
            if not m_deterministic and dropout_rng is None:
                dropout_rng = self.make_rng("dropout")
        else:
            m_deterministic = True

        x = self.attention_fn(
            query,
            key,
            value,
            mask=mask,
            dropout_rng=dropout_rng,
            dropout_rate=self.dropout_rate,
            broadcast_dropout=self.broadcast_dropout,
            deterministic=m_deterministic,
            dtype=self.dtype,
            precision=self.precision,
        )
        return DenseGeneral(
            features=features,
            axis=(-2, -1),
            use_bias=self.use_bias,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            kernel_init=self.out_kernel_init or self.kernel_init,
            bias_init=self.out_bias_init or self.bias_init,
            precision=self.precision,
            name="out",
        )(x)


class MultiHeadAttention(MultiHeadDotProductAttention):
    """Alias of :class:`MultiHeadDotProductAttention` (flax: ``nn.MultiHeadAttention``)."""


class SelfAttention(MultiHeadDotProductAttention):
    """Self-attention: :class:`MultiHeadDotProductAttention` with keys = values = queries.

    flax: ``nn.SelfAttention`` (deprecated there in favour of calling
    ``MultiHeadDotProductAttention(x)``; kept for the same reason here, without the
    deprecation warning). Same variables and attributes.
    """

    @compact
    @typed
    def __call__(  # type: ignore[override]
        self,
        inputs_q: Inexact[ArrayIn, "*batch length features"],
        mask: Shaped[ArrayIn, "..."] | None = None,
        deterministic: bool | None = None,
        dropout_rng: PRNGKeyArray | None = None,
    ) -> Inexact[Array, "*batch length out_features"]:
        """Attend from every position of ``inputs_q`` to every other (subject to ``mask``)."""
        mask_array = None if mask is None else jnp.asarray(mask)
        return self._attend(
            jnp.asarray(inputs_q), None, None, mask_array, deterministic, dropout_rng
        )
