"""BatchNorm: statistics, running averages, train vs eval, init, gradients in train mode."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings

import minijax.nn as nn
from minijax.testing import check_grads, on_device

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (16, 3)) * 2.0 + 1.0


def test_train_normalizes_and_updates_running_stats() -> None:
    bn = nn.BatchNorm(use_running_average=False)
    v = bn.init(KEY, X)
    assert jax.tree.map(jnp.shape, v) == {
        "params": {"scale": (3,), "bias": (3,)},
        "batch_stats": {"mean": (3,), "var": (3,)},
    }
    # init does not move the running statistics
    np.testing.assert_array_equal(v["batch_stats"]["mean"], 0)
    np.testing.assert_array_equal(v["batch_stats"]["var"], 1)
    y, upd = bn.apply(v, X, mutable=["batch_stats"])
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), X.var(0) / (X.var(0) + 1e-5), rtol=1e-4)
    np.testing.assert_allclose(upd["batch_stats"]["mean"], 0.01 * X.mean(0), rtol=1e-5)
    np.testing.assert_allclose(upd["batch_stats"]["var"], 0.99 + 0.01 * X.var(0), rtol=1e-5)


def test_eval_uses_running_stats() -> None:
    v = nn.BatchNorm(use_running_average=False).init(KEY, X)
    stats = {"mean": jnp.array([1.0, 2.0, 3.0]), "var": jnp.array([4.0, 1.0, 0.25])}
    v = {"params": v["params"], "batch_stats": stats}
    y = nn.BatchNorm(use_running_average=True).apply(v, X)
    np.testing.assert_allclose(y, (X - stats["mean"]) / jnp.sqrt(stats["var"] + 1e-5), rtol=1e-5)
    # the call argument works the same, and eval never writes
    y2 = nn.BatchNorm().apply(v, X, use_running_average=True)
    np.testing.assert_array_equal(y, y2)


def test_axis_momentum_and_no_scale_bias() -> None:
    x = jax.random.normal(KEY, (4, 5, 6))
    bn = nn.BatchNorm(
        use_running_average=False, axis=1, momentum=0.9, use_scale=False, use_bias=False
    )
    v = bn.init(KEY, x)
    assert "params" not in v and v["batch_stats"]["mean"].shape == (5,)
    y, upd = bn.apply(v, x, mutable=True)
    np.testing.assert_allclose(y.mean((0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(upd["batch_stats"]["mean"], 0.1 * x.mean((0, 2)), rtol=1e-5)


def test_variance_is_clipped_at_zero() -> None:
    x = jnp.full((8, 2), 3.0)
    bn = nn.BatchNorm(use_running_average=False)
    y, _ = bn.apply(bn.init(KEY, x), x, mutable=["batch_stats"])
    assert np.all(np.isfinite(y))


@settings(max_examples=5)
@given(
    shape=st.sampled_from([(4, 2), (3, 2, 2)]),
    axis=st.sampled_from([-1, 1]),
)
def test_gradients_train_mode(device, shape, axis) -> None:  # type: ignore[no-untyped-def]
    with on_device(device):
        bn = nn.BatchNorm(use_running_average=False, axis=axis)
        x = jax.random.normal(jax.random.key(2), shape)
        v = bn.init(KEY, x)
        params = jax.tree.map(lambda p: p + 0.3, v["params"])  # away from scale=1, bias=0

        def f(p, x):  # type: ignore[no-untyped-def]
            y, upd = bn.apply(
                {"params": p, "batch_stats": v["batch_stats"]}, x, mutable=["batch_stats"]
            )
            return y, upd["batch_stats"]

        check_grads(f, (params, x))
