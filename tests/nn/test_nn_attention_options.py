"""The attention options: decode=True with its cache, sow_weights, force_fp32_for_softmax,
normalize_qk, the einsum and dot_general hooks: bitwise equal to flax, gradients, errors."""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import check_layer_grads
from jax import lax

import minijax.nn as mnn

X = jax.random.normal(jax.random.key(1), (2, 5, 6))
Y = jax.random.normal(jax.random.key(2), (2, 3, 6))


def assert_same(ours: Any, theirs: Any) -> None:
    a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(a) == len(b) and len(a) > 0
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


def mha(nn: Any, **kwargs: Any) -> Any:
    return nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=4, **kwargs)


def both(kwargs: dict[str, Any], *args: Any, **call: Any) -> tuple[Any, Any]:
    ours, theirs = mha(mnn, **kwargs), mha(fnn, **kwargs)
    v_ours = ours.init(jax.random.key(0), *args, **call)
    v_theirs = theirs.init(jax.random.key(0), *args, **call)
    assert_same(v_ours, v_theirs)
    out = ours.apply(v_theirs, *args, **call, mutable=["intermediates"])
    assert_same(out, theirs.apply(v_theirs, *args, **call, mutable=["intermediates"]))
    return ours, v_ours


def _half_dot(lhs: Any, rhs: Any, dims: Any, precision: Any = None, **kw: Any) -> Any:
    return 0.5 * lax.dot_general(lhs, rhs, dims, precision=precision, **kw)


class _HalfDot:
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _half_dot(*args, **kwargs)


class _ScaledEinsum:
    def __call__(self, equation: str, a: Any, b: Any) -> Any:
        return 2.0 * jnp.einsum(equation, a, b)


OPTIONS = {
    "normalize_qk": {"normalize_qk": True},
    "qkv_dot_general": {"qkv_dot_general": _half_dot},
    "out_dot_general": {"out_dot_general": _half_dot},
    "qkv_dot_general_cls": {"qkv_dot_general_cls": _HalfDot},
    "out_dot_general_cls": {"out_dot_general_cls": _HalfDot},
    "einsum_cls": {
        "qk_attn_weights_einsum_cls": _ScaledEinsum,
        "attn_weights_value_einsum_cls": _ScaledEinsum,
    },
    "force_fp32_bf16": {"force_fp32_for_softmax": True, "dtype": jnp.bfloat16},
    "bf16": {"dtype": jnp.bfloat16},
}


@pytest.mark.parity
@pytest.mark.parametrize("option", list(OPTIONS))
def test_options_bitwise_equal_flax(option: str) -> None:
    ours, variables = both(OPTIONS[option], X, Y)
    if option != "bf16":
        plain = mha(mnn).apply(variables, X, Y)
        assert not np.array_equal(ours.apply(variables, X, Y), plain)  # the option was used


@pytest.mark.parity
@pytest.mark.parametrize("layer", ["MultiHeadDotProductAttention", "SelfAttention"])
def test_sow_weights_bitwise_equal_flax(layer: str) -> None:
    ours, theirs = getattr(mnn, layer)(num_heads=2), getattr(fnn, layer)(num_heads=2)
    variables = theirs.init(jax.random.key(0), X)
    mask = mnn.make_causal_mask(X[..., 0])
    _, ours_state = ours.apply(variables, X, mask=mask, sow_weights=True, mutable=True)
    _, theirs_state = theirs.apply(variables, X, mask=mask, sow_weights=True, mutable=True)
    assert_same(ours_state, theirs_state)
    weights = ours_state["intermediates"]["attention_weights"][0]
    assert weights.shape == (2, 2, 5, 5)
    np.testing.assert_array_equal(np.triu(weights[0, 0], 1), 0)  # the causal mask is applied
    _, nothing_sown = ours.apply(variables, X, mutable=True)
    assert "intermediates" not in nothing_sown


@pytest.mark.parity
def test_functions_with_einsum_hooks_bitwise_equal_flax() -> None:
    q = jax.random.normal(jax.random.key(3), (2, 4, 2, 3))
    k = jax.random.normal(jax.random.key(4), (2, 5, 2, 3))
    v = jax.random.normal(jax.random.key(5), (2, 5, 2, 3))
    for kwargs in [
        {"einsum_dot_general": _half_dot},
        {"qk_attn_weights_einsum": _ScaledEinsum(), "attn_weights_value_einsum": _ScaledEinsum()},
        {"force_fp32_for_softmax": True, "dtype": jnp.float16},
    ]:
        assert_same(
            mnn.dot_product_attention(q, k, v, **kwargs),
            fnn.dot_product_attention(q, k, v, **kwargs),
        )
    weights_kwargs = {"einsum": _ScaledEinsum()}
    assert_same(
        mnn.dot_product_attention_weights(q, k, **weights_kwargs),
        fnn.dot_product_attention_weights(q, k, **weights_kwargs),
    )


