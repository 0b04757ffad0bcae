"""minijax.serialization: state dicts, flax's msgpack format (checked against flax), errors."""

import collections
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import msgpack
import numpy as np
import pytest

import minijax.nn as nn
import minijax.optim as mopt
from minijax import serialization as ser
from minijax import struct
from minijax.train import TrainState


@struct.dataclass
class Point:
    x: Any
    y: Any
    label: str = struct.field(pytree_node=False, default="p")


class Pair(NamedTuple):
    a: Any
    b: Any


def small_chunks(monkeypatch, *modules):
    for module in modules:
        monkeypatch.setattr(module, "MAX_CHUNK_SIZE", 91 * 8)


# --- msgpack round trips ------------------------------------------------------------

NUMPY_DTYPES = [
    "bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128",
    "clongdouble", "timedelta64",
]  # fmt: skip


@pytest.mark.parametrize("dtype", NUMPY_DTYPES)
def test_numpy_arrays_and_scalars_round_trip(dtype):
    rng = np.random.default_rng(0)
    for shape in [(), (5,), (2, 3, 1)]:
        arr = rng.uniform(-100, 100, size=shape).astype(dtype)
        back = ser.msgpack_restore(ser.msgpack_serialize(arr))
        assert back.dtype == arr.dtype and back.shape == arr.shape
        np.testing.assert_array_equal(back, arr)
    scalar = arr.reshape(-1)[0]
    back = ser.msgpack_restore(ser.msgpack_serialize({"s": scalar}))["s"]
    assert type(back) is type(scalar)
    np.testing.assert_array_equal(back, scalar)


@pytest.mark.parametrize("dtype", [jnp.bool_, jnp.uint8, jnp.int32, jnp.bfloat16, jnp.float16,
                                   jnp.float32, jnp.complex64])
def test_jax_arrays_round_trip_as_numpy(dtype):
    arr = jnp.asarray(np.linspace(-3, 3, 6).reshape(2, 3)).astype(dtype)
    back = ser.msgpack_restore(ser.msgpack_serialize([arr, arr[0, 0]]))
    for got, want in zip(back, [arr, arr[0, 0]], strict=True):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype
        np.testing.assert_array_equal(got, np.asarray(want))


def test_python_leaves_round_trip():
    tree = {"none": None, "bool": True, "int": -3, "float": 2.5, "str": "s", "bytes": b"\x00",
            "complex": 1 + 2j, "list": [1, [2.0, "x"]], 7: "int key"}
    assert ser.msgpack_restore(ser.msgpack_serialize(tree)) == tree


def test_large_arrays_are_chunked_and_joined(monkeypatch):
    small_chunks(monkeypatch, ser)
    tree = {"a": np.arange(100.0).reshape(10, 10), "b": {"c": np.ones(3)}}
    chunked = ser._chunk_array_leaves_in_place(jax.tree.map(lambda x: x, tree))
    assert jax.tree.map(np.shape, chunked["a"]) == {
        "__msgpack_chunked_array__": (),
        "shape": {"0": (), "1": ()},
        "chunks": {"0": (91,), "1": (9,)},
    }
    assert isinstance(chunked["b"]["c"], np.ndarray)  # small arrays stay whole
    back = ser.msgpack_restore(ser.msgpack_serialize(tree))
    np.testing.assert_array_equal(back["a"], tree["a"])
    np.testing.assert_array_equal(back["b"]["c"], tree["b"]["c"])
    np.testing.assert_array_equal(ser.from_bytes(tree, ser.to_bytes(tree))["a"], tree["a"])


def test_unchunked_bytes_restore_under_a_small_chunk_size(monkeypatch):
    arr = np.random.default_rng(0).uniform(size=(21, 37))
    legacy = msgpack.packb(arr, default=ser._msgpack_ext_pack, strict_types=True)
    small_chunks(monkeypatch, ser)
    np.testing.assert_array_equal(ser.msgpack_restore(legacy), arr)


def test_msgpack_serialize_does_not_modify_its_input():
    tree = {"a": jnp.ones(3)}
    ser.msgpack_serialize(tree, in_place=True)
    assert isinstance(tree["a"], jax.Array)


# --- the same bytes as flax -----------------------------------------------------------


