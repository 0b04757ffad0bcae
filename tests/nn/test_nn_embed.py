"""Embed: lookup, attend, init variance, gradients w.r.t. the table."""

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings

import minijax.nn as nn
from minijax.testing import check_grads, on_device

KEY = jax.random.key(0)


def test_lookup_and_attend() -> None:
    e = nn.Embed(num_embeddings=7, features=3)
    ids = jnp.array([[0, 6], [3, 3]])
    v = e.init(KEY, ids)
    table = v["params"]["embedding"]
    assert table.shape == (7, 3)
    np.testing.assert_array_equal(e.apply(v, ids), table[ids])
    q = jnp.ones((2, 3))
    np.testing.assert_allclose(e.apply(v, q, method=e.attend), q @ table.T, rtol=1e-6)
    assert e.apply(v, q, method="attend").shape == (2, 7)


def test_init_variance_and_one_row_case() -> None:
    table = nn.Embed(400, 64).init(KEY, jnp.arange(2))["params"]["embedding"]
    # variance_scaling(1, fan_in, out_axis=0): fan_in = features, variance 1 / 64
    assert abs(float(jnp.var(table)) * 64 - 1.0) < 0.05
    one = nn.Embed(1, 3)
    v = one.init(KEY, jnp.zeros((2,), jnp.int32))
    assert one.apply(v, jnp.zeros((4, 2), jnp.int32)).shape == (4, 2, 3)


@settings(max_examples=5)
@given(
    num=st.sampled_from([3, 5]),
    features=st.sampled_from([2, 4]),
    ids=st.lists(st.integers(0, 2), min_size=4, max_size=4),
)
def test_gradients_wrt_table(device, num, features, ids) -> None:  # type: ignore[no-untyped-def]
    with on_device(device):
        e = nn.Embed(num, features)
        idx = jnp.array(ids).reshape(2, 2)
        params = e.init(KEY, idx)["params"]
        check_grads(lambda p: e.apply({"params": p}, idx), (params,))
        q = jax.random.normal(jax.random.key(2), (3, features))
        check_grads(lambda p, q: e.apply({"params": p}, q, method=e.attend), (params, q))
