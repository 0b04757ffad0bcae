"""A5 public tests: layers against NumPy."""

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn

RNG = np.random.default_rng(0)


def test_a5_1_conv_matches_numpy() -> None:
    x = RNG.normal(size=(1, 6, 2)).astype(np.float32)
    layer = nn.Conv(3, kernel_size=(3,), padding="VALID", bias_init=nn.initializers.normal(1.0))
    v = layer.init(jax.random.key(0), x)
    k, b = np.asarray(v["params"]["kernel"]), np.asarray(v["params"]["bias"])
    assert k.shape == (3, 2, 3), f"kernel shape {k.shape}, want (3, 2, 3)"
    want = np.stack([np.einsum("wi,wio->o", x[0, i:i + 3], k) for i in range(4)])[None] + b
    np.testing.assert_allclose(layer.apply(v, x), want, rtol=1e-5, atol=1e-5,
                               err_msg="Conv(3, (3,), VALID)")


def test_a5_2_layernorm_normalizes() -> None:
    x = RNG.normal(loc=3.0, scale=2.0, size=(4, 8)).astype(np.float32)
    layer = nn.LayerNorm()
    y = np.asarray(layer.apply(layer.init(jax.random.key(0), x), x))
    np.testing.assert_allclose(y.mean(-1), np.zeros(4), atol=1e-5, err_msg="mean per row")
    np.testing.assert_allclose(y.var(-1), np.ones(4), rtol=1e-3, err_msg="variance per row")


def test_a5_3_batchnorm_updates_the_running_average() -> None:
    x = RNG.normal(loc=1.0, size=(16, 3)).astype(np.float32)
    layer = nn.BatchNorm(use_running_average=False, momentum=0.9)
    v = layer.init(jax.random.key(0), x)
    _, new = layer.apply(v, x, mutable=["batch_stats"])
    np.testing.assert_allclose(new["batch_stats"]["mean"], 0.1 * x.mean(0), rtol=1e-5,
                               atol=1e-6, err_msg="running mean after one step")
    np.testing.assert_allclose(new["batch_stats"]["var"], 0.9 + 0.1 * x.var(0), rtol=1e-5,
                               err_msg="running var after one step")


def test_a5_4_dropout_zeroes_or_rescales() -> None:
    x = jnp.ones((200,))
    y = np.asarray(nn.Dropout(0.5).apply({}, x, deterministic=False,
                                         rngs={"dropout": jax.random.key(0)}))
    assert set(np.unique(y).tolist()) <= {0.0, 2.0}, f"values {np.unique(y)}, want 0 or 2"
    assert 60 < (y == 0).sum() < 140, f"{(y == 0).sum()} of 200 dropped at rate 0.5"


def test_a5_5_max_and_avg_pool() -> None:
    x = RNG.normal(size=(1, 4, 4, 1)).astype(np.float32)
    blocks = x[0, :, :, 0].reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    np.testing.assert_allclose(nn.max_pool(x, (2, 2), (2, 2))[0, :, :, 0], blocks.max(-1),
                               err_msg="max_pool 2x2 stride 2")
    np.testing.assert_allclose(nn.avg_pool(x, (2, 2), (2, 2))[0, :, :, 0], blocks.mean(-1),
                               rtol=1e-6, err_msg="avg_pool 2x2 stride 2")


def test_a5_6_embed_returns_rows() -> None:
    layer = nn.Embed(5, 3)
    ids = jnp.array([4, 0, 4])
    v = layer.init(jax.random.key(0), ids)
    table = np.asarray(v["params"]["embedding"])
    np.testing.assert_array_equal(layer.apply(v, ids), table[[4, 0, 4]], err_msg="rows")
