"""LayerNorm, RMSNorm, GroupNorm: the math, the special cases, gradients and errors.

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
from minijax.testing import on_device

X = normal(0, (2, 3, 4, 6)) * 3.0 + 1.0


def test_layer_norm_standardizes_the_last_axis() -> None:
    model = nn.LayerNorm()
    variables = model.init(KEY, X)
    assert jax.tree.map(jnp.shape, variables) == {"params": {"scale": (6,), "bias": (6,)}}
    y = model.apply(variables, X)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-4)  # var / (var + 1e-6)
    # scale and bias act per feature
    params = {"scale": jnp.arange(1.0, 7.0), "bias": jnp.full((6,), 0.5)}
    y2 = model.apply({"params": params}, X)
    np.testing.assert_allclose(y2, y * params["scale"] + 0.5, rtol=1e-5, atol=1e-5)


def test_rms_norm_by_hand() -> None:
    model = nn.RMSNorm(epsilon=1e-3)
    variables = model.init(KEY, X)
    assert jax.tree.map(jnp.shape, variables) == {"params": {"scale": (6,)}}
    want = X / jnp.sqrt(jnp.mean(X**2, axis=-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(model.apply(variables, X), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("use_fast_variance", [True, False])
def test_group_norm_with_one_group_is_layer_norm(use_fast_variance: bool) -> None:
    """GroupNorm(num_groups=1) = LayerNorm over every axis but the batch, per channel."""
    group = nn.GroupNorm(num_groups=1, use_fast_variance=use_fast_variance)
    layer = nn.LayerNorm(reduction_axes=(1, 2, 3), feature_axes=-1)
    params = {"scale": normal(1, (6,)), "bias": normal(2, (6,))}
    assert jax.tree.map(jnp.shape, group.init(KEY, X)) == jax.tree.map(
        jnp.shape, {"params": params}
    )
    np.testing.assert_allclose(
        group.apply({"params": params}, X),
        layer.apply({"params": params}, X),
        rtol=1e-5,
        atol=1e-5,
    )


def test_group_norm_groups_by_hand() -> None:
    """Group g of channels is standardized over (spatial axes, its channels)."""
    y = nn.GroupNorm(num_groups=3, use_scale=False, use_bias=False).init_with_output(KEY, X)[0]
    for g in range(3):
        part = X[..., 2 * g : 2 * g + 2]
        mean = part.mean(axis=(1, 2, 3), keepdims=True)
        var = part.var(axis=(1, 2, 3), keepdims=True)
        np.testing.assert_allclose(
            y[..., 2 * g : 2 * g + 2], (part - mean) / jnp.sqrt(var + 1e-6), rtol=1e-4, atol=1e-5
        )
    # group_size=1 (InstanceNorm): every channel on its own
    y1 = nn.GroupNorm(num_groups=None, group_size=1).init_with_output(KEY, X)[0]
    np.testing.assert_allclose(y1.mean(axis=(1, 2)), 0.0, atol=1e-5)


norm_cases = st.sampled_from(
    [
        ("layer", {}),
        ("layer", {"reduction_axes": (1, 2), "feature_axes": (-2, -1)}),
        ("layer", {"use_bias": False, "use_fast_variance": False}),
        ("rms", {}),
        ("rms", {"reduction_axes": (-2, -1), "feature_axes": -1}),
        ("group", {"num_groups": 2}),
        ("group", {"num_groups": None, "group_size": 1, "use_scale": False}),
    ]
)
LAYERS = {"layer": nn.LayerNorm, "rms": nn.RMSNorm, "group": nn.GroupNorm}


@few(0.7)
@given(norm_cases, st.integers(0, 3))
def test_gradients(device, case, seed) -> None:  # type: ignore[no-untyped-def]
    kind, kwargs = case
    x = normal(seed, (2, 3, 4)) + 0.5
    model = LAYERS[kind](**kwargs)
    # Random (not 1 / 0) scale and bias, so their gradients are exercised in general.
    variables = fake_init(model, x, seed=seed)
    with on_device(device):
        check_layer_grads(model, variables, x)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.GroupNorm(num_groups=4), r"GroupNorm: num_groups=4 does not divide the 6 channels"),
        (nn.GroupNorm(num_groups=None, group_size=4), "6 channels.*not a multiple of group_s"),
        (nn.GroupNorm(num_groups=2, group_size=3), "exactly one of num_groups and group_size"),
        (nn.GroupNorm(num_groups=None), "exactly one of num_groups and group_size"),
        (nn.GroupNorm(num_groups=2, reduction_axes=(1, 2)), "must include the last axis"),
        (nn.LayerNorm(reduction_axes=4), "LayerNorm: axis 4 is out of range"),
        (nn.RMSNorm(feature_axes=(-5,)), "RMSNorm: axis -5 is out of range"),
    ],
)
def test_errors(model, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        model.init(KEY, X)
