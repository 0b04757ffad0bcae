"""Parity with flax.linen of the conv, pooling, normalization, attention and recurrent layers.

For every layer and a few configurations each: the variable trees of flax's and
minijax's ``init`` have the same paths, shapes and dtypes; flax's tree, filled with
random values (stronger than flax's init values, whose zero biases and unit scales
hide mistakes), is loaded into both, and the outputs agree to 1e-6 (float32). The
SingleLayerCNN of the slides "JAX / Flax intro" and a model with two RNNs run on
flax's own ``init`` values.

In practice the outputs are bitwise equal: each layer makes the same lax calls as
flax's. The tolerance stays 1e-6 everywhere, convolutions included.
"""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import KEY, assert_parity, normal, plain, tree_signature

import minijax.nn as mnn

pytestmark = pytest.mark.parity

X2 = normal(1, (2, 7, 6, 4))  # (batch, height, width, channels)
X1 = normal(2, (2, 9, 4))  # (batch, length, channels)
X3 = normal(3, (1, 4, 5, 3, 2))  # (batch, depth, height, width, channels)
SEQ = normal(4, (2, 5, 6))  # (batch, length, features)


def both(name: str, **kwargs: Any) -> tuple[Any, Any]:
    return getattr(mnn, name)(**kwargs), getattr(fnn, name)(**kwargs)


# --- convolutions ----------------------------------------------------------------------

CONV = {
    "2d_default": (X2, {"features": 5, "kernel_size": (3, 3)}),
    "2d_strided_valid_dilated_grouped": (
        X2,
        {
            "features": 6,
            "kernel_size": (3, 2),
            "strides": 2,
            "padding": "VALID",
            "kernel_dilation": (1, 2),
            "feature_group_count": 2,
        },
    ),
    "2d_circular": (X2, {"features": 3, "kernel_size": (3, 4), "padding": "CIRCULAR"}),
    "2d_reflect_no_bias": (
        X2,
        {"features": 3, "kernel_size": 3, "padding": "REFLECT", "use_bias": False},
    ),
    "2d_pairs_input_dilation": (
        X2,
        {"features": 2, "kernel_size": (2, 2), "padding": ((1, 0), 2), "input_dilation": 2},
    ),
    "2d_int_padding_depthwise": (
        X2,
        {"features": 8, "kernel_size": (3, 3), "padding": 1, "feature_group_count": 4},
    ),
    "1d_causal": (X1, {"features": 3, "kernel_size": (3,), "padding": "CAUSAL"}),
    "1d_int_kernel_size_strided": (X1, {"features": 3, "kernel_size": 4, "strides": 3}),
    "1d_unbatched": (X1[0], {"features": 3, "kernel_size": (2,)}),
    "1d_two_batch_axes": (X1.reshape(2, 1, 9, 4), {"features": 3, "kernel_size": (2,)}),
    "3d": (X3, {"features": 2, "kernel_size": (2, 3, 2), "strides": (1, 2, 1)}),
    "2d_mask": (
        X2,
        {"features": 2, "kernel_size": (2, 2), "mask": jnp.tril(jnp.ones((2, 2, 4, 2)))},
    ),
}


@pytest.mark.parametrize("case", list(CONV))
def test_conv(case: str) -> None:
    x, kwargs = CONV[case]
    assert_parity(*both("Conv", **kwargs), x)


CONV_T = {
    "2d_same_strided": {"features": 3, "kernel_size": (3, 3), "strides": (2, 2)},
    "2d_valid_dilated": {
        "features": 3,
        "kernel_size": (3, 2),
        "padding": "VALID",
        "kernel_dilation": (2, 1),
    },
    "2d_circular": {
        "features": 3,
        "kernel_size": (4, 4),
        "strides": (2, 2),
        "padding": "CIRCULAR",
    },
    "2d_circular_transposed": {
        "features": 2,
        "kernel_size": (3, 2),
        "strides": (2, 1),
        "padding": "CIRCULAR",
        "transpose_kernel": True,
    },
    "2d_pairs_transposed_no_bias": {
        "features": 2,
        "kernel_size": (2, 3),
        "strides": 2,
        "padding": ((1, 0), (0, 2)),
        "transpose_kernel": True,
        "use_bias": False,
    },
}


@pytest.mark.parametrize("case", list(CONV_T))
def test_conv_transpose(case: str) -> None:
    assert_parity(*both("ConvTranspose", **CONV_T[case]), X2)


def test_conv_transpose_1d_and_unbatched() -> None:
    assert_parity(*both("ConvTranspose", features=3, kernel_size=3, strides=2), X1)
    assert_parity(*both("ConvTranspose", features=3, kernel_size=(3,), strides=(2,)), X1[0])


# --- pooling -----------------------------------------------------------------------------

