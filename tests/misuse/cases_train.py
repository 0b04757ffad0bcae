"""Misuse cases: train steps. See catalogue.py for what a case is."""

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import minijax.nn as nn
from minijax import debug
from minijax.train import (
    NonFiniteLossError,
    fit,
    make_train_step,
    scan_repeat,
    scan_steps,
)

from .catalogue import X, _state, case, init

# ======================================================================== train steps


def _per_example(params: Any, state: Any, batch: Any) -> Any:
    x, y = batch
    return (state.apply_fn({"params": params}, x)[:, 0] - y) ** 2  # forgot .mean()


BATCH = (jnp.ones((8, 3)), jnp.ones(8))


@case(
    "train steps",
    "a loss_fn returning one loss per example",
    ValueError,
    ("shape (8,)", "not a scalar"),
    ("train_step", "loss_fn"),
    (".mean()",),
    "flax/jax: TypeError 'Gradient only defined for scalar-output functions. Output had shape: "
    "(8,).', no hint about the reduction",
)
def per_example_loss(tmp: Path) -> Any:
    return make_train_step(_per_example)(_state(), BATCH)


@case(
    "train steps",
    "has_aux=True but loss_fn returns only the loss",
    TypeError,
    ("(loss, metrics)",),
    ("has_aux=True",),
    ("drop has_aux=True",),
    "flax/jax: TypeError from value_and_grad about the output structure",
)
def has_aux_without_aux(tmp: Path) -> Any:
    return make_train_step(lambda p, s, b: jnp.sum(p["w"]), has_aux=True)(_state(), BATCH)


@case(
    "train steps",
    "aux metrics that are not a dict",
    TypeError,
    ("must be a dict of metrics",),
    ("aux output of loss_fn",),
    ("{'accuracy': acc}",),
    "flax: no step builder; whatever the user's loop does",
)
def aux_not_dict(tmp: Path) -> Any:
    def loss(p: Any, s: Any, b: Any) -> Any:
        return jnp.sum(p["w"]), [1.0]

    return make_train_step(loss, has_aux=True)(_state(), BATCH)


@case(
    "train steps",
    "metrics with a 'loss' entry",
    ValueError,
    ("must not contain 'loss'",),
    ("loss_fn's metrics",),
    ("the step adds it",),
    "flax: no step builder",
)
def metrics_with_loss(tmp: Path) -> Any:
    def loss(p: Any, s: Any, b: Any) -> Any:
        return jnp.sum(p["w"]), {"loss": 1.0}

    return make_train_step(loss, has_aux=True)(_state(), BATCH)


@case(
    "train steps",
    "returns_state_updates without has_aux",
    ValueError,
    ("returns_state_updates=True needs has_aux=True",),
    ("returns_state_updates",),
    ("has_aux=True",),
    "flax: no step builder",
)
def state_updates_without_aux(tmp: Path) -> Any:
    return make_train_step(_per_example, returns_state_updates=True)


def _mean_loss(params: Any, state: Any, batch: Any) -> Any:
    return jnp.mean(_per_example(params, state, batch))


@case(
    "train steps",
    "scan_steps given one batch instead of a stack of batches",
    ValueError,
    ("has shape (8,)", "each step would get a scalar"),
    ("scan_steps", "batches[1]"),
    ("epoch_batches", "scan_repeat"),
    "flax/jax: lax.scan runs 8 steps on single rows (silent)",
)
def scan_steps_one_batch(tmp: Path) -> Any:
    from minijax.train import train_step_fn

    return scan_steps(train_step_fn(_mean_loss))(_state(), BATCH)


@case(
    "train steps",
    "scan_steps(batch_size=4) given one batch of 8",
    ValueError,
    ("has shape (8, 3)", "expected (num_steps, 4, ...)"),
    ("scan_steps", "batches"),
    ("epoch_batches",),
    "flax/jax: runs 8 steps on single rows (silent)",
)
def scan_steps_batch_size(tmp: Path) -> Any:
    from minijax.train import train_step_fn

    return scan_steps(train_step_fn(_mean_loss), batch_size=4)(_state(), jnp.ones((8, 3)))


