"""minijax.struct: frozen dataclasses that are pytrees."""

import dataclasses
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minijax import struct


@struct.dataclass
class Point:
    x: Any
    y: Any


@struct.dataclass
class Layer:
    w: Any
    b: Any
    activation: str = struct.field(pytree_node=False, default="relu")
    width: int = struct.field(pytree_node=False, default=4)


@struct.dataclass
class Validated:
    """A class whose __post_init__ only accepts concrete arrays (no None, ints, tracers)."""

    w: Any
    b: Any

    def __post_init__(self) -> None:
        for name in ("w", "b"):
            value = getattr(self, name)
            if not isinstance(value, (np.ndarray, jax.Array)) or isinstance(value, jax.core.Tracer):
                raise TypeError(f"{name} must be a concrete array, got {type(value).__name__}")


class Base(struct.PyTreeNode):
    step: Any
    params: Any
    apply_fn: Any = struct.field(pytree_node=False, default=None)


class WithStats(Base):
    batch_stats: Any = None


class WithMore(WithStats):
    extra: Any = None
    tag: str = struct.field(pytree_node=False, default="t")


def test_flatten_unflatten_round_trip() -> None:
    layer = Layer(w=jnp.ones((2, 3)), b=jnp.zeros(3), activation="tanh")
    leaves, treedef = jax.tree.flatten(layer)
    assert len(leaves) == 2
    rebuilt = jax.tree.unflatten(treedef, leaves)
    assert isinstance(rebuilt, Layer)
    assert rebuilt.activation == "tanh" and rebuilt.width == 4
    assert rebuilt.w is layer.w and rebuilt.b is layer.b
    nested = {"a": Point(x=1.0, y=Layer(w=2.0, b=3.0)), "b": [Point(4.0, 5.0)]}
    leaves, treedef = jax.tree.flatten(nested)
    assert leaves == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert jax.tree.unflatten(treedef, leaves) == nested


def test_flatten_with_path_names_fields() -> None:
    layer = Layer(w=jnp.ones(2), b=jnp.zeros(2))
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(layer)[0]]
    assert paths == [".w", ".b"]
    tree = {"dense": Point(x=1.0, y=[2.0, 3.0])}
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
    assert paths == ["['dense'].x", "['dense'].y[0]", "['dense'].y[1]"]


def test_static_fields_are_not_leaves_but_part_of_the_treedef() -> None:
    a = Layer(w=1.0, b=2.0, activation="relu")
    b = Layer(w=1.0, b=2.0, activation="gelu")
    assert jax.tree.leaves(a) == [1.0, 2.0]
    assert jax.tree.structure(a) != jax.tree.structure(b)
    assert jax.tree.structure(a) == jax.tree.structure(Layer(w=9.0, b=8.0))
    assert struct.static_fields(Layer) == ("activation", "width")
    assert jax.tree.map(lambda v: v * 10, a).activation == "relu"


def test_jit_recompiles_on_static_change_not_on_leaf_change() -> None:
    traces = []

    @jax.jit
    def f(layer: Layer) -> jax.Array:
        traces.append(layer.activation)
        return layer.w * 2 + layer.b

    f(Layer(w=jnp.ones(3), b=jnp.zeros(3)))
    f(Layer(w=jnp.arange(3.0), b=jnp.ones(3)))  # new leaf values, same avals: cached
    assert traces == ["relu"]
    out = f(Layer(w=jnp.ones(3), b=jnp.zeros(3), activation="gelu"))  # new static: retrace
    assert traces == ["relu", "gelu"]
    np.testing.assert_allclose(out, 2.0)


def test_validated_class_rejects_bad_input_in_init() -> None:
    with pytest.raises(TypeError, match="concrete array"):
        Validated(w=None, b=jnp.ones(2))


def test_unflatten_does_not_call_init() -> None:
    v = Validated(w=jnp.ones((2, 3)), b=jnp.zeros(3))
    # tree.map to None: jax unflattens with None leaves
    nones = jax.tree.map(lambda _: None, v)
    assert isinstance(nones, Validated) and nones.w is None
    # vmap with in_axes given as the dataclass (ints and None as leaves)
    batched = Validated(w=jnp.ones((5, 2, 3)), b=jnp.zeros(3))
    axes = jax.tree.map(lambda a: 0 if a.ndim == 2 else None, v)  # Validated(w=0, b=None)
    assert isinstance(axes, Validated) and (axes.w, axes.b) == (0, None)
    out = jax.vmap(lambda p: p.w.sum(axis=0) + p.b, in_axes=(axes,))(batched)
    assert out.shape == (5, 3)
    # grad and jit: unflattened with tracers
    grads = jax.grad(lambda p: jnp.sum(p.w**2) + jnp.sum(p.b))(v)
    assert isinstance(grads, Validated)
    np.testing.assert_allclose(grads.w, 2.0)
    np.testing.assert_allclose(grads.b, 1.0)
    doubled = jax.jit(lambda p: jax.tree.map(lambda a: 2 * a, p))(v)
    np.testing.assert_allclose(doubled.w, 2.0)


def test_vmap_in_axes_as_a_dataclass_with_none() -> None:
    p = Point(x=jnp.ones((4, 3)), y=jnp.arange(3.0))
    out = jax.vmap(lambda p: p.x + p.y, in_axes=(Point(x=0, y=None),))(p)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out[2], 1.0 + np.arange(3.0))


