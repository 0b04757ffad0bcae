"""Attention: the formula, masks (causality), dropout, gradients and errors.

Parity with flax.linen is in test_nn_parity_layers.py.
"""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import KEY, check_layer_grads, fake_init, few, normal
from hypothesis import given

import minijax.nn as nn
from minijax.testing import check_grads, on_device

X = normal(0, (2, 5, 6))  # (batch, length, features)


def test_dot_product_attention_by_hand() -> None:
    q, k, v = normal(1, (2, 3, 2, 4)), normal(2, (2, 5, 2, 4)), normal(3, (2, 5, 2, 3))
    weights = nn.dot_product_attention_weights(q, k)
    assert weights.shape == (2, 2, 3, 5)  # (batch, heads, q, k)
    logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / 2.0  # sqrt(depth 4)
    np.testing.assert_allclose(weights, jax.nn.softmax(logits), rtol=1e-5, atol=1e-6)
    out = nn.dot_product_attention(q, k, v)
    assert out.shape == (2, 3, 2, 3)  # (batch, q, heads, v_depth)
    np.testing.assert_allclose(out, jnp.einsum("bhqk,bkhd->bqhd", weights, v), rtol=1e-5, atol=1e-6)
    # no batch axes at all
    np.testing.assert_allclose(nn.dot_product_attention(q[0], k[0], v[0]), out[0], rtol=1e-6)


def test_masked_positions_get_zero_weight() -> None:
    q, k = normal(1, (1, 4, 1, 2)), normal(2, (1, 4, 1, 2))
    keep = jnp.array([True, True, False, True])
    mask = nn.make_attention_mask(jnp.ones((1, 4)), keep[None])
    assert mask.shape == (1, 1, 4, 4)
    weights = nn.dot_product_attention_weights(q, k, mask=mask)
    np.testing.assert_array_equal(weights[..., 2], 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)


def test_mask_helpers() -> None:
    causal = nn.make_causal_mask(jnp.ones((2, 4)))
    assert causal.shape == (2, 1, 4, 4) and causal.dtype == jnp.float32
    np.testing.assert_array_equal(causal[0, 0], np.tril(np.ones((4, 4))))
    assert nn.make_causal_mask(jnp.ones((4,)), extra_batch_dims=2).shape == (1, 1, 1, 4, 4)
    tokens = jnp.array([[3, 5, 0, 0]])
    padding = nn.make_attention_mask(tokens > 0, tokens > 0)
    np.testing.assert_array_equal(padding[0, 0, 1], [1, 1, 0, 0])
    np.testing.assert_array_equal(padding[0, 0, 3], [0, 0, 0, 0])
    both = nn.combine_masks(causal[:1], padding, None)
    real = np.array([1, 1, 0, 0])
    np.testing.assert_array_equal(both[0, 0], np.tril(np.ones((4, 4))) * np.outer(real, real))
    assert nn.combine_masks(None, None) is None
    assert nn.combine_masks(causal, dtype=jnp.bool_).dtype == jnp.bool_


