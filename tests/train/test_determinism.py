"""Determinism: fresh processes with different hash seeds train to bitwise-equal params
(dropout included), and the jitted step equals the eager one."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as nn
from minijax import optim
from minijax.train import TrainState, make_train_step

REPO = Path(__file__).resolve().parents[2]

TRAIN = """
import sys
import jax, jax.numpy as jnp, numpy as np
import minijax.nn as nn
from minijax import optim
from minijax.train import TrainState, make_train_step

class MLP(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        x = nn.relu(nn.Dense(16)(x))
        x = nn.Dropout(0.3, deterministic=not train)(x)
        return nn.Dense(1)(x)

model = MLP()
x = jax.random.normal(jax.random.key(0), (32, 4))
y = x.sum(1, keepdims=True)
params = model.init(jax.random.key(1), x, train=False)["params"]
state = TrainState.create(apply_fn=model.apply, params=params, tx=optim.adam(1e-2))

def loss_fn(params, state, batch):
    key = jax.random.fold_in(jax.random.key(2), state.step)
    pred = state.apply_fn({"params": params}, batch[0], train=True, rngs={"dropout": key})
    return ((pred - batch[1]) ** 2).mean()

step = make_train_step(loss_fn)
for _ in range(20):
    state, _ = step(state, (x, y))
leaves = jax.tree.leaves(state.params)
np.save(sys.argv[1], np.concatenate([np.asarray(a).ravel().view(np.uint8) for a in leaves]))
"""


@pytest.mark.subprocess
def test_two_processes_with_different_hash_seeds_are_bitwise_equal(tmp_path):
    results = []
    for seed in ("0", "12345"):
        out = tmp_path / f"params_{seed}.npy"
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
        proc = subprocess.run(
            [sys.executable, "-c", TRAIN, str(out)], capture_output=True, text=True, env=env
        )
        assert proc.returncode == 0, proc.stderr
        results.append(np.load(out))
    assert results[0].size > 0
    np.testing.assert_array_equal(results[0], results[1])


def test_jit_equals_eager_with_dropout():
    model = nn.Sequential([nn.Dense(8), nn.relu, nn.Dropout(0.5, deterministic=False)])
    x = jax.random.normal(jax.random.key(0), (6, 3))
    params = model.init({"params": jax.random.key(1), "dropout": jax.random.key(2)}, x)["params"]
    state = TrainState.create(apply_fn=model.apply, params=params, tx=optim.sgd(0.1))

    def loss_fn(params, state, batch):
        key = jax.random.fold_in(jax.random.key(3), state.step)
        return jnp.mean(state.apply_fn({"params": params}, batch, rngs={"dropout": key}) ** 2)

    jitted, eager = make_train_step(loss_fn, donate=False), make_train_step(loss_fn, jit=False)
    a = b = state
    for _ in range(3):
        a, ma = jitted(a, x)
        b, mb = eager(b, x)
    np.testing.assert_allclose(ma["loss"], mb["loss"], rtol=1e-6)
    for u, v in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)
