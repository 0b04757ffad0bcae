"""Build `train_step` and `eval_step` functions from a loss function.

The pattern every jax training loop is made of (the `train_step` of the article
"jax/flax and object orientation"):

```python
@functools.partial(jax.jit, donate_argnums=0)
def train_step(state, batch):
    def loss_fn(params):
        logits = state.apply_fn({"params": params}, batch["x"])
        loss = cross_entropy(logits, batch["y"]).mean()
        return loss, {"accuracy": (logits.argmax(-1) == batch["y"]).mean()}

    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads)
    return state, {"loss": loss, **metrics}
```

`donate_argnums=0` lets XLA write the new state into the old state's buffers
(the old `state` must not be used after the call). `make_train_step`
writes exactly this function for a `loss_fn(params, state, batch)`.
"""

from collections.abc import Callable
from typing import Any

import jax

__all__ = ["eval_step_fn", "make_eval_step", "make_train_step", "train_step_fn"]

Metrics = dict[str, Any]
LossFn = Callable[[Any, Any, Any], Any]
Step = Callable[[Any, Any], tuple[Any, Metrics]]


def _split_aux(aux: Any, returns_state_updates: bool) -> tuple[Metrics, dict[str, Any]]:
    if returns_state_updates:
        if not (isinstance(aux, tuple) and len(aux) == 2):
            raise TypeError(
                "With returns_state_updates=True, loss_fn must return "
                "(loss, (metrics, state_updates)), e.g. "
                "(loss, ({'accuracy': acc}, {'batch_stats': new_stats})); got aux of type "
                f"{type(aux).__name__}."
            )
        metrics, updates = aux
    else:
        metrics, updates = aux, {}
    if metrics is None:
        metrics = {}
    if not isinstance(metrics, dict):
        raise TypeError(
            "The aux output of loss_fn (has_aux=True) must be a dict of metrics, e.g. "
            f"{{'accuracy': acc}}; got {type(metrics).__name__}."
        )
    if "loss" in metrics:
        raise ValueError("loss_fn's metrics must not contain 'loss': the step adds it.")
    return metrics, dict(updates)


def _scalar_loss(loss: Any, where: str) -> Any:
    """``loss`` if it is one number; a per-example loss is the usual mistake."""
    shape = getattr(loss, "shape", ())
    if shape != ():
        raise ValueError(
            f"{where}: loss_fn returned a loss of shape {tuple(shape)}, not a scalar "
            "(jax.grad needs one number). If that is one loss per example, reduce it: "
            "return losses.mean() (or .sum()); with has_aux=True return (loss.mean(), metrics)."
        )
    return loss


def train_step_fn(
    loss_fn: LossFn, *, has_aux: bool = False, returns_state_updates: bool = False
) -> Step:
    """The un-jitted `step(state, batch) -> (state, metrics)` for `loss_fn`.

    Args:
        loss_fn: `loss_fn(params, state, batch)` returning the scalar loss, or with
            `has_aux=True` `(loss, metrics)` where `metrics` is a dict of scalars.
            `state` gives access to `state.apply_fn`, `state.step` and any extra
            field of a subclass (`batch_stats`, a dropout `key`).
        has_aux: whether `loss_fn` returns `(loss, aux)`.
        returns_state_updates: with `has_aux=True`, `aux` is
            `(metrics, state_updates)` and `state_updates` (a dict of field names
            to new values, e.g. `{"batch_stats": ...}`) is passed to
            `state.apply_gradients(grads=grads, **state_updates)`.

    Returns:
        `step(state, batch) -> (new_state, {"loss": loss, **metrics})`. Use it inside
        your own `jax.jit`, `lax.scan` (`minijax.train.scan_steps`) or
        `shard_map`; `make_train_step` returns it jitted.

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, train_step_fn
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> step = train_step_fn(loss_fn)
    >>> state, metrics = step(state, (jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0])))
    >>> int(state.step), float(metrics["loss"]), float(state.params["w"])   # w: 0 + 0.1 * 10
    (1, 10.0, 1.0)
    """
    if returns_state_updates and not has_aux:
        raise ValueError("returns_state_updates=True needs has_aux=True.")

    def step(state: Any, batch: Any) -> tuple[Any, Metrics]:
        # >>> TASK A6.2
        def objective(params: Any) -> Any:
            out = loss_fn(params, state, batch)
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TypeError(
                        "train_step: with has_aux=True, loss_fn must return (loss, metrics); "
                        f"got {type(out).__name__}. Return a pair, or drop has_aux=True."
                    )
                return _scalar_loss(out[0], "train_step"), out[1]
            return _scalar_loss(out, "train_step")

        if has_aux:
            (loss, aux), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
            metrics, updates = _split_aux(aux, returns_state_updates)
        else:
            loss, grads = jax.value_and_grad(objective)(state.params)
            metrics, updates = {}, {}
        new_state = state.apply_gradients(grads=grads, **updates)
        return new_state, {"loss": loss, **metrics}
        # <<< TASK A6.2

    return step