@case(
    "train steps",
    "scan_repeat with num_steps=0",
    ValueError,
    ("num_steps must be at least 1",),
    ("num_steps",),
    ("got 0",),
    "flax: no counterpart",
)
def scan_repeat_zero(tmp: Path) -> Any:
    return scan_repeat(lambda s, b: (s, {}), 0)


STEP = make_train_step(_mean_loss, donate=False)


@case(
    "train steps",
    "fit with eval_data but no eval_step",
    ValueError,
    ("eval_data needs an eval_step",),
    ("eval_data",),
    ("make_eval_step",),
    "flax: no fit",
)
def fit_eval_without_step(tmp: Path) -> Any:
    return fit(_state(), BATCH, train_step=STEP, batch_size=4, eval_data=BATCH, progress=False)


@case(
    "train steps",
    "fit(fused=True) without batch_size",
    ValueError,
    ("fused=True needs array train_data and a batch_size",),
    ("fused",),
    ("batch_size",),
    "flax: no fit",
)
def fit_fused_without_batch_size(tmp: Path) -> Any:
    return fit(_state(), [BATCH], train_step=STEP, fused=True, progress=False)


@case(
    "train steps",
    "fit shuffling without a key",
    ValueError,
    ("needs a key",),
    ("fit(shuffle=True)",),
    ("an int seed",),
    "flax: no fit",
)
def fit_shuffle_without_key(tmp: Path) -> Any:
    return fit(_state(), BATCH, train_step=STEP, batch_size=4, key=None, progress=False)


@case(
    "train steps",
    "fit with an unknown on_nan",
    ValueError,
    ("on_nan must be one of",),
    ("on_nan",),
    ("'raise', 'warn', 'skip'",),
    "flax: no fit",
)
def fit_on_nan_unknown(tmp: Path) -> Any:
    return fit(_state(), BATCH, train_step=STEP, batch_size=4, progress=False, on_nan="ignore")


NAN_BATCH = (jnp.ones((8, 3)).at[5, 0].set(jnp.nan), jnp.ones(8))


@case(
    "train steps",
    "training on data with a NaN",
    NonFiniteLossError,
    ("'loss' is nan",),
    ("at step 1 (epoch 0)",),
    ("debug_nans", "clip_by_global_norm"),
    "flax: no fit; a user loop trains on with NaN params (silent)",
)
def fit_nan_in_data(tmp: Path) -> Any:
    return fit(
        _state(), NAN_BATCH, train_step=STEP, batch_size=4, shuffle=False, key=None, progress=False
    )


@case(
    "train steps",
    "on_nan='skip' with an optimizer that applies NaN updates",
    NonFiniteLossError,
    ("no longer finite",),
    ("at step 1",),
    ("apply_if_finite",),
    "optax: apply_if_finite exists; nothing warns when it is missing",
)
def fit_skip_without_skipping_tx(tmp: Path) -> Any:
    return fit(
        _state(),
        NAN_BATCH,
        train_step=STEP,
        batch_size=4,
        shuffle=False,
        key=None,
        progress=False,
        on_nan="skip",
    )


@case(
    "train steps",
    "where the first NaN comes from",
    FloatingPointError,
    ("invalid value (nan) encountered in log",),
    ("module: <root>, Logs.__call__", "line:"),
    ("What to try",),
    "flax/jax: jax_debug_nans raises at the primitive, without the module path",
    outcome="debug",
    reason="minijax.debug.debug_nans",
)
def nan_source(tmp: Path) -> Any:
    class Logs(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return jnp.log(nn.Dense(2)(x) - 100.0)

    v = init(Logs(), X)
    with debug.debug_nans():
        return jax.jit(Logs().apply)(v, X)


@case(
    "train steps",
    "apply_gradients with grads missing a parameter",
    (TypeError, ValueError),
    ("do not match the params",),
    ("updates['v']",),
    ("exactly the tree structure",),
    "flax: a tree_map error 'Dict key mismatch'",
)
def apply_gradients_mismatch(tmp: Path) -> Any:
    return _state().apply_gradients(grads={"v": jnp.zeros((3, 1))})
