"""State dicts and msgpack bytes: save any pytree the way flax does (flax: `flax.serialization`).

Two layers, as in flax:

1. **State dicts.** `to_state_dict(x)` turns an object into nested dicts with string
   keys and array leaves: a list or tuple becomes `{"0": ..., "1": ...}`, a
   namedtuple `{field: ...}`, a `minijax.struct` dataclass (a `TrainState`, an
   `nn.Partitioned` box) `{field: ...}` over its pytree fields (static fields such as
   `apply_fn` are skipped). `from_state_dict(target, state)` goes back: the *target*
   gives the structure (types, static fields, namedtuple classes) and the state
   gives the leaves.
2. **Bytes.** `msgpack_serialize(tree)` writes a tree of dicts, lists, numbers,
   strings and arrays as msgpack; arrays are msgpack extension type 1 holding
   `packb((shape, dtype_name, C-order bytes))`, Python complex numbers type 2
   (`packb((real, imag))`), NumPy scalars type 3 (as a 0-d array). An array larger
   than `MAX_CHUNK_SIZE` bytes (msgpack's limit is 2 GiB per object) is cut into
   flat chunks: `{"__msgpack_chunked_array__": True, "shape": {...}, "chunks":
   {...}}`. `to_bytes(x) = msgpack_serialize(to_state_dict(x))` and
   `from_bytes(target, data) = from_state_dict(target, msgpack_restore(data))`.

This is flax's format to the byte, so a file written by flax's `to_bytes` loads with
minijax's `from_bytes` and the reverse. Two additions: a typed PRNG key
(`jax.random.key`) is written as its `jax.random.key_data` and wrapped back when the
target's leaf is a key, and a leaf whose shape differs from the target's raises
instead of being returned as it is.

A mismatch on restore names the path from the root (`.`), in flax's words:

    ValueError: The target dict keys and state dict keys do not match, target dict
    contains keys {'Dense_1'} which are not present in state dict at path ./params

Keys the state has and the target lacks are dropped, as in flax (this is how a part
of a checkpoint is loaded). `msgpack` is imported on first use.
"""

import collections.abc
import contextlib
import dataclasses
import enum
import threading
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "MAX_CHUNK_SIZE",
    "current_path",
    "from_bytes",
    "from_state_dict",
    "is_serializable",
    "msgpack_restore",
    "msgpack_serialize",
    "register_serialization_state",
    "to_bytes",
    "to_state_dict",
]

ToStateDict = Callable[[Any], Any]
FromStateDict = Callable[[Any, Any], Any]

_STATE_DICT_REGISTRY: dict[Any, tuple[ToStateDict, FromStateDict]] = {}


# --- the path of the node being restored, for error messages ----------------------


class _Path(threading.local):
    def __init__(self) -> None:
        self.parts: list[str] = []


_path = _Path()


@contextlib.contextmanager
def _record_path(name: str) -> Iterator[None]:
    _path.parts.append(name)
    try:
        yield
    finally:
        _path.parts.pop()


def current_path() -> str:
    """The path of the node `from_state_dict` is restoring, e.g. `./params/Dense_0`.

    Meant for the error messages of handlers given to
    `register_serialization_state` (flax: `serialization.current_path`).

    Returns:
        The names from the root (`.`) joined by `/`; `""` outside a restore.

    >>> from minijax import serialization
    >>> serialization.current_path()
    ''
    """
    return "/".join(_path.parts)


def _child_path(name: str) -> str:
    return "/".join([*_path.parts, name])


# --- the registry -----------------------------------------------------------------


