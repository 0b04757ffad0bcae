"""Misuse cases: optimizers, schedules and losses. See catalogue.py for what a case is."""

import os
from pathlib import Path
from typing import Any
from unittest import mock

import jax.numpy as jnp

from minijax import losses, optim
from minijax.optim import schedules
from minijax.train import (
    TrainState,
)

from .catalogue import case

# ======================================================================== optimizers


PARAMS = {"w": jnp.ones((5, 3)), "b": jnp.zeros(3)}


@case(
    "optimizers",
    "a learning-rate schedule returning an array",
    ValueError,
    ("returned a value of shape (3,)",),
    ("learning-rate (step size) schedule",),
    ("return a scalar",),
    "optax: no error; per-column learning rates (silent)",
)
def schedule_not_scalar(tmp: Path) -> Any:
    tx = optim.sgd(lambda count: jnp.full(3, 0.1))
    return tx.update(PARAMS, tx.init(PARAMS))


@case(
    "optimizers",
    "a weight-decay schedule returning an array",
    ValueError,
    ("returned a value of shape (3,)",),
    ("weight decay schedule",),
    ("return a scalar",),
    "optax: no error; per-column decay (silent)",
)
def weight_decay_schedule_not_scalar(tmp: Path) -> Any:
    tx = optim.add_decayed_weights(lambda count: jnp.full(3, 0.1))
    return tx.update(PARAMS, tx.init(PARAMS), PARAMS)


@case(
    "optimizers",
    "adamw's update without params",
    ValueError,
    ("needs the current parameters",),
    ("update(updates, state)",),
    ("update(updates, state, params)",),
    "optax: ValueError 'You are using a transformation that requires the current value of "
    "parameters, but you are not passing params when calling update.'",
)
def adamw_without_params(tmp: Path) -> Any:
    tx = optim.adamw(1e-3)
    return tx.update(PARAMS, tx.init(PARAMS))


@case(
    "optimizers",
    "gradients whose tree differs from the params",
    (TypeError, ValueError),
    ("do not match the params", "updates have nothing"),
    ("updates['b']",),
    ("exactly the tree structure",),
    "optax: ValueError 'pytree structure error: different numbers of pytree children', not "
    "saying which tree is which",
)
def grads_tree_mismatch(tmp: Path) -> Any:
    tx = optim.adamw(1e-3)
    return tx.update({"w": PARAMS["w"]}, tx.init(PARAMS), PARAMS)


@case(
    "optimizers",
    "apply_updates with trees of different structure",
    (TypeError, ValueError),
    ("do not match the params",),
    ("updates['b']",),
    ("exactly the tree structure",),
    "optax: ValueError 'pytree structure error: different numbers of pytree children'",
)
def apply_updates_mismatch(tmp: Path) -> Any:
    return optim.apply_updates(PARAMS, {"w": PARAMS["w"]})


@case(
    "optimizers",
    "MultiSteps every_k_schedule=0",
    ValueError,
    ("must be at least 1",),
    ("MultiSteps", "every_k_schedule=0"),
    ("every_k_schedule=4",),
    "optax: no error at init; the accumulation never completes (silent)",
)
def multisteps_zero(tmp: Path) -> Any:
    tx = optim.MultiSteps(optim.sgd(0.1), every_k_schedule=0)
    return tx.update(PARAMS, tx.init(PARAMS), PARAMS)


@case(
    "optimizers",
    "TrainState.create with the optimizer factory, not an optimizer",
    (TypeError, AttributeError),
    ("must be an optimizer", "'adam'"),
    ("TrainState.create", "tx"),
    ("tx=adam(learning_rate=1e-3)",),
    "flax: AttributeError \"'function' object has no attribute 'init'\"",
)
def train_state_tx_factory(tmp: Path) -> Any:
    return TrainState.create(apply_fn=lambda v, x: x, params=PARAMS, tx=optim.adam)


# ======================================================================== schedules


