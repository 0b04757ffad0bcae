"""Save and restore any pytree to a directory, atomically, with checksums.

::

    from minijax.train import checkpoint

    checkpoint.save("ckpts", state)                      # ckpts/step_00000100/: step of state
    checkpoint.save("ckpts", (state, rngs), step=100, max_to_keep=3)
    checkpoint.latest_step("ckpts")                      # 100
    state = checkpoint.restore("ckpts", target=state)    # the latest step, into state's structure

Layout of one checkpoint, ``<directory>/step_<step, 8 digits>/``:

* ``manifest.json``: format version, minijax version, step, creation time, the
  user's ``metadata``, and one entry per leaf: its path (``keystr`` of
  ``tree_flatten_with_path``, e.g. ``.params['Dense_0']['kernel']``), file name,
  shape, dtype, sha256 of the file, and for typed PRNG keys the key implementation
  (``threefry2x32``...): keys are saved as ``jax.random.key_data`` and rebuilt
  with ``jax.random.wrap_key_data(data, impl=...)``.
  The manifest carries its own sha256 (``manifest_sha256``, over the rest of the
  manifest), so a hand-edited manifest (two leaves' files swapped) is refused.
* ``leaf_00000.npy``, ...: one NumPy file per leaf.

Only the leaves are saved. Restoring needs a ``target`` with the same structure
(e.g. a freshly created state): its tree definition puts the leaves back, and its
static fields (``apply_fn``, ``tx``) are used as they are. Any difference (a
missing or extra path, a shape, a dtype, a key implementation) is a
:class:`CheckpointMismatchError` naming the path and both values; a file whose
sha256 differs from the manifest is a :class:`CorruptCheckpointError` naming the
file. A target leaf may be an array (its sharding is reused) or a
``jax.ShapeDtypeStruct`` (from ``jax.eval_shape``).

Nothing saved is ever lost by accident:

* a checkpoint is written into a temporary directory (``*.ckpt.tmp-<pid>-...``),
  every file and the directory are fsynced, and only then renamed to its final
  name with one ``os.replace``; a crash at any point leaves the previous
  checkpoints untouched, and the next save removes the dead temporary directory;
* saving a step that exists raises :class:`CheckpointExistsError` unless
  ``overwrite=True``; the check is the rename itself (a rename onto a non-empty
  directory fails), so of several processes saving the same step at once exactly
  one wins and the others get the error;
* old checkpoints are deleted only when you ask, with ``max_to_keep``: each is first
  renamed out of the ``step_*`` names (``*.ckpt.del-<pid>-...``), then removed, so a
  step is at every instant either listed and fully restorable or not listed;
* a failed write (a full disk, a read-only directory) is a
  :class:`CheckpointWriteError` naming the step and the path; the checkpoints
  already there stay intact.

The flax counterpart is ``flax.training.checkpoints`` / orbax ``CheckpointManager``.
"""

import errno
import hashlib
import io
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CheckpointError",
    "CheckpointExistsError",
    "CheckpointManager",
    "CheckpointMismatchError",
    "CheckpointWriteError",
    "CorruptCheckpointError",
    "UnsavableLeafError",
    "all_steps",
    "checkpoint_path",
    "latest_step",
    "read_manifest",
    "restore",
    "save",
]

FORMAT = "minijax-checkpoint"
FORMAT_VERSION = 2  # 2: the manifest carries its own sha256
MANIFEST = "manifest.json"
_STEP_RE = re.compile(r"^step_(\d+)$")
_TMP_RE = re.compile(r"^(?P<name>step_\d+)\.ckpt\.tmp-(?P<pid>\d+)-[0-9a-f]+$")
_TRASH_RE = re.compile(r"^(?P<name>step_\d+)\.ckpt\.old-(?P<pid>\d+)-[0-9a-f]+$")
_DELETED_RE = re.compile(r"^(?P<name>step_\d+)\.ckpt\.del-(?P<pid>\d+)-[0-9a-f]+$")
# rename(2) onto an existing non-empty directory fails with one of these.
_EXISTS_ERRNOS = (errno.ENOTEMPTY, errno.EEXIST)


class CheckpointError(Exception):
    """Base class of the checkpoint errors."""


class CheckpointExistsError(CheckpointError, FileExistsError):
    """A checkpoint for this step exists and ``overwrite=True`` was not given."""


class CheckpointMismatchError(CheckpointError, ValueError):
    """The checkpoint does not fit the target: paths, shapes, dtypes or key kinds differ."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint file is missing, unreadable or fails its sha256 checksum."""