def test_causal_mask_makes_attention_causal() -> None:
    """With a causal mask, the output at t does not depend on the inputs after t."""
    model = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=4)
    variables = fake_init(model, X)
    mask = nn.make_causal_mask(jnp.ones(X.shape[1]), extra_batch_dims=1)  # (1, 1, L, L)
    apply = jax.jit(lambda x: model.apply(variables, x, mask=mask))
    y, t = apply(X), 2
    changed = X.at[:, t + 1 :].set(normal(10, X[:, t + 1 :].shape))
    y2 = apply(changed)
    np.testing.assert_allclose(y2[:, : t + 1], y[:, : t + 1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(y2[:, t + 1 :], y[:, t + 1 :])
    # for every t at once: the Jacobian is block lower-triangular in time
    jac = jax.jacobian(lambda x: apply(x[None])[0].sum(-1))(X[0])  # (t_out, t_in, features)
    upper = np.triu(np.ones((5, 5)), k=1).astype(bool)
    np.testing.assert_array_equal(np.asarray(jac)[upper], 0.0)


def test_multi_head_shapes_and_defaults() -> None:
    model = nn.MultiHeadDotProductAttention(num_heads=3)  # qkv and out features default to 6
    variables = fake_init(model, X)
    assert jax.tree.map(jnp.shape, variables["params"]) == {
        "query": {"kernel": (6, 3, 2), "bias": (3, 2)},
        "key": {"kernel": (6, 3, 2), "bias": (3, 2)},
        "value": {"kernel": (6, 3, 2), "bias": (3, 2)},
        "out": {"kernel": (3, 2, 6), "bias": (6,)},
    }
    kv = normal(4, (2, 7, 5))
    cross = nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=4, out_features=3)
    v = fake_init(cross, X, kv)
    y = cross.apply(v, X, kv)
    assert y.shape == (2, 5, 3)
    assert v["params"]["key"]["kernel"].shape == (5, 2, 2)
    self_attn = nn.SelfAttention(num_heads=3)
    np.testing.assert_allclose(self_attn.apply(variables, X), model.apply(variables, X))


def test_dropout() -> None:
    model = nn.MultiHeadDotProductAttention(num_heads=2, dropout_rate=0.5)
    variables = fake_init(model, X, deterministic=True)
    y_det = model.apply(variables, X, deterministic=True)
    no_dropout = nn.MultiHeadDotProductAttention(num_heads=2)
    np.testing.assert_allclose(y_det, no_dropout.apply(variables, X), rtol=1e-6)
    rngs = {"dropout": jax.random.key(1)}
    y1 = model.apply(variables, X, deterministic=False, rngs=rngs)
    y2 = model.apply(variables, X, deterministic=False, rngs={"dropout": jax.random.key(2)})
    assert not np.allclose(y1, y_det) and not np.allclose(y1, y2)
    np.testing.assert_allclose(y1, model.apply(variables, X, deterministic=False, rngs=rngs))
    with pytest.raises(nn.MissingRngError, match="dropout"):
        model.apply(variables, X, deterministic=False)


def _random_mask(draw_bits: list[bool], length: int) -> jax.Array:
    """A (1, 1, L, L) mask from drawn bits, keeping the diagonal (no empty row)."""
    bits = np.array(draw_bits, dtype=bool).reshape(length, length) | np.eye(length, dtype=bool)
    return jnp.asarray(bits)[None, None]


@few(0.4)
@given(
    st.lists(st.booleans(), min_size=9, max_size=9),
    st.sampled_from([(1, None), (2, 4), (2, None)]),
    st.booleans(),
    st.integers(0, 3),
)
def test_multi_head_gradients(device, bits, heads_qkv, cross, seed) -> None:  # type: ignore[no-untyped-def]
    num_heads, qkv = heads_qkv
    model = nn.MultiHeadDotProductAttention(num_heads=num_heads, qkv_features=qkv, out_features=2)
    x = normal(seed, (1, 3, 4))
    inputs = (x, normal(seed + 1, (1, 3, 2))) if cross else (x,)
    mask = _random_mask(bits, 3)
    variables = fake_init(model, *inputs, mask=mask, seed=seed)
    with on_device(device):
        check_layer_grads(model, variables, *inputs, apply_kwargs={"mask": mask})


@few(0.3)
@given(st.lists(st.booleans(), min_size=9, max_size=9), st.integers(0, 3))
def test_dot_product_attention_gradients(device, bits, seed) -> None:  # type: ignore[no-untyped-def]
    q, k, v = normal(seed, (3, 2, 2)), normal(seed + 1, (3, 2, 2)), normal(seed + 2, (3, 2, 1))
    bias = normal(seed + 3, (2, 3, 3))
    mask = _random_mask(bits, 3)[0]

    def f(q, k, v, bias):  # type: ignore[no-untyped-def]
        return nn.dot_product_attention(q, k, v, bias=bias, mask=mask)

    with on_device(device):
        check_grads(f, (q, k, v, bias))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: nn.MultiHeadDotProductAttention(num_heads=4).init(KEY, X),
            "MultiHeadDotProductAttention: num_heads=4 does not divide qkv_features=6",
        ),
        (
            lambda: nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=5).init(KEY, X),
            "num_heads=2 does not divide qkv_features=5",
        ),
        (
            lambda: nn.MultiHeadDotProductAttention(num_heads=2, dropout_rate=0.1).init(KEY, X),
            "dropout_rate=0.1 > 0 needs deterministic",
        ),
        (
            lambda: nn.MultiHeadDotProductAttention(
                num_heads=2, dropout_rate=0.1, deterministic=True
            ).init(KEY, X, deterministic=True),
            "deterministic was given both",
        ),
        (
            lambda: nn.MultiHeadDotProductAttention(num_heads=2).init(KEY, X, None, X),
            "inputs_k is None but inputs_v is not",
        ),
        (
            lambda: nn.combine_masks(jnp.ones((1, 4, 4)), jnp.ones((1, 1, 4, 4))),
            "combine_masks: the masks have different ranks",
        ),
        (
            lambda: nn.dot_product_attention(
                X[..., None], X[..., None], X[..., None], dropout_rate=0.5
            ),
            "need a dropout_rng key",
        ),
    ],
)
def test_errors(make, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        make()
