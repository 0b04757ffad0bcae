"""The fused lax.scan loop equals the Python loop."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from minijax import data
from minijax.train import TrainState, scan_epoch, scan_repeat, scan_steps, train_step_fn


def apply_fn(variables, x):
    p = variables["params"]
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    return h @ p["w2"] + p["b2"]


def make_state():
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {
        "w1": jax.random.normal(k1, (1, 16)) * 0.5,
        "b1": jnp.zeros(16),
        "w2": jax.random.normal(k2, (16, 1)) * 0.5,
        "b2": jnp.zeros(1),
    }
    return TrainState.create(apply_fn=apply_fn, params=params, tx=optax.adam(1e-2))


def loss_fn(params, state, batch):
    x, y = batch
    pred = state.apply_fn({"params": params}, x)
    return jnp.mean((pred - y) ** 2), {"max_err": jnp.max(jnp.abs(pred - y))}


STEP = train_step_fn(loss_fn, has_aux=True)
DATA = data.sine(0, 100)


def _python_loop(state, batches):
    step = jax.jit(STEP)
    metrics = []
    host = jax.tree.map(np.asarray, batches)  # slice on the host: no eager jax op per index
    num = jax.tree.leaves(host)[0].shape[0]
    for i in range(num):
        state, m = step(state, jax.tree.map(lambda x, i=i: x[i], host))
        metrics.append(m)
    return state, jax.tree.map(lambda *xs: jnp.stack(xs), *metrics)


def _assert_close(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)


def test_scan_steps_equals_python_loop():
    batches = data.epoch_batches(DATA, 10, jax.random.key(3))
    assert jax.tree.leaves(batches)[0].shape == (10, 10, 1)
    fused_state, fused_metrics = scan_steps(STEP)(make_state(), batches)
    loop_state, loop_metrics = _python_loop(make_state(), batches)
    assert fused_metrics["loss"].shape == (10,)
    assert int(fused_state.step) == 10
    _assert_close(fused_state, loop_state)
    _assert_close(fused_metrics, loop_metrics)


def test_scan_repeat_full_batch():
    n = 25
    fused_state, metrics = scan_repeat(STEP, n)(make_state(), DATA)
    stacked = jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), DATA)
    loop_state, loop_metrics = _python_loop(make_state(), stacked)
    _assert_close(fused_state, loop_state)
    _assert_close(metrics, loop_metrics)
    assert metrics["loss"][-1] < metrics["loss"][0]


def test_scan_epoch_shuffles_like_the_loader():
    key = jax.random.key(7)
    loader = data.Loader(DATA, 16, shuffle=True, key=key, drop_last=True)
    run = scan_epoch(STEP, 16)
    state = make_state()
    loop_state = make_state()
    step = jax.jit(STEP)
    for epoch in range(2):
        state, metrics = run(state, DATA, loader.epoch_key(epoch))
        for batch in loader.epoch(epoch):
            loop_state, _ = step(loop_state, batch)
        assert metrics["loss"].shape == (100 // 16,)
    _assert_close(state, loop_state)


def test_scan_is_deterministic():
    batches = data.epoch_batches(DATA, 20, 0)
    run = scan_steps(STEP, donate=False)
    a, _ = run(make_state(), batches)
    b, _ = run(make_state(), batches)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_scan_repeat_rejects_zero_steps():
    with pytest.raises(ValueError, match="num_steps"):
        scan_repeat(STEP, 0)
