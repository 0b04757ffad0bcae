"""The module system: naming, setup vs compact, init/apply, rng keys, transformations."""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as nn
from minijax import random as mrandom

X = jnp.linspace(-1.0, 1.0, 12).reshape(4, 3)
KEY = jax.random.key(0)


def shapes(tree):  # type: ignore[no-untyped-def]
    return jax.tree.map(jnp.shape, tree)


class MLP(nn.Module):
    features: Sequence[int]

    @nn.compact
    def __call__(self, x):  # type: ignore[no-untyped-def]
        for feat in self.features[:-1]:
            x = nn.relu(nn.Dense(feat)(x))
        return nn.Dense(self.features[-1])(x)


class SetupMLP(nn.Module):
    features: Sequence[int]

    def setup(self) -> None:
        self.layers = [nn.Dense(f) for f in self.features]

    def __call__(self, x):  # type: ignore[no-untyped-def]
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = nn.relu(x)
        return x


# --- config objects -------------------------------------------------------------------


def test_module_is_a_hashable_frozen_config() -> None:
    a, b = MLP([4, 2]), MLP((4, 2))
    assert a.features == (4, 2)  # lists become tuples
    assert a == b and hash(a) == hash(b)
    assert MLP([4, 3]) != a
    assert {a: 1}[b] == 1
    with pytest.raises(nn.SetAttributeError, match="frozen"):
        a.features = (1,)  # type: ignore[misc]
    assert a.clone(features=(5,)).features == (5,)


def test_jit_closes_over_the_model() -> None:
    model = MLP([4, 2])
    variables = model.init(KEY, X)
    f = jax.jit(lambda v, x: model.apply(v, x))
    np.testing.assert_allclose(f(variables, X), model.apply(variables, X), rtol=1e-6, atol=1e-6)
    g = jax.jit(model.apply)
    np.testing.assert_allclose(g(variables, X), model.apply(variables, X), rtol=1e-6, atol=1e-6)


# --- naming -------------------------------------------------------------------------


def test_compact_names_and_nesting() -> None:
    variables = MLP([5, 4, 2]).init(KEY, X)
    assert shapes(variables) == {
        "params": {
            "Dense_0": {"kernel": (3, 5), "bias": (5,)},
            "Dense_1": {"kernel": (5, 4), "bias": (4,)},
            "Dense_2": {"kernel": (4, 2), "bias": (2,)},
        }
    }


def test_setup_names_lists_and_dicts() -> None:
    class Dicts(nn.Module):
        def setup(self) -> None:
            self.blocks = {"a": nn.Dense(2), "b": nn.Dense(3)}
            self.head = nn.Dense(1, name="out")

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.head(self.blocks["a"](x).sum(-1, keepdims=True) + self.blocks["b"](x))

    assert set(SetupMLP([4, 2]).init(KEY, X)["params"]) == {"layers_0", "layers_1"}
    assert set(Dicts().init(KEY, X)["params"]) == {"blocks_a", "blocks_b", "out"}