@pytest.mark.parity
@pytest.mark.parametrize("batch", [(2,), (2, 3)], ids=["batch", "two_batch_axes"])
def test_decode_step_by_step_bitwise_equal_flax_and_equal_to_causal_attention(
    batch: tuple[int, ...],
) -> None:
    length = 4
    x = jax.random.normal(jax.random.key(6), (*batch, length, 6))
    ours, theirs = mha(mnn, decode=True), mha(fnn, decode=True)
    variables = theirs.init(jax.random.key(0), x)
    assert_same(ours.init(jax.random.key(0), x), variables)
    params = {"params": variables["params"]}
    ours_cache = theirs_cache = variables["cache"]
    steps = []
    for t in range(length):
        x_t = x[..., t : t + 1, :]
        y_ours, ours_vars = ours.apply({**params, "cache": ours_cache}, x_t, mutable=["cache"])
        y_theirs, theirs_vars = theirs.apply(
            {**params, "cache": theirs_cache}, x_t, mutable=["cache"]
        )
        assert_same((y_ours, ours_vars), (y_theirs, theirs_vars))
        ours_cache, theirs_cache = ours_vars["cache"], theirs_vars["cache"]
        steps.append(y_ours)
    assert int(ours_cache["cache_index"]) == length
    full = mha(mnn).apply(params, x, mask=mnn.make_causal_mask(x[..., 0]))
    np.testing.assert_allclose(jnp.concatenate(steps, axis=-2), full, rtol=1e-5, atol=1e-6)


def test_decode_step_with_the_wrong_shape_names_the_fix() -> None:
    layer = mha(mnn, decode=True)
    variables = layer.init(jax.random.key(0), X)
    with pytest.raises(ValueError, match=r"decode=True.*takes one position.*\(2, 1, 2, 2\)"):
        layer.apply(variables, X[:, :2], mutable=["cache"])


def test_hook_arguments_that_go_together() -> None:
    q = jnp.ones((3, 2, 4))
    with pytest.raises(ValueError, match="qk_attn_weights_einsum and attn_weights_value_einsum"):
        mnn.dot_product_attention(q, q, q, qk_attn_weights_einsum=_ScaledEinsum())
    with pytest.raises(ValueError, match="either precision/einsum_dot_general or a custom einsum"):
        mnn.dot_product_attention_weights(
            q, q, einsum=_ScaledEinsum(), einsum_dot_general=_half_dot
        )


def test_a_custom_attention_fn_gets_only_the_arguments_it_names() -> None:
    seen: dict[str, Any] = {}

    def attention(query: Any, key: Any, value: Any, mask: Any = None) -> Any:
        seen["mask"] = mask
        return mnn.dot_product_attention(query, key, value, mask=mask)

    layer = mha(mnn, attention_fn=attention)
    layer.init(jax.random.key(0), X)
    assert "mask" in seen


@pytest.mark.parametrize("option", ["normalize_qk", "einsum_cls", "qkv_dot_general"])
def test_gradients(option: str) -> None:
    layer = mha(mnn, **OPTIONS[option])
    x = X[:1, :3]
    check_layer_grads(layer, layer.init(jax.random.key(0), x), x)


def test_force_fp32_keeps_the_softmax_in_float32() -> None:
    q = jnp.ones((2, 1, 4), jnp.bfloat16)
    weights = mnn.dot_product_attention_weights(q, q, force_fp32_for_softmax=True)
    assert weights.dtype == jnp.float32
    assert mnn.dot_product_attention_weights(q, q).dtype == jnp.bfloat16


def test_inputs_kv_is_flax_older_spelling_of_inputs_k() -> None:
    layer = mha(mnn)
    variables = layer.init(jax.random.key(0), X, Y)
    with pytest.warns(DeprecationWarning, match="The inputs_kv arg will be deprecated soon"):
        y = layer.apply(variables, X, inputs_kv=Y)
    np.testing.assert_array_equal(y, layer.apply(variables, X, Y))
    with pytest.raises(ValueError, match="`inputs_kv` must be None"):
        layer.apply(variables, X, Y, inputs_kv=Y)
