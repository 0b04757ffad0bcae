"""TrainState: flax's API, with optax's and minijax's optimizers, subclassing."""

import dataclasses
import importlib

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.training import train_state as flax_train_state

from minijax import struct
from minijax.train import TrainState, apply_updates


def apply_fn(variables, x):
    p = variables["params"]["dense"]
    return x @ p["kernel"] + p["bias"]


def init_params():
    return {"dense": {"kernel": jnp.array([[-1.3232204]]), "bias": jnp.zeros(1)}}


X = jnp.arange(-1, 1, 0.01).reshape(200, 1)
DS = {"input": X, "output": 3 * X + 1}


def seed_train_step(state, batch):
    """The train_step of "jax/flax and object orientation", verbatim (optax's l2_loss)."""

    def loss_fn(params):
        pred_y = state.apply_fn({"params": params}, batch["input"])
        return optax.l2_loss(pred_y, batch["output"]).mean()

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    state = state.apply_gradients(grads=grads)
    return loss, state


def _optimizers():
    """(name, sgd-momentum factory, adam factory) for optax and minijax.optim."""
    libs = [pytest.param(optax, id="optax")]
    try:
        mo = importlib.import_module("minijax.optim")
        libs.append(pytest.param(mo, id="minijax.optim"))
    except ImportError:  # pragma: no cover - while minijax.optim is being written
        libs.append(pytest.param(None, id="minijax.optim", marks=pytest.mark.skip("no optim")))
    return libs


def test_create_fields_and_static():
    tx = optax.sgd(0.1, momentum=0.9)
    state = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=tx)
    assert int(state.step) == 0 and state.step.dtype == jnp.int32
    assert state.tx is tx and state.apply_fn is apply_fn
    # apply_fn and tx are static: not leaves, part of the treedef
    leaves = jax.tree.leaves(state)
    assert all(isinstance(x, jax.Array) for x in leaves)
    assert struct.static_fields(TrainState) == ("apply_fn", "tx")
    assert dataclasses.is_dataclass(state)
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.step = 3  # type: ignore[misc]
    moved = state.replace(step=jnp.int32(5))
    assert int(moved.step) == 5 and int(state.step) == 0


def test_seed_program_matches_flax_bitwise():
    tx = optax.sgd(learning_rate=0.1, momentum=0.9)
    ours = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=tx)
    theirs = flax_train_state.TrainState.create(apply_fn=apply_fn, params=init_params(), tx=tx)
    step = jax.jit(seed_train_step)
    for _ in range(100):
        loss_a, ours = step(ours, DS)
        loss_b, theirs = step(theirs, DS)
    assert np.asarray(loss_a).tobytes() == np.asarray(loss_b).tobytes()
    for a, b in zip(jax.tree.leaves(ours.params), jax.tree.leaves(theirs.params), strict=True):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    # the article reads the momentum as state.opt_state[0][0]
    mom = ours.opt_state[0][0]["dense"]["kernel"]
    np.testing.assert_array_equal(mom, theirs.opt_state[0][0]["dense"]["kernel"])
    assert int(ours.step) == 100
    np.testing.assert_allclose(ours.params["dense"]["kernel"], [[3.0]], atol=2e-2)
    np.testing.assert_allclose(ours.params["dense"]["bias"], [1.0], atol=2e-2)


@pytest.mark.parametrize("lib", _optimizers())
@pytest.mark.parametrize("which", ["sgd", "adam", "chain"])
def test_apply_gradients_equals_manual_update(lib, which):
    tx = {
        "sgd": lambda: lib.sgd(0.1, momentum=0.9),
        "adam": lambda: lib.adam(1e-2),
        "chain": lambda: lib.chain(lib.clip_by_global_norm(1.0), lib.adam(1e-2)),
    }[which]()
    state = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=tx)
    params, opt_state = init_params(), tx.init(init_params())
    grad_fn = jax.grad(lambda p: optax.l2_loss(apply_fn({"params": p}, X), 3 * X + 1).mean())

    @jax.jit
    def both(state, params, opt_state):
        state = state.apply_gradients(grads=grad_fn(state.params))
        updates, opt_state = tx.update(grad_fn(params), opt_state, params)
        return state, lib.apply_updates(params, updates), opt_state

    for _ in range(5):
        state, params, opt_state = both(state, params, opt_state)
    assert int(state.step) == 5
    for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)


def test_minijax_optim_matches_optax():
    mo = pytest.importorskip("minijax.optim")
    a = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=mo.adam(1e-2))
    b = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=optax.adam(1e-2))
    step = jax.jit(seed_train_step)
    for _ in range(10):
        _, a = step(a, DS)
        _, b = step(b, DS)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_apply_updates_keeps_dtype_and_none():
    params = {"a": jnp.ones(2, jnp.bfloat16), "b": None}
    out = apply_updates(params, {"a": jnp.full(2, 0.5, jnp.float32), "b": None})
    assert out["a"].dtype == jnp.bfloat16 and out["b"] is None
    ref = optax.apply_updates(params, {"a": jnp.full(2, 0.5, jnp.float32), "b": None})
    np.testing.assert_array_equal(out["a"], ref["a"])