class CheckpointWriteError(CheckpointError, OSError):
    """Writing a checkpoint failed (disk full, read-only directory...); nothing was lost.

    An ``OSError`` too, with the ``errno`` of the failure:

    >>> import errno
    >>> e = CheckpointWriteError(errno.ENOSPC, "Could not save step 2 to ckpts/step_00000002")
    >>> e.errno == errno.ENOSPC, isinstance(e, OSError)
    (True, True)
    """


class UnsavableLeafError(CheckpointError, TypeError):
    """A leaf of the saved tree is not an array or a number (a string, an object...).

    >>> import tempfile
    >>> try:
    ...     save(tempfile.mkdtemp(), {"w": np.zeros(2), "name": "mlp"}, step=0)
    ... except UnsavableLeafError as e:
    ...     print(str(e)[:44])
    save(): the leaf at ['name'] is str ('mlp'),
    """


# --- paths ---------------------------------------------------------------------------


def checkpoint_path(directory: str | os.PathLike[str], step: int) -> Path:
    """The directory of the checkpoint of ``step``: ``<directory>/step_<8 digits>``."""
    return Path(directory) / f"step_{int(step):08d}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(directory: Path) -> None:
    """Undo a crash inside an ``overwrite=True`` save: bring back the moved-aside copy."""
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        m = _TRASH_RE.match(entry.name)
        if m and not _pid_alive(int(m["pid"])):
            final = directory / m["name"]
            if final.exists():
                shutil.rmtree(entry, ignore_errors=True)
                continue
            try:
                os.replace(entry, final)
            except OSError:  # another process recovered it first, or a new save landed
                shutil.rmtree(entry, ignore_errors=True)


def _cleanup_tmp(directory: Path) -> None:
    """Remove temporary and half-deleted directories left by processes that have died."""
    for entry in directory.iterdir():
        m = _TMP_RE.match(entry.name) or _DELETED_RE.match(entry.name)
        if m and not _pid_alive(int(m["pid"])):
            shutil.rmtree(entry, ignore_errors=True)


def _delete_step(directory: Path, step: int) -> None:
    """Delete a checkpoint atomically: rename it out of the listed names, then remove it."""
    final = checkpoint_path(directory, step)
    doomed = directory / f"{final.name}.ckpt.del-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        os.replace(final, doomed)
    except FileNotFoundError:  # deleted by another process meanwhile
        return
    _fsync_dir(directory)
    shutil.rmtree(doomed, ignore_errors=True)


def all_steps(directory: str | os.PathLike[str]) -> list[int]:
    """The steps that have a complete checkpoint in ``directory``, ascending."""
    d = Path(directory)
    if not d.is_dir():
        return []
    _recover(d)
    steps = []
    for entry in d.iterdir():
        m = _STEP_RE.match(entry.name)
        if m and (entry / MANIFEST).is_file():
            steps.append(int(m[1]))
    return sorted(steps)


def latest_step(directory: str | os.PathLike[str]) -> int | None:
    """The highest saved step in ``directory``, or ``None`` when there is none."""
    steps = all_steps(directory)
    return steps[-1] if steps else None


# --- leaves --------------------------------------------------------------------------


