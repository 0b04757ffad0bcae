"""A6 public tests: TrainState, the train step and the scanned loop, on least squares."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax import optim
from minijax.train import TrainState, scan_steps, train_step_fn

RNG = np.random.default_rng(0)
X = jnp.asarray(RNG.normal(size=(8, 3)), jnp.float32)
W_TRUE = jnp.array([1.0, -2.0, 0.5])
Y = X @ W_TRUE


def apply_fn(params: Any, x: Any) -> Any:
    return x @ params["w"]


def loss_fn(params: Any, state: Any, batch: Any) -> Any:
    x, y = batch
    return jnp.mean((state.apply_fn(params, x) - y) ** 2)


def counting() -> optim.GradientTransformation:
    """`u = -0.1 g`, and the state counts the updates."""
    return optim.GradientTransformation(
        lambda p: jnp.zeros((), jnp.int32),
        lambda g, s, p=None: (jax.tree.map(lambda v: -0.1 * v, g), s + 1))


def new_state() -> TrainState:
    return TrainState.create(apply_fn=apply_fn, params={"w": jnp.zeros(3)}, tx=counting())


def test_a6_1_apply_gradients_takes_one_step() -> None:
    s = new_state().apply_gradients(grads={"w": jnp.array([1.0, 2.0, 3.0])})
    np.testing.assert_allclose(s.params["w"], [-0.1, -0.2, -0.3], rtol=1e-6, err_msg="params")
    assert int(s.step) == 1, f"step {s.step} after one update"
    assert int(s.opt_state) == 1, "opt_state is not the one tx.update returned"


def test_a6_2_train_step_is_one_gradient_step() -> None:
    state = new_state()
    new, metrics = jax.jit(train_step_fn(loss_fn))(state, (X, Y))
    grad = 2 * np.asarray(X).T @ (np.asarray(X) @ np.zeros(3) - np.asarray(Y)) / 8
    np.testing.assert_allclose(new.params["w"], -0.1 * grad, rtol=1e-5, atol=1e-6,
                               err_msg="params after one step")
    np.testing.assert_allclose(metrics["loss"], np.mean(np.asarray(Y) ** 2), rtol=1e-5,
                               err_msg="the loss is the loss before the step")


def test_a6_3_scan_steps_equals_a_loop() -> None:
    step = train_step_fn(loss_fn)
    batches = (jnp.stack([X] * 4), jnp.stack([Y] * 4))
    scanned, metrics = scan_steps(step, donate=False)(new_state(), batches)
    s = new_state()
    for i in range(4):
        s, m = step(s, (X, Y))
        np.testing.assert_allclose(metrics["loss"][i], m["loss"], rtol=1e-5,
                                   err_msg=f"loss of step {i}")
    np.testing.assert_allclose(scanned.params["w"], s.params["w"], rtol=1e-5, atol=1e-6)
    assert int(scanned.step) == 4, f"step {scanned.step} after 4 scanned steps"


