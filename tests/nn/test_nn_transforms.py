"""Lifted transforms, the same numbers as flax.linen's, bitwise.

Every model is written once against a namespace `nn` and built with `flax.linen` and
with `minijax.nn`. `init` with the same key must give the same variable tree with
bitwise-equal values, and `apply` (with the same `dropout` key where there is one)
bitwise-equal outputs and mutated collections. Each transform is used on a Module
class, on a method inside a class body and on a plain function of a module, where
flax allows it.
"""

import functools
from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as mnn

pytestmark = pytest.mark.parity

X = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)), jnp.float32)
SEQ = jnp.asarray(np.random.default_rng(1).standard_normal((5, 2, 3)), jnp.float32)


def assert_bitwise(mine: Any, theirs: Any) -> None:
    assert jax.tree.structure(mine) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
        assert jnp.shape(a) == jnp.shape(b)
        np.testing.assert_array_equal(a, b)


def both(build: Callable[[Any], Any], *args: Any, seeds: tuple[int, ...] = (0, 3),
         rngs: tuple[str, ...] = (), mutable: Any = False, method: str | None = None,
         **kwargs: Any) -> Any:
    """init and apply both models with the same keys; compare everything."""
    theirs_model, mine_model = build(fnn), build(mnn)
    mine = None
    for seed in seeds:
        key = jax.random.key(seed)
        init_rngs = {"params": key, **{r: jax.random.fold_in(key, 1) for r in rngs}}
        theirs = theirs_model.init(init_rngs, *args, **kwargs)
        mine = mine_model.init(init_rngs, *args, **kwargs)
        assert_bitwise(mine, theirs)
        apply_rngs = {r: jax.random.fold_in(key, 2) for r in rngs}
        out_theirs = theirs_model.apply(theirs, *args, rngs=apply_rngs, mutable=mutable,
                                        **kwargs)
        out_mine = mine_model.apply(mine, *args, rngs=apply_rngs, mutable=mutable, **kwargs)
        assert_bitwise(out_mine, out_theirs)
    return out_mine if mutable else mine


# --- vmap ------------------------------------------------------------------------------


def test_vmap_class_ensemble_has_stacked_params_equal_to_flax() -> None:
    def build(nn: Any) -> Any:
        class Ensemble(nn.Module):
            @nn.compact
            def __call__(self, x):
                VDense = nn.vmap(nn.Dense, variable_axes={"params": 0},
                                 split_rngs={"params": True}, in_axes=None, axis_size=3)
                return VDense(2)(x)
        return Ensemble()

    variables = both(build, X)
    assert variables["params"]["VmapDense_0"]["kernel"].shape == (3, 3, 2)


