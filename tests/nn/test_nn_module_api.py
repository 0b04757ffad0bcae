"""The Module API: init/apply and their function forms, bind/unbind, variables, rngs,
sow/perturb/capture, lazy_init, interceptors, module_paths.

Only test-local layers (`_toy.py`) are used.
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _toy import toy_layers

import minijax.nn as nn
from minijax import config
from minijax.core import FrozenDict
from minijax.nn.filters import DenyList

toy = toy_layers(nn)
Affine, Scale, Noise, Counter = toy.Affine, toy.Scale, toy.Noise, toy.Counter
X = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
KEY = jax.random.key(0)


def shapes(tree: Any) -> Any:
    return jax.tree.map(jnp.shape, tree)


class AE(nn.Module):
    def setup(self) -> None:
        self.enc, self.dec = Affine(2), Affine(3)

    def __call__(self, x: Any) -> Any:
        return self.decode(self.encode(x))

    def encode(self, x: Any) -> Any:
        return self.enc(x)

    def decode(self, z: Any) -> Any:
        return self.dec(z)


# --- init / apply ---------------------------------------------------------------------


def test_init_with_output_and_the_function_forms() -> None:
    y, v = AE().init_with_output(KEY, X)
    assert y.shape == X.shape and set(v["params"]) == {"enc", "dec"}
    f = lambda ae, x: ae.dec(ae.enc(x))
    y2, v2 = nn.init_with_output(f, AE())(KEY, X)
    jax.tree.map(np.testing.assert_array_equal, (y, v), (y2, v2))
    jax.tree.map(np.testing.assert_array_equal, nn.init(f, AE())(KEY, X), v)
    np.testing.assert_array_equal(nn.apply(f, AE())(v, X), y)


def test_method_forms() -> None:
    model = AE()
    v = model.init(KEY, X)
    z = model.apply(v, X, method=model.encode)
    np.testing.assert_array_equal(z, model.apply(v, X, method="encode"))
    np.testing.assert_array_equal(z, model.apply(v, X, method=AE.encode))
    np.testing.assert_array_equal(z, model.apply(v, X, method=lambda m, x: m.encode(x)))
    assert set(model.init(KEY, X, method="encode")["params"]) == {"enc"}
    with pytest.raises(nn.errors.ApplyModuleInvalidMethodError, match="Cannot call apply"):
        model.apply(v, X, method=lambda: 0)
    with pytest.raises(AttributeError, match="nothing"):
        model.apply(v, X, method="nothing")

    class Holder(nn.Module):
        inner: Any
        size: int = 1

        def __call__(self, x: Any) -> Any:
            return self.inner(x)

    h = Holder(Affine(2))
    np.testing.assert_array_equal(h.apply(h.init(KEY, X), X, method="inner"),
                                  h.apply(h.init(KEY, X), X))
    with pytest.raises(TypeError, match=r"'Holder\.size' must be a callable"):
        h.apply({}, X, method="size")


def test_mutable_forms_and_the_callers_dicts_stay_untouched() -> None:
    class Net(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Counter()(Affine(3)(x))

    v = Net().init(KEY, X)
    before = jax.tree.map(np.asarray, v)
    for mutable in (True, "counter", ["counter"], DenyList("params")):
        _, upd = Net().apply(v, X, mutable=mutable)
        assert int(upd["counter"]["Counter_0"]["n"]) == 1
    assert set(Net().apply(v, X, mutable=True)[1]) == {"params", "counter"}
    assert set(Net().apply(v, X, mutable=DenyList("params"))[1]) == {"counter"}
    jax.tree.map(np.testing.assert_array_equal, v, before)
    config.update("return_frozendict", True)
    try:
        assert isinstance(Net().init(KEY, X), FrozenDict)
    finally:
        config.update("return_frozendict", False)


def test_variables_rngs_and_flags_by_hand() -> None:
    class ByHand(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            w = self.param("w", jax.nn.initializers.ones, (x.shape[-1],))
            self.put_variable("state", "seen", x.sum())
            assert self.has_variable("state", "seen")
            assert self.get_variable("state", "missing", 7) == 7
            assert self.has_rng("params") == self.is_initializing()
            assert self.is_mutable_collection("state")
            k1, k2 = self.make_rng("noise"), self.make_rng("noise")
            assert not np.array_equal(jax.random.key_data(k1), jax.random.key_data(k2))
            return x * w

    v = ByHand().init(KEY, X)
    assert set(v) == {"params", "state"}
    ByHand().apply(v, X, rngs={"noise": KEY}, mutable=["state"])


def test_a_lone_key_feeds_every_stream() -> None:
    class Noisy(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Noise()(Affine(3)(x))

    v = Noisy().init(KEY, X)  # Noise draws 'dropout' from 'params'
    explicit = Noisy().init({"params": KEY, "dropout": KEY}, X)
    jax.tree.map(np.testing.assert_array_equal, v, explicit)
    np.testing.assert_array_equal(Noisy().apply(v, X, rngs=KEY),
                                  Noisy().apply(v, X, rngs={"params": KEY}))
    with pytest.raises(nn.errors.InvalidRngError, match='needs PRNG for "dropout"'):
        Noisy().apply(v, X)


def test_bind_unbind_dir_and_variables() -> None:
    model = AE()
    v = model.init(KEY, X)
    bound = model.bind(v)
    assert {"enc", "dec"} <= set(dir(bound))
    assert set(bound.enc.variables["params"]) == {"w", "b"} and bound.dec.path == ("dec",)
    np.testing.assert_array_equal(bound(X), model.apply(v, X))
    enc, enc_vars = bound.enc.unbind()
    assert enc == Affine(2) and enc.scope is None
    np.testing.assert_array_equal(enc.apply(enc_vars, X), bound.enc(X))
    stateful = Counter().bind(Counter().init(KEY, X), mutable="counter")
    stateful(X)
    assert int(stateful.variables["counter"]["n"]) == 1


def test_a_bound_module_kept_after_apply_raises() -> None:
    kept = AE().apply(AE().init(KEY, X), method=lambda m: m)
    with pytest.raises(nn.errors.InvalidScopeError, match="no longer valid"):
        kept(X)


def test_sow_with_reduce_and_init_fns() -> None:
    class Sows(nn.Module):
        @nn.compact
        def __call__(self, x: Any, **kw: Any) -> Any:
            self.sow("intermediates", "h", x, **kw)
            self.sow("intermediates", "h", 2 * x, **kw)
            return 3 * x

    assert "intermediates" not in Sows().init(KEY, 1)  # init leaves intermediates out
    assert Sows().init(KEY, 1, mutable=True) == {"intermediates": {"h": (1, 2)}}
    _, state = Sows().apply({}, 1, mutable=["intermediates"])
    assert state == {"intermediates": {"h": (1, 2)}}
    _, state = Sows().apply({}, 1, init_fn=lambda: 0, reduce_fn=lambda a, b: a + b,
                            mutable=["intermediates"])
    assert state == {"intermediates": {"h": 3}}
    assert Sows().apply({}, 1) == 3


def test_capture_intermediates() -> None:
    class Inner(nn.Module):
        def test(self, x: Any) -> Any:
            return x + 1

    class Outer(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Inner().test(x) + 1

    assert Outer().apply({}, 1, capture_intermediates=True) == (
        3, {"intermediates": {"__call__": (3,)}})
    only_inner = lambda m, _: isinstance(m, Inner)
    assert Outer().apply({}, 1, capture_intermediates=only_inner)[1] == {
        "intermediates": {"Inner_0": {"test": (2,)}}}


def test_perturb_gives_the_gradient_of_an_intermediate_value() -> None:
    class Perturbed(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            x = self.perturb("before", Affine(3)(x))
            return self.perturb("after", 4 * x)

    v = Perturbed().init(KEY, X)

    def loss(perturbations: Any) -> Any:
        y = Perturbed().apply({"params": v["params"], "perturbations": perturbations}, X)
        return jnp.sum(y**2)

    grads = jax.grad(loss)(v["perturbations"])
    np.testing.assert_allclose(grads["before"], 4 * grads["after"], rtol=1e-6)
    Perturbed().apply({"params": v["params"]}, X)  # no perturbations: a no-op
    with pytest.raises(ValueError, match="Perturbation collection 'perturbations' present"):
        Perturbed().apply({"params": v["params"], "perturbations": {}}, X)


def test_lazy_init_computes_nothing_on_the_inputs() -> None:
    huge = jax.ShapeDtypeStruct((1 << 30, 3), jnp.float32)  # 12 GiB if it were computed
    v = MLPlike().lazy_init(KEY, huge)
    jax.tree.map(np.testing.assert_array_equal, v, MLPlike().init(KEY, X))

    class CopiesInput(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return self.param("k", lambda _: x)

    with pytest.raises(nn.errors.LazyInitError, match="depends on an input"):
        CopiesInput().lazy_init(KEY, jax.ShapeDtypeStruct((8, 4), jnp.float32))


class MLPlike(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return Affine(2)(Affine(4)(x))


def test_module_paths() -> None:
    paths = MLPlike().module_paths(KEY, X)
    assert set(paths) == {"", "Affine_0", "Affine_1"}
    assert type(paths[""]) is MLPlike and paths["Affine_0"] == Affine(2)  # made first
    assert all(m.scope is None for m in paths.values())


# --- interceptors ---------------------------------------------------------------------


def test_interceptors_see_every_wrapped_call_in_order() -> None:
    log = []

    def record(f: Any, args: Any, kwargs: Any, context: nn.InterceptorContext) -> Any:
        log.append((type(context.module).__name__, context.method_name))
        assert [f.name for f in dataclasses.fields(context)] == [
            "module", "method_name", "orig_method"]
        return f(*args, **kwargs)

    v = AE().init(KEY, X)
    with nn.intercept_methods(record):
        AE().apply(v, X)
    assert log == [("AE", "setup"), ("AE", "__call__"), ("AE", "encode"),
                   ("Affine", "__call__"), ("AE", "decode"), ("Affine", "__call__")]


def test_interceptors_nest_and_may_skip_the_method() -> None:
    class Identity(nn.Module):
        def __call__(self, x: Any) -> Any:
            return x

    def op(fn: Any) -> Any:
        return lambda f, args, kwargs, context: fn(f(*args, **kwargs))

    with nn.intercept_methods(op(lambda a: a + 1)), nn.intercept_methods(op(lambda a: a**2)):
        assert Identity()(7) == 50  # the first registered is the outermost
    skip = lambda f, args, kwargs, context: "skipped"
    direct = lambda f, args, kwargs, context: context.orig_method(*args, **kwargs)
    with nn.intercept_methods(skip):
        assert Identity()(7) == "skipped"
    with nn.intercept_methods(direct), nn.intercept_methods(skip):
        assert Identity()(7) == 7  # orig_method skips the interceptors inside