@case(
    "schedules",
    "cosine_decay_schedule with decay_steps=0",
    ValueError,
    ("decay_steps > 0",),
    ("cosine_decay_schedule",),
    ("got 0",),
    "optax: ValueError 'The cosine_decay_schedule requires positive decay_steps, got "
    "decay_steps=0.'",
)
def cosine_zero_steps(tmp: Path) -> Any:
    return schedules.cosine_decay_schedule(0.1, 0)


@case(
    "schedules",
    "piecewise_constant_schedule with a negative factor",
    ValueError,
    ("non-negative scale factors",),
    ("piecewise_constant_schedule",),
    ("non-negative",),
    "optax: ValueError 'piecewise_constant_schedule expects non-negative scale factors'",
)
def piecewise_negative(tmp: Path) -> Any:
    return schedules.piecewise_constant_schedule(0.1, {10: -1.0})


# ======================================================================== losses


B = 16


def _unchecked(fn: Any, *args: Any) -> Any:
    """Call `fn` with the run-time type checker off (`MINIJAX_TYPECHECK=0`): the losses'
    own shape and dtype checks cost nothing and stay on."""
    with mock.patch.dict(os.environ, {"MINIJAX_TYPECHECK": "0"}):
        return fn(*args)


_L2 = (
    ValueError,
    ("(16, 1)", "(16,)", "must be equal"),
    ("l2_loss", "predictions", "targets"),
    ("targets.reshape((16, 1))",),
    "optax: ValueError 'Shape mismatch: got (16, 1) and (16,).'",
)


@case("losses", "l2_loss(pred (B, 1), target (B,))", *_L2)
def l2_loss_broadcast(tmp: Path) -> Any:
    return losses.l2_loss(jnp.ones((B, 1)), jnp.ones(B))


@case("losses", "l2_loss(pred (B, 1), target (B,)) with MINIJAX_TYPECHECK=0", *_L2)
def l2_loss_broadcast_unchecked(tmp: Path) -> Any:
    return _unchecked(losses.l2_loss, jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "squared_error with integer predictions",
    TypeError,
    ("int32", "floating dtype"),
    ("squared_error", "predictions"),
    ("jnp.asarray(predictions, jnp.float32)",),
    "optax: TypeError 'Expected the input to have a dtype that is a subdtype of numpy.floating, "
    "got int32'",
)
def squared_error_int(tmp: Path) -> Any:
    return losses.squared_error(jnp.ones(3, jnp.int32), jnp.ones(3, jnp.int32))


@case(
    "losses",
    "huber_loss with mismatched shapes",
    ValueError,
    ("(16,)", "does not broadcast to the shape (16, 1)"),
    ("huber_loss", "targets", "predictions"),
    ("targets[..., None]",),
    "optax: no error; a (16, 16) loss (silent)",
)
def huber_broadcast(tmp: Path) -> Any:
    return losses.huber_loss(jnp.ones((B, 1)), jnp.ones(B))


_CE_INT = (
    TypeError,
    ("integer dtype int32", "class probabilities"),
    ("softmax_cross_entropy", "labels"),
    ("softmax_cross_entropy_with_integer_labels", "labels.astype(jnp.float32)"),
    "optax: no error; integer one-hot labels accepted (silent)",
)


@case("losses", "softmax_cross_entropy with integer labels", *_CE_INT)
def softmax_ce_int_labels(tmp: Path) -> Any:
    return losses.softmax_cross_entropy(jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32))


@case("losses", "softmax_cross_entropy with integer labels, MINIJAX_TYPECHECK=0", *_CE_INT)
def softmax_ce_int_labels_unchecked(tmp: Path) -> Any:
    return _unchecked(
        losses.softmax_cross_entropy, jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32)
    )


_CE_CLASSES = (
    ValueError,
    ("(16, 9)", "does not broadcast to the shape (16, 10)"),
    ("softmax_cross_entropy", "labels", "logits"),
    ("one-hot: jax.nn.one_hot(labels, classes)",),
    "optax: TypeError 'mul got incompatible shapes for broadcasting: (16, 9), (16, 10).'",
)


