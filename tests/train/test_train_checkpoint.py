"""Checkpoints: round trips, every restore error, corruption, atomicity, exact resume."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import minijax
from minijax.random import KeyManager
from minijax.train import TrainState, checkpoint
from minijax.train.checkpoint import (
    CheckpointExistsError,
    CheckpointMismatchError,
    CorruptCheckpointError,
)

REPO = Path(__file__).resolve().parents[2]


def apply_fn(variables, x):
    return x @ variables["params"]["w"]


def make_state(seed=0, tx=None):
    params = {"w": jax.random.normal(jax.random.key(seed), (3, 2)), "b": jnp.zeros(2)}
    return TrainState.create(apply_fn=apply_fn, params=params, tx=tx or optax.adam(1e-3))


def trained_state():
    state = make_state()
    grads = jax.tree.map(jnp.ones_like, state.params)
    for _ in range(3):
        state = state.apply_gradients(grads=grads)
    return state


def assert_trees_equal(a, b):
    """Same paths, types, dtypes, shapes and bytes (static fields may differ)."""
    la, lb = jax.tree_util.tree_leaves_with_path(a), jax.tree_util.tree_leaves_with_path(b)
    assert [p for p, _ in la] == [p for p, _ in lb]
    assert type(a) is type(b)
    for (_, x), (_, y) in zip(la, lb, strict=True):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            assert jax.random.key_impl(x) == jax.random.key_impl(y)
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_round_trip_train_state_and_key_manager(tmp_path):
    state = trained_state()
    rngs = KeyManager.create(jax.random.key(7), streams=("dropout", "shuffle"))
    _, rngs = rngs.next("dropout")
    path = checkpoint.save(tmp_path, (state, rngs), step=int(state.step))
    assert path == tmp_path / "step_00000003"
    target = (make_state(seed=1), KeyManager.create(0, streams=("dropout", "shuffle")))
    restored_state, restored_rngs = checkpoint.restore(tmp_path, target)
    assert_trees_equal((restored_state, restored_rngs), (state, rngs))
    # static fields come from the target; the restored state trains on
    assert restored_state.tx is target[0].tx and restored_state.apply_fn is apply_fn
    assert int(restored_state.apply_gradients(grads=state.params).step) == 4
    # the next key drawn after restoring is the one the original would have drawn
    k1, _ = rngs.next("dropout")
    k2, _ = restored_rngs.next("dropout")
    np.testing.assert_array_equal(jax.random.key_data(k1), jax.random.key_data(k2))


def test_prng_impls_raw_keys_and_dtypes(tmp_path):
    tree = {
        "fry": jax.random.key(1),
        "rbg": jax.random.key(2, impl="rbg"),
        "raw": jax.random.PRNGKey(3),
        "bf16": jnp.arange(4, dtype=jnp.bfloat16),
        "i8": jnp.arange(3, dtype=jnp.int8),
        "bool": jnp.array([True, False]),
        "scalar": 2.5,
        "none": None,
    }
    checkpoint.save(tmp_path, tree, step=0)
    manifest = checkpoint.read_manifest(tmp_path)
    by_path = {e["path"]: e for e in manifest["leaves"]}
    assert by_path["['fry']"]["prng_impl"] == "threefry2x32"
    assert by_path["['rbg']"]["prng_impl"] == "rbg"
    assert "prng_impl" not in by_path["['raw']"]
    assert by_path["['bf16']"]["dtype"] == "bfloat16"
    assert "['none']" not in by_path
    restored = checkpoint.restore(tmp_path, tree)
    assert restored["none"] is None
    assert_trees_equal(
        {k: v for k, v in restored.items() if k != "scalar"},
        {k: v for k, v in tree.items() if k != "scalar"},
    )
    assert float(restored["scalar"]) == 2.5


def test_manifest_contents(tmp_path):
    state = trained_state()
    checkpoint.save(tmp_path, state, metadata={"note": "hi"})  # step from state.step
    m = json.loads((tmp_path / "step_00000003" / "manifest.json").read_text())
    assert m["step"] == 3 and m["minijax_version"] == minijax.__version__
    assert m["metadata"] == {"note": "hi"}
    paths = [e["path"] for e in m["leaves"]]
    assert ".step" in paths and ".params['w']" in paths
    assert any(p.startswith(".opt_state") for p in paths)
    w = next(e for e in m["leaves"] if e["path"] == ".params['w']")
    assert w["shape"] == [3, 2] and w["dtype"] == "float32" and len(w["sha256"]) == 64


def test_restore_into_abstract_target(tmp_path):
    state = trained_state()
    checkpoint.save(tmp_path, state)
    abstract = jax.eval_shape(lambda: make_state())
    assert_trees_equal(checkpoint.restore(tmp_path, abstract), state)


def test_latest_step_all_steps_max_to_keep(tmp_path):
    assert checkpoint.latest_step(tmp_path) is None
    assert checkpoint.latest_step(tmp_path / "nothing") is None
    tree = {"x": jnp.zeros(2)}
    for step in (1, 5, 3, 10):
        checkpoint.save(tmp_path, {"x": jnp.full(2, float(step))}, step=step)
    assert checkpoint.all_steps(tmp_path) == [1, 3, 5, 10]
    assert checkpoint.latest_step(tmp_path) == 10
    assert float(checkpoint.restore(tmp_path, tree, step=5)["x"][0]) == 5
    assert float(checkpoint.restore(tmp_path, tree)["x"][0]) == 10
    checkpoint.save(tmp_path, tree, step=11, max_to_keep=2)
    assert checkpoint.all_steps(tmp_path) == [10, 11]
    manager = checkpoint.CheckpointManager(tmp_path / "m", max_to_keep=3)
    for step in range(5):
        manager.save(tree, step=step)
    assert manager.all_steps() == [2, 3, 4] and manager.latest_step() == 4
    with pytest.raises(FileNotFoundError, match="saved steps"):
        checkpoint.restore(tmp_path, tree, step=2)
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        checkpoint.restore(tmp_path / "empty", tree)


def test_never_overwrites_silently(tmp_path):
    checkpoint.save(tmp_path, {"x": jnp.zeros(2)}, step=1)
    with pytest.raises(CheckpointExistsError, match="step 1 already exists"):
        checkpoint.save(tmp_path, {"x": jnp.ones(2)}, step=1)
    assert float(checkpoint.restore(tmp_path, {"x": jnp.zeros(2)})["x"][0]) == 0.0
    checkpoint.save(tmp_path, {"x": jnp.ones(2)}, step=1, overwrite=True)
    assert float(checkpoint.restore(tmp_path, {"x": jnp.zeros(2)})["x"][0]) == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000001"]


# --- restore errors -------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    tree = {"a": jnp.zeros((2, 3)), "b": {"c": jnp.arange(4, dtype=jnp.int32)}}
    checkpoint.save(tmp_path, tree, step=0)
    return tmp_path, tree


def test_error_missing_path(saved):
    d, tree = saved
    target = {**tree, "new": jnp.zeros(1)}
    with pytest.raises(CheckpointMismatchError, match=r"\['new'\]: in the target but missing"):
        checkpoint.restore(d, target)


def test_error_extra_path(saved):
    d, tree = saved
    with pytest.raises(CheckpointMismatchError) as e:
        checkpoint.restore(d, {"a": tree["a"]})
    assert "['b']['c']: in the checkpoint (shape (4,), dtype int32) but not in the target" in str(
        e.value
    )


def test_error_shape(saved):
    d, tree = saved
    with pytest.raises(CheckpointMismatchError) as e:
        checkpoint.restore(d, {**tree, "a": jnp.zeros((3, 2))})
    assert "['a']: shape (2, 3) in the checkpoint, (3, 2) in the target" in str(e.value)


def test_error_dtype(saved):
    d, tree = saved
    with pytest.raises(CheckpointMismatchError) as e:
        checkpoint.restore(d, {**tree, "b": {"c": jnp.arange(4, dtype=jnp.float32)}})
    assert "['b']['c']: dtype int32 in the checkpoint, float32 in the target" in str(e.value)


def test_error_lists_every_problem(saved):
    d, _ = saved
    with pytest.raises(CheckpointMismatchError, match="4 problems") as e:
        checkpoint.restore(d, {"a": jnp.zeros(1, jnp.int32), "z": jnp.zeros(1)})
    msg = str(e.value)
    assert "['z']" in msg and "['b']['c']" in msg and "['a']: shape" in msg
    assert "['a']: dtype float32 in the checkpoint, int32 in the target" in msg


def test_error_key_kind(tmp_path):
    checkpoint.save(tmp_path, {"k": jax.random.key(0)}, step=0)
    with pytest.raises(CheckpointMismatchError, match=r"typed PRNG key .threefry2x32.*plain array"):
        checkpoint.restore(tmp_path, {"k": jax.random.PRNGKey(0)})
    with pytest.raises(CheckpointMismatchError, match=r"threefry2x32.*rbg"):
        checkpoint.restore(tmp_path, {"k": jax.random.key(0, impl="rbg")})


def test_error_optimizer_changed(tmp_path):
    checkpoint.save(tmp_path, make_state(tx=optax.adam(1e-3)))
    with pytest.raises(CheckpointMismatchError, match="opt_state"):
        checkpoint.restore(tmp_path, make_state(tx=optax.sgd(0.1, momentum=0.9)))


def test_corrupted_file_is_named(saved):
    d, tree = saved
    manifest = checkpoint.read_manifest(d)
    entry = next(e for e in manifest["leaves"] if e["path"] == "['b']['c']")
    file = d / "step_00000000" / entry["file"]
    raw = bytearray(file.read_bytes())
    raw[-1] ^= 0xFF
    file.write_bytes(bytes(raw))
    with pytest.raises(
        CorruptCheckpointError, match=rf"{entry['file']} \(leaf \['b'\]\['c'\]\) is corrupted"
    ):
        checkpoint.restore(d, tree)
    file.unlink()
    with pytest.raises(CorruptCheckpointError, match=f"Cannot read .*{entry['file']}"):
        checkpoint.restore(d, tree)


def test_corrupted_manifest(saved):
    d, tree = saved
    (d / "step_00000000" / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptCheckpointError, match="manifest"):
        checkpoint.restore(d, tree, step=0)


def test_failed_save_leaves_nothing_behind(tmp_path, monkeypatch):
    checkpoint.save(tmp_path, {"x": jnp.zeros(2)}, step=1)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save(tmp_path, {"x": jnp.ones(2)}, step=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000001"]


# --- in other processes ---------------------------------------------------------------


def _run(code: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


RESUME = """
import sys, jax, jax.numpy as jnp, numpy as np, optax
from minijax.random import KeyManager
from minijax.train import TrainState, checkpoint, make_train_step

