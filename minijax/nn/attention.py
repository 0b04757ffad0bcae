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

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import _checks, initializers
from minijax.nn.dtypes import promote_dtype
from minijax.nn.linear import DenseGeneral
from minijax.nn.module import Module, compact
from minijax.nn.normalization import LayerNorm
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


def _einsum(
    einsum: Callable[..., Array] | None,
    precision: Any,
    einsum_dot_general: Callable[..., Array] | None,
    caller: str,
) -> Callable[..., Array]:
    """The einsum to use: the one given, or `jnp.einsum` with `precision`/`einsum_dot_general`."""
    if einsum is not None and (precision is not None or einsum_dot_general is not None):
        raise ValueError(
            f"{caller}: give either precision/einsum_dot_general or a custom einsum, not both "
            "(the custom einsum chooses its own precision and matmul)."
        )
    if einsum is not None:
        return einsum
    return functools.partial(
        jnp.einsum, precision=precision, _dot_general=einsum_dot_general or lax.dot_general
    )


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
    module: Module | None = None,
    force_fp32_for_softmax: bool = False,
    einsum_dot_general: Callable[..., Array] | None = None,
    einsum: Callable[..., Array] | None = None,
) -> Inexact[Array, "*batch heads q k"]:
    """Attention weights $\\mathrm{softmax}(q k^\\top / \\sqrt{d} + b)$ (flax: same name).

    `weights[..., h, i, j] = softmax_j(sum_d q[..., i, h, d] k[..., j, h, d] / sqrt(depth)
    + bias[..., h, i, j])`, with the logits replaced by `finfo(dtype).min` where
    `mask` is False. `bias` and `mask` broadcast to `(*batch, heads, q, k)`.

    * Dropout (when `not deterministic and dropout_rate > 0`) multiplies the weights
      by `bernoulli(dropout_rng, 1 - rate) / (1 - rate)`; with `broadcast_dropout`
      one mask of shape `(q, k)` is shared by every batch element and every head
      (as flax).
    * `force_fp32_for_softmax`: the softmax of half-precision logits runs in
      float32, and the weights stay float32.
    * `module`: the weights (before dropout) are sown into that module's
      `intermediates` collection as `attention_weights`.
    * `einsum_dot_general`: the matmul inside `jnp.einsum`; or `einsum`: a
      replacement for `jnp.einsum(equation, q, k)` itself (not with `precision`).

    >>> import jax.numpy as jnp
    >>> q = k = jnp.ones((1, 2, 1, 4))  # (batch, length, heads, depth)
    >>> dot_product_attention_weights(q, k)
    Array([[[[0.5, 0.5],
             [0.5, 0.5]]]], dtype=float32)
    """
    einsum_fn = _einsum(einsum, precision, einsum_dot_general, "dot_product_attention_weights")
    query, key = promote_dtype(query, key, dtype=dtype)
    dtype = query.dtype
    # >>> TASK A7.1
    depth = query.shape[-1]
    query = query / jnp.sqrt(depth).astype(dtype)
    logits = einsum_fn("...qhd,...khd->...hqk", query, key)
    if bias is not None:
        logits = logits + bias
    if mask is not None:
        _checks.broadcastable(
            "dot_product_attention", "mask", jnp.shape(mask), logits.shape,
            "(*batch, num_heads, q_len, kv_len)",
        )
        logits = jnp.where(mask, logits, jnp.finfo(dtype).min)  # type: ignore[no-untyped-call]
    if force_fp32_for_softmax and dtype != jnp.float32:
        weights = jax.nn.softmax(logits.astype(jnp.float32))
    else:
        weights = jax.nn.softmax(logits).astype(dtype)
    # <<< TASK A7.1
    if module is not None:
        module.sow("intermediates", "attention_weights", weights)
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
    module: Module | None = None,
    force_fp32_for_softmax: bool = False,
    einsum_dot_general: Callable[..., Array] | None = None,
    qk_attn_weights_einsum: Callable[..., Array] | None = None,
    attn_weights_value_einsum: Callable[..., Array] | None = None,
) -> Inexact[Array, "*batch q heads v_depth"]:
    """Scaled dot-product attention $\\mathrm{softmax}(q k^\\top / \\sqrt{d})\\, v$ (flax: same).

    `out[..., i, h, :] = sum_j weights[..., h, i, j] * value[..., j, h, :]` with the
    weights of `dot_product_attention_weights` (same arguments). The inputs need
    no batch axes at all: `(len, heads, depth)` works. `qk_attn_weights_einsum`
    and `attn_weights_value_einsum` (given together) replace the two einsums.

    >>> import jax.numpy as jnp
    >>> q = k = jnp.ones((2, 1, 4))  # (length, heads, depth)
    >>> v = jnp.array([[[1.0]], [[3.0]]])
    >>> dot_product_attention(q, k, v)[:, 0, 0]
    Array([2., 2.], dtype=float32)
    """
    if (qk_attn_weights_einsum is None) != (attn_weights_value_einsum is None):
        raise ValueError(
            "dot_product_attention: qk_attn_weights_einsum and attn_weights_value_einsum "
            "go together; give both (or neither)."
        )
    value_einsum = _einsum(
        attn_weights_value_einsum, precision, einsum_dot_general, "dot_product_attention"
    )
    query, key, value = promote_dtype(query, key, value, dtype=dtype)
    weights = dot_product_attention_weights(
        query, key, bias, mask, broadcast_dropout, dropout_rng, dropout_rate,
        deterministic, query.dtype, precision, module, force_fp32_for_softmax,
        einsum_dot_general=einsum_dot_general, einsum=qk_attn_weights_einsum,
    )  # fmt: skip
    return value_einsum("...hqk,...khd->...qhd", weights, value)


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

    >>> import jax.numpy as jnp
    >>> tokens = jnp.array([[5, 7, 0]])  # 0 is padding
    >>> make_attention_mask(tokens > 0, tokens > 0)[0, 0]
    Array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 0.]], dtype=float32)
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

    >>> import jax.numpy as jnp
    >>> make_causal_mask(jnp.ones((1, 3)))[0, 0]
    Array([[1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]], dtype=float32)
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

    >>> import jax.numpy as jnp
    >>> combine_masks(jnp.array([1, 1, 0]), None, jnp.array([0, 1, 1]))
    Array([0., 1., 0.], dtype=float32)
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
      attention_fn: the attention function (default `dot_product_attention`); it is
        passed only the keyword arguments its signature names.
      decode: autoregressive decoding with a `cache` collection (see below).
      normalize_qk: a `LayerNorm` without bias (`query_ln`, `key_ln`) on the
        projected queries and keys (https://arxiv.org/abs/2302.05442).
      force_fp32_for_softmax: the softmax in float32 for half-precision inputs.
      qkv_dot_general, out_dot_general: the matmuls of the projections and of the
        output layer (`DenseGeneral`'s `dot_general`); `qkv_dot_general_cls` and
        `out_dot_general_cls` likewise for `dot_general_cls`.
      qk_attn_weights_einsum_cls, attn_weights_value_einsum_cls: classes whose
        instances replace the two einsums of the attention (given together).

    Decoding (`decode=True`): `init` with a full-length input creates
    `cache/cached_key`, `cache/cached_value` `(*batch, max_length, H, D)` and
    `cache/cache_index`. Each later `apply(..., mutable=["cache"])` takes one
    position `(*batch, 1, features)`, writes its key and value at `cache_index`,
    attends to the positions written so far, and advances the index.

    `__call__(..., sow_weights=True)` sows the attention weights into
    `intermediates/attention_weights`.

    >>> import jax, jax.numpy as jnp
    >>> layer = MultiHeadDotProductAttention(num_heads=2, qkv_features=8)
    >>> x = jnp.ones((1, 5, 4))
    >>> variables = layer.init(jax.random.key(0), x)
    >>> variables["params"]["query"]["kernel"].shape, layer.apply(variables, x).shape
    ((4, 2, 4), (1, 5, 4))
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
    decode: bool = False
    normalize_qk: bool = False
    force_fp32_for_softmax: bool = False
    qkv_dot_general: Any = None
    out_dot_general: Any = None
    qkv_dot_general_cls: Any = None
    out_dot_general_cls: Any = None
    qk_attn_weights_einsum_cls: Any = None
    attn_weights_value_einsum_cls: Any = None

    @compact
    @typed
    def __call__(
        self,
        inputs_q: Inexact[ArrayIn, "*batch q_len q_features"],
        inputs_k: Inexact[ArrayIn, "*batch kv_len k_features"] | None = None,
        inputs_v: Inexact[ArrayIn, "*batch kv_len v_features"] | None = None,
        *,
        inputs_kv: Inexact[ArrayIn, "*batch kv_len kv_features"] | None = None,
        mask: Shaped[ArrayIn, "..."] | None = None,
        deterministic: bool | None = None,
        dropout_rng: PRNGKeyArray | None = None,
        sow_weights: bool = False,
    ) -> Inexact[Array, "*batch q_len out_features"]:
        """Attend from `inputs_q` to `inputs_k`/`inputs_v` (both default to `inputs_q`).

        `mask` broadcasts to `(*batch, num_heads, q_len, kv_len)`; False drops a
        position. `dropout_rng` overrides `make_rng('dropout')`. `sow_weights`
        sows the attention weights into `intermediates`. `inputs_kv` is flax's
        older spelling of `inputs_k = inputs_v` (deprecated there too).
        """
        name = type(self).__name__
        if inputs_kv is not None:
            if inputs_k is not None or inputs_v is not None:
                raise ValueError(
                    f"{name}: If either `inputs_k` or `inputs_v` is not None, `inputs_kv` "
                    "must be None; pass the keys and values as inputs_k (and inputs_v)."
                )
            warnings.warn(
                f"{name}: The inputs_kv arg will be deprecated soon (as in flax); pass "
                "inputs_k=... (inputs_v defaults to it) instead.",
                DeprecationWarning,
                stacklevel=2,
            )
            inputs_k = inputs_kv
        return self._attend(
            jnp.asarray(inputs_q),
            None if inputs_k is None else jnp.asarray(inputs_k),
            None if inputs_v is None else jnp.asarray(inputs_v),
            None if mask is None else jnp.asarray(mask),
            deterministic,
            dropout_rng,
            sow_weights,
        )

    def _attend(
        self,
        inputs_q: Array,
        inputs_k: Array | None,
        inputs_v: Array | None,
        mask: Array | None,
        deterministic: bool | None,
        dropout_rng: PRNGKeyArray | None,
        sow_weights: bool = False,
    ) -> Array:
        """The body of `__call__`, shared with `SelfAttention` (runs inside it)."""
        name = type(self).__name__
        if inputs_k is None:
            if inputs_v is not None:
                raise ValueError(
                    f"{name}: `inputs_k` cannot be None if `inputs_v` is not None "
                    "(inputs_k is None but inputs_v is not). To use one array for keys and "
                    "values pass it as inputs_k and leave inputs_v as None."
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
                dot_general=self.qkv_dot_general,
                dot_general_cls=self.qkv_dot_general_cls,
                name=layer_name,
            )

        query = dense("query")(inputs_q)
        key = dense("key")(inputs_k)
        value = dense("value")(inputs_v)
        if self.normalize_qk:
            ln = functools.partial(
                LayerNorm, use_bias=False, dtype=self.dtype, param_dtype=self.param_dtype
            )
            query = ln(name="query_ln")(query)
            key = ln(name="key_ln")(key)
        if self.decode:
            key, value, mask = self._decode_step(query, key, value, mask)

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

        attn_kwargs = {
            "mask": mask,
            "dropout_rng": dropout_rng,
            "dropout_rate": self.dropout_rate,
            "broadcast_dropout": self.broadcast_dropout,
            "deterministic": m_deterministic,
            "dtype": self.dtype,
            "precision": self.precision,
            "force_fp32_for_softmax": self.force_fp32_for_softmax,
            "qk_attn_weights_einsum": (
                self.qk_attn_weights_einsum_cls() if self.qk_attn_weights_einsum_cls else None
            ),
            "attn_weights_value_einsum": (
                self.attn_weights_value_einsum_cls() if self.attn_weights_value_einsum_cls else None
            ),
        }
        # (as flax: a custom attention_fn gets only the arguments it names)
        accepted = inspect.signature(self.attention_fn).parameters
        attn_kwargs = {k: v for k, v in attn_kwargs.items() if k in accepted}
        if sow_weights:
            attn_kwargs["module"] = self
        x = self.attention_fn(query, key, value, **attn_kwargs)
        return DenseGeneral(
            features=features,
            axis=(-2, -1),
            use_bias=self.use_bias,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            kernel_init=self.out_kernel_init or self.kernel_init,
            bias_init=self.out_bias_init or self.bias_init,
            precision=self.precision,
            dot_general=self.out_dot_general,
            dot_general_cls=self.out_dot_general_cls,
            name="out",
        )(x)

    def _decode_step(
        self, query: Array, key: Array, value: Array, mask: Array | None
    ) -> tuple[Array, Array, Array | None]:
        """Write this step's key and value into the cache; mask the positions not yet written.

        At `init` the cache is created from the full-length key and value and the
        attention runs on them unchanged (flax's behaviour).
        """
        initialized = self.has_variable("cache", "cached_key")
        cached_key = self.variable("cache", "cached_key", jnp.zeros, key.shape, key.dtype)
        cached_value = self.variable("cache", "cached_value", jnp.zeros, value.shape, value.dtype)
        cache_index = self.variable("cache", "cache_index", lambda: jnp.array(0, jnp.int32))
        if not initialized:
            return key, value, mask
        *batch, max_length, num_heads, head_dim = cached_key.value.shape
        expected = (*batch, 1, num_heads, head_dim)
        if tuple(query.shape) != expected:
            raise ValueError(
                f"{type(self).__name__} (decode=True): the cache holds {max_length} positions "
                f"of shape {tuple(cached_key.value.shape)}, so each decoding step takes one "
                f"position: projected query {expected}, got {tuple(query.shape)}. Call it "
                "with inputs of shape (*batch, 1, features), with mutable=['cache']."
            )
        index = cache_index.value
        zero = jnp.array(0, index.dtype)
        start = (zero,) * len(batch) + (index, zero, zero)
        key = lax.dynamic_update_slice(cached_key.value, key, start)
        value = lax.dynamic_update_slice(cached_value.value, value, start)
        cached_key.value, cached_value.value = key, value
        cache_index.value = index + 1
        written = jnp.broadcast_to(jnp.arange(max_length) <= index, (*batch, 1, 1, max_length))
        return key, value, combine_masks(mask, written)


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
        sow_weights: bool = False,
    ) -> Inexact[Array, "*batch length out_features"]:
        """Attend from every position of `inputs_q` to every other (subject to `mask`)."""
        mask_array = None if mask is None else jnp.asarray(mask)
        return self._attend(
            jnp.asarray(inputs_q), None, None, mask_array, deterministic, dropout_rng, sow_weights
        )