@case("losses", "softmax_cross_entropy with 9 classes of labels for 10 logits", *_CE_CLASSES)
def softmax_ce_classes(tmp: Path) -> Any:
    return losses.softmax_cross_entropy(jnp.ones((B, 10)), jnp.ones((B, 9)))


@case("losses", "softmax_cross_entropy with mismatched classes, MINIJAX_TYPECHECK=0",
      *_CE_CLASSES)
def softmax_ce_classes_unchecked(tmp: Path) -> Any:
    return _unchecked(losses.softmax_cross_entropy, jnp.ones((B, 10)), jnp.ones((B, 9)))


_INT_CE_FLOAT = (
    TypeError,
    ("integer dtype", "float32"),
    ("softmax_cross_entropy_with_integer_labels", "labels"),
    ("jnp.asarray(labels, jnp.int32)",),
    "optax: TypeError 'Expected the input to have a dtype that is a subdtype of numpy.integer, "
    "got float32'",
)


@case("losses", "integer-label cross-entropy with float labels", *_INT_CE_FLOAT)
def int_ce_float_labels(tmp: Path) -> Any:
    return losses.softmax_cross_entropy_with_integer_labels(jnp.ones((B, 10)), jnp.ones(B))


@case("losses", "integer-label cross-entropy with float labels, MINIJAX_TYPECHECK=0",
      *_INT_CE_FLOAT)
def int_ce_float_labels_unchecked(tmp: Path) -> Any:
    return _unchecked(
        losses.softmax_cross_entropy_with_integer_labels, jnp.ones((B, 10)), jnp.ones(B)
    )


_INT_CE_ONE_HOT = (
    ValueError,
    ("labels has shape (16, 10)", "one integer label per example"),
    ("softmax_cross_entropy_with_integer_labels", "logits"),
    ("shape (16,)", "For one-hot or soft labels use softmax_cross_entropy"),
    "optax: ValueError 'indices and arr must have the same number of dimensions; 3 vs. 2'",
)


@case("losses", "integer-label cross-entropy with one-hot labels", *_INT_CE_ONE_HOT)
def int_ce_one_hot(tmp: Path) -> Any:
    return losses.softmax_cross_entropy_with_integer_labels(
        jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32)
    )


@case("losses", "integer-label cross-entropy with one-hot labels, MINIJAX_TYPECHECK=0",
      *_INT_CE_ONE_HOT)
def int_ce_one_hot_unchecked(tmp: Path) -> Any:
    return _unchecked(
        losses.softmax_cross_entropy_with_integer_labels,
        jnp.ones((B, 10)),
        jnp.zeros((B, 10), jnp.int32),
    )


_BCE = (
    ValueError,
    ("(16,)", "does not broadcast to the shape (16, 1)"),
    ("sigmoid_binary_cross_entropy", "labels", "logits"),
    ("labels[..., None]", "logits.squeeze(-1)"),
    "optax: no error; a (16, 16) loss (silent)",
)


@case("losses", "sigmoid_binary_cross_entropy with labels (B,) for logits (B, 1)", *_BCE)
def sigmoid_bce_shapes(tmp: Path) -> Any:
    return losses.sigmoid_binary_cross_entropy(jnp.ones((B, 1)), jnp.ones(B))


@case("losses", "sigmoid_binary_cross_entropy shapes, MINIJAX_TYPECHECK=0", *_BCE)
def sigmoid_bce_shapes_unchecked(tmp: Path) -> Any:
    return _unchecked(losses.sigmoid_binary_cross_entropy, jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "cosine_similarity with vectors of different sizes",
    ValueError,
    ("(16, 4)", "does not broadcast to the shape (16, 3)"),
    ("cosine_similarity", "targets", "predictions"),
    ("agree in size along the last axis",),
    "optax: TypeError 'mul got incompatible shapes for broadcasting: (16, 3), (16, 4).'",
)
def cosine_dims(tmp: Path) -> Any:
    return losses.cosine_similarity(jnp.ones((B, 3)), jnp.ones((B, 4)))