POOL = [
    (X2, {"window_shape": (2, 2), "strides": (2, 2)}),
    (X2, {"window_shape": (3, 2), "strides": (1, 2), "padding": "SAME"}),
    (X2, {"window_shape": (2, 3), "padding": ((1, 1), (0, 2))}),
    (X1, {"window_shape": (3,), "strides": (2,), "padding": "SAME"}),
    (X2[0], {"window_shape": (3, 3), "padding": "SAME"}),  # no batch axis
    (X3, {"window_shape": (2, 2, 2), "strides": (2, 1, 1)}),
]


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool", "min_pool", "avg_pool_exclude_pad"])
def test_pooling(kind: str) -> None:
    for x, kwargs in POOL:
        if kind == "avg_pool_exclude_pad":
            mine = mnn.avg_pool(x, **kwargs, count_include_pad=False)
            theirs = fnn.avg_pool(x, **kwargs, count_include_pad=False)
        else:
            mine = getattr(mnn, kind)(x, **kwargs)
            theirs = getattr(fnn.pooling, kind)(x, **kwargs)
        assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


# --- normalization -----------------------------------------------------------------------

NORMS = {
    "layer_default": ("LayerNorm", {}),
    "layer_axes": ("LayerNorm", {"reduction_axes": (1, 2, 3), "feature_axes": (-2, -1)}),
    "layer_no_bias_slow_variance": (
        "LayerNorm",
        {"use_bias": False, "use_fast_variance": False, "epsilon": 1e-3},
    ),
    "layer_no_scale": ("LayerNorm", {"use_scale": False, "reduction_axes": (-2, -1)}),
    "rms_default": ("RMSNorm", {}),
    "rms_axes": ("RMSNorm", {"reduction_axes": (2, 3), "feature_axes": 2}),
    "group_2": ("GroupNorm", {"num_groups": 2}),
    "group_size_1": ("GroupNorm", {"num_groups": None, "group_size": 1}),
    "group_1_reduction_axes": ("GroupNorm", {"num_groups": 1, "reduction_axes": (2, 3)}),
    "group_no_scale_bias": (
        "GroupNorm",
        {"num_groups": 4, "use_scale": False, "use_bias": False},
    ),
}


@pytest.mark.parametrize("case", list(NORMS))
def test_normalization(case: str) -> None:
    name, kwargs = NORMS[case]
    assert_parity(*both(name, **kwargs), X2 * 2.0 + 0.5)


# --- attention ---------------------------------------------------------------------------


def test_attention_functions_and_masks() -> None:
    q, k, v = normal(5, (2, 3, 2, 4)), normal(6, (2, 5, 2, 4)), normal(7, (2, 5, 2, 3))
    bias = normal(8, (1, 2, 3, 5))
    mask = normal(9, (2, 1, 3, 5)) > -0.5
    rng = jax.random.key(3)
    for kwargs in [
        {},
        {"bias": bias, "mask": mask},
        {"dropout_rng": rng, "dropout_rate": 0.3},
        {"dropout_rng": rng, "dropout_rate": 0.3, "broadcast_dropout": False, "mask": mask},
    ]:
        for name, args in [
            ("dot_product_attention", (q, k, v)),
            ("dot_product_attention_weights", (q, k)),
        ]:
            mine, theirs = getattr(mnn, name)(*args, **kwargs), getattr(fnn, name)(*args, **kwargs)
            np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)
    tokens = jnp.array([[3, 5, 0], [1, 0, 0]])
    for name, args, kwargs in [
        ("make_attention_mask", (tokens > 0, tokens > 0), {}),
        (
            "make_attention_mask",
            (tokens, tokens),
            {"pairwise_fn": jnp.greater, "extra_batch_dims": 1},
        ),
        ("make_causal_mask", (tokens,), {}),
        ("make_causal_mask", (tokens[0],), {"extra_batch_dims": 2, "dtype": jnp.bool_}),
    ]:
        mine, theirs = getattr(mnn, name)(*args, **kwargs), getattr(fnn, name)(*args, **kwargs)
        assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    causal, pad = fnn.make_causal_mask(tokens), fnn.make_attention_mask(tokens > 0, tokens > 0)
    np.testing.assert_array_equal(
        mnn.combine_masks(causal, None, pad), fnn.combine_masks(causal, None, pad)
    )


MHA = {
    "default": ({"num_heads": 3}, (SEQ,), {}),
    "features": ({"num_heads": 2, "qkv_features": 4, "out_features": 3}, (SEQ,), {}),
    "cross_kv": ({"num_heads": 2}, (SEQ, normal(10, (2, 7, 5))), {}),
    "cross_k_v": (
        {"num_heads": 1, "qkv_features": 2},
        (SEQ, normal(11, (2, 7, 5)), normal(12, (2, 7, 3))),
        {},
    ),
    "causal_mask_no_bias": (
        {"num_heads": 2, "use_bias": False},
        (SEQ,),
        {"mask": fnn.make_causal_mask(SEQ[..., 0])},
    ),
    "unbatched": ({"num_heads": 2}, (SEQ[0],), {}),
    "dropout_deterministic": (
        {"num_heads": 2, "dropout_rate": 0.5, "deterministic": True},
        (SEQ,),
        {},
    ),
    "dropout": (
        {"num_heads": 2, "dropout_rate": 0.4},
        (SEQ,),
        {"deterministic": False, "dropout_rng": jax.random.key(5)},
    ),
    "dropout_not_broadcast": (
        {"num_heads": 2, "dropout_rate": 0.4, "broadcast_dropout": False},
        (SEQ,),
        {"deterministic": False, "dropout_rng": jax.random.key(6)},
    ),
}


