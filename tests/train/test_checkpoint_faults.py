"""Checkpoint faults: SIGKILL at every phase, concurrent writers, a full disk, a read-only
directory, a hand-edited manifest. Nothing confirmed is ever lost; a listed step always
restores. More trials: ``python tools/checkpoint_faults.py --trials 200``."""

import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from minijax.train import checkpoint
from minijax.train.checkpoint import (
    CheckpointExistsError,
    CheckpointWriteError,
    CorruptCheckpointError,
    UnsavableLeafError,
)

REPO = Path(__file__).resolve().parents[2]
_TOOL = REPO / "tools" / "checkpoint_faults.py"
_spec = importlib.util.spec_from_file_location("checkpoint_faults", _TOOL)
assert _spec is not None and _spec.loader is not None
faults = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(faults)


def one_per_phase(traced):
    """A kill point in the middle of each phase: writing, renaming, overwriting, deleting."""
    points = []
    for phase in ("write", "publish", "overwrite", "delete"):
        calls = [i + 1 for i, p in enumerate(traced) if p == phase]
        assert calls, f"the plan has no {phase} phase"
        points.append(calls[len(calls) // 2])
    first_delete = next(i + 1 for i, p in enumerate(traced) if p == "delete")
    return [*points, first_delete + 1]  # just after the rename out of the listed names


@pytest.mark.subprocess
def test_sigkill_in_every_phase_loses_nothing():
    report = faults.sigkill_trials(0, kill_points=one_per_phase)
    assert report["violations"] == []
    assert report["trials"] == 5
    assert set(report["kills_by_phase"]) == {"write", "publish", "overwrite", "delete"}


@pytest.mark.subprocess
def test_sigkill_at_random_calls():
    report = faults.sigkill_trials(3, seed=1)
    assert report["violations"] == [] and report["lost_confirmed"] == 0
    assert sum(report["kills_by_phase"].values()) == 3


@pytest.mark.subprocess
def test_concurrent_writers_of_one_step_exactly_one_wins():
    report = faults.concurrent_trials(1, writers=4)
    assert report["violations"] == []
    assert (report["successes"], report["exists_errors"]) == (1, 3)


def test_the_invariant_checker_sees_a_listed_but_broken_step(tmp_path):
    checkpoint.save(tmp_path, faults.tree(1, 0), step=1)
    checkpoint.save(tmp_path, faults.tree(2, 0), step=2)
    # what a non-atomic deletion killed half-way leaves: listed, a leaf file gone
    next((tmp_path / "step_00000001").glob("leaf_*.npy")).unlink()
    problems = faults.check_directory(tmp_path, [(1, 0), (2, 0)])
    assert any("step 1 is listed but does not restore" in p for p in problems)


def test_max_to_keep_deletion_renames_first(tmp_path, monkeypatch):
    for step in (1, 2):
        checkpoint.save(tmp_path, {"x": jnp.full(3, float(step))}, step=step)
    seen = []
    real_rmtree = shutil.rmtree

    def rmtree(path, *args, **kwargs):  # what is listed while the files are removed
        seen.append((Path(path).name, checkpoint.all_steps(tmp_path)))
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    checkpoint.save(tmp_path, {"x": jnp.zeros(3)}, step=3, max_to_keep=2)
    [(name, listed)] = [s for s in seen if ".ckpt.del-" in s[0]]
    assert name.startswith("step_00000001.ckpt.del-") and listed == [2, 3]


def test_overwrite_false_is_checked_by_the_rename(tmp_path, monkeypatch):
    """Another writer publishes the step after the first check: this save must not win."""
    real = checkpoint._publish
    other = tmp_path / "other"

    def publish(directory, tmp, final, step, overwrite):
        monkeypatch.setattr(checkpoint, "_publish", real)
        os.rename(checkpoint.save(other, np.ones(2), step=5), final)  # the other writer
        real(directory, tmp, final, step, overwrite)

    monkeypatch.setattr(checkpoint, "_publish", publish)
    d = tmp_path / "ckpt"
    with pytest.raises(CheckpointExistsError, match=r"step 5 already exists.*overwrite=True"):
        checkpoint.save(d, jnp.zeros(2), step=5)
    np.testing.assert_array_equal(checkpoint.restore(d, np.zeros(2), step=5), np.ones(2))
    assert [p.name for p in d.iterdir()] == ["step_00000005"]


def test_full_disk_patched_write(tmp_path, monkeypatch):
    checkpoint.save(tmp_path, {"x": jnp.arange(4.0)}, step=1)
    real, calls = checkpoint._write_file, []

    def write(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path, data)

    monkeypatch.setattr(checkpoint, "_write_file", write)
    with pytest.raises(CheckpointWriteError) as e:
        checkpoint.save(tmp_path, {"x": jnp.ones(4), "y": jnp.ones(2)}, step=2)
    msg = str(e.value)
    assert "step 2" in msg and "step_00000002" in msg and "No space left" in msg
    assert "free space" in msg and "intact (latest: step 1)" in msg
    assert e.value.errno == errno.ENOSPC and isinstance(e.value, OSError)
    monkeypatch.undo()
    assert checkpoint.all_steps(tmp_path) == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000001"]  # no temp dir left
    restored = checkpoint.restore(tmp_path, {"x": jnp.zeros(4)})
    np.testing.assert_array_equal(restored["x"], np.arange(4.0))


def test_read_only_directory(tmp_path, monkeypatch):
    checkpoint.save(tmp_path, {"x": jnp.arange(3.0)}, step=1)
    if os.geteuid() != 0:  # a real read-only directory (root may write anyway)
        tmp_path.chmod(0o555)
    else:
        real_mkdir = os.mkdir

        def mkdir(path, *args, **kwargs):
            if ".ckpt.tmp-" in str(path):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            real_mkdir(path, *args, **kwargs)

        monkeypatch.setattr(os, "mkdir", mkdir)
    try:
        with pytest.raises(CheckpointWriteError, match=r"step 2 .*step_00000002.*Permission"):
            checkpoint.save(tmp_path, {"x": jnp.zeros(3)}, step=2)
    finally:
        tmp_path.chmod(0o755)
        monkeypatch.undo()
    restored = checkpoint.restore(tmp_path, {"x": jnp.zeros(3)})
    np.testing.assert_array_equal(restored["x"], np.arange(3.0))


REAL_DISK = """
import errno, json, os, subprocess, sys
import numpy as np
from minijax.train import checkpoint
d, out = sys.argv[1], {}
checkpoint.save(d, {"x": np.arange(1000.0)}, step=1)
try:
    checkpoint.save(d, {"x": np.zeros((400, 1024))}, step=2)  # 3.2 MB on a 1 MB disk
except checkpoint.CheckpointWriteError as e:
    out["full"] = [e.errno == errno.ENOSPC, str(e)]
out["after_full"] = [checkpoint.all_steps(d), sorted(os.listdir(d))]
subprocess.run(["mount", "-o", "remount,ro", d], check=True)
try:
    checkpoint.save(d, {"x": np.zeros(3)}, step=3)
except checkpoint.CheckpointWriteError as e:
    out["ro"] = [e.errno == errno.EROFS, str(e)]
restored = checkpoint.restore(d, {"x": np.zeros(1000)}, step=1)
out["restored"] = restored["x"].tolist() == list(range(1000))
print(json.dumps(out))
"""


@pytest.mark.subprocess
def test_real_full_disk_and_read_only_tmpfs(tmp_path):
    """A 1 MB tmpfs in a private mount namespace (skipped where unshare is not allowed)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1)")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    (tmp_path / "child.py").write_text(textwrap.dedent(REAL_DISK))
    cmd = f"mount -t tmpfs -o size=1m tmpfs {mnt} && {sys.executable} {tmp_path / 'child.py'} {mnt}"
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs tmpfs {mnt}"])
    if probe.returncode != 0:
        pytest.skip("mounting a tmpfs in a user namespace is not allowed here")
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    ok, msg = out["full"]
    assert ok and "step 2" in msg and "free space" in msg and "latest: step 1" in msg
    assert out["after_full"] == [[1], ["step_00000001"]]
    ok, msg = out["ro"]
    assert ok and "step 3" in msg and "Read-only" in msg and "a directory you can write to" in msg
    assert out["restored"] is True


def test_hand_edited_manifest_is_refused(tmp_path):
    checkpoint.save(tmp_path, {"a": jnp.zeros(2), "b": jnp.ones(2)}, step=0)
    file = tmp_path / "step_00000000" / "manifest.json"
    m = json.loads(file.read_text())
    a, b = m["leaves"]
    for key in ("file", "sha256"):  # swap the two leaves' files and their checksums
        a[key], b[key] = b[key], a[key]
    file.write_text(json.dumps(m))
    with pytest.raises(CorruptCheckpointError, match=r"fails its own checksum.*edited"):
        checkpoint.restore(tmp_path, {"a": jnp.zeros(2), "b": jnp.zeros(2)})


def test_string_leaf_names_the_path_and_metadata(tmp_path):
    with pytest.raises(UnsavableLeafError, match=r"\['config'\]\['name'\] is str.*metadata="):
        checkpoint.save(tmp_path, {"w": jnp.zeros(2), "config": {"name": "mlp"}}, step=0)
    with pytest.raises(TypeError, match=r"\['o'\] is an array of dtype object"):
        checkpoint.save(tmp_path, {"o": np.array([object()])}, step=0)
    assert checkpoint.all_steps(tmp_path) == []