def test_jit_equals_eager_and_is_deterministic():
    def run(jit):
        state = TrainState.create(apply_fn=apply_fn, params=init_params(), tx=optax.adam(0.1))
        step = jax.jit(seed_train_step) if jit else seed_train_step
        _, state = step(state, DS)
        return state

    eager, jitted, again = run(False), run(True), run(True)
    for a, b, c in zip(*(jax.tree.leaves(s) for s in (eager, jitted, again)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        assert np.asarray(b).tobytes() == np.asarray(c).tobytes()


def test_extra_kwargs_go_to_replace():
    class WithExtra(TrainState):
        ema: dict

    state = WithExtra.create(
        apply_fn=apply_fn, params=init_params(), tx=optax.sgd(0.1), ema=init_params()
    )
    grads = jax.tree.map(jnp.ones_like, state.params)
    new = state.apply_gradients(grads=grads, ema=grads)
    assert new.ema is grads and int(new.step) == 1


# --- subclassing: BatchNorm statistics and a dropout key --------------------------------


def _nn_libs():
    """minijax.nn; flax.linen (the same API) only while minijax.nn cannot be imported."""
    try:
        return [pytest.param(importlib.import_module("minijax.nn"), id="minijax.nn")]
    except ImportError:  # pragma: no cover
        return [pytest.param(flax_nn, id="flax.linen")]


class BNState(TrainState):
    batch_stats: dict


def _bn_model(nn):
    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(8)(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            return nn.Dense(1)(jax.nn.relu(x))

    return Net()


@pytest.mark.parametrize("nn", _nn_libs())
def test_subclass_with_batch_stats(nn):
    model = _bn_model(nn)
    x = jax.random.normal(jax.random.key(0), (32, 3))
    y = x.sum(axis=1, keepdims=True)
    variables = jax.jit(model.init, static_argnames="train")(jax.random.key(1), x, train=False)
    state = BNState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=optax.adam(1e-2),
        batch_stats=variables["batch_stats"],
    )

    @jax.jit
    def train_step(state, x, y):
        def loss_fn(params):
            pred, updates = state.apply_fn(
                {"params": params, "batch_stats": state.batch_stats},
                x,
                train=True,
                mutable=["batch_stats"],
            )
            return jnp.mean((pred - y) ** 2), updates

        (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        return state.apply_gradients(grads=grads, batch_stats=updates["batch_stats"]), loss

    before = state.batch_stats
    losses = []
    for _ in range(20):
        state, loss = train_step(state, x, y)
        losses.append(float(loss))
    assert isinstance(state, BNState) and int(state.step) == 20
    assert losses[-1] < losses[0]
    mean_before = jax.tree.leaves(before)[0]
    mean_after = jax.tree.leaves(state.batch_stats)[0]
    assert not np.allclose(mean_before, mean_after)  # the running stats moved
    # inference uses the running averages, no mutation needed
    variables = {"params": state.params, "batch_stats": state.batch_stats}
    pred = jax.jit(state.apply_fn, static_argnames="train")(variables, x, train=False)
    assert pred.shape == (32, 1)


class DropoutState(TrainState):
    key: jax.Array


@pytest.mark.parametrize("nn", _nn_libs())
def test_subclass_with_dropout_key_folded_with_step(nn):
    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train: bool):
            x = nn.Dense(16)(x)
            x = nn.Dropout(rate=0.5, deterministic=not train)(x)
            return nn.Dense(1)(x)

    model = Net()
    x = jnp.ones((4, 3))
    init = jax.jit(model.init, static_argnames="train")
    params = init(jax.random.key(0), x, train=False)["params"]
    state = DropoutState.create(
        apply_fn=model.apply, params=params, tx=optax.sgd(0.0), key=jax.random.key(42)
    )

    @jax.jit
    def forward(state):
        dropout_key = jax.random.fold_in(state.key, state.step)
        return state.apply_fn(
            {"params": state.params}, x, train=True, rngs={"dropout": dropout_key}
        )

    @jax.jit
    def train_step(state):
        grads = jax.tree.map(jnp.zeros_like, state.params)  # lr 0: params stay put
        return state.apply_gradients(grads=grads)

    out0 = forward(state)
    state1 = train_step(state)
    out1 = forward(state1)
    assert not np.allclose(out0, out1)  # a new mask at the next step
    np.testing.assert_array_equal(out0, forward(state))  # same step, same mask
    assert state1.key is not None and int(state1.step) == 1
    np.testing.assert_array_equal(jax.random.key_data(state1.key), jax.random.key_data(state.key))