def test_frozen() -> None:
    p = Point(x=1.0, y=2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3.0  # type: ignore[misc]
    node = Base(step=0, params={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.step = 1  # type: ignore[misc]


def test_frozen_false_slots_and_class_keywords_are_honoured() -> None:
    @struct.dataclass(frozen=False)
    class Mutable:
        a: Any

    m = Mutable(a=1)
    m.a = 2
    assert m.a == 2 and jax.tree.leaves(m) == [2]

    @struct.dataclass(frozen=False, slots=True)
    class Slotted:
        x: float

    p = Slotted(1.0)
    p.x = 3.0
    with pytest.raises(AttributeError):
        p.z = 0.0  # type: ignore[attr-defined]
    assert jax.tree.map(lambda v: v + 1, p) == Slotted(4.0)

    class MutableNode(struct.PyTreeNode, frozen=False):
        b: int = 1

    class KwNode(Base, kw_only=True):
        extra: int

    node = MutableNode()
    node.b = 5
    assert node.b == 5 and KwNode(step=0, params={}, extra=3).extra == 3
    with pytest.raises(TypeError, match="non-default argument 'extra' follows default"):
        class Positional(Base):
            extra: int


def test_wrapping_twice_is_a_no_op() -> None:
    class A:
        a: int

    once = struct.dataclass(A)
    assert struct.dataclass(once) is once and once._flax_dataclass  # type: ignore[attr-defined]


def test_replace() -> None:
    layer = Layer(w=1.0, b=2.0, activation="tanh")
    new = layer.replace(b=5.0)  # type: ignore[attr-defined]
    assert (new.w, new.b, new.activation) == (1.0, 5.0, "tanh")
    assert layer.b == 2.0  # the original is unchanged
    changed = layer.replace(activation="gelu")  # type: ignore[attr-defined]
    assert jax.tree.structure(changed) != jax.tree.structure(layer)
    with pytest.raises(TypeError):
        layer.replace(nope=1)  # type: ignore[attr-defined]


def test_pytreenode_subclass_and_sub_subclass() -> None:
    base = Base(step=jnp.array(0), params={"w": jnp.ones(2)}, apply_fn=len)
    assert [f.name for f in dataclasses.fields(Base)] == ["step", "params", "apply_fn"]
    assert len(jax.tree.leaves(base)) == 2
    assert base.replace(step=1).apply_fn is len

    s = WithStats(step=0, params=1.0, apply_fn=len, batch_stats=2.0)
    assert [f.name for f in dataclasses.fields(WithStats)] == [
        "step",
        "params",
        "apply_fn",
        "batch_stats",
    ]
    assert jax.tree.leaves(s) == [0, 1.0, 2.0]
    assert struct.static_fields(WithStats) == ("apply_fn",)
    rebuilt = jax.tree.map(lambda v: v + 1, s)
    assert isinstance(rebuilt, WithStats) and rebuilt.batch_stats == 3.0
    assert rebuilt.apply_fn is len

    m = WithMore(step=0, params=1.0, batch_stats=2.0, extra=3.0, tag="x")
    assert isinstance(m, WithStats) and isinstance(m, Base)
    assert jax.tree.leaves(m) == [0, 1.0, 2.0, 3.0]
    assert struct.static_fields(WithMore) == ("apply_fn", "tag")
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(m)[0]]
    assert paths == [".step", ".params", ".batch_stats", ".extra"]
    assert m.replace(extra=9.0).extra == 9.0
    # the subclasses are registered as their own node types
    assert jax.tree.structure(m) != jax.tree.structure(
        WithStats(step=0, params=1.0, batch_stats=2.0)
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.extra = 1  # type: ignore[misc]
    grads = jax.grad(lambda t: t.params * t.extra)(
        WithMore(step=0.0, params=2.0, batch_stats=0.0, extra=3.0)
    )
    assert (grads.params, grads.extra) == (3.0, 2.0)


@pytest.mark.parametrize("array", [np.ones(3), jnp.ones((2, 2))], ids=["numpy", "jax"])
def test_warning_for_an_array_in_a_static_field(array: Any) -> None:
    with pytest.warns(UserWarning) as record:
        Layer(w=1.0, b=2.0, activation=array)
    message = str(record[0].message)
    assert "Layer.activation is a static field (pytree_node=False)" in message
    assert f"array of shape {tuple(array.shape)}" in message
    assert "recompiles" in message and "jax.grad never sees them" in message
    assert "drop pytree_node=False" in message


def test_no_warning_for_non_array_static_fields() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.tree.leaves(Layer(w=jnp.ones(2), b=1.0, activation="tanh", width=3))


def test_warning_points_at_the_calling_line() -> None:
    with pytest.warns(UserWarning) as record:
        layer = Layer(w=1.0, b=2.0, activation=np.ones(3))
    assert record[0].filename == __file__
    with pytest.warns(UserWarning) as record:
        layer.replace(activation=np.zeros(2))  # replace builds through __init__ too
    assert record[0].filename == __file__


def test_flattening_does_not_warn_again() -> None:
    with pytest.warns(UserWarning):
        layer = Layer(w=1.0, b=2.0, activation=np.ones(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jax.tree.leaves(layer)
