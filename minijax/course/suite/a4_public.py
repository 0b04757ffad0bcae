"""A4 public tests: params and RNG streams through a test-local layer, and Dense."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn
from minijax.nn import errors


class Affine(nn.Module):
    """`x @ w + b`, written with `self.param` only (no library layer)."""

    features: int

    @nn.compact
    def __call__(self, x: Any) -> Any:
        w = self.param("w", jax.nn.initializers.normal(1.0), (x.shape[-1], self.features))
        b = self.param("b", jax.nn.initializers.normal(1.0), (self.features,))
        return x @ w + b


class TwoDraws(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return jnp.stack([jax.random.key_data(self.make_rng("dropout")) for _ in range(2)])


X = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3)), jnp.float32)


def test_a4_1_params_made_at_init_and_read_at_apply() -> None:
    variables = Affine(4).init(jax.random.key(0), X)
    p = variables["params"]
    assert p["w"].shape == (3, 4) and p["b"].shape == (4,), f"shapes {jax.tree.map(jnp.shape, p)}"
    y = Affine(4).apply(variables, X)
    np.testing.assert_allclose(y, X @ p["w"] + p["b"], rtol=1e-6, err_msg="apply reads params")


def test_a4_1_a_missing_param_at_apply_is_an_error() -> None:
    try:
        Affine(4).apply({"params": {}}, X)
    except errors.ScopeVariableNotFoundError as e:
        assert "w" in str(e), f"the error does not name the param: {e}"
    else:
        raise AssertionError("apply with no params did not raise ScopeParamNotFoundError")


def test_a4_2_each_draw_is_a_fresh_key() -> None:
    rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
    keys = TwoDraws().apply({}, X, rngs=rngs)
    assert not np.array_equal(keys[0], keys[1]), "two make_rng calls gave the same key"
    again = TwoDraws().apply({}, X, rngs=rngs)
    np.testing.assert_array_equal(keys, again, err_msg="the same rngs gave other keys")


def test_a4_3_dense_matches_numpy() -> None:
    layer = nn.Dense(5)
    v = layer.init(jax.random.key(0), X)
    k, b = v["params"]["kernel"], v["params"]["bias"]
    assert k.shape == (3, 5) and b.shape == (5,), f"kernel {k.shape}, bias {b.shape}"
    np.testing.assert_allclose(layer.apply(v, X), np.asarray(X) @ k + b, rtol=1e-5,
                               atol=1e-6, err_msg="Dense(5)(x)")
