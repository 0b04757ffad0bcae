"""make_train_step / make_eval_step: the train_step pattern from a loss function."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from minijax.train import TrainState, make_eval_step, make_train_step, train_step_fn


def apply_fn(variables, x):
    p = variables["params"]
    return x @ p["w"] + p["b"]


def make_state(tx=None):
    params = {"w": jnp.array([[0.5], [-0.25]]), "b": jnp.zeros(1)}
    return TrainState.create(apply_fn=apply_fn, params=params, tx=tx or optax.adam(0.05))


X = jax.random.normal(jax.random.key(0), (64, 2))
Y = X @ jnp.array([[2.0], [-1.0]]) + 0.5
BATCH = (X, Y)


def loss_fn(params, state, batch):
    x, y = batch
    pred = state.apply_fn({"params": params}, x)
    return jnp.mean((pred - y) ** 2)


def loss_with_aux(params, state, batch):
    x, y = batch
    pred = state.apply_fn({"params": params}, x)
    return jnp.mean((pred - y) ** 2), {"mae": jnp.mean(jnp.abs(pred - y))}


def handwritten_step(state, batch):
    """The documented pattern, written out: what make_train_step must equal."""

    def objective(params):
        return loss_with_aux(params, state, batch)

    (loss, metrics), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
    return state.apply_gradients(grads=grads), {"loss": loss, **metrics}


def test_make_train_step_equals_handwritten_pattern():
    step = make_train_step(loss_with_aux, has_aux=True)
    ref = jax.jit(handwritten_step)
    a, b = make_state(), make_state()
    for _ in range(3):
        a, ma = step(a, BATCH)
        b, mb = ref(b, BATCH)
    assert set(ma) == {"loss", "mae"}
    for x, y in zip(jax.tree.leaves((a, ma)), jax.tree.leaves((b, mb)), strict=True):
        np.testing.assert_array_equal(x, y)
    assert int(a.step) == 3


def test_step_without_aux_and_loss_goes_down():
    step = make_train_step(loss_fn)
    state = make_state()
    first = None
    for _ in range(50):
        state, m = step(state, BATCH)
        first = first if first is not None else float(m["loss"])
    assert set(m) == {"loss"} and float(m["loss"]) < 0.1 * first


def test_jit_and_eager_step_agree():
    eager = make_train_step(loss_with_aux, has_aux=True, jit=False)
    jitted = make_train_step(loss_with_aux, has_aux=True, donate=False)
    s1, m1 = eager(make_state(), BATCH)
    s2, m2 = jitted(make_state(), BATCH)
    for x, y in zip(jax.tree.leaves((s1, m1)), jax.tree.leaves((s2, m2)), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


def test_donation_consumes_the_input_state():
    step = make_train_step(loss_fn)
    state = make_state()
    new, _ = step(state, BATCH)
    assert not any(x.is_deleted() for x in jax.tree.leaves(new))
    if jax.default_backend() != "cpu" or any(x.is_deleted() for x in jax.tree.leaves(state)):
        assert all(x.is_deleted() for x in jax.tree.leaves(state.params))
    kept = make_state()
    make_train_step(loss_fn, donate=False)(kept, BATCH)
    assert not any(x.is_deleted() for x in jax.tree.leaves(kept))


def test_state_updates_through_aux():
    class CountingState(TrainState):
        seen: jax.Array

    def loss(params, state, batch):
        value = loss_fn(params, state, batch)
        return value, ({"twice": 2 * value}, {"seen": state.seen + batch[0].shape[0]})

    state = CountingState.create(
        apply_fn=apply_fn, params=make_state().params, tx=optax.sgd(0.1), seen=jnp.int32(0)
    )
    step = make_train_step(loss, has_aux=True, returns_state_updates=True)
    state, m = step(state, BATCH)
    state, m = step(state, BATCH)
    assert int(state.seen) == 128 and set(m) == {"loss", "twice"}
    ev = make_eval_step(loss, has_aux=True, returns_state_updates=True)(state, BATCH)
    assert set(ev) == {"loss", "twice"}


def test_eval_step_reports_loss_without_updating():
    state = make_state()
    ev = make_eval_step(loss_with_aux, has_aux=True)
    out = ev(state, BATCH)
    np.testing.assert_allclose(out["loss"], loss_fn(state.params, state, BATCH), rtol=1e-6)
    assert set(out) == {"loss", "mae"} and int(state.step) == 0
    assert set(make_eval_step(loss_fn)(state, BATCH)) == {"loss"}


def test_clear_errors():
    with pytest.raises(ValueError, match="needs has_aux=True"):
        train_step_fn(loss_fn, returns_state_updates=True)
    bad = make_train_step(lambda p, s, b: (loss_fn(p, s, b), [1.0]), has_aux=True, jit=False)
    with pytest.raises(TypeError, match="dict of metrics"):
        bad(make_state(), BATCH)
    clash = make_train_step(
        lambda p, s, b: (loss_fn(p, s, b), {"loss": 0.0}), has_aux=True, jit=False
    )
    with pytest.raises(ValueError, match="must not contain 'loss'"):
        clash(make_state(), BATCH)
