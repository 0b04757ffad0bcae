"""The PRNG key manager: named streams of fresh keys, with nothing mutated.

jax random numbers come from explicit keys, and a key must be used once. Using
one key twice gives the *same* numbers twice: a silent bug (two layers with
equal weights, a dropout mask that never changes). minijax hands out keys in
two ways:

* `KeyManager`, a pytree: `key, rngs = rngs.next("dropout")` returns a
  fresh key for the stream and a *new* manager. It can be passed through
  `jax.jit` and carried through `lax.scan`.
* `PRNGSequence`, an iterator for eager scripts: `next(seq)` (haiku's
  `hk.PRNGSequence`).

One recipe makes every key from static data, flax's: `derive` folds the
SHA-1 hash of the parts (strings and ints) into the key once. A module's key in
`minijax.nn` is `derive(root, *path, n)` (`n` counts the draws of that
module, from 1), exactly as flax's `LazyRng` and `Scope.make_rng` make it, so
the same key gives the same parameters in both: a `minijax.nn.scope.Scope` holds one
`LazyRng` (below) per stream, the root key plus the names still to fold in. Draw `n` of a
`KeyManager` stream `s` is `fold_in(derive(root, s), n)`. The hash never
uses Python's `hash()` (salted per process), so keys are the same in every run,
and adding a stream or a layer never changes the others.

In flax this is `LazyRng` and `_fold_in_static` plus the per-scope `rng_counters`;
in flax's newer NNX API it is `nnx.Rngs`.

Debug mode (`debug_key_reuse`) raises `KeyReuseError` when a key is
handed out twice, and turns on jax's own key-reuse checker for typed keys.

>>> import jax
>>> key, rngs = KeyManager.create(0, streams=("dropout",)).next("dropout")
>>> bool((jax.random.key_data(key) == jax.random.key_data(rngs.peek("dropout"))).all())
False
"""

import contextlib
import hashlib
import zlib
from collections.abc import Iterator, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from minijax import struct
from minijax.typing import Array, Int, PRNGKeyArray

__all__ = [
    "KeyManager",
    "KeyReuseError",
    "LazyRng",
    "PRNGSequence",
    "debug_key_reuse",
    "derive",
    "key_reuse_checking",
    "stable_hash",
    "static_hash",
]


class KeyReuseError(RuntimeError):
    """A PRNG key was handed out twice (only raised in `debug_key_reuse` mode).

    >>> issubclass(KeyReuseError, RuntimeError)
    True
    """


def stable_hash(name: str) -> int:
    """A hash of `name` that is the same in every process: crc32, as a uint32 int.

    >>> stable_hash("dropout") == stable_hash("dropout")
    True
    """
    return zlib.crc32(name.encode("utf-8")) & 0xFFFFFFFF


def as_key(key_or_seed: PRNGKeyArray | int) -> PRNGKeyArray:
    """Accept an int seed, a raw `PRNGKey` (`uint32[2]`) or a typed `jax.random.key`.

    >>> as_key(0).shape
    ()
    """
    if isinstance(key_or_seed, (int, np.integer)):
        return jax.random.key(int(key_or_seed))
    return key_or_seed