mode, ckpt_dir, out = sys.argv[1], sys.argv[2], sys.argv[3]
N, K = 12, 5

class DropoutState(TrainState):
    rngs: KeyManager

def apply_fn(variables, x, key):
    p = variables["params"]
    h = jnp.tanh(x @ p["w1"] + p["b1"])
    h = jnp.where(jax.random.bernoulli(key, 0.8, h.shape), h / 0.8, 0.0)
    return h @ p["w2"]

def loss_fn(params, state, batch):
    key = state.rngs.fold_in(state.step).peek("dropout")
    pred = state.apply_fn({"params": params}, batch[0], key)
    return jnp.mean((pred - batch[1]) ** 2)

def fresh():
    k1, k2 = jax.random.split(jax.random.key(0))
    params = {"w1": jax.random.normal(k1, (2, 8)), "b1": jnp.zeros(8),
              "w2": jax.random.normal(k2, (8, 1))}
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    return DropoutState.create(apply_fn=apply_fn, params=params, tx=tx,
                               rngs=KeyManager.create(1, streams=("dropout", "data")))

def batch_at(rngs):
    key, rngs = rngs.next("data")
    x = jax.random.normal(key, (16, 2))
    return (x, x.sum(1, keepdims=True)), rngs

step = make_train_step(loss_fn)
def train(state, data_rngs, n):
    for _ in range(n):
        batch, data_rngs = batch_at(data_rngs)
        state, _ = step(state, batch)
    return state, data_rngs