def test_name_kwarg_and_per_class_counters() -> None:
    class M(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            x = nn.Dense(3)(x)
            x = nn.BatchNorm(use_running_average=True)(x)
            x = nn.Dense(3, name="named")(x)
            return nn.Dense(2)(x)

    v = M().init(KEY, X)
    assert set(v["params"]) == {"Dense_0", "BatchNorm_0", "named", "Dense_1"}
    assert set(v["batch_stats"]) == {"BatchNorm_0"}


def test_calling_twice_shares_params_and_counter_restarts() -> None:
    class Block(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Dense(3)(x)

    class Twice(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            block = Block()
            return block(block(x))

    v = Twice().init(KEY, X)
    assert shapes(v) == {"params": {"Block_0": {"Dense_0": {"kernel": (3, 3), "bias": (3,)}}}}
    # The same model called twice at top level reuses the same names too.
    model = Block()
    v1 = model.init(KEY, X)
    np.testing.assert_array_equal(model.apply(v1, X), model.apply(v1, X))


def test_setup_and_compact_give_the_same_layout() -> None:
    compact_v = MLP([4, 2]).init(KEY, X)
    setup_v = SetupMLP([4, 2]).init(KEY, X)
    renamed = {
        "params": {
            "Dense_0": setup_v["params"]["layers_0"],
            "Dense_1": setup_v["params"]["layers_1"],
        }
    }
    assert shapes(renamed) == shapes(compact_v)
    np.testing.assert_allclose(
        MLP([4, 2]).apply(renamed, X), SetupMLP([4, 2]).apply(setup_v, X), rtol=1e-6
    )


def test_submodules_passed_as_fields_are_adopted_once() -> None:
    dense = nn.Dense(3)

    class Shared(nn.Module):
        first: nn.Module
        second: nn.Module

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.second(self.first(x))

    v = Shared(dense, dense).init(KEY, X)
    assert set(v["params"]) == {"first"}  # the same instance twice: one set of params
    assert dense.scope is None  # the caller's instance is never bound


# --- init / apply -------------------------------------------------------------------


def test_init_deterministic_per_key_and_differs_across_keys() -> None:
    m = MLP([4, 2])
    a, b = m.init(KEY, X), m.init(jax.random.key(0), X)
    c = m.init(jax.random.key(1), X)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    assert not np.allclose(a["params"]["Dense_0"]["kernel"], c["params"]["Dense_0"]["kernel"])
    # raw uint32 keys and int seeds work too
    assert shapes(m.init(jax.random.PRNGKey(0), X)) == shapes(a)
    assert shapes(m.init(0, X)) == shapes(a)


def test_different_paths_get_different_keys() -> None:
    v = MLP([3, 3, 3]).init(KEY, jnp.ones((2, 3)))["params"]
    kernels = [np.asarray(v[f"Dense_{i}"]["kernel"]) for i in range(3)]
    for i in range(3):
        for j in range(i):
            assert not np.allclose(kernels[i], kernels[j])


def test_adding_a_layer_does_not_change_the_others() -> None:
    small = MLP([4, 4]).init(KEY, X)["params"]
    big = MLP([4, 4, 2]).init(KEY, X)["params"]
    np.testing.assert_array_equal(small["Dense_0"]["kernel"], big["Dense_0"]["kernel"])
    # Dense_1 has the same shape in both, so the same key gives the same values
    np.testing.assert_array_equal(small["Dense_1"]["kernel"], big["Dense_1"]["kernel"])


def test_param_key_is_the_documented_derivation() -> None:
    v = nn.Dense(2).init(KEY, X)["params"]
    key = mrandom.derive(KEY, 1)  # the root path (no names), first draw
    expected = nn.initializers.lecun_normal()(key, (3, 2), jnp.float32)
    np.testing.assert_array_equal(v["kernel"], expected)

    class Two(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            h = nn.Dense(3)(x)  # Dense_0
            return nn.Dense(2)(h)  # Dense_1

    w = Two().init(KEY, X)["params"]
    key = jax.random.fold_in(KEY, mrandom.static_hash("Dense_1", 1))
    expected = nn.initializers.lecun_normal()(key, (3, 2), jnp.float32)
    np.testing.assert_array_equal(w["Dense_1"]["kernel"], expected)


def test_method_by_bound_method_name_and_function() -> None:
    class AE(nn.Module):
        def setup(self) -> None:
            self.enc = nn.Dense(2)
            self.dec = nn.Dense(3)

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.decode(self.encode(x))

        def encode(self, x):  # type: ignore[no-untyped-def]
            return self.enc(x)

        def decode(self, z):  # type: ignore[no-untyped-def]
            return self.dec(z)

    model = AE()
    v = model.init(KEY, X)
    z = model.apply(v, X, method=model.encode)
    np.testing.assert_array_equal(z, model.apply(v, X, method="encode"))
    np.testing.assert_array_equal(z, model.apply(v, X, method=lambda m, x: m.encode(x)))
    np.testing.assert_allclose(model.apply(v, z, method=model.decode), model.apply(v, X), rtol=1e-6)
    # init through a method creates only what that method touches
    assert set(model.init(KEY, X, method=model.encode)["params"]) == {"enc"}


def test_init_with_output_and_mutable_forms() -> None:
    model = nn.BatchNorm(use_running_average=False)
    y, v = model.init_with_output(KEY, X)
    assert y.shape == X.shape and set(v) == {"params", "batch_stats"}
    for mutable in (True, "batch_stats", ["batch_stats"]):
        _, upd = model.apply(v, X, mutable=mutable)
        assert "batch_stats" in upd
    assert set(model.apply(v, X, mutable=True)[1]) == {"params", "batch_stats"}
    assert set(model.apply(v, X, mutable=["batch_stats"])[1]) == {"batch_stats"}


def test_apply_never_mutates_the_callers_variables() -> None:
    model = nn.BatchNorm(use_running_average=False)
    v = model.init(KEY, X)
    before = jax.tree.map(np.asarray, v)
    model.apply(v, X * 3 + 1, mutable=["batch_stats"])
    jax.tree.map(np.testing.assert_array_equal, v, before)


def test_param_variable_rng_api_by_hand() -> None:
    class ByHand(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            w = self.param("w", nn.initializers.normal(1.0), (x.shape[-1],))
            count = self.variable("counters", "calls", lambda: jnp.zeros((), jnp.int32))
            if not self.is_initializing():
                count.value = count.value + 1
            assert self.has_rng("params") == self.is_initializing()
            noise = (
                jax.random.normal(self.make_rng("noise"), x.shape) if self.has_rng("noise") else 0.0
            )
            self.sow("intermediates", "w_sum", w.sum())
            return x * w + noise

    model = ByHand()
    v = model.init(KEY, X)
    assert set(v) == {"params", "counters"}  # intermediates are not kept at init (as flax)
    assert int(v["counters"]["calls"]) == 0
    y, upd = model.apply(v, X, mutable=["counters", "intermediates"])
    assert int(upd["counters"]["calls"]) == 1
    assert upd["intermediates"]["w_sum"][0].shape == ()
    y1 = model.apply(v, X, rngs={"noise": jax.random.key(1)}, mutable=["counters"])[0]
    assert not np.allclose(y, y1)


def test_make_rng_counts_per_call() -> None:
    class TwoDraws(nn.Module):
        @nn.compact
        def __call__(self):  # type: ignore[no-untyped-def]
            return self.make_rng("noise"), self.make_rng("noise")

    k1, k2 = TwoDraws().apply({}, rngs={"noise": KEY})
    assert not np.array_equal(jax.random.key_data(k1), jax.random.key_data(k2))


def test_init_falls_back_to_params_stream() -> None:
    model = nn.Dropout(0.5, deterministic=False)
    v = model.init(KEY, X)  # no 'dropout' rng: uses 'params' at init
    assert v == {}
    with pytest.raises(nn.MissingRngError, match="pass rngs=\\{'dropout': key\\}"):
        model.apply(v, X)
    with pytest.raises(nn.MissingRngError):
        model.init({}, X)


def test_bind_and_variables_property() -> None:
    model = SetupMLP([4, 2])
    v = model.init(KEY, X)
    bound = model.bind(v)
    assert set(bound.layers[0].variables["params"]) == {"kernel", "bias"}
    assert bound.layers[1].path == ("layers_1",)
    np.testing.assert_allclose(bound(X), model.apply(v, X), rtol=1e-6)


# --- transformations ------------------------------------------------------------------


def test_grad_vmap_scan_of_apply() -> None:
    model = MLP([4, 1])
    v = model.init(KEY, X)
    loss = lambda p, x: jnp.mean(model.apply({"params": p}, x) ** 2)
    g = jax.jit(jax.grad(loss))(v["params"], X)
    assert shapes(g) == shapes(v["params"])

    per_example = jax.vmap(lambda x: model.apply(v, x))(X)  # vmap over examples
    np.testing.assert_allclose(per_example, model.apply(v, X), rtol=1e-5, atol=1e-6)

    stacked = jax.vmap(lambda k: model.init(k, X))(jax.random.split(KEY, 3))  # ensembles
    assert stacked["params"]["Dense_0"]["kernel"].shape == (3, 3, 4)

    def step(p, x):  # type: ignore[no-untyped-def]
        value, grads = jax.value_and_grad(loss)(p, x[None])
        return jax.tree.map(lambda a, b: a - 0.1 * b, p, grads), value

    _, losses = jax.lax.scan(step, v["params"], X)
    assert losses.shape == (4,)


def test_jit_and_eager_agree_with_dropout_and_batchnorm() -> None:
    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):  # type: ignore[no-untyped-def]
            x = nn.Dense(8)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            return nn.Dropout(0.3, deterministic=not train)(x)

    model = Net()
    v = model.init(KEY, X, train=False)
    rngs = {"dropout": jax.random.key(3)}
    eager = model.apply(v, X, True, rngs=rngs, mutable=["batch_stats"])
    jitted = jax.jit(lambda v, x: model.apply(v, x, True, rngs=rngs, mutable=["batch_stats"]))(v, X)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), eager, jitted)
