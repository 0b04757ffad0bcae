"""scan_in_dim: the same carry and outputs as flax's, bitwise, on any axes."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import jax_utils as flax_jax_utils

from minijax.jax_utils import scan_in_dim

XS = {"a": jnp.arange(24.0).reshape(2, 3, 4), "b": jnp.linspace(-1.0, 1.0, 24).reshape(2, 3, 4)}


def body(carry: Any, x: Any) -> tuple[Any, Any]:
    # the order of the steps matters: each output depends on the carry so far
    carry = 0.5 * carry + x["a"].sum() + x["b"].sum()
    return carry, {"y": x["a"] * carry, "z": x["b"] - carry}


@pytest.mark.parity
@pytest.mark.parametrize("axis", [(0,), (1,), (2,), (1, 0), (0, 2), (2, 1, 0)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_scan_in_dim_bitwise_equal_flax(axis: tuple[int, ...], keepdims: bool) -> None:
    if keepdims:  # each output must keep the scanned axes too

        def step(carry: Any, x: Any) -> tuple[Any, Any]:
            carry, y = body(carry, x)
            return carry, y["y"]
    else:
        step = body
    ours = scan_in_dim(step, 0.0, XS, axis=axis, unroll=2, keepdims=keepdims)
    theirs = flax_jax_utils.scan_in_dim(step, 0.0, XS, axis=axis, unroll=2, keepdims=keepdims)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_scan_in_dim_visits_the_last_axis_innermost() -> None:
    xs = jnp.arange(6.0).reshape(2, 3)
    _, order = scan_in_dim(lambda c, x: (c, x), 0.0, xs, axis=(1, 0))
    np.testing.assert_array_equal(order, xs)  # stacked back on the original axes
    _, trace = scan_in_dim(lambda c, x: (c + 1.0, c), 0.0, xs, axis=(1, 0))
    np.testing.assert_array_equal(trace, [[0.0, 2.0, 4.0], [1.0, 3.0, 5.0]])
