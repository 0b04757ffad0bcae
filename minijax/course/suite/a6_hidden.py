"""A6 hidden tests."""

from typing import Any

import jax.numpy as jnp
import numpy as np

from minijax import optim
from minijax.train import TrainState, scan_steps, train_step_fn

RNG = np.random.default_rng(1)
X = jnp.asarray(RNG.normal(size=(16, 3)), jnp.float32)
Y = X @ jnp.array([0.5, 1.5, -1.0])


class StatsState(TrainState):
    batch_stats: Any = None



def apply_fn(params: Any, x: Any) -> Any:
    return x @ params["w"]


def sgd(lr: float) -> optim.GradientTransformation:
    return optim.scale(-lr)


def test_a6_1_extra_fields_are_replaced_too() -> None:
    s: Any = StatsState.create(apply_fn=apply_fn, params={"w": jnp.ones(3)}, tx=sgd(1.0),
                               batch_stats={"mean": jnp.zeros(3)})
    s2: Any = s.apply_gradients(grads={"w": jnp.ones(3)}, batch_stats={"mean": jnp.ones(3)})
    np.testing.assert_allclose(s2.batch_stats["mean"], np.ones(3), err_msg="batch_stats")
    np.testing.assert_allclose(s2.params["w"], np.zeros(3), err_msg="params")
    assert int(s.step) == 0 and int(s2.step) == 1, "the old state changed or step is wrong"


def test_a6_2_aux_metrics_and_state_updates() -> None:
    def loss_fn(params: Any, state: Any, batch: Any) -> Any:
        x, y = batch
        err = state.apply_fn(params, x) - y
        loss = jnp.mean(err**2)
        return loss, ({"mae": jnp.mean(jnp.abs(err))}, {"batch_stats": {"mean": x.mean(0)}})

    s = StatsState.create(apply_fn=apply_fn, params={"w": jnp.zeros(3)}, tx=sgd(0.1),
                          batch_stats={"mean": jnp.zeros(3)})
    step = train_step_fn(loss_fn, has_aux=True, returns_state_updates=True)
    new, metrics = step(s, (X, Y))
    assert set(metrics) == {"loss", "mae"}, f"metrics {set(metrics)}"
    np.testing.assert_allclose(metrics["mae"], np.mean(np.abs(np.asarray(Y))), rtol=1e-5)
    np.testing.assert_allclose(new.batch_stats["mean"], np.asarray(X).mean(0), rtol=1e-5,
                               err_msg="state_updates reach apply_gradients")


def test_a6_3_the_scanned_loop_fits() -> None:
    def loss_fn(params: Any, state: Any, batch: Any) -> Any:
        x, y = batch
        return jnp.mean((state.apply_fn(params, x) - y) ** 2)

    s = TrainState.create(apply_fn=apply_fn, params={"w": jnp.zeros(3)}, tx=sgd(0.1))
    batches = (jnp.stack([X] * 200), jnp.stack([Y] * 200))
    s, metrics = scan_steps(train_step_fn(loss_fn))(s, batches)
    assert metrics["loss"].shape == (200,), f"metrics shape {metrics['loss'].shape}"
    assert float(metrics["loss"][-1]) < 1e-4 < float(metrics["loss"][0]), \
        f"loss went from {metrics['loss'][0]} to {metrics['loss'][-1]}"
