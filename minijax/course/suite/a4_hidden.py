"""A4 hidden tests."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax import random
from minijax.nn import errors


class Affine(nn.Module):
    features: int

    @nn.compact
    def __call__(self, x: Any) -> Any:
        w = self.param("w", jax.nn.initializers.normal(1.0), (x.shape[-1], self.features))
        return x @ w


class Draw(nn.Module):
    stream: str = "dropout"

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return jax.random.key_data(self.make_rng(self.stream))


class Outer(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return Draw(name="inner")(x)


X = jnp.ones((2, 3))


def test_a4_1_a_wrong_shape_is_an_error() -> None:
    bad = {"params": {"w": jnp.ones((4, 4))}}
    try:
        Affine(4).apply(bad, X)
    except errors.ScopeParamShapeError as e:
        assert "(4, 4)" in str(e) and "(3, 4)" in str(e), f"the shapes are not named: {e}"
    else:
        raise AssertionError("a param of the wrong shape did not raise ScopeParamShapeError")


def test_a4_1_init_keys_differ_per_param_and_are_reproducible() -> None:
    a = Affine(4).init(jax.random.key(0), X)["params"]["w"]
    b = Affine(4).init(jax.random.key(0), X)["params"]["w"]
    c = Affine(4).init(jax.random.key(1), X)["params"]["w"]
    np.testing.assert_array_equal(a, b, err_msg="init with the same key")
    assert not np.array_equal(a, c), "init with another key gave the same param"


def test_a4_2_keys_follow_the_path_recipe() -> None:
    root = jax.random.key(7)
    got = Outer().apply({}, X, rngs={"dropout": root})
    want = jax.random.key_data(random.derive(root, "inner", 1))
    np.testing.assert_array_equal(got, want, err_msg="first draw of module 'inner'")
    top = Draw().apply({}, X, rngs={"dropout": root})
    np.testing.assert_array_equal(top, jax.random.key_data(random.derive(root, 1)),
                                  err_msg="first draw of the root module")


def test_a4_2_falls_back_to_params_and_errs_without_it() -> None:
    root = jax.random.key(2)
    got = Draw("noise").apply({}, X, rngs={"params": root})
    np.testing.assert_array_equal(got, jax.random.key_data(random.derive(root, 1)),
                                  err_msg="a missing stream falls back to params")
    try:
        Draw("noise").apply({}, X, rngs={"dropout": root})
    except errors.InvalidRngError:
        pass
    else:
        raise AssertionError("make_rng without the stream or params did not raise")


def test_a4_3_dense_without_bias_and_with_batch_axes() -> None:
    x = jnp.asarray(np.random.default_rng(3).normal(size=(2, 4, 3)), jnp.float32)
    layer = nn.Dense(2, use_bias=False)
    v = layer.init(jax.random.key(0), x)
    assert set(v["params"]) == {"kernel"}, f"params {set(v['params'])} with use_bias=False"
    np.testing.assert_allclose(layer.apply(v, x), np.asarray(x) @ v["params"]["kernel"],
                               rtol=1e-5, atol=1e-6, err_msg="Dense over batch axes")