@pytest.mark.parity
def test_bytes_are_flax_bytes(monkeypatch):
    from flax import serialization as fser

    tree = {
        "params": {"kernel": np.arange(6, dtype=np.float32).reshape(2, 3),
                   "bias": jnp.zeros(3, jnp.bfloat16)},
        "misc": [np.int8(3), np.float64(0.5), 1j, 2.5, "x", None, True, b"raw"],
        "count": jnp.int32(7),
    }
    assert ser.msgpack_serialize(tree) == fser.msgpack_serialize(tree)
    assert ser.to_bytes(tree) == fser.to_bytes(tree)
    restored = fser.msgpack_restore(ser.msgpack_serialize(tree))
    assert jax.tree.structure(restored) == jax.tree.structure(ser.msgpack_restore(
        fser.msgpack_serialize(tree)))
    small_chunks(monkeypatch, ser, fser)
    big = {"a": np.arange(300.0).reshape(3, 100)}
    assert ser.msgpack_serialize(big) == fser.msgpack_serialize(big)
    np.testing.assert_array_equal(fser.msgpack_restore(ser.msgpack_serialize(big))["a"], big["a"])
    np.testing.assert_array_equal(ser.msgpack_restore(fser.msgpack_serialize(big))["a"], big["a"])


@pytest.mark.parity
def test_flax_train_state_loads_into_minijax_and_back():
    import flax.linen as fnn
    import optax
    from flax import serialization as fser
    from flax.training import train_state

    x = jnp.ones((2, 3))
    fmodel = fnn.Sequential([fnn.Dense(4), fnn.Dense(2)])
    fparams = fmodel.init(jax.random.key(0), x)["params"]
    fstate = train_state.TrainState.create(apply_fn=fmodel.apply, params=fparams,
                                           tx=optax.adam(1e-2))
    fstate = fstate.apply_gradients(grads=jax.tree.map(jnp.ones_like, fparams))

    model = nn.Sequential([nn.Dense(4), nn.Dense(2)])
    params = model.init(jax.random.key(1), x)["params"]
    target = TrainState.create(apply_fn=model.apply, params=params, tx=mopt.adam(1e-2))
    assert jax.tree.structure(ser.to_state_dict(target)) == jax.tree.structure(
        fser.to_state_dict(fstate))

    loaded = ser.from_bytes(target, fser.to_bytes(fstate))
    assert loaded.tx is target.tx and loaded.apply_fn == target.apply_fn
    assert int(loaded.step) == 1
    for got, want in zip(jax.tree.leaves(loaded), jax.tree.leaves(fstate), strict=True):
        np.testing.assert_array_equal(got, want)
    y = model.apply({"params": loaded.params}, x)
    np.testing.assert_array_equal(y, fmodel.apply({"params": fstate.params}, x))

    stepped = target.apply_gradients(grads=jax.tree.map(jnp.ones_like, params))
    back = fser.from_bytes(fstate, ser.to_bytes(stepped))
    for got, want in zip(jax.tree.leaves(back), jax.tree.leaves(stepped), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parity
def test_boxed_params_have_flax_state_dicts():
    import flax.linen as fnn
    from flax import serialization as fser

    x = jnp.ones((1, 3))
    mine = nn.Dense(2, kernel_init=nn.with_partitioning(nn.initializers.ones, (None, "model")))
    theirs = fnn.Dense(2, kernel_init=fnn.with_partitioning(fnn.initializers.ones, (None, "model")))
    ours_b = ser.to_bytes(mine.init(jax.random.key(0), x))
    theirs_b = fser.to_bytes(theirs.init(jax.random.key(0), x))
    assert ours_b == theirs_b  # {"params": {"kernel": {"value": ...}, "bias": ...}}
    target = mine.init(jax.random.key(1), x)
    restored = ser.from_bytes(target, theirs_b)
    assert restored["params"]["kernel"].names == (None, "model")
    np.testing.assert_array_equal(restored["params"]["kernel"].value, np.ones((3, 2)))


# --- state dicts ----------------------------------------------------------------------


def test_containers_become_string_keyed_dicts():
    state = {"list": [1, 2], "tuple": (3,), "pair": Pair(4, 5), 0: "int key"}
    assert ser.to_state_dict(state) == {
        "list": {"0": 1, "1": 2}, "tuple": {"0": 3}, "pair": {"a": 4, "b": 5}, "0": "int key"}
    back = ser.from_state_dict(state, ser.to_state_dict({**state, "list": [7, 8]}))
    assert back == {**state, "list": [7, 8]}
    assert type(back["tuple"]) is tuple and type(back["pair"]) is Pair


def test_optimizer_state_dict_is_optax_layout():
    params = {"w": jnp.zeros(2)}
    state = mopt.sgd(0.1, momentum=0.9).init(params)
    assert jax.tree.map(np.shape, ser.to_state_dict(state)) == {"0": {"trace": {"w": (2,)}},
                                                                "1": {}}
    plus_one = jax.tree.map(lambda x: x + 1, ser.to_state_dict(state))
    restored = ser.from_state_dict(state, plus_one)
    assert type(restored[0]) is type(state[0])
    np.testing.assert_array_equal(restored[0].trace["w"], np.ones(2))


def test_struct_dataclass_fields_and_static_fields():
    p = Point(x=1, y=2, label="kept")
    assert ser.to_state_dict(p) == {"x": 1, "y": 2}
    assert ser.from_state_dict(p, {"x": 3, "y": 4}) == Point(x=3, y=4, label="kept")
    with pytest.raises(ValueError, match=r"Missing field y in state dict while restoring an "
                                         r"instance of Point, at path \.$"):
        ser.from_state_dict(p, {"x": 3})
    with pytest.raises(ValueError, match=r'Unknown field.*"z".*Point at path \./inner'):
        ser.from_state_dict({"inner": p}, {"inner": {"x": 3, "y": 4, "z": 5}})


def test_namedtuple_legacy_encoding():
    foo = collections.namedtuple("Foo", "a b c")
    legacy = {"name": "Foo", "fields": {"0": "a", "1": "b", "2": "c"},
              "values": {"0": 1, "1": 2, "2": 3}}
    assert ser.from_state_dict(foo(0, 0, 0), legacy) == foo(1, 2, 3)
    assert ser.from_bytes(foo(0, 0, 0), ser.to_bytes(foo(1, 2, 3))) == foo(1, 2, 3)


def test_partial():
    add_one = jax.tree_util.Partial(jnp.add, 1)
    state = ser.to_state_dict(add_one)
    assert state == {"args": {"0": 1}, "keywords": {}}
    restored = ser.from_state_dict(add_one, {"args": {"0": 5}, "keywords": {}})
    assert restored.args == (5,) and int(restored(1)) == 6


def test_register_serialization_state_and_current_path():
    class Temperature:
        def __init__(self, kelvin):
            self.kelvin = kelvin

    def restore(target, state):
        if state["kelvin"] < 0:
            raise ValueError(f"negative temperature at path {ser.current_path()}")
        return Temperature(state["kelvin"])

    assert not ser.is_serializable(Temperature) and not ser.is_serializable(Temperature(1))
    ser.register_serialization_state(Temperature, lambda t: {"kelvin": t.kelvin}, restore)
    try:
        assert ser.is_serializable(Temperature) and ser.is_serializable(Temperature(1))
        with pytest.raises(ValueError, match="already registered"):
            ser.register_serialization_state(Temperature, lambda t: {}, restore)
        tree = {"room": [Temperature(293.0)]}
        assert ser.to_state_dict(tree) == {"room": {"0": {"kelvin": 293.0}}}
        assert ser.from_bytes(tree, ser.to_bytes(tree))["room"][0].kelvin == 293.0
        with pytest.raises(ValueError, match=r"negative temperature at path ./room/0"):
            ser.from_state_dict(tree, {"room": {"0": {"kelvin": -1.0}}})
        assert ser.current_path() == ""
        ser.register_serialization_state(Temperature, lambda t: {1: t.kelvin}, restore,
                                         override=True)
        with pytest.raises(TypeError, match="not strings: \\[1\\]"):
            ser.to_state_dict(Temperature(1.0))
    finally:
        del ser._STATE_DICT_REGISTRY[Temperature]
    assert ser.is_serializable(Point) and ser.is_serializable(Point(1, 2))


def test_train_state_with_prng_key_and_typed_leaves_round_trip():
    class KeyedState(TrainState):
        key: jax.Array

    params = {"w": jnp.arange(3.0)}
    state = KeyedState.create(apply_fn=None, params=params, tx=mopt.adam(0.1),
                              key=jax.random.key(42))
    state = state.apply_gradients(grads={"w": jnp.ones(3)})
    data = ser.to_bytes(state)
    fresh = KeyedState.create(apply_fn=None, params={"w": jnp.zeros(3)}, tx=state.tx,
                              key=jax.random.key(0))
    back = ser.from_bytes(fresh, data)
    assert int(back.step) == 1
    np.testing.assert_array_equal(back.params["w"], state.params["w"])
    np.testing.assert_array_equal(back.opt_state[0].nu["w"], state.opt_state[0].nu["w"])
    assert jax.dtypes.issubdtype(back.key.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(jax.random.key_data(back.key), jax.random.key_data(state.key))


# --- errors name the path ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "wrong", "msg"),
    [
        ([[[1, 2, 3], [4, 5]]], [[[1, 2, 3], [4]]],
         "The size of the list and the state dict do not match, got 1 and 2 at path ./0/1"),
        ((Pair(1, 2), 3), (collections.namedtuple("Other", "a c")(1, 2), 3),
         "The field names of the state dict and the named tuple do not match, got "),
        ({"a": {"b": {"c": 1, "d": 2}}}, {"a": {"b": {"c": 1, "e": 2}}},
         "The target dict keys and state dict keys do not match, target dict contains keys "
         "{'e'} which are not present in state dict at path ./a/b"),
    ],
)
def test_structure_mismatch_messages_are_flax_messages(target, wrong, msg):
    with pytest.raises(ValueError) as info:
        ser.from_bytes(wrong, ser.to_bytes(target))
    assert msg in str(info.value)


def test_a_model_of_another_size_is_a_shape_error_with_the_path():
    x = jnp.ones((1, 3))
    saved = nn.MLP([4, 2]).init(jax.random.key(0), x)
    target = nn.MLP([5, 2]).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match=r"got \(3, 5\) and \(3, 4\) at path "
                                         r"./params/Dense_0/kernel"):
        ser.from_bytes(target, ser.to_bytes(saved))


