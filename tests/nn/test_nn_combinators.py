"""Sequential and MLP."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import minijax.nn as nn
from minijax.testing import check_grads, on_device

KEY = jax.random.key(0)
X = jnp.linspace(-1, 1, 8).reshape(2, 4)


def test_sequential_names_and_functions() -> None:
    seq = nn.Sequential([nn.Dense(3), nn.relu, nn.Dense(2)])
    v = seq.init(KEY, X)
    assert set(v["params"]) == {"layers_0", "layers_2"}
    p = v["params"]
    expected = nn.relu(X @ p["layers_0"]["kernel"] + p["layers_0"]["bias"])
    expected = expected @ p["layers_2"]["kernel"] + p["layers_2"]["bias"]
    np.testing.assert_allclose(seq.apply(v, X), expected, rtol=1e-6)


def test_sequential_splats_tuples_and_dicts() -> None:
    seq = nn.Sequential([lambda x: (x, 2 * x), lambda a, b: {"a": a, "b": b}, lambda a, b: a + b])
    np.testing.assert_allclose(seq.apply({}, X), 3 * X)
    with pytest.raises(ValueError, match=r"Empty Sequential module <unnamed>: it has no layers; "
                       r"pass at least one"):
        nn.Sequential([]).apply({}, X)
    with pytest.raises(ValueError, match="must be a sequence"):
        nn.Sequential(nn.Dense(2))  # type: ignore[arg-type]


def test_sequential_inside_compact_and_setup() -> None:
    class Compact(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Sequential([nn.Dense(3), nn.Dense(2)])(x)

    # made inside the compact method, the Dense layers belong to the caller (as flax)
    assert set(Compact().init(KEY, X)["params"]) == {"Dense_0", "Dense_1"}

    class Setup(nn.Module):
        def setup(self) -> None:
            self.body = nn.Sequential([nn.Dense(3), nn.Dense(2)])

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.body(x)

    assert set(Setup().init(KEY, X)["params"]["body"]) == {"layers_0", "layers_1"}


def test_mlp_layout_and_activation() -> None:
    mlp = nn.MLP((12, 8, 4))
    v = mlp.init(KEY, jnp.ones((32, 10)))
    assert jax.tree.map(jnp.shape, v)["params"] == {
        "Dense_0": {"kernel": (10, 12), "bias": (12,)},
        "Dense_1": {"kernel": (12, 8), "bias": (8,)},
        "Dense_2": {"kernel": (8, 4), "bias": (4,)},
    }
    y = nn.MLP((3, 2), activate_final=True).apply(nn.MLP((3, 2)).init(KEY, X), X)
    assert np.all(y >= 0)
    y_tanh = nn.MLP((3, 2), activation=nn.tanh).apply(nn.MLP((3, 2)).init(KEY, X), X)
    assert y_tanh.shape == (2, 2)


@settings(max_examples=5)
@given(
    features=st.sampled_from([(3,), (3, 2), (2, 3, 1)]),
    activation=st.sampled_from(["tanh", "gelu", "silu"]),
)
def test_mlp_gradients(device, features, activation) -> None:  # type: ignore[no-untyped-def]
    with on_device(device):
        mlp = nn.MLP(features, activation=getattr(nn, activation))
        params = mlp.init(KEY, X)["params"]
        check_grads(lambda p, x: mlp.apply({"params": p}, x), (params, X))
