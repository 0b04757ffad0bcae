"""`TrainState`: everything that changes during training, in one immutable pytree.

The story of the article "jax/flax and object orientation" in four lines: an object
that updates itself hides its state; jax wants the state *outside*, passed in and
returned; the state of a training run is the parameters *and* the optimizer's state
(momentum, Adam's moments, step counts); so put both in one frozen dataclass that
knows how to make its successor:

```python
state = TrainState.create(apply_fn=model.apply, params=params, tx=optax.sgd(0.1, 0.9))
state = state.apply_gradients(grads=grads)     # a NEW state; the old one is unchanged
```

This is flax's `flax.training.train_state.TrainState`, with the same field
names, the same `create`/`apply_gradients`/`replace` and the same
keyword-only signatures, so a flax program runs with the import swapped. `tx`
is any object with optax's `init(params)` and `update(grads, state, params)`:
an optax optimizer or a `minijax.optim` one.

`apply_fn` and `tx` are *static* fields (`pytree_node=False`): they are
part of the tree structure, not leaves, so `jax.jit`, `jax.grad` and
checkpoints only ever see `step`, `params` and `opt_state`.

Subclass it to carry more state; every subclass is a dataclass too:

```python
class BNState(TrainState):
    batch_stats: Any                     # BatchNorm running statistics

class DropoutState(TrainState):
    key: jax.Array                       # a dropout key, folded with the step
```
"""

from collections.abc import Callable
from typing import Any, Protocol

import jax.numpy as jnp

from minijax import struct
from minijax.optim import apply_updates
from minijax.typing import Array, Int

__all__ = ["GradientTransformationLike", "TrainState"]


class GradientTransformationLike(Protocol):
    """What `TrainState` needs from an optimizer: optax's `(init, update)` pair."""

    def init(self, params: Any) -> Any: ...

    def update(self, updates: Any, state: Any, params: Any = None) -> tuple[Any, Any]: ...


class TrainState(struct.PyTreeNode):
    """The state of a training run: step count, parameters, optimizer and its state.

    Attributes:
        step: how many times `apply_gradients` has run (an int32 scalar array).
        apply_fn: the model's apply function, usually `model.apply` (static).
        params: the parameters being trained (a pytree).
        tx: the optimizer, an optax-style `GradientTransformation` (static).
        opt_state: the optimizer's state, `tx.init(params)` at the start.

    `step` starts as `jnp.int32` zero rather than flax's Python `0`: an array
    can be donated to `jax.jit`, carried through `lax.scan` and saved with a
    fixed dtype, and it prints and compares like the int.

    flax: `flax.training.train_state.TrainState`.

    >>> import jax, jax.numpy as jnp
    >>> import minijax.nn as nn, minijax.optim as optim
    >>> from minijax.train import TrainState
    >>> model = nn.Dense(1)
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 2)))["params"]
    >>> state = TrainState.create(apply_fn=model.apply, params=params, tx=optim.sgd(0.1))
    >>> grads = jax.tree.map(jnp.ones_like, state.params)
    >>> new = state.apply_gradients(grads=grads)
    >>> int(new.step), new.params["bias"].tolist(), state.params["bias"].tolist()
    (1, [-0.1], [0.0])
    >>> sorted(leaf.shape for leaf in jax.tree.leaves(new))   # step, bias, kernel: no apply_fn, tx
    [(), (1,), (2, 1)]
    """

    step: Int[Array, ""] | int
    apply_fn: Callable[..., Any] = struct.field(pytree_node=False)
    params: Any = struct.field(pytree_node=True)
    tx: GradientTransformationLike = struct.field(pytree_node=False)
    opt_state: Any = struct.field(pytree_node=True)

    def apply_gradients(self, *, grads: Any, **kwargs: Any) -> "TrainState":
        """One optimizer step: `tx.update`, `apply_updates`, `step + 1`.

        Extra keyword arguments replace other fields in the same new state (e.g.
        `batch_stats=new_stats` for a subclass that has that field).

        NaN or infinite gradients are applied as they are, as in flax: the
        parameters (and e.g. Adam's moments) become NaN and stay NaN; nothing is
        checked inside a jitted step. To skip such steps, wrap the optimizer:
        `tx = optim.apply_if_finite(tx, max_consecutive_errors=10)`; to find where
        the NaN comes from, run a step under `minijax.debug.debug_nans()`;
        `minijax.train.fit` stops at the first non-finite loss by default.
        """
        # >>> TASK A6.1
        updates, new_opt_state = self.tx.update(grads, self.opt_state, self.params)
        new_params = apply_updates(self.params, updates)
        return self.replace(
            step=self.step + 1, params=new_params, opt_state=new_opt_state, **kwargs
        )
        # <<< TASK A6.1

    @classmethod
    def create(
        cls,
        *,
        apply_fn: Callable[..., Any],
        params: Any,
        tx: GradientTransformationLike,
        **kwargs: Any,
    ) -> "TrainState":
        """A state at step 0 with `opt_state = tx.init(params)`; `kwargs` fill extra fields."""
        if not (callable(getattr(tx, "init", None)) and callable(getattr(tx, "update", None))):
            name = getattr(tx, "__name__", type(tx).__name__)
            raise TypeError(
                f"TrainState.create: tx must be an optimizer (a GradientTransformation with "
                f".init and .update), got {name!r} of type {type(tx).__name__}. Fix: call the "
                f"factory, e.g. tx={name}(learning_rate=1e-3)."
            )
        opt_state = tx.init(params)
        return cls(
            step=jnp.zeros((), jnp.int32),
            apply_fn=apply_fn,
            params=params,
            tx=tx,
            opt_state=opt_state,
            **kwargs,
        )
