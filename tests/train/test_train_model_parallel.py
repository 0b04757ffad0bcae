"""Model parallelism: the lm1b-shaped LM of examples/lm_model_parallel.py on a (2, 4) mesh.

Runs in a subprocess with 8 simulated CPU devices (the device count is fixed when jax
starts). Checks that the parameters are created in their shards, that the sharded
initialisation and one train step equal the single-device ones, and that the
activation constraints shard the logits.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import PartitionSpec as P
assert jax.device_count() == 8, jax.devices()
sys.path.insert(0, "examples")
import lm_model_parallel as lm
import minijax.nn as nn
import minijax.optim as optax

model, tx = lm.TransformerLM(lm.LMConfig()), optax.sgd(0.5, momentum=0.9)
mesh = lm.make_mesh(data=2, model=4)
key = jax.random.key(0)
state8, shardings = lm.sharded_state(key, model, tx, mesh)

# Created in shards: (vocab, embed) -> ('model', 'data'), a (16, 16) block per device;
# the momentum follows its parameter; the step count is replicated.
emb = state8.params["Embed_0"]["embedding"]
assert emb.sharding.spec == P("model", "data"), emb.sharding
assert {s.data.shape for s in emb.addressable_shards} == {(16, 16)}
trace = state8.opt_state[0].trace["Embed_0"]["embedding"]
assert trace.sharding.spec == P("model", "data"), trace.sharding
mlp = state8.params["encoderdecoderblock_1"]["MlpBlock_0"]["Dense_1"]["kernel"]
assert mlp.sharding.spec == P("model", "data"), mlp.sharding      # ('mlp', 'embed')
scale = state8.params["encoderdecoder_norm"]["scale"]
assert scale.sharding.spec == P("data"), scale.sharding            # ('embed',)
assert state8.step.sharding.is_fully_replicated

# nn.get_sharding on the abstract state, under the rules, gives the same shardings.
abstract = jax.eval_shape(lambda k: lm.create_state(k, model, tx), key)
with nn.logical_axis_rules(lm.RULES):
    direct = nn.get_sharding(abstract, mesh)
assert jax.tree.leaves(direct) == jax.tree.leaves(shardings)

# The sharded init equals the single-device init bit for bit (threefry is partitionable).
state1 = nn.unbox(jax.jit(lambda k: lm.create_state(k, model, tx))(key))
assert jax.tree.structure(state1) == jax.tree.structure(state8)
for a, b in zip(jax.tree.leaves(state1), jax.tree.leaves(state8)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

# One step on 8 devices equals the step on one device.
batch = lm.count_on_batch(jax.random.key(1), 16, 16, 64)
one, loss1 = jax.jit(lm.train_step)(state1, batch)
eight, loss8 = lm.sharded_train_step(mesh, shardings)(state8, batch)
np.testing.assert_allclose(float(loss8), float(loss1), rtol=1e-6)
moved = 0.0
for a, b, c in zip(jax.tree.leaves(one), jax.tree.leaves(eight), jax.tree.leaves(state8)):
    np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-6)
    moved = max(moved, float(np.max(np.abs(np.asarray(b, np.float64) - np.asarray(c)))))
assert moved > 1e-2, moved   # the step changed the params: the comparison is not vacuous
new_emb = eight.params["Embed_0"]["embedding"]
assert new_emb.sharding == emb.sharding, new_emb.sharding

# The activation constraints: the logits are (batch, length, vocab) -> ('data', None, 'model').
with jax.set_mesh(mesh), nn.logical_axis_rules(lm.RULES):
    logits = jax.jit(model.apply)({"params": eight.params}, batch)
assert logits.sharding.spec == P("data", None, "model"), logits.sharding
print("OK")
"""


@pytest.mark.subprocess
def test_lm_on_a_2x4_mesh_equals_one_device():
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JAX_PLATFORMS": "cpu",
        # Level 0 compiles about 3x faster; both sides of each comparison use it.
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8 --xla_backend_optimization_level=0",
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip().endswith("OK")


@pytest.mark.subprocess
def test_example_script_trains(tmp_path):
    # The script asks for 8 CPU devices itself.
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_backend_optimization_level=0"}
    proc = subprocess.run(
        [sys.executable, "examples/lm_model_parallel.py", "--steps", "30"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "P('model', 'data') shard (16, 16)" in out, out
    final = float(out.split("final loss:")[1].split()[0])
    assert final < 1.0, out   # uniform guessing is log(64) = 4.16
