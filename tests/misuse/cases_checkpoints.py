"""Misuse cases: checkpoints. See catalogue.py for what a case is."""

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from minijax import optim
from minijax.train import (
    checkpoint,
)

from .catalogue import _state, case

# ======================================================================== checkpoints


TREE = {"w": jnp.arange(4.0), "b": jnp.zeros(2)}


@case(
    "checkpoints",
    "saving a step that exists",
    checkpoint.CheckpointExistsError,
    ("already exists",),
    ("step 3", "step_00000003"),
    ("overwrite=True",),
    "flax.training.checkpoints: InvalidCheckpointError 'Trying to save an outdated checkpoint at "
    "step: 3 and path: ...' with a docs link",
)
def save_existing(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=3)
    return checkpoint.save(tmp, TREE, step=3)


@case(
    "checkpoints",
    "restoring into a target of other shapes",
    checkpoint.CheckpointMismatchError,
    ("shape (4,) in the checkpoint, (5,) in the target",),
    ("['w']",),
    ("does not match",),
    "flax.serialization.from_bytes: no error; the saved (4,) array replaces the (5,) target "
    "(silent)",
)
def restore_shape_mismatch(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=0)
    return checkpoint.restore(tmp, {"w": jnp.zeros(5), "b": jnp.zeros(2)})


@case(
    "checkpoints",
    "restoring into a target with another optimizer",
    checkpoint.CheckpointMismatchError,
    ("missing from the checkpoint",),
    (".opt_state",),
    ("does not match",),
    "flax.serialization: ValueError 'The target dict keys and state dict keys do not match' "
    "naming the keys",
)
def restore_other_optimizer(tmp: Path) -> Any:
    checkpoint.save(tmp, _state(optim.sgd(0.1)))
    return checkpoint.restore(tmp, _state(optim.adam(0.1)))


@case(
    "checkpoints",
    "restoring a step that was not saved",
    FileNotFoundError,
    ("No checkpoint for step 7",),
    (str(Path("step")),),
    ("saved steps: [0]",),
    "flax.training.checkpoints: ValueError 'Matching checkpoint not found: <path>'",
)
def restore_missing_step(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=0)
    return checkpoint.restore(tmp, TREE, step=7)


@case(
    "checkpoints",
    "a string leaf in the saved tree",
    checkpoint.UnsavableLeafError,
    ("is str", "not an array"),
    ("['name']",),
    ("metadata=",),
    "flax.serialization: no error; msgpack stores the string",
)
def save_string_leaf(tmp: Path) -> Any:
    return checkpoint.save(tmp, {**TREE, "name": "mlp"}, step=0)


@case(
    "checkpoints",
    "a corrupted leaf file",
    checkpoint.CorruptCheckpointError,
    ("is corrupted", "sha256"),
    ("['w']", "leaf_"),
    ("manifest recorded",),
    "flax.serialization: no error; a flipped byte loads as -1.7e38 (silent)",
)
def corrupted_file(tmp: Path) -> Any:
    path = checkpoint.save(tmp, TREE, step=0)
    entry = next(e for e in checkpoint.read_manifest(tmp)["leaves"] if e["path"] == "['w']")
    f = path / entry["file"]
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF
    f.write_bytes(bytes(raw))
    return checkpoint.restore(tmp, TREE)


@case(
    "checkpoints",
    "a hand-edited manifest (two leaves' files swapped)",
    checkpoint.CorruptCheckpointError,
    ("fails its own checksum",),
    ("manifest.json",),
    ("Restore another step",),
    "flax: no manifest; orbax trusts its metadata",
)
def manifest_swapped(tmp: Path) -> Any:
    path = checkpoint.save(tmp, TREE, step=0)
    m = json.loads((path / "manifest.json").read_text())
    a, b = m["leaves"]
    a["file"], b["file"] = b["file"], a["file"]
    a["sha256"], b["sha256"] = b["sha256"], a["sha256"]
    (path / "manifest.json").write_text(json.dumps(m))
    return checkpoint.restore(tmp, TREE)


def _failing_write(code: int) -> Callable[[Path, bytes], None]:
    def write(path: Path, data: bytes) -> None:
        raise OSError(code, os.strerror(code), str(path))

    return write


@case(
    "checkpoints",
    "a full disk during save",
    checkpoint.CheckpointWriteError,
    ("No space left",),
    ("step 2", "step_00000002"),
    ("free space", "intact (latest: step 1)"),
    "flax.training.checkpoints: the raw OSError of the writer (not measured)",
)
def save_full_disk(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=1)
    real = checkpoint._write_file
    checkpoint._write_file = _failing_write(errno.ENOSPC)  # type: ignore[assignment]
    try:
        return checkpoint.save(tmp, TREE, step=2)
    finally:
        checkpoint._write_file = real  # type: ignore[assignment]


@case(
    "checkpoints",
    "a read-only checkpoint directory",
    checkpoint.CheckpointWriteError,
    ("Read-only file system",),
    ("step 2", "step_00000002"),
    ("a directory you can write to",),
    "flax.training.checkpoints: the raw OSError of the writer (not measured)",
)
def save_read_only(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=1)
    real = checkpoint._write_file
    checkpoint._write_file = _failing_write(errno.EROFS)  # type: ignore[assignment]
    try:
        return checkpoint.save(tmp, TREE, step=2)
    finally:
        checkpoint._write_file = real  # type: ignore[assignment]


@case(
    "checkpoints",
    "a negative step",
    ValueError,
    ("step must be >= 0",),
    ("step",),
    ("got -1",),
    "flax.training.checkpoints: no check of the sign (not measured)",
)
def save_negative_step(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE, step=-1)


@case(
    "checkpoints",
    "max_to_keep=0",
    ValueError,
    ("max_to_keep must be at least 1",),
    ("max_to_keep",),
    ("or None",),
    "flax.training.checkpoints: keep=0 is accepted and deletes nothing (checkpoint_files[:-0] "
    "is empty; silent)",
)
def save_keep_zero(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE, step=0, max_to_keep=0)


@case(
    "checkpoints",
    "save without step= for a tree without .step",
    ValueError,
    ("needs step=",),
    ("save()",),
    (".step attribute",),
    "flax: step is a required argument",
)
def save_without_step(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE)


@case(
    "checkpoints",
    "restoring a typed key into a raw uint32 key",
    checkpoint.CheckpointMismatchError,
    ("typed PRNG key", "plain array"),
    ("['k']",),
    ("does not match",),
    "flax.serialization: TypeError 'JAX array with PRNGKey dtype cannot be converted to a "
    "NumPy array' already at save time",
)
def restore_key_kind(tmp: Path) -> Any:
    checkpoint.save(tmp, {"k": jax.random.key(0)}, step=0)
    return checkpoint.restore(tmp, {"k": jax.random.PRNGKey(0)})


@case(
    "checkpoints",
    "restore from an empty directory",
    FileNotFoundError,
    ("No checkpoint found",),
    ("empty",),
    ("check the path", "save() first"),
    "flax.training.checkpoints: returns the target unchanged, with an info log only (silent)",
)
def restore_empty(tmp: Path) -> Any:
    (tmp / "empty").mkdir()
    return checkpoint.restore(tmp / "empty", TREE)