def test_vmap_shared_params_and_split_dropout() -> None:
    def build(nn: Any) -> Any:
        class Block(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.Dropout(0.5, deterministic=False)(nn.Dense(4)(x))

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                VBlock = nn.vmap(Block, variable_axes={"params": None},
                                 split_rngs={"params": False, "dropout": True})
                return VBlock(name="vb")(x)
        return Net()

    variables = both(build, SEQ, rngs=("dropout",))
    assert variables["params"]["vb"]["Dense_0"]["kernel"].shape == (3, 4)


def test_vmap_batch_stats_axis_and_mutable_apply() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                VBN = nn.vmap(nn.BatchNorm, variable_axes={"params": 0, "batch_stats": 0},
                              split_rngs={"params": True})
                return VBN(use_running_average=False)(x)
        return Net()

    _, updated = both(build, SEQ, mutable=["batch_stats"])
    assert updated["batch_stats"]["VmapBatchNorm_0"]["mean"].shape == (5, 3)


def test_vmap_as_method_decorator() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @functools.partial(nn.vmap, variable_axes={"params": 0},
                               split_rngs={"params": True}, in_axes=0)
            @nn.compact
            def __call__(self, x):
                return nn.Dense(2)(x)
        return Net()

    variables = both(build, SEQ)
    assert variables["params"]["Dense_0"]["kernel"].shape == (5, 3, 2)


def test_vmap_on_a_plain_function_of_a_module() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                dense = nn.Dense(2)
                f = nn.vmap(lambda mdl, x: mdl(x), variable_axes={"params": 0},
                            split_rngs={"params": True})
                return f(dense, x)
        return Net()

    both(build, SEQ)


# --- scan ------------------------------------------------------------------------------


def _block(nn: Any) -> Any:
    class Block(nn.Module):
        features: int = 3

        @nn.compact
        def __call__(self, x, _):
            h = nn.Dense(self.features)(x)
            return nn.LayerNorm()(nn.gelu(h) + x), None
    return Block


def test_scan_over_a_stack_of_blocks() -> None:
    def build(nn: Any) -> Any:
        class Stack(nn.Module):
            @nn.compact
            def __call__(self, x):
                Scanned = nn.scan(_block(nn), variable_axes={"params": 0},
                                  split_rngs={"params": True}, length=4)
                return Scanned(name="layers")(x, None)[0]
        return Stack()

    variables = both(build, X)
    assert variables["params"]["layers"]["Dense_0"]["kernel"].shape == (4, 3, 3)


def test_scan_rnn_style_broadcast_params_and_reverse() -> None:
    def build(nn: Any) -> Any:
        class Cell(nn.Module):
            @nn.compact
            def __call__(self, c, x):
                c = nn.tanh(nn.Dense(3)(c) + nn.Dense(3, use_bias=False)(x))
                return c, 2 * c

        class Net(nn.Module):
            @nn.compact
            def __call__(self, xs):
                Scanned = nn.scan(Cell, variable_broadcast="params",
                                  split_rngs={"params": False}, in_axes=0, out_axes=1,
                                  reverse=True, unroll=2)
                return Scanned()(jnp.zeros((2, 3)), xs)
        return Net()

    variables = both(build, SEQ)
    assert variables["params"]["ScanCell_0"]["Dense_0"]["kernel"].shape == (3, 3)


def test_scan_carried_collection_and_broadcast_input() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            def setup(self):
                self.n = self.variable("counter", "n", lambda: jnp.zeros((), jnp.int32))
                self.dense = nn.Dense(3)

            def __call__(self, xs):
                return self.loop(0.0, xs, 2.0)

            @functools.partial(nn.scan, variable_axes={"params": 0}, variable_carry="counter",
                               split_rngs={"params": True}, in_axes=(0, nn.broadcast))
            def loop(self, c, x, scale):
                self.n.value += 1
                return c + scale * self.dense(x).sum(), x
        return Net()

    _, variables = both(build, SEQ, mutable=["counter"])
    assert int(variables["counter"]["n"]) == 10  # 5 steps at init, 5 more in apply


def test_scan_method_decorator_and_remat() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @functools.partial(nn.scan, variable_axes={"params": 0},
                               split_rngs={"params": True, "dropout": True})
            @nn.compact
            def __call__(self, c, x):
                h = nn.remat(nn.Dense)(3)(x + c)
                return nn.Dropout(0.3, deterministic=False)(h), h
        return Net()

    both(build, jnp.zeros((2, 3)), SEQ, rngs=("dropout",))


def test_remat_scan_nests_two_levels() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                return nn.remat_scan(nn.Dense, lengths=(2, 3))(3)(x)
        return Net()

    variables = both(build, X)
    assert variables["params"]["Remat_scanDense_0"]["kernel"].shape == (2, 3, 3, 3)


def test_gradient_through_scan_and_remat_matches_flax() -> None:
    def build(nn: Any) -> Any:
        class Block(nn.Module):  # Dense and tanh: layers whose own gradients match flax's
            @nn.compact
            def __call__(self, x, _):
                return nn.tanh(nn.Dense(3)(x)) + x, None

        class Stack(nn.Module):
            @nn.compact
            def __call__(self, x):
                Scanned = nn.scan(nn.remat(Block), variable_axes={"params": 0},
                                  split_rngs={"params": True}, length=3)
                return Scanned()(x, None)[0]
        return Stack()

    theirs_model, mine_model = build(fnn), build(mnn)
    variables = mine_model.init(jax.random.key(0), X)

    def loss(model: Any) -> Any:
        return jax.grad(lambda v: jnp.sum(model.apply(v, X) ** 2))(variables)

    assert_bitwise(loss(mine_model), loss(theirs_model))


# --- jit, control flow, autodiff -------------------------------------------------------


def test_jit_class_and_method_draw_flax_keys() -> None:
    def build(nn: Any) -> Any:
        class Inner(nn.Module):
            @nn.jit
            @nn.compact
            def __call__(self, x):
                return nn.Dropout(0.5, deterministic=False)(nn.Dense(3)(x))

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                y = nn.jit(nn.Dense)(3)(x)
                return Inner()(y) + Inner()(y)
        return Net()

    both(build, X, rngs=("dropout",))


def test_cond_switch_and_while_loop() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x, flag, i):
                dense = nn.Dense(3)
                a = nn.cond(flag, lambda m, x: m(x), lambda m, x: -m(x), dense, x)
                b = nn.switch(i, [lambda m, x: m(x), lambda m, x: m(x) * 2], nn.Dense(3), a)
                return nn.while_loop(lambda m, c: jnp.sum(c) < 100.0,
                                     lambda m, c: c * 2.0 + 1.0, self, b)
        return Net()

    both(build, X, True, 1)
    both(build, X, False, 0, seeds=(5,))


def test_vjp_jvp_grad_value_and_grad() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                dense = nn.Dense(2)
                y, bwd = nn.vjp(lambda m, x: m(x), dense, x)
                g_params, g_x = bwd(jnp.ones_like(y))
                tangents = jax.tree.map(jnp.ones_like, dense.variables["params"])
                _, t = nn.jvp(lambda m, x: m(x), dense, (x,), (jnp.zeros_like(x),),
                              {"params": tangents})
                value, (g,) = nn.value_and_grad(lambda m, x: m(x).sum(), dense, x)
                (g2,) = nn.grad(lambda m, x: (m(x) ** 2).sum(), dense, x)
                return g_params, g_x, t, value, g, g2
        return Net()

    both(build, X)


