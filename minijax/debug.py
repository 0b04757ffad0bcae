"""Debug modes for what jax cannot check for free: NaNs, out-of-range indices, reused keys.

A compiled jax program checks nothing at run time: a NaN flows on, an index past
the end of an array is clamped or filled with NaN (gather) or dropped (scatter), a random key used
twice gives the same numbers twice. Each has a debug mode that catches it, at a
cost, so it is off by default:

* `debug_nans(*watch)`: a context manager over jax's `debug_nans`. The first
  operation that makes a NaN raises `FloatingPointError`; minijax adds which module
  (the innermost `(in module ...)` path) and source line it was, and, for the trees
  you pass (e.g. `state.params`), which leaves are not finite.
* `debug_checks(fn)`: `fn` run through `jax.experimental.checkify` with index,
  NaN and division checks, so an `Embed` id out of range inside `jit` raises
  instead of returning the clamped row.
* `debug_key_reuse()`: jax's key-reuse checker (`jax.debug_key_reuse`).
* `non_finite_leaves(tree)`: the paths of the leaves that hold a NaN or an inf.

flax and optax have no counterpart; they leave these to jax's flags.

>>> import jax.numpy as jnp
>>> non_finite_leaves({"w": jnp.array([1.0, jnp.nan]), "b": jnp.zeros(2)})
["['w']: 1 NaN, 0 inf of 2"]
"""

import contextlib
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np
from jax.experimental import checkify

__all__ = ["debug_checks", "debug_key_reuse", "debug_nans", "non_finite_leaves"]


def non_finite_leaves(tree: Any) -> list[str]:
    """One line per float leaf of ``tree`` holding a NaN or an infinity: path and counts.

    >>> non_finite_leaves([1.0, float("inf")])
    ['[1]: 0 NaN, 1 inf of 1']
    """
    out = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        arr = np.asarray(leaf)
        if not np.issubdtype(arr.dtype, np.inexact):
            continue
        nans, infs = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        if nans or infs:
            where = jax.tree_util.keystr(path) or "<root>"
            out.append(f"{where}: {nans} NaN, {infs} inf of {arr.size}")
    return out


def _user_frame(error: BaseException) -> str | None:
    """The innermost traceback frame outside jax: where the NaN was made."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if "/jax/" not in f.filename and "/jaxlib/" not in f.filename
    ]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


@contextlib.contextmanager
def debug_nans(*watch: Any) -> Iterator[None]:
    """Raise at the first operation that produces a NaN, naming the module and the line.

    Inside the block jax runs with ``jax_debug_nans``: a jitted function whose output
    has a NaN is re-run op by op and the operation that made it raises
    ``FloatingPointError``. minijax adds a note with the module path, the source line
    and the non-finite leaves of each tree in ``watch`` (e.g. ``state.params``, to
    see whether the NaN was already in a parameter). Slow: for finding a NaN, not
    for training.

    >>> import jax.numpy as jnp
    >>> try:
    ...     with debug_nans():
    ...         jnp.log(-1.0)
    ... except FloatingPointError as e:
    ...     print(e, "|", e.__notes__[-1].splitlines()[0])
    Invalid nan value encountered in the output of a jax.jit function. Calling the de-optimized...
    invalid value (nan) encountered in log | minijax.debug.debug_nans: the first NaN was made here
    """
    with jax.debug_nans(True):
        try:
            yield
        except FloatingPointError as e:
            notes = [n for n in getattr(e, "__notes__", []) if n.startswith("(in module")]
            lines = ["minijax.debug.debug_nans: the first NaN was made here"]
            if notes:
                lines.append(f"  module: {notes[0][len('(in module ') : -1]}")
            where = _user_frame(e)
            if where:
                lines.append(f"  line:   {where}")
            for i, tree in enumerate(watch):
                bad = non_finite_leaves(tree)
                lines.append(
                    f"  watched tree {i}: "
                    + ("; ".join(bad) if bad else "every leaf is finite (the NaN is new)")
                )
            lines.append(
                "  What to try: check that operation's inputs (log of <= 0, sqrt of < 0, "
                "0/0, overflow in exp); a smaller learning rate; gradient clipping."
            )
            e.add_note("\n".join(lines))
            raise


def debug_checks(fn: Callable[..., Any], errors: Any = None) -> Callable[..., Any]:
    """``fn`` with run-time checks that raise: index bounds, NaNs, division by zero.

    ``fn`` (jitted or not) is wrapped in ``jax.experimental.checkify.checkify`` with
    ``errors`` (default: index, NaN and division checks); the wrapper raises
    ``checkify.JaxRuntimeError`` naming the failed check and where it happened, else
    returns ``fn``'s result. Use it to find an ``Embed`` id out of range inside
    ``jit``, which plain jax clamps silently.

    >>> import jax.numpy as jnp
    >>> lookup = debug_checks(lambda table, i: table[i])
    >>> try:
    ...     lookup(jnp.arange(3.0), 5)
    ... except checkify.JaxRuntimeError as e:
    ...     print(str(e).split(":")[0])
    out-of-bounds indexing for array of shape (3,)
    """
    if errors is None:
        errors = checkify.index_checks | checkify.nan_checks | checkify.div_checks
    checked = checkify.checkify(fn, errors=errors)

    def run(*args: Any, **kwargs: Any) -> Any:
        error, out = checked(*args, **kwargs)
        error.throw()  # type: ignore[no-untyped-call]
        return out

    return run


def debug_key_reuse() -> Any:
    """A context manager: using a random key twice raises ``jax.errors.KeyReuseError``.

    jax's ``jax.debug_key_reuse(True)``; typed keys only (``jax.random.key``).

    >>> key = jax.random.key(0)
    >>> with debug_key_reuse():
    ...     _ = jax.random.normal(key)
    ...     try:
    ...         _ = jax.random.normal(key)
    ...     except jax.errors.KeyReuseError:
    ...         print("reused")
    reused
    """
    return jax.debug_key_reuse(True)
