"""nn.meta boxes, nn.spmd logical axis rules and nn.partitioning, with flax as the oracle.

These run on one device: the specs, the boxes' metadata and the constraint calls are
checked here; tests/train/test_train_model_parallel.py runs them on 8 devices.
"""

import threading

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import AbstractMesh, AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import minijax.nn as nn
import minijax.optim as optax
from minijax.nn import meta, partitioning, spmd

ONES = nn.initializers.ones


@pytest.fixture(scope="module")
def mesh():
    return jax.make_mesh((1, 1), ("data", "model"), axis_types=(AxisType.Auto,) * 2)


class Pair(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.Dense(4, kernel_init=nn.with_partitioning(ONES, ("data", "model")))(x)
        return nn.Dense(2, kernel_init=nn.with_partitioning(ONES, ("model", None)))(h)


# --- boxes ------------------------------------------------------------------------


def test_params_are_stored_boxed_and_read_unboxed():
    x = jnp.ones((1, 3))
    variables = Pair().init(jax.random.key(0), x)
    kernel = variables["params"]["Dense_0"]["kernel"]
    assert isinstance(kernel, nn.Partitioned) and kernel.names == ("data", "model")
    assert isinstance(variables["params"]["Dense_0"]["bias"], jax.Array)
    y = Pair().apply(variables, x)
    np.testing.assert_array_equal(y, Pair().apply(nn.unbox(variables), x))
    np.testing.assert_array_equal(y, np.full((1, 2), 12.0))

    seen = {}

    class Peek(nn.Module):
        @nn.compact
        def __call__(self, x):
            init = nn.with_partitioning(ONES, (None, "model"))
            seen["unboxed"] = self.param("w", init, (x.shape[-1], 2))
            seen["boxed"] = self.param("w2", init, (x.shape[-1], 2), unbox=False)
            seen["stored"] = self.get_variable("params", "w")
            return x @ seen["unboxed"]

    Peek().init(jax.random.key(0), x)
    assert isinstance(seen["unboxed"], jax.Array)
    assert isinstance(seen["boxed"], nn.Partitioned)
    assert isinstance(seen["stored"], nn.Partitioned) and seen["stored"].names == (None, "model")


@pytest.mark.parity
def test_same_values_and_specs_as_flax():
    import flax.linen as fnn

    class FlaxPair(fnn.Module):
        @fnn.compact
        def __call__(self, x):
            init = fnn.initializers.lecun_normal()
            h = fnn.Dense(4, kernel_init=fnn.with_partitioning(init, ("data", "model")))(x)
            return fnn.Dense(2, kernel_init=fnn.with_logical_partitioning(init, ("mlp", "embed")),
                             bias_init=fnn.with_logical_partitioning(fnn.initializers.zeros,
                                                                     ("embed",)))(h)

    class MiniPair(nn.Module):
        @nn.compact
        def __call__(self, x):
            init = nn.initializers.lecun_normal()
            h = nn.Dense(4, kernel_init=nn.with_partitioning(init, ("data", "model")))(x)
            return nn.Dense(2, kernel_init=nn.with_logical_partitioning(init, ("mlp", "embed")),
                            bias_init=nn.with_logical_partitioning(nn.initializers.zeros,
                                                                   ("embed",)))(h)

    x = jnp.ones((2, 3))
    theirs = FlaxPair().init(jax.random.key(0), x)
    ours = MiniPair().init(jax.random.key(0), x)
    assert nn.get_partition_spec(ours) == fnn.get_partition_spec(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(a, b)
    rules = (("mlp", "model"), ("embed", "data"))
    assert nn.logical_to_mesh(nn.get_partition_spec(ours), rules) == fnn.logical_to_mesh(
        fnn.get_partition_spec(theirs), rules)


def test_boxes_pass_through_grad_optimizers_and_jit():
    x = jnp.ones((2, 3))
    params = Pair().init(jax.random.key(0), x)["params"]
    grads = jax.grad(lambda p: jnp.sum(Pair().apply({"params": p}, x)))(params)
    assert grads["Dense_1"]["kernel"].names == ("model", None)
    tx = optax.sgd(0.1, momentum=0.9)
    opt_state = tx.init(params)
    assert opt_state[0].trace["Dense_0"]["kernel"].names == ("data", "model")
    updates, _ = tx.update(grads, opt_state, params)
    new = optax.apply_updates(params, updates)
    assert new["Dense_0"]["kernel"].names == ("data", "model")
    abstract = jax.eval_shape(Pair().init, jax.random.key(0), x)
    assert nn.get_partition_spec(abstract)["params"] == {
        "Dense_0": {"kernel": P("data", "model"), "bias": P()},
        "Dense_1": {"kernel": P("model", None), "bias": P()},
    }
    jitted = jax.jit(lambda p: p)(params)
    assert jitted["Dense_1"]["kernel"].names == ("model", None)


def test_unbox_replace_boxed_and_nesting():
    inner = nn.Partitioned(jnp.zeros(2), ("model",))
    outer = nn.Partitioned(inner, ())
    assert isinstance(outer.unbox(), nn.Partitioned)  # one level
    np.testing.assert_array_equal(nn.unbox({"w": outer})["w"], np.zeros(2))  # all levels
    new = meta.replace_boxed({"w": outer, "b": 1.0}, {"w": jnp.ones(2), "b": 2.0})
    assert new["b"] == 2.0 and new["w"].unbox().names == ("model",)
    np.testing.assert_array_equal(new["w"].unbox().value, np.ones(2))
    assert meta.is_axis_metadata(inner) and not meta.is_axis_metadata(inner.value)
    assert meta.map_axis_meta(lambda b: b.names, {"w": inner, "n": 3}) == {"w": ("model",),
                                                                           "n": 3}


def _boxed_variable_module(lib):
    """A module that reads and updates a boxed variable through `Variable.value`."""

    class Bar(lib.Module):
        @lib.compact
        def __call__(self, x):
            init = lib.with_partitioning(lib.initializers.lecun_normal(), ("in", "out"))
            kernel = self.variable("params", "kernel", init, self.make_rng("params"),
                                   (x.shape[-1], 2))
            stats = self.variable("stats", "pair", lambda: {
                "n": lib.Partitioned(jnp.zeros(()), ()), "raw": jnp.zeros(2)})
            kernel.value = kernel.value * 2.0 + 1.0  # a read unboxes, a write keeps the box
            stats.value = jax.tree.map(lambda v: v + 1.0, stats.value)
            assert not isinstance(kernel.value, lib.Partitioned)
            return x @ kernel.value

    class Foo(lib.Module):
        @lib.compact
        def __call__(self, xs):
            return lib.vmap(Bar, in_axes=0, variable_axes={"params": 0, "stats": 0},
                            split_rngs={"params": True},
                            metadata_params={lib.PARTITION_NAME: "batch"})(name="bar")(xs)

    return Foo()


def test_variable_value_unboxes_and_keeps_the_box_as_flax():
    import flax.linen as fnn

    xs = jax.random.normal(jax.random.key(1), (4, 3))
    ys, ours = _boxed_variable_module(nn).init_with_output(jax.random.key(0), xs)
    flax_ys, theirs = _boxed_variable_module(fnn).init_with_output(jax.random.key(0), xs)
    np.testing.assert_array_equal(ys, flax_ys)
    kernel, flax_kernel = ours["params"]["bar"]["kernel"], theirs["params"]["bar"]["kernel"]
    assert isinstance(kernel, nn.Partitioned) and kernel.names == ("batch", "in", "out")
    assert kernel.names == flax_kernel.names
    np.testing.assert_array_equal(kernel.value, flax_kernel.value)
    pair, flax_pair = ours["stats"]["bar"]["pair"], theirs["stats"]["bar"]["pair"]
    assert isinstance(pair["n"], nn.Partitioned) and pair["n"].names == flax_pair["n"].names
    np.testing.assert_array_equal(pair["n"].value, flax_pair["n"].value)
    np.testing.assert_array_equal(pair["raw"], flax_pair["raw"])


def test_a_write_of_another_structure_replaces_the_boxes():
    class Swap(nn.Module):
        @nn.compact
        def __call__(self):
            v = self.variable("s", "v", lambda: nn.Partitioned(jnp.zeros(2), ("a",)))
            v.value = {"new": jnp.ones(2)}
            return v.value

    out, variables = Swap().init_with_output(jax.random.key(0))
    assert not isinstance(variables["s"]["v"], nn.Partitioned)
    np.testing.assert_array_equal(out["new"], jnp.ones(2))


def test_unbox_false_sees_the_box():
    class Raw(nn.Module):
        @nn.compact
        def __call__(self):
            v = self.variable("s", "v", lambda: nn.Partitioned(jnp.zeros(2), ("a",)),
                              unbox=False)
            return type(v.value).__name__

    assert Raw().init_with_output(jax.random.key(0))[0] == "Partitioned"


def test_add_axis_and_remove_axis():
    box = nn.Partitioned(jnp.zeros((2, 3)), ("embed",))
    params = {nn.PARTITION_NAME: "layers"}
    assert box.add_axis(0, params).names == ("layers", "embed")
    assert box.add_axis(3, params).names == ("embed", None, None, "layers")
    tree = {"w": box, "b": jnp.zeros(3)}
    added = meta.add_axis(tree, 1, params)
    assert added["w"].names == ("embed", "layers")
    assert meta.remove_axis(added, 1, params)["w"].names == ("embed",)
    with pytest.raises(meta.PartitioningUnspecifiedError, match="partition_name"):
        box.add_axis(0, {})
    assert issubclass(meta.PartitioningUnspecifiedError, ValueError)
    assert issubclass(meta.PartitioningUnspecifiedError, nn.MinijaxNNError)
    with pytest.raises(ValueError, match="expected the axis name 'layers' at position 0"):
        box.remove_axis(0, params)


def test_names_are_checked():
    with pytest.raises(TypeError, match=r"not the string 'model'"):
        nn.with_partitioning(ONES, "model")
    with pytest.raises(TypeError, match="not the string"):
        nn.with_logical_partitioning(ONES, "embed")

    class TooMany(nn.Module):
        @nn.compact
        def __call__(self, x):
            init = nn.with_partitioning(ONES, ("a", "b", "c"))
            return nn.Dense(2, kernel_init=init)(x)

    with pytest.raises(ValueError, match=r"3 partition names \('a', 'b', 'c'\) for a value of "
                                         r"shape \(3, 2\)") as info:
        nn.Sequential([TooMany()]).init(jax.random.key(0), jnp.ones((1, 3)))
    assert "layers_0/Dense_0" in "\n".join(info.value.__notes__)


def test_get_partition_spec_and_get_sharding(mesh):
    tree = {"box": nn.Partitioned(jnp.zeros((2, 2)), ("data",)), "array": jnp.zeros(3),
            "number": 1.0}
    assert nn.get_partition_spec(tree) == {"box": P("data"), "array": P(), "number": None}
    shardings = nn.get_sharding(tree, mesh)
    assert shardings["box"] == NamedSharding(mesh, P("data"))
    assert shardings["array"] == NamedSharding(mesh, P()) and shardings["number"] is None


def constraints(f, *args):
    """The sharding constraints in the lowered program of `jax.jit(f)(*args)`.

    On one device a constraint leaves no trace in the result's sharding (axes of
    size 1 are dropped), so the program text is where to look."""
    text = jax.jit(f).lower(*args).as_text()
    return [line.split("<@mesh, ")[1].split(">")[0] for line in text.splitlines()
            if "sdy.sharding_constraint" in line]


def test_get_sharding_checks_that_shards_divide_evenly():
    mesh8 = AbstractMesh((2, 4), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
    abstract = {"params": {"Embed_0": {"embedding": nn.LogicallyPartitioned(
        jax.ShapeDtypeStruct((62, 32), jnp.float32), ("vocab", "embed"))}}}
    with nn.logical_axis_rules((("vocab", "model"), ("embed", "data"))):
        with pytest.raises(ValueError, match=r"params/Embed_0/embedding: axis 0 of shape "
                                             r"\(62, 32\) is split over mesh axes \('model',\) "
                                             r"\(4 devices\), but 62 is not a multiple of 4"):
            nn.get_sharding(abstract, mesh8)
        ok = jax.tree.map(lambda x: jax.ShapeDtypeStruct((64, 32), x.dtype), abstract)
        assert nn.get_sharding(ok, mesh8)["params"]["Embed_0"]["embedding"].spec == P(
            "model", "data")


def test_unbox_constrains_under_a_mesh(mesh):
    box = nn.Partitioned(jnp.zeros((2, 2)), ("data", "model"), mesh=mesh)
    assert constraints(lambda b: b.unbox(), box) == ['[{"data"}, {"model"}]']
    assert constraints(lambda b: b.unbox(apply_constraint=False), box) == []
    plain = nn.Partitioned(jnp.zeros((2, 2)), ("data", "model"))
    assert plain.unbox() is plain.value  # no mesh anywhere: nothing to constrain
    assert constraints(lambda b: b.unbox(), plain) == []
    with jax.set_mesh(mesh):
        assert constraints(lambda b: b.unbox(), plain) == ['[{"data"}, {"model"}]']


# --- logical axis rules ------------------------------------------------------------

UNC = P.UNCONSTRAINED
CASES = [
    ((("a", ("model", "data")), ("b", "data")), ("a", "b")),
    ((("a", ("model", "replica")), ("b", "data")), ("a", "b")),
    ((("a", ("model", "replica")), ("b", ("data", "model"))), ("a", "b")),
    ((("a", ("model", "replica")), ("b", "model")), ("a", "b", "c")),
    ((), ("a", "b", "c")),
    ((("a", None), ("a", "model")), ("a", "b")),
    ((("baz", "data"), ("bar", None), ("foo", "model"), ("foo", "data")), ("baz", "bar", "foo")),
    ((("baz", "data"), ("foo", ("model", "emb"))), ("baz", UNC, "foo")),
    ((("foo", "model"), ("bar", "model"), ("baz", "data")), ("bar", "foo", "baz")),
    ((("batch", "data"), ("embed", "data")), ("batch", "length", "embed")),
    ((("foo", "data"),), ("foo", UNC, UNC, None, None)),
    ((("foo", "data"),), None),
]


@pytest.mark.parity
@pytest.mark.parametrize(("rules", "names"), CASES)
def test_logical_to_mesh_axes_matches_flax(rules, names):
    import flax.linen as fnn

    assert nn.logical_to_mesh_axes(names, rules) == fnn.logical_to_mesh_axes(names, rules)


def test_the_priority_rule():
    rules = (("batch", "X"), ("features", "X"), ("heads", "Y"), ("batch", "Z"))
    assert nn.logical_to_mesh_axes(("batch", "length", "heads", "features"), rules) == P(
        "X", None, "Y", None)


def test_rules_context_is_nested_and_per_thread():
    assert nn.get_logical_axis_rules() == ()
    with nn.logical_axis_rules((("a", "data"),)):
        with nn.logical_axis_rules((("a", "model"),)):
            assert nn.logical_to_mesh_axes(("a",)) == P("model")
        assert nn.logical_to_mesh_axes(("a",)) == P("data")
        other = []
        thread = threading.Thread(target=lambda: other.append(nn.get_logical_axis_rules()))
        thread.start()
        thread.join()
        assert other == [()]
    nn.set_logical_axis_rules((("a", "data"),))
    try:
        assert partitioning.get_axis_rules() == (("a", "data"),)
    finally:
        nn.set_logical_axis_rules(())


def test_rule_errors():
    with pytest.raises(ValueError, match=r"got a dict\. Pass tuple\(rules.items\(\)\)"):
        nn.logical_to_mesh_axes(("a",), {"a": "data"})
    with pytest.raises(ValueError, match=r"the axis rule 'data' is not a"):
        nn.set_logical_axis_rules(("data",))
    with pytest.raises(ValueError, match=r"Dimensions \('a',\) occur more than once"):
        nn.logical_to_mesh_axes(("a", "a"), (("a", "data"),))


def test_logical_to_mesh_and_shardings(mesh):
    tree = {"k": P("embed", "mlp"), "b": P("mlp"), "none": None}
    rules = (("mlp", "model"), ("embed", "data"))
    assert nn.logical_to_mesh(tree, rules) == {"k": P("data", "model"), "b": P("model"),
                                               "none": None}
    shardings = nn.logical_to_mesh_sharding(tree, mesh, rules)
    assert shardings["k"] == NamedSharding(mesh, P("data", "model"))


def test_with_logical_constraint_calls(monkeypatch, mesh):
    calls = []
    monkeypatch.setattr(spmd, "_with_sharding_constraint",
                        lambda x, spec, mesh=None: calls.append((spec, mesh)) or x)
    x = jnp.ones((2, 2))
    rules = (("foo", "data"), ("bar", "model"))
    assert nn.with_logical_constraint(x, ("foo", "bar")) is x and calls == []  # no rules
    with nn.logical_axis_rules(rules):
        assert nn.with_logical_constraint(x, None) is x and calls == []
        nn.with_logical_constraint(x, ("foo", "bar"))
        nn.with_logical_constraint(x, ("foo", "other"), mesh=mesh)
        assert calls == [(P("data", "model"), None), (P("data", None), mesh)]
        assert nn.with_logical_constraint(
            x, ("foo", "other"), fallback=spmd.RulesFallback.NO_CONSTRAINT) is x
        with pytest.raises(ValueError, match=r"no rule for \['other'\]"):
            nn.with_logical_constraint(x, ("foo", "other"),
                                       fallback=spmd.RulesFallback.RAISE_ERROR)
        tree = {"a": x, "b": x}
        nn.with_logical_constraint(tree, {"a": ("bar",), "b": P("foo", None)})
        assert calls[-2:] == [(P("model"), None), (P("data", None), None)]
    assert len(calls) == 4


def test_with_logical_constraint_inside_jit(mesh):
    rules = (("batch", "data"), ("embed", "model"))
    x = jnp.ones((2, 2))
    with nn.logical_axis_rules(rules):
        found = constraints(lambda x: nn.with_logical_constraint(x, ("batch", "embed"),
                                                                 mesh=mesh), x)
        assert found == ['[{"data"}, {"model"}]']
        assert constraints(lambda x: nn.with_logical_constraint(x, ("batch", "embed")), x) == []
        with jax.set_mesh(mesh):
            found = constraints(lambda x: nn.with_logical_constraint(x, ("embed", "batch")), x)
        assert found == ['[{"model"}, {"data"}]']


def test_logically_partitioned_box(mesh):
    rules = (("a", "data"), ("b", "model"))

    class Foo(nn.Module):
        @nn.compact
        def __call__(self, x):
            init = nn.with_logical_partitioning(ONES, ("a", "b"), mesh=mesh, rules=list(rules))
            kernel = self.param("kernel", init, (x.shape[-1], 2))
            assert isinstance(self.get_variable("params", "kernel"), nn.Partitioned)
            return x @ kernel

    @jax.jit
    def create():
        variables = Foo().init(jax.random.key(0), jnp.zeros((8, 4)))
        shardings = nn.logical_to_mesh_sharding(nn.get_partition_spec(variables), mesh, rules)
        return jax.lax.with_sharding_constraint(variables, shardings)

    box = create()["params"]["kernel"]
    assert isinstance(box, nn.LogicallyPartitioned)
    assert box.names == ("a", "b") and box.mesh is mesh and box.rules == rules
    assert box.get_partition_spec() == P("a", "b")
    assert box.get_sharding(mesh).spec == P("data", "model")  # through its rules
    no_rules = nn.LogicallyPartitioned(jnp.zeros(2), ("data",))
    assert no_rules.get_sharding(mesh).spec == P("data")
    with nn.logical_axis_rules((("data", None),)):
        assert no_rules.get_sharding(mesh).spec == P(None)
    assert no_rules.unbox() is no_rules.value


# --- flax.linen.partitioning --------------------------------------------------------


class Layer(nn.Module):
    axes: tuple = ("embed", "mlp")

    @nn.compact
    def __call__(self, x):
        w = partitioning.param_with_axes("w", ONES, (x.shape[-1], 3), axes=self.axes)
        stats = partitioning.variable_with_axes("stats", "mean", jnp.zeros, (3,),
                                                axes=("mlp",))
        y = x @ w
        if self.is_mutable_collection("stats"):
            stats.value = jnp.mean(y, axis=0)
        return y


def test_param_and_variable_with_axes():
    variables = Layer().init(jax.random.key(0), jnp.ones((2, 2)))
    assert sorted(variables) == ["params", "params_axes", "stats", "stats_axes"]
    assert variables["params_axes"] == {"w_axes": partitioning.AxisMetadata(("embed", "mlp"))}
    assert partitioning.get_axis_names(variables["params_axes"]) == {"w": P("embed", "mlp")}
    assert partitioning.get_axis_names(variables["stats_axes"]) == {"mean": P("mlp")}
    _, updated = Layer().apply(variables, jnp.ones((2, 2)), mutable=["stats"])
    np.testing.assert_array_equal(updated["stats"]["mean"], np.full(3, 2.0))
    assert "params_axes" not in updated
    with pytest.raises(ValueError, match=r"w were recorded as \('embed', 'mlp'\) and now as "
                                         r"\('mlp', 'embed'\)"):
        Layer(axes=("mlp", "embed")).apply(variables, jnp.ones((2, 2)), mutable=True)


def test_pytree_axes_and_empty_axes():
    def init(key, shape):
        return {"a": jnp.zeros(shape), "b": (jnp.zeros(shape), jnp.zeros(shape))}

    axes = {"a": ("foo", "bar"), "b": (("foo", "bar"), ("bar", "foo"))}

    class Tree(nn.Module):
        @nn.compact
        def __call__(self):
            partitioning.param_with_axes("t", init, (2, 2), axes=axes)
            partitioning.variable_with_axes("c", "v", jnp.zeros, (2, 2), axes=())

    with nn.logical_axis_rules((("foo", "model"), ("bar", "data"))):
        variables = Tree().init(jax.random.key(0))
    assert partitioning.get_axis_names(variables["params_axes"]) == {
        "t": {"a": P("foo", "bar"), "b": (P("foo", "bar"), P("bar", "foo"))}}
    assert partitioning.get_axis_names(variables["c_axes"]) == {"v": P()}


def test_partitioned_variable_constrains_reads_and_writes(monkeypatch):
    calls = []
    monkeypatch.setattr(spmd, "_with_sharding_constraint",
                        lambda x, spec, mesh=None: calls.append(spec) or x)

    class Var(nn.Module):
        @nn.compact
        def __call__(self):
            v = partitioning.variable_with_axes("s", "v", jnp.zeros, (2,), axes=("batch",))
            v.value = v.value + 1
            return v.value

    with nn.logical_axis_rules((("batch", "data"),)):
        Var().init(jax.random.key(0))
    assert calls == [P("data")] * 4  # created, read, written, read


def test_outside_a_module():
    with pytest.raises(nn.AssignSubModuleError, match="pass module=self"):
        partitioning.param_with_axes("w", ONES, (2,), axes=("a",))


def test_docstring_examples():
    import doctest

    for module in (meta, spmd, partitioning):
        result = doctest.testmod(module)
        assert result.attempted > 5 and result.failed == 0, module.__name__


def test_partitioning_names_are_flax_aliases():
    assert partitioning.axis_rules is nn.logical_axis_rules
    assert partitioning.set_axis_rules is nn.set_logical_axis_rules
    assert partitioning.get_axis_rules is nn.get_logical_axis_rules
    assert partitioning.with_sharding_constraint is nn.with_logical_constraint
    assert partitioning.logical_to_mesh_axes is nn.logical_to_mesh_axes
    assert partitioning.logical_to_mesh is nn.logical_to_mesh
    assert partitioning.RulesFallback is spmd.RulesFallback
    assert partitioning.remat is nn.remat
    assert nn.LogicallyPartitioned.__mro__[1] is nn.Partitioned
    assert issubclass(nn.Partitioned, meta.AxisMetadata)


# --- scan_with_axes and vmap_with_axes -----------------------------------------------


def _scanned_model(lib, part):
    class SinDot(lib.Module):
        @lib.compact
        def __call__(self, x):
            w1 = part.param_with_axes("W1", lib.initializers.xavier_normal(),
                                      (x.shape[-1], 8), axes=("emb", "mlp"))
            w2 = part.param_with_axes("W2", lib.initializers.xavier_normal(),
                                      (8, x.shape[-1]), axes=("mlp", "emb"))
            y = jnp.dot(jnp.sin(jnp.dot(x, w1)), w2)
            part.variable_with_axes("stats", "y_st", lambda: y, axes=("batch", "emb"))
            return y, None

    class Scanned(lib.Module):
        @lib.compact
        def __call__(self, x):
            layer = part.scan_with_axes(
                SinDot, in_axes=(), variable_axes={"params": 0, "stats": 1},
                split_rngs={"params": True}, axis_name="layer",
                axes_collections=("params", "stats"), length=3)(name="scanned")
            y, _ = layer(x)
            return layer(y)[0]

    return Scanned()


def _vmapped_model(lib, part):
    class Foo(lib.Module):
        @lib.compact
        def __call__(self, x):
            w = part.param_with_axes("w", lib.initializers.lecun_normal(), (4, 3),
                                     axes=("out", "in"))
            return w @ x

    class Vmapped(lib.Module):
        @lib.compact
        def __call__(self, x):
            return part.vmap_with_axes(
                Foo, variable_axes={"params": 1}, split_rngs={"params": True},
                partitioning_axis_names={"params": "vmap_axis"})(name="foo")(x)

    return Vmapped()


@pytest.mark.parametrize(("make", "x"), [
    (_scanned_model, jnp.linspace(-1.0, 1.0, 10).reshape(2, 5)),
    (_vmapped_model, jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)),
])
def test_scan_and_vmap_with_axes_equal_flax(make, x):
    import flax.linen as fnn
    from flax.linen import partitioning as flax_part

    rules = (("emb", None), ("mlp", None), ("batch", None), ("layer", None))
    with partitioning.axis_rules(rules):
        y, ours = make(nn, partitioning).init_with_output(jax.random.key(0), x)
        again = make(nn, partitioning).apply(ours, x)  # the *_axes collections immutable
    with flax_part.axis_rules(rules):
        flax_y, theirs = make(fnn, flax_part).init_with_output(jax.random.key(0), x)
    np.testing.assert_array_equal(y, flax_y)
    np.testing.assert_array_equal(again, flax_y)
    assert sorted(ours) == sorted(theirs)
    for col in ours:
        flat, flax_flat = (dict(jax.tree_util.tree_flatten_with_path(
            v, is_leaf=lambda a: hasattr(a, "names"))[0]) for v in (ours[col], theirs[col]))
        assert [jax.tree_util.keystr(k) for k in flat] == [
            jax.tree_util.keystr(k) for k in flax_flat]
        for (_, a), (_, b) in zip(flat.items(), flax_flat.items(), strict=True):
            if hasattr(b, "names"):
                assert a.names == b.names
            else:
                np.testing.assert_array_equal(a, b)


def test_scan_with_axes_names_the_layer_axis():
    x = jnp.ones((2, 5))
    variables = _scanned_model(nn, partitioning).init(jax.random.key(0), x)
    assert variables["params"]["scanned"]["W1"].shape == (3, 5, 8)
    assert variables["stats"]["scanned"]["y_st"].shape == (2, 3, 5)
    assert partitioning.get_axis_names(variables["params_axes"]) == {
        "scanned": {"W1": P("layer", "emb", "mlp"), "W2": P("layer", "mlp", "emb")}}
    assert partitioning.get_axis_names(variables["stats_axes"]) == {
        "scanned": {"y_st": P("batch", "layer", "emb")}}


def test_recorded_names_without_the_axis_name_are_an_error():
    x = jnp.ones((2, 3))
    variables = _vmapped_model(nn, partitioning).init(jax.random.key(0), x)
    wrong = {**variables, "params_axes": {"foo": {"w_axes": partitioning.AxisMetadata(
        names=("out", "batch", "in"))}}}
    with pytest.raises(ValueError, match=r"params_axes: expected the axis name 'vmap_axis' at "
                       r"position 1 of the recorded axis names \('out', 'batch', 'in'\)"):
        _vmapped_model(nn, partitioning).apply(wrong, x)
