"""The module system: modules as config, naming, setup vs compact, adoption, binding.

Only test-local layers (`_toy.py`) are used, so a bug in a library layer cannot
break these tests.
"""

import copy
import dataclasses
import gc
import pickle
from typing import Any
from unittest.mock import patch

import cloudpickle
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _toy import toy_layers

import minijax.nn as nn
from minijax import config
from minijax.core import FrozenDict
from minijax.nn.scope import Scope

toy = toy_layers(nn)
Affine, Scale, Noise, Counter = toy.Affine, toy.Scale, toy.Noise, toy.Counter
X = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
KEY = jax.random.key(0)


def shapes(tree: Any) -> Any:
    return jax.tree.map(jnp.shape, tree)


class MLP(nn.Module):
    features: tuple[int, ...]

    @nn.compact
    def __call__(self, x: Any) -> Any:
        for f in self.features:
            x = Affine(f)(x)
        return x


class Stack(nn.Module):
    """A container of modules passed in as a field (like `Sequential`)."""

    layers: tuple[Any, ...]

    def __call__(self, x: Any) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x


# --- config objects -------------------------------------------------------------------


def test_module_is_a_hashable_frozen_config() -> None:
    a, b = MLP([4, 2]), MLP((4, 2))  # type: ignore[arg-type]
    assert a.features == (4, 2) and a == b and hash(a) == hash(b)
    assert MLP((4, 3)) != a and {a: 1}[b] == 1
    assert Stack({"x": [1, 2]}).layers == FrozenDict({"x": (1, 2)})  # type: ignore[arg-type]
    with pytest.raises(nn.errors.SetAttributeFrozenModuleError, match="Can't set features"):
        a.features = (1,)  # type: ignore[misc]
    assert a.clone(features=(5,)).features == (5,)


def test_fields_end_with_parent_and_name() -> None:
    class Base(nn.Module):
        bar: int

    class Child(Base):
        baz: int

    class KwOnly(nn.Module, kw_only=True):
        rate: float = 0.1

    class AfterKwOnly(KwOnly):
        size: int  # no default needed: the base's fields are keyword-only

    assert list(Base.__dataclass_fields__) == ["bar", "parent", "name"]
    assert list(Child.__dataclass_fields__) == ["bar", "baz", "parent", "name"]
    assert Child(1, 2, name="c").name == "c"
    with pytest.raises(TypeError, match="positional"):
        KwOnly(0.2)  # type: ignore[misc]
    assert AfterKwOnly(3).size == 3


def test_init_false_field_assigned_in_setup() -> None:
    class WithAttr(nn.Module):
        bar: Any = dataclasses.field(init=False)

        def setup(self) -> None:
            self.bar = Affine(3)

        def __call__(self, x: Any) -> Any:
            return self.bar(x)

    assert shapes(WithAttr().init(KEY, X)) == {"params": {"bar": {"w": (3, 3), "b": (3,)}}}
    assert WithAttr() == WithAttr()  # the init=False field is not compared


def test_bound_modules_are_not_hashable_and_copies_keep_the_parent_default() -> None:
    bound = Affine(2).bind({})
    with pytest.raises(TypeError, match="hold variables"):
        hash(bound)
    default = Affine.__dataclass_fields__["parent"].default
    assert copy.copy(default) is default and copy.deepcopy(default) is default
    assert pickle.loads(pickle.dumps(default)) is default


def test_cloudpickle_and_deepcopy_of_modules() -> None:
    class WithProperty(nn.Module):
        a: int
        b: str

        @property
        def both(self) -> str:
            return self.b * self.a

    m = WithProperty(a=2, b="ok")
    loaded = cloudpickle.loads(cloudpickle.dumps(m))
    assert loaded.both == "okok" and loaded == m
    assert cloudpickle.loads(cloudpickle.dumps(WithProperty))(1, "x").both == "x"
    assert copy.deepcopy(m) == m and copy.deepcopy(m) is not m


# --- naming -------------------------------------------------------------------------


