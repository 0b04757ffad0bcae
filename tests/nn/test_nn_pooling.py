"""Pooling: output shapes, values, gradients and errors (parity: test_nn_parity_layers.py)."""

import math

import hypothesis.strategies as st
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import distinct_normal
from hypothesis import given

import minijax.nn as nn
from minijax.testing import check_grads, on_device

POOLS = {"max": nn.max_pool, "avg": nn.avg_pool, "min": nn.min_pool}


def expected_size(n: int, window: int, stride: int, padding: object) -> int:
    if padding == "SAME":
        return math.ceil(n / stride)
    low, high = (0, 0) if padding == "VALID" else padding  # type: ignore[misc]
    return (n + low + high - window) // stride + 1


configs = st.tuples(
    st.sampled_from([(2,), (2, 2), (1, 3), (2, 1, 2)]),  # window (1-D, 2-D, 3-D)
    st.sampled_from([1, 2]),  # stride on every axis
    st.sampled_from(["VALID", "SAME", "pairs"]),
)


@given(configs, st.sampled_from(sorted(POOLS)))
def test_output_shape_as_documented(config, kind) -> None:  # type: ignore[no-untyped-def]
    window, stride, padding = config
    spatial = (4, 5, 3)[: len(window)]
    pads = [(1, 0)] * len(window) if padding == "pairs" else padding
    x = distinct_normal(0, (2, *spatial, 3))
    y = POOLS[kind](x, window, (stride,) * len(window), pads)
    per_axis = pads if padding == "pairs" else [padding] * len(window)
    sizes = zip(spatial, window, per_axis, strict=True)
    want = [expected_size(n, w, stride, p) for n, w, p in sizes]
    assert y.shape == (2, *want, 3)


def test_values_by_hand() -> None:
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(
        nn.max_pool(x, (2, 2), (2, 2))[0, ..., 0], [[5.0, 7.0], [13.0, 15.0]]
    )
    np.testing.assert_array_equal(
        nn.min_pool(x, (2, 2), (2, 2))[0, ..., 0], [[0.0, 2.0], [8.0, 10.0]]
    )
    np.testing.assert_allclose(
        nn.avg_pool(x, (2, 2), (2, 2))[0, ..., 0], [[2.5, 4.5], [10.5, 12.5]]
    )
    # SAME padding at the border: count_include_pad divides by the full window,
    # otherwise by the number of real elements.
    ones = jnp.ones((1, 3, 1))
    np.testing.assert_allclose(nn.avg_pool(ones, (3,), padding="SAME")[0, :, 0], [2 / 3, 1, 2 / 3])
    np.testing.assert_allclose(
        nn.avg_pool(ones, (3,), padding="SAME", count_include_pad=False)[0, :, 0], [1, 1, 1]
    )
    # Padding never wins a max, even for all-negative inputs.
    assert float(nn.max_pool(-ones, (3,), padding="SAME").max()) == -1.0


def test_unbatched_input_and_integer_max_pool() -> None:
    x = distinct_normal(1, (4, 4, 2))
    np.testing.assert_array_equal(nn.max_pool(x, (2, 2)), nn.max_pool(x[None], (2, 2))[0])
    ints = jnp.arange(8, dtype=jnp.int32).reshape(1, 8, 1)
    assert nn.max_pool(ints, (2,), (2,), "SAME").dtype == jnp.int32


@given(configs, st.sampled_from(["max", "avg", "avg_exclude_pad"]), st.integers(0, 3))
def test_gradients(device, config, kind, seed) -> None:  # type: ignore[no-untyped-def]
    window, stride, padding = config
    spatial = (4, 3, 3)[: len(window)]
    # Explicit pads smaller than the window: no window is all padding (where a max
    # would be -inf, as in flax, and has no derivative).
    pads = [(w // 2, (w - 1) // 2) for w in window] if padding == "pairs" else padding
    x = distinct_normal(seed, (1, *spatial, 2))

    def f(x):  # type: ignore[no-untyped-def]
        if kind == "max":
            return nn.max_pool(x, window, (stride,) * len(window), pads)
        return nn.avg_pool(
            x, window, (stride,) * len(window), pads, count_include_pad=kind == "avg"
        )

    # on_device, not the `on` fixture: Hypothesis runs the body many times and a
    # fixture's context manager can only be entered once.
    with on_device(device):
        check_grads(f, (x,))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: nn.max_pool(x, (2, 2, 2, 2)), "needs at least 5"),
        (lambda x: nn.max_pool(x, (2, 2), strides=(1,)), "one stride per spatial axis"),
        (lambda x: nn.avg_pool(x, (2, 2), padding="FULL"), "padding 'FULL' is not supported"),
        (lambda x: nn.min_pool(x, (2, 2), padding=((1, 1),)), r"2 \(low, high\) pairs"),
        (lambda x: nn.max_pool(x, (0, 2)), "positive integers"),
    ],
)
def test_errors(call, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        call(jnp.ones((1, 4, 4, 2)))