def static_hash(*parts: str | int) -> int:
    """The uint32 that `derive` folds in: the first 4 bytes of SHA-1 of the parts.

    Strings are UTF-8; an int is its minimal big-endian bytes (`1` is `b"\\x01"`,
    `0` is `b""`). This is flax's `_fold_in_static` (`flax/core/scope.py`) with
    its default configuration (`flax_fix_rng_separator=False`: no separator).

    >>> static_hash("Dense_0", 1) == static_hash("Dense_0", 1)
    True
    """
    digest = hashlib.sha1()
    for part in parts:
        if isinstance(part, str):
            digest.update(part.encode("utf-8"))
        elif isinstance(part, int | np.integer):
            n = int(part)
            digest.update(n.to_bytes((n.bit_length() + 7) // 8, byteorder="big"))
        else:
            raise TypeError(f"derive takes strings and ints, got {type(part).__name__}: {part!r}")
    return int.from_bytes(digest.digest()[:4], byteorder="big")


def derive(key: PRNGKeyArray, *parts: str | int) -> PRNGKeyArray:
    r"""Fold the static `parts` into `key` at once: one independent key per path.

    $$\text{derive}(k, p_1, \dots, p_n) = \text{fold\_in}(k, \text{sha1}(p_1 \cdots p_n)_{0:4})$$

    This is the key recipe of flax's `LazyRng.as_jax_rng`: the draw `n` (from 1)
    of a module at path `("Encoder_0", "Dense_1")` is
    `derive(root, "Encoder_0", "Dense_1", n)`; a root module's first draw is
    `derive(root, 1)`. No parts returns `key` itself. The hash is static, so each
    key costs one `fold_in`, and a key never depends on what other layers exist.

    >>> import jax
    >>> k = derive(jax.random.key(0), "Dense_0", 1)
    >>> bool((jax.random.key_data(k) == jax.random.key_data(
    ...     jax.random.fold_in(jax.random.key(0), static_hash("Dense_0", 1)))).all())
    True
    """
    # >>> TASK A0.3
    if not parts:
        return key
    return jax.random.fold_in(key, jnp.uint32(static_hash(*parts)))
    # <<< TASK A0.3


# --- debug mode -------------------------------------------------------------------

_DEBUG: list[bool] = [False]
_ISSUED: set[tuple[bytes, str, int]] = set()


def key_reuse_checking() -> bool:
    """Whether `debug_key_reuse` mode is on.

    >>> key_reuse_checking()
    False
    """
    return _DEBUG[0]


@contextlib.contextmanager
def debug_key_reuse(enabled: bool = True) -> Iterator[None]:
    """Raise `KeyReuseError` when a `KeyManager` hands out a key twice.

    Eagerly, minijax remembers every (root, stream, draw) it hands out. Under
    `jax.jit` it cannot (the counter is traced), so jax's own checker
    (`jax_debug_key_reuse`, for typed `jax.random.key` keys) is switched on too.

    Args:
        enabled: switch the checks on (or off, inside an outer checking block).

    >>> with debug_key_reuse():
    ...     key, rngs = KeyManager.create(0).next()
    ...     _ = rngs.next()
    """
    outer = _DEBUG[0]
    _DEBUG[0] = enabled
    try:
        with jax.debug_key_reuse(enabled):
            yield
    finally:
        _DEBUG[0] = outer
        if not outer:  # leaving the outermost checking context: forget what was issued
            _ISSUED.clear()


def _key_bytes(key: PRNGKeyArray) -> bytes | None:
    if isinstance(key, jax.core.Tracer):
        return None
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    if isinstance(data, jax.core.Tracer):
        return None
    return np.asarray(data).tobytes()


def _record(root: PRNGKeyArray, stream: str, count: Array) -> None:
    if isinstance(count, jax.core.Tracer):
        return
    root_bytes = _key_bytes(root)
    if root_bytes is None:
        return
    entry = (root_bytes, stream, int(count))
    if entry in _ISSUED:
        raise KeyReuseError(
            f"KeyManager handed out draw {int(count)} of stream {stream!r} twice. "
            "An old manager was used again: `key, rngs = rngs.next(...)` returns a new "
            "manager, and the next draw must come from that one, not from the manager "
            "you called next() on."
        )
    _ISSUED.add(entry)


# --- the key manager --------------------------------------------------------------


class KeyManager(struct.PyTreeNode):
    """A pure pytree of named key streams. Nothing mutates: each draw returns a new manager.

    In flax's NNX API this is `nnx.Rngs`; minijax's is a pytree that jit and scan carry.

    Attributes:
        root: the root key.
        counts: `{stream: draws so far}`, int32 leaves.

    >>> rngs = KeyManager.create(0, streams=("params", "dropout"))
    >>> key, rngs = rngs.next("dropout")        # a fresh key and a new manager
    >>> keys, rngs = rngs.split("dropout", 8)   # 8 fresh keys, e.g. one per example
    >>> keys.shape, int(rngs.counts["dropout"])
    ((8,), 2)

    The stream names are part of the tree structure (dict keys), the counters are
    int32 leaves: declare every stream in `create` before carrying a manager
    through `lax.scan` (a new stream would change the carry's structure).
    """

    root: PRNGKeyArray
    counts: dict[str, Int[Array, ""]]

    @classmethod
    def create(
        cls, key_or_seed: PRNGKeyArray | int, streams: tuple[str, ...] = ("params",)
    ) -> "KeyManager":
        """A manager with the given streams, each at draw 0.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> rngs = KeyManager.create(0, streams=("params", "dropout"))
        >>> rngs.streams, int(rngs.counts["dropout"])
        (('dropout', 'params'), 0)
        """
        counts = {s: jnp.zeros((), jnp.int32) for s in streams}
        return cls(root=as_key(key_or_seed), counts=counts)

    @property
    def streams(self) -> tuple[str, ...]:
        """The names of the streams, sorted."""
        return tuple(sorted(self.counts))

    def _count(self, stream: str) -> Int[Array, ""]:
        return self.counts.get(stream, jnp.zeros((), jnp.int32))

    def peek(self, stream: str) -> PRNGKeyArray:
        """The key `next` would return for `stream`, without consuming it.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> rngs = KeyManager.create(0)
        >>> key, _ = rngs.next("params")
        >>> bool((jax.random.key_data(rngs.peek("params")) == jax.random.key_data(key)).all())
        True
        """
        return jax.random.fold_in(derive(self.root, stream), self._count(stream))

    def next(self, stream: str = "params") -> tuple[PRNGKeyArray, "KeyManager"]:
        """A fresh key for `stream` and the manager to use from now on.

        Draw `n` of stream `s` is `fold_in(derive(root, s), n)`, so it depends only on
        the root, the stream's name and `n`.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> rngs = KeyManager.create(0)
        >>> k1, rngs = rngs.next("params")
        >>> k2, rngs = rngs.next("params")
        >>> same = bool((jax.random.key_data(k1) == jax.random.key_data(k2)).all())
        >>> same, int(rngs.counts["params"])
        (False, 2)
        """
        # >>> TASK A0.4
        count = self._count(stream)
        if _DEBUG[0]:
            _record(self.root, stream, count)
        key = jax.random.fold_in(derive(self.root, stream), count)
        return key, self.replace(counts={**self.counts, stream: count + 1})
        # <<< TASK A0.4

    def split(self, stream: str, num: int) -> tuple[PRNGKeyArray, "KeyManager"]:
        """`num` fresh keys for `stream` (one draw, split `num` ways) and a new manager.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> keys, rngs = KeyManager.create(0).split("params", 4)
        >>> keys.shape, int(rngs.counts["params"])
        ((4,), 1)
        """
        key, manager = self.next(stream)
        return jax.random.split(key, num), manager

    def fold_in(self, data: int | Int[Array, ""]) -> "KeyManager":
        """A manager whose root has `data` folded in: e.g. the step, for a per-step manager.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> rngs = KeyManager.create(0)
        >>> a, _ = rngs.fold_in(1).next("params")     # step 1
        >>> b, _ = rngs.fold_in(2).next("params")     # step 2: other keys
        >>> bool((jax.random.key_data(a) == jax.random.key_data(b)).all())
        False
        """
        return self.replace(root=jax.random.fold_in(self.root, data))

    def as_rngs(self, *streams: str) -> tuple[dict[str, PRNGKeyArray], "KeyManager"]:
        """One fresh key per stream, as the `rngs=` dict that `Module.apply` takes.

        >>> import jax
        >>> from minijax.random import KeyManager
        >>> rngs = KeyManager.create(0, streams=("params", "dropout"))
        >>> keys, rngs = rngs.as_rngs("dropout")      # e.g. model.apply(v, x, rngs=keys)
        >>> list(keys), int(rngs.counts["dropout"])
        (['dropout'], 1)
        """
        out: dict[str, PRNGKeyArray] = {}
        manager = self
        for s in streams or self.streams:
            out[s], manager = manager.next(s)
        return out, manager


@struct.dataclass
class LazyRng:
    """A root key and the static names still to fold into it (in flax: `LazyRng`).

    `minijax.nn.scope.Scope` holds one per stream: `Scope.push` appends the child's name,
    `Scope.make_rng` the draw number, and `as_jax_rng` folds them in at once.

    Attributes:
        rng: the root key of a stream.
        suffix: the names (module path, then draw number) to fold in, by `derive`.

    >>> import jax
    >>> r = LazyRng.create(jax.random.key(0), "Dense_0", 1)
    >>> r.suffix
    ('Dense_0', 1)
    """

    rng: PRNGKeyArray
    suffix: tuple[str | int, ...] = struct.field(pytree_node=False, default=())

    @staticmethod
    def create(rng: "PRNGKeyArray | int | LazyRng", *suffix: str | int) -> "LazyRng":
        """`rng` (a key, a seed or a `LazyRng`) with `suffix` appended."""
        if isinstance(rng, LazyRng):
            return LazyRng(rng.rng, rng.suffix + suffix)
        return LazyRng(as_key(rng), suffix)

    def as_jax_rng(self) -> PRNGKeyArray:
        """The key: `derive(rng, *suffix)`, one `fold_in`."""
        return derive(self.rng, *self.suffix)

    def clear_suffix(self) -> "LazyRng":
        """The root key with no names to fold in."""
        return LazyRng(self.rng, ())


class PRNGSequence(Iterator[PRNGKeyArray]):
    """An endless iterator of fresh keys, for eager scripts (haiku: `hk.PRNGSequence`).

    Args:
        key_or_seed: the first key, or an int seed.

    >>> seq = PRNGSequence(0)
    >>> w = jax.random.normal(next(seq), (3, 3))
    >>> b = jax.random.normal(next(seq), (3,))

    It mutates itself, so it is not a pytree and must not be used inside `jax.jit`:
    use `KeyManager` there.
    """

    def __init__(self, key_or_seed: PRNGKeyArray | int) -> None:
        self._key = as_key(key_or_seed)

    def _advance(self) -> PRNGKeyArray:
        new_key, out = jax.random.split(self._key)
        if isinstance(new_key, jax.core.Tracer):  # under jit/scan: keep self._key concrete
            raise TypeError(
                "PRNGSequence was used inside a jax transformation (jit, scan). It mutates "
                "itself, which tracing cannot see: the compiled function would return the "
                "same numbers at every call. Use minijax.random.KeyManager, or pass keys in."
            )
        self._key = new_key
        key: PRNGKeyArray = out
        return key

    def __next__(self) -> PRNGKeyArray:
        return self._advance()

    def take(self, num: int) -> PRNGKeyArray:
        """`num` fresh keys at once.

        >>> from minijax.random import PRNGSequence
        >>> PRNGSequence(0).take(3).shape
        (3,)
        """
        return jax.random.split(self._advance(), num)

    def reserve(self, num: int) -> None:  # pragma: no cover - haiku compatibility
        """Accepted for haiku compatibility; keys are made on demand."""
        del num


def stream_counts(manager: KeyManager) -> Mapping[str, int]:
    """The number of draws taken from each stream so far (eager only).

    >>> stream_counts(KeyManager.create(0).next()[1])
    {'params': 1}
    """
    return {k: int(v) for k, v in manager.counts.items()}