def _is_prng_key(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _key_impl_name(x: Any) -> str:
    return str(jax.random.key_impl(x))


def _leaf_to_numpy(leaf: Any) -> tuple[np.ndarray, str | None]:
    """A host copy of ``leaf`` and, for typed PRNG keys, the key implementation's name."""
    if _is_prng_key(leaf):
        return np.asarray(jax.device_get(jax.random.key_data(leaf))), _key_impl_name(leaf)
    if isinstance(leaf, jax.Array | np.ndarray | np.generic):
        return np.asarray(jax.device_get(leaf)), None
    # Python scalars: their jax dtype (int32/float32 without x64), as a jitted step sees them.
    return np.asarray(jnp.asarray(leaf)), None


def _storable(arr: np.ndarray) -> np.ndarray:
    """``arr`` as a dtype ``.npy`` files keep: ml_dtypes (bfloat16, float8...) as raw uints."""
    if arr.dtype.kind == "V":
        return arr.view(np.dtype(f"uint{8 * arr.dtype.itemsize}"))
    return arr


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _path_str(path: tuple[Any, ...]) -> str:
    return jax.tree_util.keystr(path) or "<root>"


def _minijax_version() -> str:
    try:
        from minijax import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"


# --- save ----------------------------------------------------------------------------


def save(
    directory: str | os.PathLike[str],
    tree: Any,
    *,
    step: int | None = None,
    max_to_keep: int | None = None,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Save ``tree`` (any pytree) as the checkpoint of ``step`` in ``directory``.

    Args:
        directory: where checkpoints live (created if needed); each step gets a
            subdirectory ``step_<8 digits>``.
        tree: the pytree: a ``TrainState`` (with its optimizer state), a tuple
            ``(state, key_manager)``, a dict of arrays...
        step: the step number; by default ``tree.step`` (a ``TrainState``'s step).
        max_to_keep: after saving, delete the oldest checkpoints so that only the
            ``max_to_keep`` highest steps remain. ``None`` keeps everything.
        overwrite: replace an existing checkpoint of the same step. Without it,
            saving an existing step raises :class:`CheckpointExistsError`.
        metadata: JSON-serializable extras stored in the manifest.

    Returns the path of the new checkpoint. Written atomically: see the module doc.

    Raises:
        CheckpointExistsError: the step exists (also when another process saved it
            while this one was writing) and ``overwrite`` is False.
        UnsavableLeafError: a leaf is not an array or a number (e.g. a string).
        CheckpointWriteError: the disk is full, the directory read-only...; the
            checkpoints already saved are intact.
    """
    if step is None:
        if not hasattr(tree, "step"):
            raise ValueError("save() needs step=... (the tree has no .step attribute).")
        step = int(np.asarray(jax.device_get(tree.step)))
    step = int(step)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}.")
    if max_to_keep is not None and max_to_keep < 1:
        raise ValueError(f"max_to_keep must be at least 1 (or None), got {max_to_keep}.")

    leaves_with_path = jax.tree_util.tree_flatten_with_path(tree)[0]
    for path, leaf in leaves_with_path:
        _check_leaf(path, leaf)
    directory = Path(directory)
    final = checkpoint_path(directory, step)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _recover(directory)
        _cleanup_tmp(directory)
        if final.exists() and not overwrite:
            raise _exists_error(step, final)
        _write_checkpoint(directory, final, step, leaves_with_path, metadata, overwrite)
        if max_to_keep is not None:
            for old in all_steps(directory)[:-max_to_keep]:
                _delete_step(directory, old)
    except CheckpointError:
        raise
    except OSError as e:
        raise _write_error(e, step, final) from e
    return final


def _exists_error(step: int, final: Path) -> CheckpointExistsError:
    return CheckpointExistsError(
        f"A checkpoint for step {step} already exists at {final}; pass overwrite=True "
        "to replace it, or save under another step."
    )


def _write_error(e: OSError, step: int, final: Path) -> CheckpointWriteError:
    reason = e.strerror or str(e)
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free space on that disk (or lower max_to_keep), or save to another directory"
    elif e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        fix = "save to a directory you can write to, or fix its permissions"
    else:
        fix = "check the directory and try again"
    where = f" ({e.filename})" if e.filename else ""
    previous = latest_step(final.parent) if final.parent.is_dir() else None
    kept = (
        f"The checkpoints already in {final.parent} are intact (latest: step {previous})."
        if previous is not None
        else f"Nothing was left behind in {final.parent}."
    )
    return CheckpointWriteError(
        e.errno or 0,
        f"Could not save step {step} to {final}: {reason}{where}. {kept} Fix: {fix}.",
    )


def _check_leaf(path: tuple[Any, ...], leaf: Any) -> None:
    ok = isinstance(leaf, jax.Array | np.ndarray | np.generic | bool | int | float | complex)
    if ok and (_is_prng_key(leaf) or getattr(leaf, "dtype", np.dtype(bool)).kind not in "OUSa"):
        return
    kind = type(leaf).__name__
    if ok:
        kind = f"an array of dtype {leaf.dtype}"
    raise UnsavableLeafError(
        f"save(): the leaf at {_path_str(path)} is {kind} ({leaf!r:.60}), not an array or a "
        "number; checkpoints hold arrays only. Put strings and other values in "
        "save(..., metadata={...}) (stored in the manifest), or keep them out of the "
        "saved tree (a field with struct.field(pytree_node=False))."
    )


def _write_checkpoint(
    directory: Path,
    final: Path,
    step: int,
    leaves_with_path: list[tuple[Any, Any]],
    metadata: dict[str, Any] | None,
    overwrite: bool,
) -> None:
    tmp = directory / f"{final.name}.ckpt.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        entries = []
        for i, (path, leaf) in enumerate(leaves_with_path):
            arr, impl = _leaf_to_numpy(leaf)
            stored = _storable(arr)
            buf = io.BytesIO()
            np.lib.format.write_array(buf, stored, allow_pickle=False)
            data = buf.getvalue()
            fname = f"leaf_{i:05d}.npy"
            _write_file(tmp / fname, data)
            entry: dict[str, Any] = {
                "path": _path_str(path),
                "file": fname,
                "shape": list(arr.shape),
                "dtype": str(arr.dtype),
                "sha256": _sha256(data),
            }
            if stored.dtype != arr.dtype:
                entry["stored_as"] = str(stored.dtype)
            if impl is not None:
                entry["prng_impl"] = impl
            entries.append(entry)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "minijax_version": _minijax_version(),
            "jax_version": jax.__version__,
            "step": step,
            "created": time.time(),
            "metadata": metadata or {},
            "leaves": entries,
        }
        manifest["manifest_sha256"] = _manifest_digest(manifest)
        _write_file(tmp / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))
        _fsync_dir(tmp)
        _publish(directory, tmp, final, step, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(directory: Path, tmp: Path, final: Path, step: int, overwrite: bool) -> None:
    """Rename the finished ``tmp`` to ``final``; the rename is also the existence check."""
    while True:
        trash = None
        if overwrite and final.exists():  # move the old one aside, then swap
            trash = directory / f"{final.name}.ckpt.old-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            try:
                os.replace(final, trash)
            except FileNotFoundError:  # another overwriting save moved it first
                trash = None
        try:
            os.replace(tmp, final)
        except OSError as e:
            if e.errno not in _EXISTS_ERRNOS:
                raise
            # Another process published this step meanwhile.
            if trash is not None:  # ours is not in place: drop the copy we moved aside
                shutil.rmtree(trash, ignore_errors=True)
            if not overwrite:
                raise _exists_error(step, final) from None
            continue
        _fsync_dir(directory)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        return


def _manifest_digest(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))


# --- restore -------------------------------------------------------------------------


def read_manifest(directory: str | os.PathLike[str], step: int | None = None) -> dict[str, Any]:
    """The parsed ``manifest.json`` of ``step`` (default: the latest)."""
    return _read_manifest(_resolve(directory, step))


def _resolve(directory: str | os.PathLike[str], step: int | None) -> Path:
    if step is None:
        step = latest_step(directory)
        if step is None:
            raise FileNotFoundError(
                f"No checkpoint found in {directory}: it holds no complete step_* directory. "
                "Fix: check the path (all_steps(directory) lists the steps), or save() first."
            )
    path = checkpoint_path(directory, step)
    if not (path / MANIFEST).is_file():
        raise FileNotFoundError(
            f"No checkpoint for step {step} in {directory}; saved steps: {all_steps(directory)}."
        )
    return path


def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CorruptCheckpointError(f"Cannot read the manifest {file}: {e}") from e
    if manifest.get("format") != FORMAT:
        raise CorruptCheckpointError(f"{file} is not a minijax checkpoint manifest.")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{file} has format version {manifest['format_version']}, newer than this "
            f"minijax reads ({FORMAT_VERSION}); upgrade minijax."
        )
    if manifest.get("format_version", 0) >= 2:  # version 1 had no manifest checksum
        recorded = manifest.get("manifest_sha256")
        if recorded != _manifest_digest(manifest):
            raise CorruptCheckpointError(
                f"{file} fails its own checksum (manifest_sha256 {recorded!r}): it was edited "
                "or damaged after saving, so its leaf entries cannot be trusted. Restore "
                "another step (all_steps() lists them) or re-save this one."
            )
    return manifest


def _target_spec(leaf: Any) -> tuple[tuple[int, ...], str, str | None]:
    """Shape, saved dtype and PRNG impl (or None) that ``leaf`` expects."""
    if _is_prng_key(leaf):
        impls: list[str] = []

        def key_data(k: Any) -> Any:
            impls.append(_key_impl_name(k))
            return jax.random.key_data(k)

        data = jax.eval_shape(key_data, leaf)  # works for arrays and ShapeDtypeStructs
        return tuple(data.shape), str(data.dtype), impls[0]
    if isinstance(leaf, jax.ShapeDtypeStruct | jax.Array | np.ndarray | np.generic):
        return tuple(leaf.shape), str(np.dtype(leaf.dtype)), None
    arr = jnp.asarray(leaf)
    return tuple(arr.shape), str(arr.dtype), None


def _key_kind(impl: str | None) -> str:
    return f"a typed PRNG key ({impl})" if impl else "a plain array"


def restore(directory: str | os.PathLike[str], target: Any, step: int | None = None) -> Any:
    """Load the checkpoint of ``step`` (default: the latest) into ``target``'s structure.

    ``target`` gives the tree structure, the static fields (``apply_fn``, ``tx``),
    and each leaf's expected shape and dtype; its values are not used. Restored
    leaves are placed with the target leaf's sharding when it has one.

    Raises:
        FileNotFoundError: no checkpoint (for that step).
        CheckpointMismatchError: a path missing from the checkpoint or extra in it, or
            a shape, dtype or PRNG-key implementation that differs from the target.
        CorruptCheckpointError: a file missing, unreadable or failing its checksum.
    """
    path = _resolve(directory, step)
    manifest = _read_manifest(path)
    saved = {e["path"]: e for e in manifest["leaves"]}
    if len(saved) != len(manifest["leaves"]):
        raise CorruptCheckpointError(f"{path / MANIFEST} lists a path twice.")

    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(target)
    target_paths = [_path_str(p) for p, _ in leaves_with_path]
    problems: list[str] = []
    missing = [p for p in target_paths if p not in saved]
    extra = [p for p in saved if p not in set(target_paths)]
    for p in missing:
        problems.append(f"{p}: in the target but missing from the checkpoint")
    for p in extra:
        e = saved[p]
        problems.append(
            f"{p}: in the checkpoint (shape {tuple(e['shape'])}, dtype {e['dtype']}) "
            "but not in the target"
        )
    for p, (_, leaf) in zip(target_paths, leaves_with_path, strict=True):
        if p not in saved:
            continue
        e = saved[p]
        shape, dtype, impl = _target_spec(leaf)
        saved_impl = e.get("prng_impl")
        if impl != saved_impl:
            problems.append(
                f"{p}: checkpoint has {_key_kind(saved_impl)}, target has {_key_kind(impl)}"
            )
            continue
        if tuple(e["shape"]) != shape:
            problems.append(
                f"{p}: shape {tuple(e['shape'])} in the checkpoint, {shape} in the target"
            )
        if e["dtype"] != dtype:
            problems.append(f"{p}: dtype {e['dtype']} in the checkpoint, {dtype} in the target")
    if problems:
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise CheckpointMismatchError(
            f"The checkpoint {path} does not match the target "
            f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n  {shown}{more}"
        )

    out = []
    for p, (_, leaf) in zip(target_paths, leaves_with_path, strict=True):
        e = saved[p]
        file = path / e["file"]
        try:
            data = file.read_bytes()
        except OSError as err:
            raise CorruptCheckpointError(f"Cannot read {file} (leaf {p}): {err}") from err
        digest = _sha256(data)
        if digest != e["sha256"]:
            raise CorruptCheckpointError(
                f"{file} (leaf {p}) is corrupted: its sha256 is {digest}, the manifest "
                f"recorded {e['sha256']}."
            )
        try:
            arr = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError) as err:
            raise CorruptCheckpointError(f"Cannot parse {file} (leaf {p}): {err}") from err
        stored_dtype = e.get("stored_as", e["dtype"])
        if tuple(arr.shape) != tuple(e["shape"]) or str(arr.dtype) != stored_dtype:
            raise CorruptCheckpointError(
                f"{file} (leaf {p}) holds {arr.dtype}{list(arr.shape)}, the manifest says "
                f"{stored_dtype}{e['shape']}."
            )
        if "stored_as" in e:
            arr = arr.view(jnp.dtype(e["dtype"]))
        value: Any = jnp.asarray(arr)
        if e.get("prng_impl"):
            value = jax.random.wrap_key_data(value, impl=e["prng_impl"])
        sharding = getattr(leaf, "sharding", None)
        if sharding is not None:
            value = jax.device_put(value, sharding)
        out.append(value)
    return jax.tree_util.tree_unflatten(treedef, out)


class CheckpointManager:
    """A directory of checkpoints with fixed options: ``save``, ``restore``, ``latest_step``.

    ::

        ckpt = CheckpointManager("ckpts", max_to_keep=3)
        ckpt.save(state)                      # step from state.step
        state = ckpt.restore(state)           # latest
    """

    def __init__(self, directory: str | os.PathLike[str], *, max_to_keep: int | None = None):
        self.directory = Path(directory)
        self.max_to_keep = max_to_keep

    def save(
        self,
        tree: Any,
        *,
        step: int | None = None,
        overwrite: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Path:
        return save(
            self.directory,
            tree,
            step=step,
            max_to_keep=self.max_to_keep,
            overwrite=overwrite,
            metadata=metadata,
        )

    def restore(self, target: Any, step: int | None = None) -> Any:
        return restore(self.directory, target, step)

    def latest_step(self) -> int | None:
        return latest_step(self.directory)

    def all_steps(self) -> list[int]:
        return all_steps(self.directory)
