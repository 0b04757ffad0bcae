"""The misuse catalogue: mistakes learners and experimenters make, and what minijax says.

Each `Case` runs one mistake. The test (`test_misuse.py`) asserts that it raises
`error` and that the message (with its notes) contains every phrase of `problem`
(what is wrong), `where` (the layer path, parameter or argument) and `fix` (what to
do). `outcome` is "error" (minijax explains it), "debug" (jax semantics make it
undetectable in compiled code; the debug mode named in `reason` catches it) or
"xfail" (not caught yet: a strict xfail whose `reason` says what is missing).
`flax` says what flax/optax do for the same mistake. `tools/safety_table.py` writes
docs/safety.md from this list.
"""

import dataclasses
import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import minijax.nn as nn
from minijax import data, debug, losses, optim, random
from minijax.optim import schedules
from minijax.testing import ForwardModeUnavailableError, GradientCheckError, check_grads
from minijax.train import (
    NonFiniteLossError,
    TrainState,
    checkpoint,
    fit,
    make_train_step,
    scan_repeat,
    scan_steps,
)
from minijax.typing import Float, TypeCheckError, typed


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    area: str
    mistake: str
    run: Callable[[Path], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    problem: tuple[str, ...]
    where: tuple[str, ...]
    fix: tuple[str, ...]
    flax: str
    outcome: str = "error"
    reason: str = ""


CASES: list[Case] = []


def case(
    area: str,
    mistake: str,
    error: Any,
    problem: tuple[str, ...],
    where: tuple[str, ...],
    fix: tuple[str, ...],
    flax: str,
    outcome: str = "error",
    reason: str = "",
) -> Callable[[Callable[[Path], Any]], Callable[[Path], Any]]:
    def register(fn: Callable[[Path], Any]) -> Callable[[Path], Any]:
        CASES.append(
            Case(fn.__name__, area, mistake, fn, error, problem, where, fix, flax, outcome, reason)
        )
        return fn

    return register


KEY = jax.random.key(0)
X = jnp.ones((4, 3))


def init(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
    return module.init({"params": KEY, "dropout": KEY}, *args, **kwargs)


class Model(nn.Module):
    """A two-level model, so that errors name a nested path."""

    inner: nn.Module

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return Block(self.inner, name="block")(x)


class Block(nn.Module):
    layer: nn.Module

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return self.layer(x)


# ======================================================================== layers


@case(
    "layers",
    "Dense(-4): a negative number of features",
    ValueError,
    ("features must be at least 1",),
    ("Dense(features=-4)", "(in module inner, Dense"),
    ("Dense(features=16)",),
    "flax: TypeError 'Only non-negative indices are allowed when broadcasting static shapes, "
    "but got shape (3, -4)', no field or module named",
)
def dense_negative_features(tmp: Path) -> Any:
    return init(Model(nn.Dense(-4)), X)


@case(
    "layers",
    "Dense(0): zero features",
    ValueError,
    ("features must be at least 1",),
    ("Dense(features=0)", "in module"),
    ("Dense(features=16)",),
    "flax: ZeroDivisionError 'float division by zero' from the initializer",
)
def dense_zero_features(tmp: Path) -> Any:
    return init(nn.Dense(0), X)


@case(
    "layers",
    "Dense(2.5): a float number of features",
    TypeError,
    ("must be a positive int", "float"),
    ("Dense(features=2.5)",),
    ("Dense(features=16)",),
    "flax: TypeError 'Shapes must be 1D sequences of concrete values of integer type, got (3, "
    "2.5)'",
)
def dense_float_features(tmp: Path) -> Any:
    return init(nn.Dense(2.5), X)  # type: ignore[arg-type]


@case(
    "layers",
    "Dropout(rate=1.5): a rate above 1",
    ValueError,
    ("must be in [0, 1]",),
    ("Dropout(rate=1.5)", "(in module inner, Dropout"),
    ("Dropout(rate=0.1)",),
    "flax: no error; the output is all zeros (silent)",
)
def dropout_rate_above_one(tmp: Path) -> Any:
    return init(Model(nn.Dropout(1.5, deterministic=False)), X)


@case(
    "layers",
    "Dropout(rate=-0.2): a negative rate",
    ValueError,
    ("must be in [0, 1]",),
    ("Dropout(rate=-0.2)",),
    ("rate=1 - p",),
    "flax: no error; every entry kept and scaled by 1/1.2 (silent)",
)
def dropout_negative_rate(tmp: Path) -> Any:
    return nn.Dropout(-0.2).apply({}, X, deterministic=False, rngs={"dropout": KEY})


@case(
    "layers",
    "Dropout in training without a dropout key",
    nn.errors.InvalidRngError,
    ("dropout",),
    ("Dropout",),
    ("rngs=",),
    "flax: InvalidRngError naming the stream and module, with a docs link",
)
def dropout_without_rng(tmp: Path) -> Any:
    return nn.Dropout(0.5).apply({}, X, deterministic=False)


@case(
    "layers",
    "Dropout's deterministic given both as attribute and call argument",
    ValueError,
    ("given both to the constructor and at call time",),
    ('"deterministic"', "Dropout"),
    ("pass it exactly once",),
    'flax: ValueError \'Parameter "deterministic" was passed to the constructor and at call '
    "time. Should be passed just once.'",
)
def dropout_deterministic_twice(tmp: Path) -> Any:
    return nn.Dropout(0.5, deterministic=True).apply({}, X, deterministic=False)


@case(
    "layers",
    "Embed with float ids",
    ValueError,
    ("integer ids", "float32"),
    ("Embed",),
    ("astype",),
    "flax: ValueError 'Input type must be an integer or unsigned integer.' (no module path)",
)
def embed_float_ids(tmp: Path) -> Any:
    e = nn.Embed(4, 3)
    v = e.init(KEY, jnp.arange(2))
    return e.apply(v, jnp.ones(2))


@case(
    "layers",
    "Embed id out of range inside jit",
    Exception,
    ("index 12 is out of bounds", "size 10"),
    ("shape (10, 3)",),
    (),
    "flax: no error inside jit; the row is NaN",
    outcome="debug",
    reason="minijax.debug.debug_checks",
)
def embed_id_out_of_range(tmp: Path) -> Any:
    e = nn.Embed(10, 3)
    v = e.init(KEY, jnp.arange(2))
    return debug.debug_checks(jax.jit(e.apply))(v, jnp.array([1, 12]))


@case(
    "layers",
    "Conv on an input without a channel axis",
    ValueError,
    ("the input has shape (5,)",),
    ("Conv", "(in module inner, Conv"),
    ("x[..., None]",),
    "flax: ValueError from conv_general_dilated about (1, 5) and (3, 5, 3), not the input",
)
def conv_rank(tmp: Path) -> Any:
    return init(Model(nn.Conv(3, (3,))), jnp.ones((5,)))


@case(
    "layers",
    "Conv with an unknown padding string",
    ValueError,
    ("unknown padding 'same-ish'",),
    ("Conv",),
    ("'SAME', 'VALID'",),
    "flax: RuntimeError 'Unrecognized padding type: expected VALID, SAME, or SAME_LOWER'",
)
def conv_bad_padding(tmp: Path) -> Any:
    return init(nn.Conv(3, (3,), padding="same-ish"), jnp.ones((1, 5, 2)))


@case(
    "layers",
    "an attention mask of the wrong shape",
    ValueError,
    ("mask has shape (2, 1, 5, 4)", "does not broadcast"),
    ("dot_product_attention", "(*batch, num_heads, q_len, kv_len) = (2, 4, 5, 5)"),
    ("make_attention_mask",),
    "flax: ValueError 'Incompatible shapes for broadcasting: shapes=[(2, 1, 5, 4), (2, 4, 5, "
    "5), ()]', not naming the mask",
)
def attention_mask_shape(tmp: Path) -> Any:
    q = jnp.ones((2, 5, 4, 8))
    return nn.dot_product_attention(q, q, q, mask=jnp.ones((2, 1, 5, 4)))


@case(
    "layers",
    "attention dropout without a key",
    ValueError,
    ("dropout_rate > 0",),
    ("dot_product_attention_weights",),
    ("dropout_rng=", "deterministic=True"),
    "flax: TypeError 'unexpected PRNG key type <class NoneType>'",
)
def attention_dropout_without_key(tmp: Path) -> Any:
    q = jnp.ones((2, 5, 1, 4))
    return nn.dot_product_attention(q, q, q, dropout_rate=0.1)


@case(
    "layers",
    "combine_masks with masks of different ranks",
    ValueError,
    ("different ranks (4, 2)",),
    ("combine_masks",),
    ("same number of axes",),
    "flax: AssertionError 'masks must have same rank: (4, 2)', no fix",
)
def combine_masks_ranks(tmp: Path) -> Any:
    return nn.combine_masks(jnp.ones((1, 1, 3, 3)), jnp.ones((3, 3)))


@case(
    "layers",
    "DenseGeneral with an axis out of range",
    ValueError,
    ("axis 3 is out of range",),
    ("DenseGeneral", "shape (4, 3)"),
    ("[-2, 1]",),
    "flax: IndexError 'tuple index out of range'",
)
def dense_general_axis(tmp: Path) -> Any:
    return init(nn.DenseGeneral(2, axis=3), X)


@case(
    "layers",
    "Dense on boolean inputs",
    TypeCheckError,
    ("does not match its annotation", "bool"),
    ("Dense.__call__", "'inputs'"),
    ("astype",),
    "flax: no error; computes with the bools (silent)",
)
def dense_bool_input(tmp: Path) -> Any:
    return init(nn.Dense(2), X > 0)


@case(
    "layers",
    "applying Dense to an input of another width than at init",
    nn.errors.ScopeParamShapeError,
    ("shape",),
    ("kernel", "Dense"),
    ("(3, 2)",),
    "flax: ScopeParamShapeError naming the param, path and both shapes",
)
def dense_other_width(tmp: Path) -> Any:
    v = init(nn.Dense(2), X)
    return nn.Dense(2).apply(v, jnp.ones((4, 5)))


@case(
    "layers",
    "BatchNorm in training without mutable=['batch_stats']",
    nn.errors.ModifyScopeVariableError,
    ("batch_stats",),
    ("BatchNorm",),
    ("mutable",),
    'flax: ModifyScopeVariableError \'Cannot update variable "mean" ... collection "batch_stats" '
    "is immutable' with a docs link",
)
def batchnorm_not_mutable(tmp: Path) -> Any:
    bn = nn.BatchNorm(use_running_average=False)
    v = bn.init(KEY, X)
    return bn.apply(v, X)


@case(
    "layers",
    "BatchNorm without use_running_average anywhere",
    ValueError,
    ("use_running_average",),
    ("use_running_average",),
    ("pass",),
    'flax: ValueError \'Parameter "use_running_average" must be passed to the constructor or at '
    "call time.'",
)
def batchnorm_mode_missing(tmp: Path) -> Any:
    return init(nn.BatchNorm(), X)


# ======================================================================== module system


class Compact(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return nn.Dense(2)(x)


@case(
    "module system",
    "calling a module outside init/apply",
    nn.errors.UnboundModuleError,
    ("unbound",),
    ("Compact",),
    ("init", "apply"),
    "flax: CallCompactUnboundModuleError 'Can't call compact methods on unbound modules' with a "
    "docs link",
)
def call_unbound(tmp: Path) -> Any:
    return Compact()(X)


@case(
    "module system",
    "apply with the params dict instead of {'params': params}",
    nn.errors.VariableNestingError,
    ("params",),
    ("apply",),
    ("{'params'",),
    'flax: ScopeCollectionNotFound \'Tried to access "kernel" from collection "params" ... the '
    "collection is empty', not saying to wrap the params",
)
def apply_unwrapped_params(tmp: Path) -> Any:
    v = Compact().init(KEY, X)
    return Compact().apply(v["params"], X)


@case(
    "module system",
    "apply with no variables at all",
    nn.errors.ScopeVariableNotFoundError,
    ('"kernel"', "empty or was not passed"),
    ('"Dense_0"',),
    ("Pass the dict that init returned",),
    "flax: ScopeCollectionNotFound naming the param and path, with a docs link",
)
def apply_empty_variables(tmp: Path) -> Any:
    return Compact().apply({"params": {}}, X)


@case(
    "module system",
    "apply with variables of the wrong type (a list)",
    nn.errors.VariableNestingError,
    ("list",),
    ("variables",),
    ("dict",),
    "flax: AttributeError \"'list' object has no attribute 'items'\"",
)
def apply_list_variables(tmp: Path) -> Any:
    return Compact().apply([1, 2], X)  # type: ignore[arg-type]


class TwoSameNames(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return nn.Dense(2, name="d")(nn.Dense(2, name="d")(x))


@case(
    "module system",
    "two submodules with the same name",
    nn.errors.NameInUseError,
    ("Name in use",),
    ('"d"', "TwoSameNames"),
    ("name=",),
    "flax: NameInUseError",
)
def same_name_twice(tmp: Path) -> Any:
    return init(TwoSameNames(), X)


class ParamTwice(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        self.param("w", nn.initializers.zeros, (1,))
        return self.param("w", nn.initializers.zeros, (1,))


@case(
    "module system",
    "self.param twice with one name",
    nn.errors.NameInUseError,
    ("Name in use",),
    ('"w"',),
    ("own name",),
    "flax: NameInUseError 'Could not create param \"w\" in Module PT: Name in use.' with a docs "
    "link",
)
def param_twice(tmp: Path) -> Any:
    return init(ParamTwice(), X)


class SetsAttribute(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        self.hidden = x
        return x


@case(
    "module system",
    "setting an attribute in __call__",
    nn.errors.SetAttributeFrozenModuleError,
    ("frozen",),
    ("SetsAttribute", "hidden"),
    ("setup",),
    "flax: SetAttributeFrozenModuleError",
)
def set_attribute_in_call(tmp: Path) -> Any:
    return init(SetsAttribute(), X)


@case(
    "module system",
    "two @compact methods in one module",
    nn.errors.MultipleMethodsCompactError,
    ("compact",),
    ("Two",),
    ("one",),
    "flax: MultipleMethodsCompactError when the class is defined",
    outcome="xfail",
    reason="the module system accepts a second @compact method",
)
def two_compact_methods(tmp: Path) -> Any:
    class Two(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return x

        @nn.compact
        def other(self, x: Any) -> Any:
            return x

    return init(Two(), X)


@case(
    "module system",
    "a field named 'parent'",
    nn.errors.ReservedModuleAttributeError,
    ("declares 'parent' or 'name' as a field",),
    ("Bad",),
    ("Rename the field",),
    "flax: ReservedModuleAttributeError",
)
def reserved_field(tmp: Path) -> Any:
    class Bad(nn.Module):
        parent: int = 0  # type: ignore[assignment]

    return Bad


class PostInit(nn.Module):
    def __post_init__(self) -> None:  # forgets super().__post_init__()
        pass

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return x


@case(
    "module system",
    "__post_init__ without super().__post_init__()",
    nn.errors.IncorrectPostInitOverrideError,
    ("__post_init__",),
    ("PostInit",),
    ("super().__post_init__()",),
    "flax: IncorrectPostInitOverrideError",
)
def post_init_without_super(tmp: Path) -> Any:
    return init(PostInit(), X)


class MakesRng(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return x + jax.random.normal(self.make_rng("noise"), x.shape)


@case(
    "module system",
    "make_rng for a stream that was not passed",
    nn.errors.InvalidRngError,
    ("noise",),
    ("MakesRng",),
    ("rngs=",),
    "flax: InvalidRngError naming the stream",
)
def make_rng_missing(tmp: Path) -> Any:
    return MakesRng().apply({}, X)


@case(
    "module system",
    "a loaded kernel with another shape than the layer makes",
    nn.errors.ScopeParamShapeError,
    ("(5, 2)", "(3, 2)"),
    ("kernel", "Dense_0"),
    ("init",),
    "flax: ScopeParamShapeError naming the param, path and both shapes",
)
def loaded_param_shape(tmp: Path) -> Any:
    v = {"params": {"Dense_0": {"kernel": jnp.ones((5, 2)), "bias": jnp.ones(2)}}}
    return Compact().apply(v, X)


# ======================================================================== rngs


@case(
    "rngs",
    "one key used twice",
    Exception,
    ("Previously-consumed key",),
    ("index 0",),
    (),
    "flax/jax: the same numbers twice, no error; jax.debug_key_reuse catches it",
    outcome="debug",
    reason="minijax.debug.debug_key_reuse",
)
def key_reused(tmp: Path) -> Any:
    with debug.debug_key_reuse():
        k = jax.random.key(1)
        jax.random.normal(k)
        return jax.random.normal(k)


@case(
    "rngs",
    "derive with a float",
    TypeError,
    ("1.5",),
    ("derive",),
    ("strings and ints",),
    "flax: no counterpart",
)
def derive_float(tmp: Path) -> Any:
    return random.derive(KEY, 1.5)  # type: ignore[arg-type]


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


@case(
    "losses",
    "l2_loss(pred (B, 1), target (B,))",
    TypeCheckError,
    ("does not match its annotation", "(16, 1)"),
    ("l2_loss", "'targets'"),
    ("[..., None]",),
    "optax: ValueError 'Shape mismatch: got (16, 1) and (16,).'",
)
def l2_loss_broadcast(tmp: Path) -> Any:
    return losses.l2_loss(jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "l2_loss(pred (B, 1), target (B,)) with MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("(16, 16)",),
    ("l2_loss", "predictions", "targets"),
    ("squeeze(-1)",),
    "optax: ValueError 'Shape mismatch: got (16, 1) and (16,).'",
)
def l2_loss_broadcast_unchecked(tmp: Path) -> Any:
    return losses.l2_loss.__wrapped__(jnp.ones((B, 1)), jnp.ones(B))  # type: ignore[attr-defined]


@case(
    "losses",
    "squared_error with integer predictions",
    TypeCheckError,
    ("int32",),
    ("squared_error", "'predictions'"),
    ("astype",),
    "optax: TypeError 'Expected the input to have a dtype that is a subdtype of numpy.floating, "
    "got int32'",
)
def squared_error_int(tmp: Path) -> Any:
    return losses.squared_error(jnp.ones(3, jnp.int32), jnp.ones(3, jnp.int32))


@case(
    "losses",
    "huber_loss with mismatched shapes",
    TypeCheckError,
    ("(16, 1)",),
    ("huber_loss", "'targets'"),
    ("[..., None]",),
    "optax: no error; a (16, 16) loss (silent)",
)
def huber_broadcast(tmp: Path) -> Any:
    return losses.huber_loss(jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "softmax_cross_entropy with integer labels",
    TypeCheckError,
    ("int32",),
    ("softmax_cross_entropy", "'labels'"),
    ("astype",),
    "optax: no error; integer one-hot labels accepted (silent)",
)
def softmax_ce_int_labels(tmp: Path) -> Any:
    return losses.softmax_cross_entropy(jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32))


@case(
    "losses",
    "softmax_cross_entropy with integer labels, MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("dtype int32",),
    ("softmax_cross_entropy", "labels"),
    ("softmax_cross_entropy_with_integer_labels",),
    "optax: no error; integer one-hot labels accepted (silent)",
)
def softmax_ce_int_labels_unchecked(tmp: Path) -> Any:
    fn = losses.softmax_cross_entropy.__wrapped__  # type: ignore[attr-defined]
    return fn(jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32))


@case(
    "losses",
    "softmax_cross_entropy with 9 classes of labels for 10 logits",
    TypeCheckError,
    ("9 here but 10",),
    ("softmax_cross_entropy", "'labels'", "classes=10"),
    ("agree",),
    "optax: TypeError 'mul got incompatible shapes for broadcasting: (16, 9), (16, 10).'",
)
def softmax_ce_classes(tmp: Path) -> Any:
    return losses.softmax_cross_entropy(jnp.ones((B, 10)), jnp.ones((B, 9)))


@case(
    "losses",
    "softmax_cross_entropy with mismatched classes, MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("(16, 10)", "(16, 9)"),
    ("softmax_cross_entropy", "logits", "labels"),
    ("one-hot",),
    "optax: TypeError 'mul got incompatible shapes for broadcasting: (16, 9), (16, 10).'",
)
def softmax_ce_classes_unchecked(tmp: Path) -> Any:
    fn = losses.softmax_cross_entropy.__wrapped__  # type: ignore[attr-defined]
    return fn(jnp.ones((B, 10)), jnp.ones((B, 9)))


@case(
    "losses",
    "integer-label cross-entropy with float labels",
    TypeCheckError,
    ("float32",),
    ("softmax_cross_entropy_with_integer_labels", "'labels'"),
    ("astype",),
    "optax: TypeError 'Expected the input to have a dtype that is a subdtype of numpy.integer, "
    "got float32'",
)
def int_ce_float_labels(tmp: Path) -> Any:
    return losses.softmax_cross_entropy_with_integer_labels(jnp.ones((B, 10)), jnp.ones(B))


@case(
    "losses",
    "integer-label cross-entropy with float labels, MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("dtype float32",),
    ("softmax_cross_entropy_with_integer_labels", "labels"),
    ("astype(jnp.int32)",),
    "optax: TypeError 'Expected the input to have a dtype that is a subdtype of numpy.integer, "
    "got float32'",
)
def int_ce_float_labels_unchecked(tmp: Path) -> Any:
    fn = losses.softmax_cross_entropy_with_integer_labels.__wrapped__  # type: ignore[attr-defined]
    return fn(jnp.ones((B, 10)), jnp.ones(B))


@case(
    "losses",
    "integer-label cross-entropy with one-hot labels",
    TypeCheckError,
    ("'labels'", "(16, 10)"),
    ("softmax_cross_entropy_with_integer_labels",),
    ("give 'labels' the shape (16,)",),
    "optax: ValueError 'indices and arr must have the same number of dimensions; 3 vs. 2'",
)
def int_ce_one_hot(tmp: Path) -> Any:
    return losses.softmax_cross_entropy_with_integer_labels(
        jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32)
    )


@case(
    "losses",
    "integer-label cross-entropy with one-hot labels, MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("(16, 10)",),
    ("logits.shape[:-1]", "labels"),
    ("one integer label per example",),
    "optax: ValueError 'indices and arr must have the same number of dimensions; 3 vs. 2'",
)
def int_ce_one_hot_unchecked(tmp: Path) -> Any:
    fn = losses.softmax_cross_entropy_with_integer_labels.__wrapped__  # type: ignore[attr-defined]
    return fn(jnp.ones((B, 10)), jnp.zeros((B, 10), jnp.int32))


@case(
    "losses",
    "sigmoid_binary_cross_entropy with labels (B,) for logits (B, 1)",
    TypeCheckError,
    ("(16, 1)",),
    ("sigmoid_binary_cross_entropy", "'labels'"),
    ("[..., None]",),
    "optax: no error; a (16, 16) loss (silent)",
)
def sigmoid_bce_shapes(tmp: Path) -> Any:
    return losses.sigmoid_binary_cross_entropy(jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "sigmoid_binary_cross_entropy shapes, MINIJAX_TYPECHECK=0",
    TypeCheckError,
    ("(16, 16)",),
    ("sigmoid_binary_cross_entropy", "logits", "labels"),
    ("squeeze(-1)",),
    "optax: no error; a (16, 16) loss (silent)",
)
def sigmoid_bce_shapes_unchecked(tmp: Path) -> Any:
    fn = losses.sigmoid_binary_cross_entropy.__wrapped__  # type: ignore[attr-defined]
    return fn(jnp.ones((B, 1)), jnp.ones(B))


@case(
    "losses",
    "cosine_similarity with vectors of different sizes",
    TypeCheckError,
    ("'targets'",),
    ("cosine_similarity",),
    ("agree",),
    "optax: TypeError 'mul got incompatible shapes for broadcasting: (16, 3), (16, 4).'",
)
def cosine_dims(tmp: Path) -> Any:
    return losses.cosine_similarity(jnp.ones((B, 3)), jnp.ones((B, 4)))


# ======================================================================== train steps


def _state(tx: Any = None) -> TrainState:
    params = {"w": jnp.zeros((3, 1))}
    return TrainState.create(
        apply_fn=lambda v, x: x @ v["params"]["w"], params=params, tx=tx or optim.sgd(0.1)
    )


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


# ======================================================================== checkpoints


TREE = {"w": jnp.arange(4.0), "b": jnp.zeros(2)}


@case(
    "checkpoints",
    "saving a step that exists",
    checkpoint.CheckpointExistsError,
    ("already exists",),
    ("step 3", "step_00000003"),
    ("overwrite=True",),
    "flax: orbax raises 'Checkpoint for step 3 already exists' (older flax: silently skips)",
)
def save_existing(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=3)
    return checkpoint.save(tmp, TREE, step=3)


@case(
    "checkpoints",
    "restoring into a target of other shapes",
    checkpoint.CheckpointMismatchError,
    ("shape (4,) in the checkpoint, (5,) in the target",),
    ("['w']",),
    ("does not match",),
    "flax: restores the saved arrays, ignoring the target's shapes (silent)",
)
def restore_shape_mismatch(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=0)
    return checkpoint.restore(tmp, {"w": jnp.zeros(5), "b": jnp.zeros(2)})


@case(
    "checkpoints",
    "restoring into a target with another optimizer",
    checkpoint.CheckpointMismatchError,
    ("missing from the checkpoint",),
    (".opt_state",),
    ("does not match",),
    "flax: restores into the wrong structure or fails in from_state_dict",
)
def restore_other_optimizer(tmp: Path) -> Any:
    checkpoint.save(tmp, _state(optim.sgd(0.1)))
    return checkpoint.restore(tmp, _state(optim.adam(0.1)))


@case(
    "checkpoints",
    "restoring a step that was not saved",
    FileNotFoundError,
    ("No checkpoint for step 7",),
    (str(Path("step")),),
    ("saved steps: [0]",),
    "flax: returns the target unchanged (silent)",
)
def restore_missing_step(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=0)
    return checkpoint.restore(tmp, TREE, step=7)


@case(
    "checkpoints",
    "a string leaf in the saved tree",
    checkpoint.UnsavableLeafError,
    ("is str", "not an array"),
    ("['name']",),
    ("metadata=",),
    "flax: msgpack stores it; orbax errors about an unsupported type",
)
def save_string_leaf(tmp: Path) -> Any:
    return checkpoint.save(tmp, {**TREE, "name": "mlp"}, step=0)


@case(
    "checkpoints",
    "a corrupted leaf file",
    checkpoint.CorruptCheckpointError,
    ("is corrupted", "sha256"),
    ("['w']", "leaf_"),
    ("manifest recorded",),
    "flax: loads whatever the bytes decode to, or a msgpack error",
)
def corrupted_file(tmp: Path) -> Any:
    path = checkpoint.save(tmp, TREE, step=0)
    entry = next(e for e in checkpoint.read_manifest(tmp)["leaves"] if e["path"] == "['w']")
    f = path / entry["file"]
    raw = bytearray(f.read_bytes())
    raw[-1] ^= 0xFF
    f.write_bytes(bytes(raw))
    return checkpoint.restore(tmp, TREE)


@case(
    "checkpoints",
    "a hand-edited manifest (two leaves' files swapped)",
    checkpoint.CorruptCheckpointError,
    ("fails its own checksum",),
    ("manifest.json",),
    ("Restore another step",),
    "flax: no manifest; orbax trusts its metadata",
)
def manifest_swapped(tmp: Path) -> Any:
    path = checkpoint.save(tmp, TREE, step=0)
    m = json.loads((path / "manifest.json").read_text())
    a, b = m["leaves"]
    a["file"], b["file"] = b["file"], a["file"]
    a["sha256"], b["sha256"] = b["sha256"], a["sha256"]
    (path / "manifest.json").write_text(json.dumps(m))
    return checkpoint.restore(tmp, TREE)


def _failing_write(code: int) -> Callable[[Path, bytes], None]:
    def write(path: Path, data: bytes) -> None:
        raise OSError(code, os.strerror(code), str(path))

    return write


@case(
    "checkpoints",
    "a full disk during save",
    checkpoint.CheckpointWriteError,
    ("No space left",),
    ("step 2", "step_00000002"),
    ("free space", "intact (latest: step 1)"),
    "flax: an OSError from the writer; a half-written temp file may remain",
)
def save_full_disk(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=1)
    real = checkpoint._write_file
    checkpoint._write_file = _failing_write(errno.ENOSPC)  # type: ignore[assignment]
    try:
        return checkpoint.save(tmp, TREE, step=2)
    finally:
        checkpoint._write_file = real  # type: ignore[assignment]


@case(
    "checkpoints",
    "a read-only checkpoint directory",
    checkpoint.CheckpointWriteError,
    ("Read-only file system",),
    ("step 2", "step_00000002"),
    ("a directory you can write to",),
    "flax: a raw OSError from the writer",
)
def save_read_only(tmp: Path) -> Any:
    checkpoint.save(tmp, TREE, step=1)
    real = checkpoint._write_file
    checkpoint._write_file = _failing_write(errno.EROFS)  # type: ignore[assignment]
    try:
        return checkpoint.save(tmp, TREE, step=2)
    finally:
        checkpoint._write_file = real  # type: ignore[assignment]


@case(
    "checkpoints",
    "a negative step",
    ValueError,
    ("step must be >= 0",),
    ("step",),
    ("got -1",),
    "flax: saves it as 'checkpoint_-1'",
)
def save_negative_step(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE, step=-1)


@case(
    "checkpoints",
    "max_to_keep=0",
    ValueError,
    ("max_to_keep must be at least 1",),
    ("max_to_keep",),
    ("or None",),
    "flax: keeps none or all, depending on the version (silent)",
)
def save_keep_zero(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE, step=0, max_to_keep=0)


@case(
    "checkpoints",
    "save without step= for a tree without .step",
    ValueError,
    ("needs step=",),
    ("save()",),
    (".step attribute",),
    "flax: step is a required argument",
)
def save_without_step(tmp: Path) -> Any:
    return checkpoint.save(tmp, TREE)


@case(
    "checkpoints",
    "restoring a typed key into a raw uint32 key",
    checkpoint.CheckpointMismatchError,
    ("typed PRNG key", "plain array"),
    ("['k']",),
    ("does not match",),
    "flax: restores the raw data into whatever the target is",
)
def restore_key_kind(tmp: Path) -> Any:
    checkpoint.save(tmp, {"k": jax.random.key(0)}, step=0)
    return checkpoint.restore(tmp, {"k": jax.random.PRNGKey(0)})


@case(
    "checkpoints",
    "restore from an empty directory",
    FileNotFoundError,
    ("No checkpoint found",),
    ("empty",),
    ("check the path", "save() first"),
    "flax: returns the target unchanged (silent)",
)
def restore_empty(tmp: Path) -> Any:
    (tmp / "empty").mkdir()
    return checkpoint.restore(tmp / "empty", TREE)


# ======================================================================== data


@case(
    "data",
    "x and y with different numbers of examples",
    ValueError,
    ("different numbers of examples",),
    ("'[0]': 8, '[1]': 7",),
    ("same split",),
    "flax: no loader",
)
def ragged_data(tmp: Path) -> Any:
    return list(data.iterate_batches((jnp.ones((8, 3)), jnp.ones(7)), 4))


@case(
    "data",
    "batch_size=0",
    ValueError,
    ("batch_size must be a positive int",),
    ("batch_size",),
    ("got 0",),
    "flax: no loader",
)
def batch_size_zero(tmp: Path) -> Any:
    return list(data.iterate_batches(jnp.ones((8, 3)), 0))


@case(
    "data",
    "Loader(shuffle=True) without a key",
    ValueError,
    ("needs a key=",),
    ("Loader(shuffle=True)",),
    ("an int seed",),
    "flax: no loader",
)
def loader_without_key(tmp: Path) -> Any:
    return data.Loader(jnp.ones((8, 3)), batch_size=4, shuffle=True)


@case(
    "data",
    "data with no arrays",
    ValueError,
    ("no array leaves",),
    ("data",),
    ("pytree of arrays",),
    "flax: no loader",
)
def data_no_arrays(tmp: Path) -> Any:
    return list(data.iterate_batches({}, 4))


# ======================================================================== typing


@typed
def _matmul(x: Float[jax.Array, "batch din"], w: Float[jax.Array, "din dout"]) -> Any:
    return x @ w


@case(
    "typing",
    "a typed function given a weight of the wrong input size",
    TypeCheckError,
    ("does not match its annotation", "(5, 4)"),
    ("_matmul", "parameter 'w'", "din=3"),
    ("5 here but 3",),
    "flax: no shape annotations; a dot_general shape error",
)
def typed_bound_axis(tmp: Path) -> Any:
    return _matmul(jnp.ones((2, 3)), jnp.ones((5, 4)))


@case(
    "typing",
    "a typed function given an int array for a Float",
    TypeCheckError,
    ("int32",),
    ("_matmul", "parameter 'x'"),
    ("astype(jnp.float32)",),
    "flax: no dtype annotations; computes in int (silent)",
)
def typed_dtype(tmp: Path) -> Any:
    return _matmul(jnp.ones((2, 3), jnp.int32), jnp.ones((3, 4)))


@case(
    "typing",
    "a typed function given a matrix with a missing axis",
    TypeCheckError,
    ("does not match its annotation",),
    ("_matmul", "parameter 'x'"),
    ("'x'",),
    "flax: a dot_general shape error",
)
def typed_rank(tmp: Path) -> Any:
    return _matmul(jnp.ones(3), jnp.ones((3, 4)))


# ======================================================================== gradient checks


@case(
    "gradient checks",
    "check_grads(f, x) instead of check_grads(f, (x,))",
    TypeError,
    ("args must be a tuple",),
    ("check_grads",),
    ("(x,)",),
    "jax.test_util.check_grads: TypeError 'sin() takes 1 positional argument but 3 were given'",
)
def check_grads_not_tuple(tmp: Path) -> Any:
    return check_grads(jnp.sin, jnp.ones(3))  # type: ignore[arg-type]


@case(
    "gradient checks",
    "check_grads with order=4",
    ValueError,
    ("order must be 1, 2 or 3",),
    ("check_grads",),
    ("got 4",),
    "jax.test_util.check_grads: runs a 4th-order check (very slow)",
)
def check_grads_order(tmp: Path) -> Any:
    return check_grads(jnp.sin, (jnp.ones(3),), order=4)


@case(
    "gradient checks",
    "check_grads with modes=('forward',)",
    ValueError,
    ("modes must be a subset",),
    ("check_grads",),
    ("('fwd', 'rev')",),
    "jax.test_util.check_grads: no error; checks nothing (silent)",
)
def check_grads_modes(tmp: Path) -> Any:
    return check_grads(jnp.sin, (jnp.ones(3),), modes=("forward",))


@case(
    "gradient checks",
    "forward mode asked of a custom_vjp function",
    ForwardModeUnavailableError,
    ("custom_vjp", "forward mode"),
    ("modes=('fwd',)",),
    ("modes=('rev',)", "custom_jvp"),
    "jax.test_util.check_grads: raw TypeError \"can't apply forward-mode autodiff (jvp) to a "
    'custom_vjp function"',
)
def check_grads_custom_vjp_fwd(tmp: Path) -> Any:
    @jax.custom_vjp
    def f(x: Any) -> Any:
        return jnp.sum(x**2)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (2 * x * g,))
    return check_grads(f, (jnp.ones(2),), modes=("fwd",))


@case(
    "gradient checks",
    "check_grads of a function of integers only",
    ValueError,
    ("no argument leaf has a float dtype",),
    ("check_grads",),
    ("float arrays",),
    "jax.test_util.check_grads: TypeError 'primal and tangent arguments to jax.jvp do not match'",
)
def check_grads_ints(tmp: Path) -> Any:
    return check_grads(lambda i: i * 2.0, (jnp.arange(3),))


@case(
    "gradient checks",
    "a hand-written backward pass that is 1% off",
    GradientCheckError,
    ("gradient check failed",),
    ("input args[0]", "element"),
    ("rtol",),
    "jax.test_util.check_grads: AssertionError with the arrays, no element or argument",
)
def check_grads_wrong_rule(tmp: Path) -> Any:
    @jax.custom_jvp
    def f(x: Any) -> Any:
        return jnp.sin(x)

    f.defjvp(lambda p, t: (jnp.sin(p[0]), 1.01 * jnp.cos(p[0]) * t[0]))
    return check_grads(f, (jnp.array([0.3, 1.2]),))