if mode == "first":
    state, data_rngs = train(fresh(), KeyManager.create(2, streams=("data",)), K)
    checkpoint.save(ckpt_dir, (state, data_rngs), step=int(state.step))
else:
    target = (fresh(), KeyManager.create(9, streams=("data",)))
    state, data_rngs = checkpoint.restore(ckpt_dir, target)
    assert int(state.step) == K
state, data_rngs = train(state, data_rngs, N - int(state.step))
leaves = jax.tree.leaves(state.params)
np.save(out, np.concatenate([np.asarray(x).ravel().view(np.uint8) for x in leaves]))
"""


@pytest.mark.subprocess
def test_resume_in_a_new_process_is_bitwise_exact(tmp_path):
    code = RESUME
    straight, resumed = tmp_path / "straight.npy", tmp_path / "resumed.npy"
    _run(code, "first", str(tmp_path / "ckpt"), str(straight))  # K steps, save, then N-K more
    assert checkpoint.latest_step(tmp_path / "ckpt") == 5
    _run(code, "resume", str(tmp_path / "ckpt"), str(resumed))  # restore, N-K more
    a, b = np.load(straight), np.load(resumed)
    assert a.size > 0 and a.tobytes() == b.tobytes()


CRASH = """
import os, signal, sys
import jax.numpy as jnp, numpy as np
from minijax.train import checkpoint

