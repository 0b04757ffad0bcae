"""A5 hidden tests."""

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax.nn.normalization import compute_stats

RNG = np.random.default_rng(1)


def test_a5_1_conv_without_bias_and_grouped() -> None:
    x = RNG.normal(size=(2, 5, 5, 4)).astype(np.float32)
    layer = nn.Conv(6, (3, 3), use_bias=False, feature_group_count=2)
    v = layer.init(jax.random.key(0), x)
    assert set(v["params"]) == {"kernel"}, f"params {set(v['params'])} with use_bias=False"
    assert v["params"]["kernel"].shape == (3, 3, 2, 6), f"kernel {v['params']['kernel'].shape}"
    assert layer.apply(v, x).shape == (2, 5, 5, 6), "output shape"


def test_a5_1_conv_mask() -> None:
    x = RNG.normal(size=(1, 4, 1)).astype(np.float32)
    mask = jnp.zeros((2, 1, 1)).at[0].set(1.0)
    layer = nn.Conv(1, (2,), padding="VALID", mask=mask)
    v = layer.init(jax.random.key(0), x)
    k = np.asarray(v["params"]["kernel"])
    np.testing.assert_allclose(layer.apply(v, x)[0, :, 0], x[0, :3, 0] * k[0, 0, 0], rtol=1e-5,
                               err_msg="a masked kernel tap contributes nothing")


def test_a5_2_compute_stats() -> None:
    x = RNG.normal(loc=2.0, size=(3, 4, 5)).astype(np.float32)
    for fast in (True, False):
        mean, var = compute_stats(x, (0, 2), use_fast_variance=fast)
        np.testing.assert_allclose(mean, x.mean((0, 2)), rtol=1e-5, err_msg="mean")
        np.testing.assert_allclose(var, x.var((0, 2)), rtol=1e-4, err_msg=f"var, fast={fast}")
    _, ms = compute_stats(x, -1, use_mean=False)
    np.testing.assert_allclose(ms, (x**2).mean(-1), rtol=1e-5, err_msg="use_mean=False")


def test_a5_2_layernorm_scale_and_bias_params() -> None:
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    layer = nn.LayerNorm(epsilon=1e-3)
    v = layer.init(jax.random.key(0), x)
    v = {"params": {"scale": jnp.array([1.0, 2.0, 3.0]), "bias": jnp.array([0.0, 1.0, -1.0])}}
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(layer.apply(v, x), want * [1, 2, 3] + [0, 1, -1], rtol=1e-4,
                               atol=1e-5, err_msg="scale and bias")


def test_a5_3_batchnorm_init_and_eval() -> None:
    x = RNG.normal(loc=1.0, size=(8, 2)).astype(np.float32)
    layer = nn.BatchNorm(use_running_average=False)
    v = layer.init(jax.random.key(0), x)
    np.testing.assert_array_equal(v["batch_stats"]["mean"], np.zeros(2), err_msg="init mean")
    np.testing.assert_array_equal(v["batch_stats"]["var"], np.ones(2), err_msg="init var")
    stats = {"mean": jnp.array([1.0, -1.0]), "var": jnp.array([4.0, 1.0])}
    y = nn.BatchNorm(use_running_average=True, epsilon=0.0).apply(
        {"params": v["params"], "batch_stats": stats}, x)
    np.testing.assert_allclose(y, (x - [1.0, -1.0]) / [2.0, 1.0], rtol=1e-5, atol=1e-6,
                               err_msg="eval uses the running statistics")


def test_a5_4_dropout_deterministic_and_broadcast() -> None:
    x = jnp.ones((4, 50))
    np.testing.assert_array_equal(nn.Dropout(0.3).apply({}, x, deterministic=True), x,
                                  err_msg="deterministic dropout is the identity")
    y = np.asarray(nn.Dropout(0.3, broadcast_dims=(0,)).apply(
        {}, x, deterministic=False, rngs={"dropout": jax.random.key(1)}))
    assert (y == y[0]).all(), "broadcast_dims=(0,): one mask for every row"
    np.testing.assert_allclose(np.unique(y[y != 0]), [1 / 0.7], rtol=1e-6,
                               err_msg="kept entries are scaled by 1/(1 - rate)")
    z = np.asarray(nn.Dropout(0.3).apply({}, jnp.ones(1000), deterministic=False,
                                         rngs={"dropout": jax.random.key(2)}))
    assert 0.6 < (z != 0).mean() < 0.8, f"kept {(z != 0).mean():.2f} at rate 0.3, want ~0.7"


def test_a5_5_pool_padding_and_no_batch() -> None:
    x = RNG.normal(size=(5, 1)).astype(np.float32)
    y = nn.max_pool(x, (2,), (2,), padding="SAME")
    want = [x[0:2].max(), x[2:4].max(), x[4:5].max()]
    np.testing.assert_allclose(y[:, 0], want, err_msg="max_pool SAME, no batch axis")
    s = nn.pooling.pool(jnp.ones((2, 3, 1)), 0.0, jax.lax.add, (2,), (1,))
    np.testing.assert_allclose(s, 2 * np.ones((2, 2, 1)), err_msg="sum pool keeps the batch")


def test_a5_6_embed_two_dimensional_ids() -> None:
    layer = nn.Embed(4, 2)
    ids = jnp.array([[0, 1], [3, 3]])
    v = layer.init(jax.random.key(1), ids)
    out = layer.apply(v, ids)
    assert out.shape == (2, 2, 2), f"shape {out.shape}"
    np.testing.assert_array_equal(out[1, 0], v["params"]["embedding"][3], err_msg="row 3")
