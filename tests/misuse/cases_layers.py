"""Misuse cases: layers. See catalogue.py for what a case is."""

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import minijax.nn as nn
from minijax import debug
from minijax.typing import TypeCheckError

from .catalogue import KEY, Model, X, case, init

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


@case(
    "layers",
    "SpectralNorm(error_on_non_matrix=True) around a Conv: a 3-axis kernel",
    ValueError,
    ("Input is 3D but error_on_non_matrix is True", "normalizes matrices"),
    ("layer_instance/kernel", "(3, 3, 4)"),
    ("error_on_non_matrix=False", "9x4 matrix"),
    "flax: ValueError 'Input is 3D but error_on_non_matrix is True', no variable or shape",
)
def spectral_norm_non_matrix(tmp: Path) -> Any:
    layer = nn.SpectralNorm(nn.Conv(4, (3,)), error_on_non_matrix=True)
    return init(layer, jnp.ones((1, 5, 3)), update_stats=False)


@case(
    "layers",
    "WeightNorm(feature_axes=2) around a Dense: no axis 2 in the kernel",
    ValueError,
    ("axis 2 is out of range",),
    ("layer_instance/kernel", "(3, 4)"),
    ("use an axis in [-2, 1]",),
    "flax: IndexError 'tuple index out of range', no axis or variable named",
)
def weight_norm_feature_axis_out_of_range(tmp: Path) -> Any:
    return init(nn.WeightNorm(nn.Dense(4), feature_axes=2), X)