def test_extra_state_keys_are_dropped_as_in_flax():
    restored = ser.from_state_dict({"a": 0}, {"a": 1, "unused": 2})
    assert restored == {"a": 1}


def test_wrong_kinds_of_state():
    with pytest.raises(ValueError, match=r"array of shape \(2,\) at path ./w but the state "
                                         r"dict has a dict with keys \['value'\]"):
        ser.from_state_dict({"w": np.zeros(2)}, {"w": {"value": np.zeros(2)}})
    with pytest.raises(ValueError, match=r"Restoring a dict needs a dict in the state dict, "
                                         r"got a ndarray at path \./p"):
        ser.from_state_dict({"p": {"w": 0}}, {"p": np.zeros(2)})
    with pytest.raises(ValueError, match=r"PRNG key array of shape \(\) at path ./k"):
        ser.from_state_dict({"k": jax.random.key(0)}, {"k": np.zeros(3, np.uint32)})


def test_unwritable_and_unreadable_data():
    with pytest.raises(TypeError, match=r"cannot write the tuple at path \./a/0"):
        ser.msgpack_serialize({"a": [(1, 2)]})
    with pytest.raises(TypeError, match=r"cannot write the object at path \./b"):
        ser.msgpack_serialize({"b": object()})
    with pytest.raises(ValueError, match="Object and structured dtypes"):
        ser.msgpack_serialize(np.array([{}], dtype=object))
    data = ser.to_bytes({"w": np.ones(10)})
    with pytest.raises(ValueError, match=r"cannot read \d+ bytes as msgpack"):
        ser.msgpack_restore(data[:-5])
    with pytest.raises(ValueError, match="cannot read"):
        ser.msgpack_restore(data + b"\x00")


def test_docs_page_runs():
    import contextlib
    import io
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "serialization.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        for block in blocks:
            exec(compile(block, str(page), "exec"), namespace)
    assert isinstance(namespace["state"], TrainState) and len(blocks) == 5
    assert "Dense_0/kernel       (8, 16)" in printed.getvalue()
    assert namespace["decay_mask"]["Dense_1"] == {"kernel": True, "bias": False}


def test_docstring_examples():
    import doctest

    from minijax import traverse_util

    for module in (ser, traverse_util):
        result = doctest.testmod(module)
        assert result.attempted > 5 and result.failed == 0, module.__name__