def make_train_step(
    loss_fn: LossFn,
    *,
    has_aux: bool = False,
    returns_state_updates: bool = False,
    donate: bool = True,
    jit: bool = True,
) -> Step:
    """A jitted `step(state, batch) -> (state, metrics)`; see `train_step_fn`.

    Args:
        donate: donate `state`'s buffers to the step (`donate_argnums=0`); the
            state passed in must not be used again. Turn off to keep the old state.
        jit: `False` returns the plain function (for debugging with prints).

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, make_train_step
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> def with_metrics(params, state, batch):    # has_aux: (loss, {name: value})
    ...     return loss_fn(params, state, batch), {"w": params["w"]}
    >>> step = make_train_step(with_metrics, has_aux=True)
    >>> batch = (jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0]))
    >>> for _ in range(20):
    ...     state, metrics = step(state, batch)      # the old state is donated: not reused
    >>> sorted(metrics), round(float(state.params["w"]), 3)
    (['loss', 'w'], 2.0)
    """
    step = train_step_fn(loss_fn, has_aux=has_aux, returns_state_updates=returns_state_updates)
    if not jit:
        return step
    jitted: Step = jax.jit(step, donate_argnums=(0,) if donate else ())
    return jitted


def eval_step_fn(
    loss_fn: LossFn, *, has_aux: bool = False, returns_state_updates: bool = False
) -> Callable[[Any, Any], Metrics]:
    """The un-jitted `eval_step(state, batch) -> metrics` for the same `loss_fn`.

    No gradients, no update: it returns `{"loss": loss, **metrics}` at
    `state.params`. With `returns_state_updates=True` the state updates are dropped.

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, eval_step_fn
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> eval_step_fn(loss_fn)(state, (jnp.array([1.0]), jnp.array([3.0])))
    {'loss': Array(9., dtype=float32)}
    """

    def eval_step(state: Any, batch: Any) -> Metrics:
        out = loss_fn(state.params, state, batch)
        if not has_aux:
            return {"loss": out}
        loss, aux = out
        metrics, _ = _split_aux(aux, returns_state_updates)
        return {"loss": loss, **metrics}

    return eval_step


def make_eval_step(
    loss_fn: LossFn,
    *,
    has_aux: bool = False,
    returns_state_updates: bool = False,
    jit: bool = True,
) -> Callable[[Any, Any], Metrics]:
    """A jitted `eval_step(state, batch) -> {"loss": ..., **metrics}`; nothing donated.

    Pass a loss that evaluates the model in inference mode (`train=False`), or
    read the mode from the batch.

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, make_eval_step
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> metrics = make_eval_step(loss_fn)(state, (jnp.array([1.0]), jnp.array([3.0])))
    >>> float(metrics["loss"]), int(state.step)    # nothing trained
    (9.0, 0)
    """
    fn = eval_step_fn(loss_fn, has_aux=has_aux, returns_state_updates=returns_state_updates)
    return jax.jit(fn) if jit else fn