def register_serialization_state(
    ty: Any, ty_to_state_dict: ToStateDict, ty_from_state_dict: FromStateDict,
    override: bool = False,
) -> None:
    """Teach `to_state_dict`/`from_state_dict` a type (flax: the same name).

    Args:
        ty: the class.
        ty_to_state_dict: `x -> state`, usually a dict with string keys whose values
            went through `to_state_dict` themselves.
        ty_from_state_dict: `(target, state) -> restored`, a copy of `target` with
            the state put in (call `from_state_dict(child, state[k], name=k)` for the
            children so that errors name the path).
        override: replace a handler registered before.

    Raises:
        ValueError: `ty` has a handler already and `override` is False.

    >>> from minijax import serialization
    >>> class Celsius:
    ...     def __init__(self, degrees):
    ...         self.degrees = degrees
    >>> serialization.register_serialization_state(
    ...     Celsius, lambda c: {"degrees": c.degrees}, lambda c, s: Celsius(s["degrees"]))
    >>> serialization.from_state_dict(Celsius(0), {"degrees": 21}).degrees
    21
    """
    if ty in _STATE_DICT_REGISTRY and not override:
        raise ValueError(
            f'a serialization handler for "{ty.__name__}" is already registered: pass '
            "override=True to replace it."
        )
    _STATE_DICT_REGISTRY[ty] = (ty_to_state_dict, ty_from_state_dict)


def _handlers(target: Any) -> tuple[ToStateDict, FromStateDict] | None:
    """The handlers for `target`: its registered type, a namedtuple, a struct dataclass."""
    ty = type(target)
    if ty in _STATE_DICT_REGISTRY:
        return _STATE_DICT_REGISTRY[ty]
    if isinstance(target, tuple) and hasattr(target, "_fields"):
        return _namedtuple_state_dict, _restore_namedtuple
    if getattr(ty, "_flax_dataclass", False):  # set by minijax.struct.dataclass
        return _dataclass_state_dict, _restore_dataclass
    return None


def is_serializable(target: Any) -> bool:
    """Whether `target` (an object or a class) has state dict handlers.

    >>> from minijax import serialization
    >>> serialization.is_serializable({}), serialization.is_serializable(3.0)
    (True, False)
    """
    if isinstance(target, type):
        return target in _STATE_DICT_REGISTRY or getattr(target, "_flax_dataclass", False)
    return _handlers(target) is not None


# --- to and from state dicts --------------------------------------------------------


def to_state_dict(target: Any) -> Any:
    """The state of `target` as nested dicts with string keys (flax: the same name).

    A type without handlers is a leaf and is returned as it is.

    Args:
        target: a pytree of dicts, lists, tuples, namedtuples, struct dataclasses,
            `jax.tree_util.Partial` and registered types.

    Returns:
        The state dict.

    >>> import collections
    >>> from minijax import serialization
    >>> Pair = collections.namedtuple("Pair", "a b")
    >>> serialization.to_state_dict({"w": [1, 2], "p": Pair(3, 4)})
    {'w': {'0': 1, '1': 2}, 'p': {'a': 3, 'b': 4}}
    """
    handlers = _handlers(target)
    if handlers is None:
        return target
    state = handlers[0](target)
    if isinstance(state, dict):
        bad = [k for k in state if not isinstance(k, str)]
        if bad:
            raise TypeError(
                f"the state dict of a {type(target).__name__} has keys that are not "
                f"strings: {bad}. A state dict handler must return string keys."
            )
    return state


def from_state_dict(target: Any, state: Any, name: str = ".") -> Any:
    """A copy of `target` with the values of `state` (flax: the same name).

    Only the structure of `target` is used (its types, dict keys, static fields),
    and the shapes of its array leaves, which must equal the state's.

    Args:
        target: an object of the structure to restore, e.g. a fresh `TrainState`.
        state: a state dict made by `to_state_dict` (or read by `msgpack_restore`).
        name: the name of this node in error messages (the root is `.`).

    Returns:
        The restored object.

    Raises:
        ValueError: the state does not fit the target; the message names the path.

    >>> import numpy as np
    >>> from minijax import serialization
    >>> target = {"params": {"w": np.zeros(2)}}
    >>> serialization.from_state_dict(target, {"params": {"w": np.ones(2)}})
    {'params': {'w': array([1., 1.])}}
    """
    handlers = _handlers(target)
    if handlers is None:
        return _restore_leaf(target, state, name)
    with _record_path(name):
        return handlers[1](target, state)