@pytest.mark.parametrize("case", list(MHA))
def test_multi_head_attention(case: str) -> None:
    config, args, kwargs = MHA[case]
    init_kwargs = {k: v for k, v in kwargs.items() if k == "mask"}
    if "dropout_rng" in kwargs:
        init_kwargs["deterministic"] = True
    assert_parity(
        *both("MultiHeadDotProductAttention", **config), *args, init_kwargs=init_kwargs, **kwargs
    )


def test_self_attention_and_dense_general() -> None:
    mask = fnn.make_causal_mask(SEQ[..., 0])
    with pytest.warns(DeprecationWarning):  # flax deprecates SelfAttention
        assert_parity(*both("SelfAttention", num_heads=2, qkv_features=4), SEQ, mask=mask)
    for kwargs in [
        {"features": (2, 3)},
        {"features": 4, "axis": (-2, -1), "use_bias": False},
        {"features": (3,), "axis": 1},
    ]:
        assert_parity(*both("DenseGeneral", **kwargs), SEQ)


# --- recurrent ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_cells(name: str) -> None:
    mine, theirs = both(name, features=4)
    x = SEQ[:, 0]
    carry_m, carry_f = mine.initialize_carry(KEY, x.shape), theirs.initialize_carry(KEY, x.shape)
    jax.tree.map(np.testing.assert_array_equal, carry_m, carry_f)
    carry = jax.tree.map(lambda c: normal(13, c.shape), carry_f)
    assert_parity(mine, theirs, carry, x)


RNN_OPTIONS = [
    {},
    {"return_carry": True},
    {"time_major": True},
    {"reverse": True, "keep_order": True, "return_carry": True},
    {"reverse": True, "seq_lengths": jnp.array([3, 5]), "return_carry": True},
    {"seq_lengths": jnp.array([2, 4]), "return_carry": True},
]


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_rnn(name: str) -> None:
    mine = mnn.RNN(getattr(mnn, name)(3))
    theirs = fnn.RNN(getattr(fnn, name)(3))
    for options in RNN_OPTIONS:
        init_options = {k: v for k, v in options.items() if k != "seq_lengths"}
        assert_parity(mine, theirs, SEQ, init_kwargs=init_options, **options)


# --- models: the slides' CNN, RNNs inside a model (on flax's own init values) -------------


def single_layer_cnn(nn: Any) -> Any:
    """The slides "JAX / Flax intro" (JAX / Flax 入門), unchanged but for the namespace."""

    class SingleLayerCNN(nn.Module):
        @nn.compact
        def __call__(self, x, get_logits=False):  # type: ignore[no-untyped-def]
            x = x.reshape([-1, 28, 28, 1])
            x = nn.Conv(features=16, kernel_size=(5, 5))(x)
            x = nn.relu(x)
            x = nn.max_pool(x, window_shape=(2, 2), strides=(2, 2))

            x = x.reshape([x.shape[0], -1])  # Flatten
            x = nn.Dense(features=1024)(x)
            x = nn.relu(x)

            x = nn.Dense(features=10)(x)
            if get_logits:
                return x
            x = nn.softmax(x)
            return x

    return SingleLayerCNN()


def two_rnns(nn: Any) -> Any:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            h = nn.RNN(nn.LSTMCell(4))(x)
            h = nn.LayerNorm()(h)
            h = nn.RNN(nn.GRUCell(3), reverse=True, keep_order=True)(h)
            return nn.Dense(2)(h[:, -1])

    return Encoder()


@pytest.mark.parametrize(
    ("build", "x"), [(single_layer_cnn, normal(14, (2, 784))), (two_rnns, SEQ)]
)
def test_models_on_flax_init(build: Any, x: jax.Array) -> None:
    mine, theirs = build(mnn), build(fnn)
    variables = plain(jax.jit(theirs.init)(KEY, x))
    assert tree_signature(jax.eval_shape(mine.init, KEY, x)) == tree_signature(variables)
    for kwargs in [{}, {"get_logits": True}] if build is single_layer_cnn else [{}]:
        y_flax = jax.jit(lambda v, x, kw=kwargs: theirs.apply(v, x, **kw))(variables, x)
        y_mine = jax.jit(lambda v, x, kw=kwargs: mine.apply(v, x, **kw))(variables, x)
        np.testing.assert_allclose(y_mine, y_flax, rtol=1e-6, atol=1e-6)