def test_compact_names_per_class_counters_and_name_kwarg() -> None:
    class Mixed(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            x = Affine(3)(x)
            x = Scale()(x)
            x = Affine(3, name="named")(x)
            return Affine(2)(x)

    assert set(Mixed().init(KEY, X)["params"]) == {"Affine_0", "Scale_0", "named", "Affine_1"}


def test_setup_names_lists_dicts_and_nested_containers() -> None:
    class Containers(nn.Module):
        def setup(self) -> None:
            self.layers = [Affine(3), Affine(3)]
            self.blocks = {"b": Affine(3), "a": [Scale(), Affine(3)], (1, 2): Scale()}
            self.head = Affine(1, name="out")

        def __call__(self, x: Any) -> Any:
            x = self.layers[1](self.layers[0](x))
            x = self.blocks["a"][1](self.blocks["a"][0](self.blocks["b"](x)))
            return self.head(self.blocks[(1, 2)](x))

    params = Containers().init(KEY, X)["params"]
    assert set(params) == {"layers_0", "layers_1", "blocks_b", "blocks_a_0", "blocks_a_1",
                           "blocks_(1, 2)", "out"}


def test_calling_a_module_twice_reuses_its_params() -> None:
    class Twice(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            block = MLP((3,))
            return block(block(x))

    v = Twice().init(KEY, X)
    assert shapes(v) == {"params": {"MLP_0": {"Affine_0": {"w": (3, 3), "b": (3,)}}}}
    y = Twice().apply(v, X)
    layer = v["params"]["MLP_0"]["Affine_0"]
    np.testing.assert_allclose(y, (X @ layer["w"] + layer["b"]) @ layer["w"] + layer["b"],
                               rtol=1e-6)


def test_several_compact_methods_and_super_calls() -> None:
    class Two(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return self.other(Affine(3)(x))

        @nn.compact
        def other(self, x: Any) -> Any:
            return Affine(3)(x)

    class Base(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Affine(3)(x)

    class Sub(Base):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            y = super().__call__(x)  # Affine_0, then this method's Affine_1
            return Affine(2)(y)

    assert set(Two().init(KEY, X)["params"]) == {"Affine_0", "Affine_1"}
    assert shapes(Sub().init(KEY, X)["params"]) == {
        "Affine_0": {"w": (3, 3), "b": (3,)}, "Affine_1": {"w": (3, 2), "b": (2,)}}


def test_setup_and_compact_mix_and_lazy_setup() -> None:
    calls = []

    class Lazy(nn.Module):
        def setup(self) -> None:
            calls.append("setup")
            self.inner = MLP((2,))

        def helper(self) -> int:
            return 1

    Lazy().helper()
    assert calls == []  # unbound: setup never runs
    bound = Lazy().bind(Lazy().init(KEY, X, method=lambda m, x: m.inner(x)))
    assert "inner" in dir(bound) and calls == ["setup", "setup"]
    assert bound.inner.path == ("inner",)


# --- adoption of modules passed in -----------------------------------------------------


def test_field_modules_are_adopted_and_the_callers_instance_stays_unbound() -> None:
    layer = Affine(3)
    v = Stack((layer, Scale())).init(KEY, X)
    assert set(v["params"]) == {"layers_0", "layers_1"}
    assert layer.scope is None and layer.name is None


def test_a_copied_module_is_another_module() -> None:
    layer = Affine(3)
    v = Stack((layer, copy.deepcopy(layer), layer)).init(KEY, X)
    assert set(v["params"]) == {"layers_0", "layers_1"}  # layers_2 is layers_0


def test_one_instance_given_to_two_parents_is_bound_under_the_first() -> None:
    class Holder(nn.Module):
        shared: Any

        def __call__(self, x: Any) -> Any:
            return self.shared(x)

    class Super(nn.Module):
        a: Any
        b: Any

        def run_b(self, x: Any) -> Any:
            return self.b(x)

        def __call__(self, x: Any) -> Any:
            return self.a(x) + self.b(x)

    sh = Affine(3)
    model = Super(a=Holder(sh), b=Holder(sh))
    v = model.init(KEY, X)
    assert shapes(v) == {"params": {"a": {"shared": {"w": (3, 3), "b": (3,)}}}}
    np.testing.assert_array_equal(model.apply(v, X, method="run_b"),
                                  model.apply(v, X, method=lambda m, x: m.a(x)))


def test_children_of_a_setup_container_can_be_called_directly() -> None:
    class Outer(nn.Module):
        def setup(self) -> None:
            self.stack = Stack((Affine(3), Affine(3)))

        def __call__(self, x: Any) -> Any:
            return self.stack.layers[0](x)

    assert set(Outer().init(KEY, X)["params"]["stack"]) == {"layers_0"}


def test_adopted_names_follow_the_attribute_or_the_config() -> None:
    named = Affine(3, name="foo")
    assert set(Stack((named,)).init(KEY, X)["params"]) == {"layers_0"}

    class Keeps(Stack):
        preserve_adopted_names = True

    assert set(Keeps((named,)).init(KEY, X)["params"]) == {"foo"}
    config.update("preserve_adopted_names", True)
    try:
        assert set(Stack((named,)).init(KEY, X)["params"]) == {"foo"}
        with pytest.raises(nn.errors.NameInUseError):
            Stack((named, Affine(3, name="foo"))).init(KEY, X)
    finally:
        config.update("preserve_adopted_names", False)


def test_a_closure_module_is_adopted_under_its_attribute() -> None:
    outside = Affine(2)

    class UsesClosure(nn.Module):
        def setup(self) -> None:
            self.foo = outside

        def __call__(self, x: Any) -> Any:
            return self.foo(x)

    assert set(UsesClosure().init(KEY, X)["params"]) == {"foo"}
    assert outside.name is None


def test_sharing_between_fields_is_kept() -> None:
    class B(nn.Module):
        a: Any

        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Affine(3)(x) + self.a(x)

    class C(nn.Module):
        a: Any
        b: Any

        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Affine(3)(x) + self.b(x) + self.a(x)

    a = MLP((3,))
    v = C(a, B(a)).init(KEY, X)
    assert set(v["params"]) == {"Affine_0", "a", "b"}
    assert set(v["params"]["b"]) == {"Affine_0"}  # b's `a` is C's `a`


# --- scopes, repr, copies --------------------------------------------------------------


def test_a_module_runs_on_a_scope_built_by_hand() -> None:
    scope = Scope({}, {"params": KEY}, mutable=["params"])
    y = Affine(3, parent=scope)(X)
    params = scope.variables()["params"]
    y2 = Affine(3, parent=scope.rewound())(X)
    np.testing.assert_array_equal(y, y2)
    assert shapes(params) == {"w": (3, 3), "b": (3,)}
    rooted = Scope({}, {"params": KEY}, mutable=True, path=("root",))
    assert Affine(3, parent=rooted).path == ("root",)


def test_repr_is_nested_and_does_not_run_setup() -> None:
    class Net(nn.Module):
        act: Any = jax.nn.relu
        sizes: tuple[int, ...] = (3, 2)

        @nn.compact
        def __call__(self, x: Any) -> Any:
            for size in self.sizes:
                x = self.act(Affine(size)(x))
            return repr(self)

    text, _ = Net().init_with_output(KEY, X)
    assert text == (
        "Net(\n    # attributes\n    act = relu\n    sizes = (3, 2)\n    # children\n"
        "    Affine_0 = Affine(\n        # attributes\n        features = 3\n    )\n"
        "    Affine_1 = Affine(\n        # attributes\n        features = 2\n    )\n)"
    )
    assert repr(Scale()) == "Scale()"
    lazy = Scale().bind({"params": {"s": 1.0}})
    repr(lazy)
    assert lazy._state.setup_called == nn.module.SetupState.NEW


def test_clone_copy_and_deep_clone() -> None:
    class FromTemplate(nn.Module):
        template: Any

        @nn.compact
        def __call__(self, x: Any) -> Any:
            x = self.template.copy()(x)
            x = self.template.copy(name="last")(x)
            return self.template.clone(parent=self, _deep_clone=True, name=None)(x)

    params = FromTemplate(MLP((3,))).init(KEY, X)["params"]
    assert set(params) == {"MLP_0", "last", "MLP_1"}
    inner = MLP((3,), name="n")
    outer = Stack((inner,))
    deep = outer.clone(_deep_clone=True, _reset_names=True)
    assert deep.layers[0] is not inner and deep.layers[0].name is None
    assert outer.clone(_deep_clone=True).layers[0].name == "n"


def test_share_scope_and_compact_name_scope() -> None:
    class LoRA(nn.Module):
        inner: Any

        def setup(self) -> None:
            nn.share_scope(self, self.inner)

        @nn.compact
        def __call__(self, x: Any) -> Any:
            return self.inner(x) + x @ self.param("A", jax.nn.initializers.zeros, (3, 3))

    class Grouped(nn.Module):
        @nn.compact_name_scope
        def up(self, x: Any) -> Any:
            return Affine(3)(x)

        def __call__(self, x: Any) -> Any:
            return self.up(x)

    assert set(LoRA(Affine(3)).init(KEY, X)["params"]) == {"w", "b", "A"}
    v = Grouped().init(KEY, X)
    assert set(v["params"]) == {"up"} and set(v["params"]["up"]) == {"Affine_0"}
    np.testing.assert_array_equal(Grouped().apply(v, X, method="up"), Grouped().apply(v, X))
    assert Grouped._compact_name_scope_methods == ("up",)


def test_no_tracer_leaks_from_init_and_apply_under_jit_and_vmap() -> None:
    model = Stack((Affine(5), Scale()))

    @jax.jit
    def sample(keys: Any, x: Any) -> Any:
        def one(key: Any) -> Any:
            return model.apply(model.init(key, x), x)

        return jax.vmap(one)(keys)

    # Without gc.collect, a reference cycle (child -> parent -> child) keeps tracers
    # alive: jax's checker then reports them, as it would transiently leaked memory.
    with patch.object(gc, "collect", return_value=0), jax.checking_leaks():
        for _ in range(2):
            sample(jax.random.split(KEY, 3), X).block_until_ready()