def _restore_leaf(target: Any, state: Any, name: str) -> Any:
    target_shape = getattr(target, "shape", None)
    if target_shape is None:
        return state
    if isinstance(state, dict):
        raise ValueError(
            f"The target has an array of shape {tuple(target_shape)} at path "
            f"{_child_path(name)} but the state dict has a dict with keys "
            f"{sorted(state)} there: the state comes from a model of another structure."
        )
    if _is_key(target) and not _is_key(state) and state is not None:
        impl = jax.random.key_impl(target)
        data_shape = jax.eval_shape(jax.random.key_data, target).shape
        if np.shape(state) != data_shape:
            raise ValueError(
                f"The target has a PRNG key array of shape {tuple(target_shape)} at path "
                f"{_child_path(name)}, whose key data has shape {data_shape}, but the "
                f"state dict has shape {np.shape(state)} there."
            )
        return jax.random.wrap_key_data(jnp.asarray(state), impl=impl)
    state_shape = getattr(state, "shape", None)
    if state_shape is not None and tuple(state_shape) != tuple(target_shape):
        raise ValueError(
            "The shape of the target array and the state dict value do not match, got "
            f"{tuple(target_shape)} and {tuple(state_shape)} at path {_child_path(name)}. "
            "The state comes from a model of another configuration: restore it into a "
            "target built with the same sizes."
        )
    return state


def _is_key(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)


def _expect_dict(state: Any, what: str) -> dict[str, Any]:
    if not isinstance(state, collections.abc.Mapping):
        raise ValueError(
            f"Restoring {what} needs a dict in the state dict, got a "
            f"{type(state).__name__} at path {current_path()}: the state comes from an "
            "object of another structure."
        )
    return dict(state)


def _list_state_dict(xs: Any) -> dict[str, Any]:
    return {str(i): to_state_dict(x) for i, x in enumerate(xs)}


def _restore_list(xs: Any, state: Any) -> list[Any]:
    state = _expect_dict(state, f"a {type(xs).__name__}")
    if len(state) != len(xs):
        raise ValueError(
            "The size of the list and the state dict do not match, got "
            f"{len(xs)} and {len(state)} at path {current_path()}"
        )
    return [from_state_dict(x, state[str(i)], name=str(i)) for i, x in enumerate(xs)]


def _dict_state_dict(xs: dict[Any, Any]) -> dict[str, Any]:
    keys = {str(k) for k in xs}
    if len(keys) != len(xs):
        raise ValueError(
            f"Dict keys do not have a unique string representation: {sorted(keys)} vs "
            f"given: {list(xs)}. A state dict uses str(key) as its keys."
        )
    return {str(k): to_state_dict(v) for k, v in xs.items()}


def _restore_dict(xs: dict[Any, Any], state: Any) -> dict[Any, Any]:
    state = _expect_dict(state, "a dict")
    missing = {str(k) for k in xs} - set(state)
    if missing:
        raise ValueError(
            "The target dict keys and state dict keys do not match, target dict "
            f"contains keys {missing} which are not present in state dict at path "
            f"{current_path()}"
        )
    return {k: from_state_dict(v, state[str(k)], name=str(k)) for k, v in xs.items()}


def _namedtuple_state_dict(nt: Any) -> dict[str, Any]:
    return {field: to_state_dict(getattr(nt, field)) for field in nt._fields}


def _restore_namedtuple(nt: Any, state: Any) -> Any:
    state = _expect_dict(state, f"the namedtuple {type(nt).__name__}")
    if set(state) == {"name", "fields", "values"}:  # the encoding of flax before 2022
        fields, values = state["fields"], state["values"]
        state = {fields[str(i)]: values[str(i)] for i in range(len(fields))}
    if set(state) != set(nt._fields):
        raise ValueError(
            "The field names of the state dict and the named tuple do not match, got "
            f"{set(state)} and {set(nt._fields)} at path {current_path()}"
        )
    return type(nt)(**{k: from_state_dict(getattr(nt, k), v, name=k) for k, v in state.items()})


