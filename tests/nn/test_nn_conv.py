"""Conv and ConvTranspose: shapes, causality, gradients and errors.

Parity with flax.linen is in test_nn_parity_layers.py.
"""

import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import KEY, check_layer_grads, fake_init, few, normal
from hypothesis import given

import minijax.nn as nn
from minijax.testing import on_device


def out_size(n: int, k: int, stride: int, dilation: int, padding: str) -> int:
    if padding == "SAME":
        return math.ceil(n / stride)
    return (n - dilation * (k - 1) - 1) // stride + 1


@pytest.mark.parametrize("padding", ["SAME", "VALID", "CIRCULAR"])
@pytest.mark.parametrize(("stride", "dilation"), [(1, 1), (2, 1), (1, 2)])
def test_shapes_and_params_as_documented(padding: str, stride: int, dilation: int) -> None:
    x = normal(0, (2, 7, 6, 4))
    model = nn.Conv(6, (3, 2), strides=stride, padding=padding, kernel_dilation=dilation)
    variables = model.init(KEY, x)
    assert jax.tree.map(jnp.shape, variables) == {"params": {"kernel": (3, 2, 4, 6), "bias": (6,)}}
    y = model.apply(variables, x)
    same = "SAME" if padding == "CIRCULAR" else padding  # circular: SAME-sized
    assert y.shape == (
        2,
        out_size(7, 3, stride, dilation, same),
        out_size(6, 2, stride, dilation, same),
        6,
    )


