"""Errors raised by library layers inside a model: the layer's message, then its path.

(The module system's own errors are in `test_nn_errors.py`, on test-local layers.)
"""

import jax
import jax.numpy as jnp
import pytest

import minijax.nn as nn


def test_embed_rejects_float_ids() -> None:
    e = nn.Embed(4, 3)
    v = e.init(jax.random.key(0), jnp.arange(2))
    with pytest.raises(ValueError, match="integer ids"):
        e.apply(v, jnp.ones(2))


def test_a_layer_error_inside_a_model_names_the_module_path() -> None:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            return nn.Conv(3, (3,))(nn.Dense(4)(x))

    class Model(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            return Encoder()(x)

    with pytest.raises(ValueError, match="Conv: the input has shape") as info:
        Model().init(jax.random.key(0), jnp.ones((3,)))
    assert info.value.__notes__ == ["(in module Encoder_0/Conv_0, Conv.__call__)"]