def _data_fields(cls: type) -> list[str]:
    """The pytree (not static) fields of a `minijax.struct` dataclass."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("pytree_node", True)]


def _dataclass_state_dict(x: Any) -> dict[str, Any]:
    return {name: to_state_dict(getattr(x, name)) for name in _data_fields(type(x))}


def _restore_dataclass(x: Any, state: Any) -> Any:
    cls = type(x).__name__
    state = _expect_dict(state, f"an instance of {cls}")
    updates = {}
    for name in _data_fields(type(x)):
        if name not in state:
            raise ValueError(
                f"Missing field {name} in state dict while restoring an instance of {cls},"
                f" at path {current_path()}"
            )
        updates[name] = from_state_dict(getattr(x, name), state.pop(name), name=name)
    if state:
        raise ValueError(
            f'Unknown field(s) "{",".join(state)}" in state dict while restoring an '
            f"instance of {cls} at path {current_path()}"
        )
    return x.replace(**updates)


register_serialization_state(dict, _dict_state_dict, _restore_dict)
register_serialization_state(list, _list_state_dict, _restore_list)
register_serialization_state(tuple, _list_state_dict, lambda xs, s: tuple(_restore_list(xs, s)))
register_serialization_state(
    jax.tree_util.Partial,
    lambda p: {"args": to_state_dict(p.args), "keywords": to_state_dict(p.keywords)},
    lambda p, s: jax.tree_util.Partial(  # type: ignore[no-untyped-call]
        p.func,
        *from_state_dict(p.args, _expect_dict(s, "a Partial")["args"], name="args"),
        **from_state_dict(p.keywords, s["keywords"], name="keywords"),
    ),
)


# --- msgpack ------------------------------------------------------------------------

# msgpack's limit is 2**31 - 1 bytes per object; stay well below it.
MAX_CHUNK_SIZE = 2**30
_CHUNKED = "__msgpack_chunked_array__"


class _MsgpackExtType(enum.IntEnum):
    """The msgpack extension type codes of flax's format."""

    ndarray = 1
    native_complex = 2
    npscalar = 3


def _msgpack() -> Any:
    try:
        import msgpack  # type: ignore[import-untyped]
    except ImportError as error:  # pragma: no cover - msgpack is a dependency
        raise ImportError(
            "minijax.serialization needs the msgpack package for bytes: "
            "pip install msgpack"
        ) from error
    return msgpack


def _ndarray_to_bytes(arr: Any) -> bytes:
    if isinstance(arr, jax.Array):
        if _is_key(arr):
            arr = jax.random.key_data(arr)
        if not arr.is_fully_addressable:
            raise ValueError(
                f"cannot serialize an array of shape {arr.shape} that spans several "
                "processes: gather it first (jax.experimental.multihost_utils."
                "process_allgather) or save with minijax.train.checkpoint."
            )
    arr = np.asarray(arr)
    if arr.dtype.hasobject or arr.dtype.isalignedstruct:
        raise ValueError(
            f"Object and structured dtypes are not supported for serialization of "
            f"ndarrays, got dtype {arr.dtype}."
        )
    packed: bytes = _msgpack().packb(
        (arr.shape, arr.dtype.name, arr.tobytes("C")), use_bin_type=True
    )
    return packed


def _ndarray_from_bytes(data: bytes) -> np.ndarray:
    shape, dtype_name, buffer = _msgpack().unpackb(data, raw=True)
    dtype = np.dtype(dtype_name.decode())  # bfloat16 too: jax registers ml_dtypes
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="C")


def _msgpack_ext_pack(x: Any) -> Any:
    """msgpack's `default` hook: arrays, NumPy scalars and complex numbers."""
    msgpack = _msgpack()
    if isinstance(x, np.ndarray | jax.Array):
        return msgpack.ExtType(_MsgpackExtType.ndarray, _ndarray_to_bytes(x))
    if isinstance(x, np.generic):
        return msgpack.ExtType(_MsgpackExtType.npscalar, _ndarray_to_bytes(np.asarray(x)))
    if isinstance(x, complex):
        return msgpack.ExtType(_MsgpackExtType.native_complex, msgpack.packb((x.real, x.imag)))
    return x


