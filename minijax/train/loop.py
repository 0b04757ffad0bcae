"""The fused loop: many training steps in ONE compiled call, with `lax.scan`.

A Python loop around a jitted step pays a dispatch (and a host round trip if
you read the loss) per step. For small models that overhead is most of the
time. `lax.scan` runs the step in a loop *inside* XLA:

```python
def run(state, batches):                   # batches: (num_steps, batch_size, ...)
    return jax.lax.scan(step, state, batches)   # step(state, batch) -> (state, metrics)

state, metrics = jax.jit(run, donate_argnums=0)(state, batches)
metrics["loss"]                            # shape (num_steps,): one per step
```

The result is the same as the Python loop `for b in batches: state, m = step(state, b)`
(to float rounding: XLA may fuse the scanned step differently).

* `scan_steps`: over stacked batches (an epoch from
  `minijax.data.epoch_batches`, or any `(num_steps, ...)` arrays).
* `scan_repeat`: `num_steps` steps on the same (full) batch.
* `scan_epoch`: shuffles and stacks inside the compiled call from a key.
"""

from collections.abc import Callable
from typing import Any

import jax

from minijax.data.loader import epoch_batches, num_examples

__all__ = ["scan_epoch", "scan_repeat", "scan_steps"]

Step = Callable[[Any, Any], tuple[Any, dict[str, Any]]]


def _check_stacked(batches: Any, batch_size: int | None) -> None:
    """Stacked batches: every leaf ``(num_steps, batch_size, ...)``; not one single batch."""
    leaves = jax.tree_util.tree_leaves_with_path(batches)
    for path, leaf in leaves:
        shape = tuple(getattr(leaf, "shape", ()))
        name = "batches" + jax.tree_util.keystr(path)
        if len(shape) < 2:
            raise ValueError(
                f"scan_steps: {name} has shape {shape}, but scan_steps scans over the first "
                "axis, so each step would get "
                + ("a scalar" if len(shape) == 1 else "nothing")
                + ". Did you pass one batch instead of a stack of batches shaped "
                "(num_steps, batch_size, ...)? Stack them with minijax.data.epoch_batches, or "
                "use scan_repeat(step, num_steps) to run several steps on one batch."
            )
        if batch_size is not None and shape[1] != batch_size:
            raise ValueError(
                f"scan_steps: {name} has shape {shape}; expected (num_steps, {batch_size}, ...) "
                f"with batch_size={batch_size}. Did you pass one batch of {shape[0]} examples "
                "instead of a stack of batches? Stack them with minijax.data.epoch_batches."
            )


def scan_steps(
    step: Step, *, batch_size: int | None = None, donate: bool = True, unroll: int = 1
) -> Callable[[Any, Any], tuple[Any, Any]]:
    """A jitted `run(state, batches) -> (state, metrics)` scanning `step` over `batches`.

    Args:
        step: `step(state, batch) -> (state, metrics)`, e.g. from
            `minijax.train.train_step_fn` (a jitted step works too: it is inlined).
        batch_size: when given, every leaf of `batches` must be shaped
            `(num_steps, batch_size, ...)`: passing one batch by mistake is then an
            error rather than `batch_size` steps on single examples.
        donate: donate the input state's buffers.
        unroll: `lax.scan`'s unroll factor.

    `batches` is any pytree whose leaves have a leading `num_steps` axis and at
    least one more (a leaf of shape `(n,)` is an error: it is the labels of one
    batch far more often than one number per step; give such a leaf shape `(n, 1)`);
    `metrics` comes back with the same leading axis (one entry per step).

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, scan_steps, train_step_fn
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> batches = (jnp.ones((5, 2)), jnp.full((5, 2), 2.0))   # 5 steps, batches of 2
    >>> state, metrics = scan_steps(train_step_fn(loss_fn))(state, batches)
    >>> int(state.step), metrics["loss"].shape
    (5, (5,))
    """

    def run(state: Any, batches: Any) -> tuple[Any, Any]:
        _check_stacked(batches, batch_size)
        # >>> TASK A6.3
        return jax.lax.scan(step, state, batches, unroll=unroll)
        # <<< TASK A6.3

    return jax.jit(run, donate_argnums=(0,) if donate else ())


def scan_repeat(
    step: Step, num_steps: int, *, donate: bool = True, unroll: int = 1
) -> Callable[[Any, Any], tuple[Any, Any]]:
    """A jitted `run(state, batch)`: `num_steps` steps on the same batch (full-batch GD).

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, scan_repeat, train_step_fn
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> run = scan_repeat(train_step_fn(loss_fn), 50)
    >>> state, metrics = run(state, (jnp.array([1.0, 2.0]), jnp.array([2.0, 4.0])))
    >>> int(state.step), round(float(state.params["w"]), 3), bool(metrics["loss"][-1] < 1e-6)
    (50, 2.0, True)
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be at least 1, got {num_steps}.")

    def run(state: Any, batch: Any) -> tuple[Any, Any]:
        return jax.lax.scan(
            lambda s, _: step(s, batch), state, None, length=num_steps, unroll=unroll
        )

    return jax.jit(run, donate_argnums=(0,) if donate else ())


def scan_epoch(
    step: Step, batch_size: int, *, donate: bool = True, unroll: int = 1
) -> Callable[[Any, Any, Any], tuple[Any, Any]]:
    """A jitted `run(state, data, key)`: one shuffled epoch of `data` in one call.

    The batches are `minijax.data.epoch_batches` `(data, batch_size, key)`
    (`key=None` keeps the order), made inside the compiled function; the last
    `n % batch_size` examples of the shuffled order are dropped.

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, scan_epoch, train_step_fn
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> import jax
    >>> x = jnp.arange(1.0, 11.0)
    >>> run = scan_epoch(train_step_fn(loss_fn), batch_size=4)
    >>> state, metrics = run(state, (x, 2 * x), jax.random.key(0))   # 10 examples: 2 batches
    >>> int(state.step), metrics["loss"].shape
    (2, (2,))
    """

    def run(state: Any, data: Any, key: Any) -> tuple[Any, Any]:
        num_examples(data)  # a clear error for ragged data, at trace time
        batches = epoch_batches(data, batch_size, key)
        return jax.lax.scan(step, state, batches, unroll=unroll)

    return jax.jit(run, donate_argnums=(0,) if donate else ())