def test_custom_vjp_replaces_the_backward_pass() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                def f(mdl, x):
                    return mdl(x)

                def fwd(mdl, x):
                    return nn.vjp(f, mdl, x)

                def bwd(vjp_fn, y_t):
                    params_t, input_t = vjp_fn(y_t)
                    return jax.tree.map(lambda t: 3.0 * t, params_t), input_t

                return nn.custom_vjp(f, forward_fn=fwd, backward_fn=bwd)(nn.Dense(2), x)
        return Net()

    theirs_model, mine_model = build(fnn), build(mnn)
    variables = mine_model.init(jax.random.key(0), X)
    assert_bitwise(variables, theirs_model.init(jax.random.key(0), X))

    def grads(model: Any) -> Any:
        return jax.grad(lambda v: model.apply(v, X).sum())(variables)

    g = grads(mine_model)
    assert_bitwise(g, grads(theirs_model))
    np.testing.assert_allclose(g["params"]["Dense_0"]["bias"], 3.0 * X.shape[0])


def test_map_variables_transposed_kernel() -> None:
    def build(nn: Any) -> Any:
        def trans(v):
            return jax.tree.map(lambda a: a.T, v)

        class Net(nn.Module):
            @nn.compact
            def __call__(self, x):
                TDense = nn.map_variables(nn.Dense, "params", trans, trans, init=True)
                return TDense(2, use_bias=False)(x)
        return Net()

    variables = both(build, X)
    assert variables["params"]["Map_variablesDense_0"]["kernel"].shape == (2, 3)


def test_named_call_keeps_names_and_numbers() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.named_call
            @nn.compact
            def __call__(self, x):
                return nn.Dense(2)(x)
        return Net()

    both(build, X)


# --- errors ----------------------------------------------------------------------------


def test_transforming_an_instance_is_a_clear_error() -> None:
    with pytest.raises(mnn.errors.TransformTargetError, match="pass the class"):
        mnn.vmap(mnn.Dense(2))


def test_returning_a_module_from_a_transformed_method_is_an_error() -> None:
    class Net(mnn.Module):
        @functools.partial(mnn.vmap, variable_axes={"params": 0}, split_rngs={"params": True})
        @mnn.compact
        def __call__(self, x):
            return mnn.Dense(2)

    with pytest.raises(mnn.errors.TransformedMethodReturnValueError, match="cannot return"):
        Net().init(jax.random.key(0), SEQ)


def test_inconsistent_scan_lengths_name_the_problem() -> None:
    class Pair(mnn.Module):
        @mnn.compact
        def __call__(self, c, a, b):
            return c, a + b

    Scanned = mnn.scan(Pair, in_axes=(0, 0))
    with pytest.raises(ValueError, match="Inconsistent scan lengths"):
        Scanned().init(jax.random.key(0), 0.0, jnp.ones(4), jnp.ones(5))


def test_a_collection_not_lifted_is_read_only_inside() -> None:
    class Stat(mnn.Module):
        @mnn.compact
        def __call__(self, x):
            self.variable("stats", "n", lambda: 0)
            return x

    VStat = mnn.vmap(Stat, variable_axes={"params": 0}, split_rngs={"params": True})
    with pytest.raises(mnn.errors.ScopeCollectionNotFound, match='collection "stats"'):
        VStat().init(jax.random.key(0), SEQ)


def _debug_paths(nn: Any) -> dict[tuple[str, ...], tuple[str, ...]]:
    """`{path: scope.debug_path}` of every module of a model with nested transforms."""
    seen: dict[tuple[str, ...], tuple[str, ...]] = {}

    class Leaf(nn.Module):
        @nn.compact
        def __call__(self, x):
            if type(self.scope).__name__ != "TestScope":  # flax's setup check
                seen[self.path] = self.scope.debug_path
            return nn.Dense(2)(x)

    class Block(nn.Module):
        def setup(self):
            self.twice = nn.remat(nn.remat(Leaf))()
            self.mapped = nn.vmap(Leaf, variable_axes={"params": 0},
                                  split_rngs={"params": True})()
            self.jitted = nn.jit(Leaf)()
            self.plain = Leaf()

        def __call__(self, x):
            seen[self.path] = self.scope.debug_path
            return self.twice(x) + self.mapped(x) + self.jitted(x) + self.plain(x)

    class Top(nn.Module):
        @nn.compact
        def __call__(self, x):
            seen[self.path] = self.scope.debug_path
            return Block(name="b1")(x) + nn.remat(Block)(name="b2")(x)

    Top().init(jax.random.key(0), jnp.ones((3, 2)))
    return seen


def test_debug_paths_name_the_transforms_as_flax() -> None:
    ours = _debug_paths(mnn)
    assert ours == _debug_paths(fnn)
    assert ours[("b1", "twice")] == ("b1", "remat(remat(twice))")
    assert ours[("b2", "mapped")] == ("remat(b2)", "vmap(mapped)")