def _msgpack_ext_unpack(code: int, data: bytes) -> Any:
    """msgpack's `ext_hook`: the inverse of `_msgpack_ext_pack`."""
    if code == _MsgpackExtType.ndarray:
        return _ndarray_from_bytes(data)
    if code == _MsgpackExtType.native_complex:
        real, imag = _msgpack().unpackb(data)
        return complex(real, imag)
    if code == _MsgpackExtType.npscalar:
        return _ndarray_from_bytes(data)[()]
    return _msgpack().ExtType(code, data)


def _chunk(arr: np.ndarray) -> dict[str, Any]:
    """A large array as `{chunked: True, "shape": {"0": n0, ...}, "chunks": {...}}`."""
    size = max(1, MAX_CHUNK_SIZE // arr.dtype.itemsize)
    flat = arr.reshape(-1)
    chunks = [flat[i : i + size] for i in range(0, flat.size, size)]
    return {
        _CHUNKED: True,
        "shape": {str(i): n for i, n in enumerate(arr.shape)},
        "chunks": {str(i): c for i, c in enumerate(chunks)},
    }


def _unchunk(data: dict[str, Any]) -> np.ndarray:
    shape = tuple(data["shape"][str(i)] for i in range(len(data["shape"])))
    chunks = [data["chunks"][str(i)] for i in range(len(data["chunks"]))]
    return np.concatenate(chunks).reshape(shape)


def _to_numpy_and_chunk(x: Any, sort_keys: bool) -> Any:
    """A copy with jax arrays (in dicts) as NumPy arrays, those above `MAX_CHUNK_SIZE`
    chunked, and with sorted dict keys if `sort_keys` (and the keys can be sorted)."""
    if isinstance(x, dict):
        keys = list(x)
        if sort_keys:
            with contextlib.suppress(TypeError):
                keys.sort()
        return {k: _to_numpy_and_chunk(x[k], sort_keys) for k in keys}
    if isinstance(x, jax.Array):
        x = np.asarray(jax.random.key_data(x) if _is_key(x) else x)
    if isinstance(x, np.ndarray) and x.size * x.dtype.itemsize > MAX_CHUNK_SIZE:
        return _chunk(x)
    return x


def _chunk_array_leaves_in_place(tree: Any) -> Any:
    """Chunk the large NumPy leaves of the dicts in `tree` (flax's private helper)."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            tree[k] = _chunk_array_leaves_in_place(v)
        return tree
    if isinstance(tree, np.ndarray) and tree.size * tree.dtype.itemsize > MAX_CHUNK_SIZE:
        return _chunk(tree)
    return tree


def _unchunk_array_leaves(tree: Any) -> Any:
    if isinstance(tree, dict):
        if _CHUNKED in tree:
            return _unchunk(tree)
        return {k: _unchunk_array_leaves(v) for k, v in tree.items()}
    return tree


def _first_unsupported(tree: Any, path: str = ".") -> tuple[str, Any] | None:
    """The path and value of the first leaf msgpack cannot write."""
    if type(tree) is dict:
        for k, v in tree.items():
            found = _first_unsupported(v, f"{path}/{k}")
            if found:
                return found
        return None
    if type(tree) is list:
        for i, v in enumerate(tree):
            found = _first_unsupported(v, f"{path}/{i}")
            if found:
                return found
        return None
    ok = (type(None), bool, int, float, str, bytes, complex, np.ndarray, np.generic, jax.Array)
    return None if isinstance(tree, ok) else (path, tree)


def msgpack_serialize(pytree: Any, in_place: bool = False) -> bytes:
    """Write a tree of dicts, lists, numbers, strings and arrays as msgpack bytes.

    flax: `serialization.msgpack_serialize`. For other objects (tuples, namedtuples,
    dataclasses) use `to_bytes`, which turns them into dicts first. Arrays larger
    than `MAX_CHUNK_SIZE` bytes are written in chunks.

    Dict keys are written in sorted order, as flax's `msgpack_serialize` does (it
    copies the tree with `jax.tree.map`), unless `in_place`: then in their own order,
    as flax's `to_bytes` does. The bytes are flax's, byte for byte.

    Args:
        pytree: the tree. jax arrays are copied to the host.
        in_place: keep the dicts' key order (flax: modify the tree in place, which
            minijax never does).

    Returns:
        The bytes.

    Raises:
        TypeError: a leaf msgpack cannot write; the message names its path.

    >>> import numpy as np
    >>> from minijax import serialization
    >>> data = serialization.msgpack_serialize({"w": np.arange(3.0)})
    >>> serialization.msgpack_restore(data)
    {'w': array([0., 1., 2.])}
    """
    tree = _to_numpy_and_chunk(pytree, sort_keys=not in_place)
    try:
        packed: bytes = _msgpack().packb(tree, default=_msgpack_ext_pack, strict_types=True)
    except TypeError as error:
        found = _first_unsupported(tree)
        if found is None:
            raise
        path, value = found
        raise TypeError(
            f"msgpack cannot write the {type(value).__name__} at path {path}: "
            "msgpack_serialize takes dicts, lists, numbers, strings and arrays. Use "
            "to_bytes for tuples, namedtuples and dataclasses (it makes dicts of them), "
            "or register_serialization_state for your own types."
        ) from error
    return packed


def msgpack_restore(encoded_pytree: bytes) -> Any:
    """Read bytes written by `msgpack_serialize` (or by flax) back into a tree.

    flax: `serialization.msgpack_restore`. Arrays come back as NumPy arrays and
    chunked arrays are joined again.

    Args:
        encoded_pytree: the bytes.

    Returns:
        A tree of dicts, lists, numbers, strings and NumPy arrays.

    Raises:
        ValueError: the bytes are not msgpack (truncated, another format).

    >>> from minijax import serialization
    >>> serialization.msgpack_restore(serialization.msgpack_serialize([1, "a", 2j]))
    [1, 'a', 2j]
    """
    msgpack = _msgpack()
    try:
        tree = msgpack.unpackb(
            encoded_pytree, ext_hook=_msgpack_ext_unpack, raw=False, strict_map_key=False
        )
    except (ValueError, msgpack.exceptions.UnpackException) as error:
        raise ValueError(
            f"cannot read {len(encoded_pytree)} bytes as msgpack ({type(error).__name__}: "
            f"{error}): the data is truncated, corrupted, or was not written by "
            "to_bytes / msgpack_serialize."
        ) from error
    return _unchunk_array_leaves(tree)


def to_bytes(target: Any) -> bytes:
    """`msgpack_serialize(to_state_dict(target))`: an object as bytes (flax: the same name).

    Args:
        target: anything `to_state_dict` handles: params, a `TrainState`, an
            optimizer state.

    Returns:
        The bytes.

    >>> import jax.numpy as jnp
    >>> from minijax import serialization
    >>> params = {"Dense_0": {"kernel": jnp.ones((2, 2)), "bias": jnp.zeros(2)}}
    >>> data = serialization.to_bytes(params)
    >>> serialization.from_bytes(params, data)["Dense_0"]["kernel"].shape
    (2, 2)
    """
    return msgpack_serialize(to_state_dict(target), in_place=True)


def from_bytes(target: Any, encoded_bytes: bytes) -> Any:
    """`from_state_dict(target, msgpack_restore(encoded_bytes))` (flax: the same name).

    Args:
        target: an object of the structure that was saved, e.g. a fresh `TrainState`.
        encoded_bytes: bytes written by `to_bytes` (minijax's or flax's).

    Returns:
        A copy of `target` with the saved values (NumPy arrays).

    Raises:
        ValueError: the bytes are not msgpack, or the state does not fit `target`.

    >>> import numpy as np
    >>> from minijax import serialization
    >>> data = serialization.to_bytes((np.ones(2), 3))
    >>> serialization.from_bytes((np.zeros(2), 0), data)
    (array([1., 1.]), 3)
    """
    return from_state_dict(target, msgpack_restore(encoded_bytes))
