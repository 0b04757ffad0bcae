"""Dense: layout, dtypes, gradients w.r.t. inputs and every parameter."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import minijax.nn as nn
from minijax.testing import check_grads, on_device
from minijax.typing import TypeCheckError

KEY = jax.random.key(0)


def test_layout_and_math() -> None:
    x = jax.random.normal(KEY, (2, 5, 3))
    layer = nn.Dense(4)
    v = layer.init(KEY, x)
    assert jax.tree.map(jnp.shape, v) == {"params": {"kernel": (3, 4), "bias": (4,)}}
    np.testing.assert_array_equal(v["params"]["bias"], 0)
    y = layer.apply(v, x)
    assert y.shape == (2, 5, 4)
    np.testing.assert_allclose(y, x @ v["params"]["kernel"] + v["params"]["bias"], rtol=1e-5)


def test_options() -> None:
    x = jnp.ones((2, 3))
    v = nn.Dense(4, use_bias=False, kernel_init=nn.initializers.ones).init(KEY, x)
    assert set(v["params"]) == {"kernel"}
    np.testing.assert_array_equal(nn.Dense(4, use_bias=False).apply(v, x), 3.0)
    v16 = nn.Dense(4, param_dtype=jnp.bfloat16).init(KEY, x)
    assert v16["params"]["kernel"].dtype == jnp.bfloat16
    assert nn.Dense(4, dtype=jnp.bfloat16).apply(nn.Dense(4).init(KEY, x), x).dtype == jnp.bfloat16
    assert nn.Dense(4).apply(nn.Dense(4).init(KEY, x), jnp.ones((2, 3), jnp.int32)).dtype == (
        jnp.float32
    )
    assert nn.Dense(4).apply(nn.Dense(4).init(KEY, x), np.ones((2, 3), np.float32)).shape == (2, 4)


def test_typed_shapes_reject_a_wrong_input() -> None:
    v = nn.Dense(4).init(KEY, jnp.ones((2, 3)))
    with pytest.raises((TypeCheckError, nn.ParamShapeError)):
        nn.Dense(4).apply(v, jnp.ones((2, 5)))


@settings(max_examples=5)
@given(
    batch=st.sampled_from([(), (2,), (2, 3)]),
    n_in=st.sampled_from([1, 3]),
    features=st.sampled_from([2, 4]),
    use_bias=st.booleans(),
)
def test_gradients(device, batch, n_in, features, use_bias) -> None:  # type: ignore[no-untyped-def]
    with on_device(device):
        layer = nn.Dense(features, use_bias=use_bias)
        x = jax.random.normal(jax.random.key(1), (*batch, n_in))
        params = layer.init(KEY, x)["params"]
        check_grads(lambda p, x: layer.apply({"params": p}, x), (params, x))