def test_batch_axes_are_flattened_and_restored() -> None:
    model = nn.Conv(6, (2,), feature_group_count=2, use_bias=False)
    x = normal(1, (2, 3, 5, 4))  # two batch axes, 1-D conv
    variables = fake_init(model, x)
    assert variables["params"]["kernel"].shape == (2, 4 // 2, 6)  # (*window, in // groups, out)
    y = model.apply(variables, x)
    assert y.shape == (2, 3, 5, 6)
    # ... and so are no batch axes at all.
    np.testing.assert_allclose(y[1, 2], model.apply(variables, x[1, 2]), rtol=1e-6, atol=1e-6)


def test_causal_padding_is_causal() -> None:
    """CAUSAL: y[t] depends on x[<= t] only, and the output keeps the length."""
    model = nn.Conv(2, (3,), padding="CAUSAL", kernel_dilation=2)
    x = normal(2, (1, 9, 3))
    variables = fake_init(model, x)
    y = model.apply(variables, x)
    assert y.shape == (1, 9, 2)
    for t in range(8):
        x2 = x.at[:, t + 1 :].add(10.0)
        np.testing.assert_allclose(model.apply(variables, x2)[:, : t + 1], y[:, : t + 1])


def test_conv_transpose_shapes_and_kernel_layout() -> None:
    x = normal(3, (2, 5, 4, 3))
    for transpose_kernel, kernel_shape in [(False, (3, 3, 3, 2)), (True, (3, 3, 2, 3))]:
        model = nn.ConvTranspose(2, (3, 3), strides=(2, 2), transpose_kernel=transpose_kernel)
        variables = fake_init(model, x)
        assert variables["params"]["kernel"].shape == kernel_shape
        assert model.apply(variables, x).shape == (2, 10, 8, 2)
    valid = nn.ConvTranspose(2, (3, 3), strides=(2, 1), padding="VALID")
    assert valid.apply(fake_init(valid, x), x).shape == (2, 5 * 2 + 1, 4 + 2, 2)


def test_conv_transpose_with_transposed_kernel_is_the_gradient_of_conv() -> None:
    """<conv(x; K), y> = <x, conv_transpose(y; K, transpose_kernel=True)> (no bias)."""
    x = normal(4, (1, 7, 3))  # 7 = (3 - 1) * 2 + 3: every input element is used
    conv = nn.Conv(2, (3,), strides=2, padding="VALID", use_bias=False)
    variables = fake_init(conv, x)
    y = normal(5, conv.apply(variables, x).shape)
    convt = nn.ConvTranspose(3, (3,), strides=(2,), padding="VALID", use_bias=False,
                             transpose_kernel=True)  # fmt: skip
    back = convt.apply(variables, y)
    assert back.shape == x.shape
    lhs = jnp.vdot(conv.apply(variables, x), y)
    np.testing.assert_allclose(lhs, jnp.vdot(x, back), rtol=1e-5)
    _, pullback = jax.vjp(lambda x: conv.apply(variables, x), x)
    np.testing.assert_allclose(pullback(y)[0], back, rtol=1e-5, atol=1e-6)


conv_configs = st.fixed_dictionaries(
    {
        "rank": st.sampled_from([1, 2]),
        "strides": st.sampled_from([1, 2]),
        "padding": st.sampled_from(["SAME", "VALID", "CIRCULAR", "pairs"]),
        "kernel_dilation": st.sampled_from([1, 2]),
        "input_dilation": st.sampled_from([1, 2]),
        "feature_group_count": st.sampled_from([1, 2]),
        "use_bias": st.booleans(),
    }
)


@few(0.6)
@given(conv_configs, st.integers(0, 3))
def test_conv_gradients(device, config, seed) -> None:  # type: ignore[no-untyped-def]
    rank = config.pop("rank")
    kernel_size = (2,) if rank == 1 else (2, 2)
    if config["padding"] == "pairs":
        config["padding"] = [(1, 0), (0, 1)][:rank]
    if config["padding"] == "CIRCULAR":
        config["input_dilation"] = 1  # circular padding of a dilated input is not defined
    x = normal(seed, (1, *(4,) * rank, 2))
    model = nn.Conv(2, kernel_size, **config)
    variables = fake_init(model, x, seed=seed)
    with on_device(device):
        check_layer_grads(model, variables, x)


@few()
@given(
    st.sampled_from([1, 2]),
    st.sampled_from(["SAME", "VALID", "CIRCULAR", "pairs"]),
    st.booleans(),
    st.integers(0, 3),
)
def test_conv_transpose_gradients(device, strides, padding, transpose_kernel, seed) -> None:  # type: ignore[no-untyped-def]
    x = normal(seed, (1, 3, 3, 2))
    pads = [(1, 0), (0, 1)] if padding == "pairs" else padding
    model = nn.ConvTranspose(
        2, (2, 3), strides=(strides, strides), padding=pads, transpose_kernel=transpose_kernel
    )
    variables = fake_init(model, x, seed=seed)
    with on_device(device):
        check_layer_grads(model, variables, x)


@pytest.mark.parametrize(
    ("model", "shape", "match"),
    [
        (nn.Conv(4, (3, 3)), (5, 5), r"Conv: the input has shape \(5, 5\).*kernel_size=\(3, 3\)"),
        (nn.Conv(4, (3,), feature_group_count=2), (1, 5, 3), "3 channels.*feature_group_count=2"),
        (nn.Conv(3, (3,), feature_group_count=2), (1, 5, 4), "features=3 is not divisible"),
        (nn.Conv(4, (3, 3), strides=(1, 1, 1)), (1, 5, 5, 2), "strides=.*has 3 entries"),
        (nn.Conv(4, (3, 3), padding="FULL"), (1, 5, 5, 2), "unknown padding 'FULL'"),
        (nn.Conv(4, (3, 3), padding=[(1, 1)]), (1, 5, 5, 2), "invalid padding"),
        (nn.Conv(4, (3, 3), padding="CAUSAL"), (1, 5, 5, 2), "CAUSAL.*only defined for 1-D"),
        (nn.Conv(4, (3,), mask=jnp.ones((3, 3))), (1, 5, 2), "mask has shape"),
        (nn.ConvTranspose(4, (3,), padding="REFLECT"), (1, 5, 2), "not supported by ConvT"),
        (nn.ConvTranspose(4, (3, 3)), (5, 2), r"ConvTranspose: the input has shape \(5, 2\)"),
    ],
)
def test_errors(model, shape, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        model.init(KEY, jnp.ones(shape))
