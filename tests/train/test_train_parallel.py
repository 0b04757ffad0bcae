"""Data parallelism: a plain jitted step on a mesh of 8 simulated CPU devices."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp
import pytest

from minijax.train import parallel

REPO = Path(__file__).resolve().parents[2]


def test_one_device_mesh_in_process():
    mesh = parallel.make_data_mesh(1)
    assert mesh.axis_names == ("data",) and mesh.shape["data"] == 1
    batch = {"x": jnp.ones((4, 3))}
    sharded = parallel.shard_batch(batch, mesh)
    assert sharded["x"].sharding.spec == parallel.data_sharding(mesh).spec
    replicated = parallel.replicate({"w": jnp.ones(3)}, mesh)
    assert replicated["w"].sharding.is_fully_replicated
    with pytest.raises(ValueError, match="num_devices=99"):
        parallel.make_data_mesh(99)
    with pytest.raises(ValueError, match="scalar"):
        parallel.shard_batch({"n": jnp.float32(1.0)}, mesh)


EIGHT = """
import jax, jax.numpy as jnp, numpy as np, optax
assert jax.device_count() == 8, jax.devices()
from minijax.random import KeyManager
from minijax.train import TrainState, make_train_step, parallel, scan_steps, train_step_fn
from minijax import data

def apply_fn(variables, x):
    p = variables["params"]
    return jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"]

def loss_fn(params, state, batch):
    x, y = batch
    pred = state.apply_fn({"params": params}, x)
    return jnp.mean((pred - y) ** 2), {"mae": jnp.mean(jnp.abs(pred - y))}

def fresh():
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"w1": jax.random.normal(k1, (2, 32)), "b1": jnp.zeros(32),
              "w2": jax.random.normal(k2, (32, 1))}
    return TrainState.create(apply_fn=apply_fn, params=params, tx=optax.adam(1e-2))

x, y = data.two_moons(0, 64)
batch = (x, y[:, None].astype(jnp.float32))
step = make_train_step(loss_fn, has_aux=True)

single, m1 = step(fresh(), batch)                        # one device

mesh = parallel.make_data_mesh()
assert mesh.shape["data"] == 8
state = parallel.replicate(fresh(), mesh)
sharded = parallel.shard_batch(batch, mesh)
shards = sharded[0].addressable_shards
assert len(shards) == 8 and shards[0].data.shape == (8, 2)
multi, m8 = step(state, sharded)                          # the same jitted step, 8 devices
assert multi.params["w1"].sharding.is_fully_replicated, multi.params["w1"].sharding

for a, b in zip(jax.tree.leaves((single, m1)), jax.tree.leaves((multi, m8))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)

# a fused scan over sharded batches works the same way
batches = data.epoch_batches(batch, 16, jax.random.key(1))
from jax.sharding import NamedSharding, PartitionSpec as P
stacked = jax.device_put(batches, NamedSharding(mesh, P(None, "data")))
run = scan_steps(train_step_fn(loss_fn, has_aux=True), donate=False)
fs, fm = run(parallel.replicate(fresh(), mesh), stacked)
ss, sm = run(fresh(), batches)
for a, b in zip(jax.tree.leaves((fs, fm)), jax.tree.leaves((ss, sm))):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)

try:
    parallel.shard_batch((x[:60], y[:60]), mesh)
except ValueError as e:
    msg = str(e)
    assert "[0] has 60 examples, not divisible by the 8 devices" in msg, msg
else:
    raise AssertionError("no error for 60 examples on 8 devices")
assert parallel.make_data_mesh(4).shape["data"] == 4
print("OK")
"""


@pytest.mark.subprocess
def test_eight_devices_equal_one_device():
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(EIGHT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().endswith("OK")