ckpt_dir, how = sys.argv[1], sys.argv[2]
small = {"w": jnp.arange(10.0)}
checkpoint.save(ckpt_dir, small, step=1)
big = {f"layer_{i}": np.full((256, 1024), i, np.float32) for i in range(24)}  # 24 MiB
if how == "replace":      # die exactly when the finished temp dir would be renamed
    os.replace = lambda *a, **k: os._exit(3)
    checkpoint.save(ckpt_dir, big, step=2)
elif how == "overwrite":  # die between moving the old step aside and renaming the new one
    real = os.replace
    calls = []
    def replace(src, dst):
        calls.append(src)
        real(src, dst)
        if len(calls) == 1:
            os._exit(4)
    os.replace = replace
    checkpoint.save(ckpt_dir, {"w": jnp.zeros(10)}, step=1, overwrite=True)
else:                     # SIGKILL in the middle of writing the leaves
    real_fsync, count = os.fsync, [0]
    def fsync(fd):
        count[0] += 1
        if count[0] == 10:
            os.kill(os.getpid(), signal.SIGKILL)
        real_fsync(fd)
    os.fsync = fsync
    checkpoint.save(ckpt_dir, big, step=2)
print("not reached")
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("how", ["sigkill", "replace", "overwrite"])
def test_crash_mid_save_keeps_previous_checkpoint(tmp_path, how):
    d = tmp_path / "ckpt"
    proc = _run(CRASH, str(d), how, check=False)
    assert "not reached" not in proc.stdout
    assert proc.returncode != 0, proc.stderr
    if how != "overwrite":
        assert any(".ckpt.tmp-" in p.name for p in d.iterdir())  # the half-written save
    assert checkpoint.latest_step(d) == 1
    restored = checkpoint.restore(d, {"w": jnp.zeros(10)})
    np.testing.assert_array_equal(restored["w"], np.arange(10.0))  # the OLD step 1
    # the next save cleans up the dead temporary directory
    checkpoint.save(d, {"w": jnp.ones(10)}, step=3)
    assert sorted(p.name for p in d.iterdir()) == ["step_00000001", "step_00000003"]
