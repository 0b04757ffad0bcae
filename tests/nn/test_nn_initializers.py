"""Initializers: same values as jax.nn.initializers for the same key, and the right variance."""

from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import minijax.nn as nn

init = nn.initializers
jinit = jax.nn.initializers
KEY = jax.random.key(0)

SAME_AS_JAX = {
    "lecun_normal": (init.lecun_normal(), jinit.lecun_normal()),
    "lecun_uniform": (init.lecun_uniform(), jinit.lecun_uniform()),
    "glorot_normal": (init.glorot_normal(), jinit.glorot_normal()),
    "glorot_uniform": (init.glorot_uniform(), jinit.glorot_uniform()),
    "xavier_normal": (init.xavier_normal(), jinit.xavier_normal()),
    "xavier_uniform": (init.xavier_uniform(), jinit.xavier_uniform()),
    "he_normal": (init.he_normal(), jinit.he_normal()),
    "he_uniform": (init.he_uniform(), jinit.he_uniform()),
    "kaiming_normal": (init.kaiming_normal(), jinit.kaiming_normal()),
    "kaiming_uniform": (init.kaiming_uniform(), jinit.kaiming_uniform()),
    "fan_out_normal": (
        init.variance_scaling(0.5, "fan_out", "normal"),
        jinit.variance_scaling(0.5, "fan_out", "normal"),
    ),
    "fan_geo_avg": (
        init.variance_scaling(2.0, "fan_geo_avg", "uniform"),
        jinit.variance_scaling(2.0, "fan_geo_avg", "uniform"),
    ),
    "conv_axes": (
        init.variance_scaling(
            1.0, "fan_in", "truncated_normal", in_axis=(0, 1), out_axis=-1, batch_axis=2
        ),
        jinit.variance_scaling(
            1.0, "fan_in", "truncated_normal", in_axis=(0, 1), out_axis=-1, batch_axis=2
        ),
    ),
    "normal": (init.normal(0.3), jinit.normal(0.3)),
    "uniform": (init.uniform(0.3), jinit.uniform(0.3)),
    "truncated_normal": (init.truncated_normal(0.3), jinit.truncated_normal(0.3)),
    "constant": (init.constant(1.5), jinit.constant(1.5)),
    "zeros": (init.zeros, jinit.zeros),
    "ones": (init.ones, jinit.ones),
    "orthogonal": (init.orthogonal(), jinit.orthogonal()),
    "orthogonal_scaled_axis0": (
        init.orthogonal(2.0, column_axis=0),
        jinit.orthogonal(2.0, column_axis=0),
    ),
    "delta_orthogonal": (init.delta_orthogonal(), jinit.delta_orthogonal()),
    "embed_default": (
        init.variance_scaling(1.0, "fan_in", "normal", out_axis=0),
        jinit.variance_scaling(1.0, "fan_in", "normal", out_axis=0),
    ),
}
SHAPES = {
    "conv_axes": [(3, 3, 4, 6), (1, 2, 3, 3)],
    "delta_orthogonal": [(3, 4, 6), (3, 3, 2, 5), (2, 3, 3, 4, 4)],
}


@pytest.mark.parity
@pytest.mark.parametrize("name", list(SAME_AS_JAX))
def test_same_values_as_jax(name: str) -> None:
    ours, theirs = SAME_AS_JAX[name]
    shapes = SHAPES.get(name, [(5, 7), (7, 5), (2, 3, 4)])
    # (QR, in the orthogonal ones, has no half-precision kernel in jax either)
    half = [] if "orthogonal" in name else [(shapes[0], 1, jnp.bfloat16)]
    for shape, seed, dtype in [(s, seed, jnp.float32) for s in shapes for seed in (0, 42)] + half:
        key = jax.random.key(seed)
        a, b = ours(key, shape, dtype), theirs(key, shape, dtype)
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parity
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
@pytest.mark.parametrize("dtype", [jnp.complex64, jnp.float32])
def test_variance_scaling_complex_and_default_dtype_as_jax(distribution: str, dtype: Any) -> None:
    ours = init.variance_scaling(1.5, "fan_avg", distribution)  # type: ignore[arg-type]
    theirs = jinit.variance_scaling(1.5, "fan_avg", distribution)  # type: ignore[arg-type]
    for seed in (0, 3):
        a, b = (
            ours(jax.random.key(seed), (6, 4), dtype),
            theirs(jax.random.key(seed), (6, 4), dtype),
        )
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours(KEY, (3, 2)), theirs(KEY, (3, 2)))


def test_initializer_errors_name_the_shape() -> None:
    with pytest.raises(ValueError, match=r"delta_orthogonal: the shape \(3, 3\) has 2 axes"):
        init.delta_orthogonal()(KEY, (3, 3))
    with pytest.raises(ValueError, match=r"more input channels \(5\) than output channels \(2\)"):
        init.delta_orthogonal()(KEY, (3, 5, 2))
    with pytest.raises(ValueError, match=r"orthogonal: the shape \(4,\) has 1 axes"):
        init.orthogonal()(KEY, (4,))


def test_default_dtype_and_flax_spellings() -> None:
    assert init.lecun_normal()(KEY, (2, 3)).dtype == jnp.float32
    assert init.zeros_init()(KEY, (2,)).sum() == 0
    assert init.ones_init()(KEY, (2,)).sum() == 2


def test_fans() -> None:
    assert init.compute_fans((4, 5)) == (4, 5)
    assert init.compute_fans((3, 3, 4, 5)) == (36, 45)  # receptive field 9
    assert init.compute_fans((2, 4, 5), batch_axis=0) == (4, 5)
    with pytest.raises(ValueError, match="at least 2-D"):
        init.lecun_normal()(KEY, (4,))


SCHEMES = {  # name: (initializer, variance as a function of (fan_in, fan_out))
    "lecun_normal": (init.lecun_normal(), lambda i, o: 1 / i),
    "lecun_uniform": (init.lecun_uniform(), lambda i, o: 1 / i),
    "glorot_normal": (init.glorot_normal(), lambda i, o: 2 / (i + o)),
    "glorot_uniform": (init.glorot_uniform(), lambda i, o: 2 / (i + o)),
    "he_normal": (init.he_normal(), lambda i, o: 2 / i),
    "he_uniform": (init.he_uniform(), lambda i, o: 2 / i),
    "normal": (init.normal(0.5), lambda i, o: 0.25),
    "fan_out": (init.variance_scaling(3.0, "fan_out", "normal"), lambda i, o: 3 / o),
}


@settings(max_examples=8)
@given(
    name=st.sampled_from(sorted(SCHEMES)),
    shape=st.sampled_from([(128, 256), (256, 64), (3, 3, 32, 48)]),
    seed=st.integers(0, 2**31 - 1),
)
def test_variance_matches_the_scheme(name: str, shape: tuple[int, ...], seed: int) -> None:
    fn, variance = SCHEMES[name]
    w = np.asarray(fn(jax.random.key(seed), shape), np.float64)
    fan_in, fan_out = init.compute_fans(shape)
    target = variance(fan_in, fan_out)
    # The variance estimate of n draws has relative std ~ sqrt(2 / n) (< 2% here).
    assert abs(w.var() / target - 1) < 0.1
    assert abs(w.mean()) < 4 * np.sqrt(target / w.size)


def test_truncated_normal_scheme_is_cut_at_two_sigma() -> None:
    w = np.asarray(init.lecun_normal()(KEY, (100, 200)))
    untruncated_std = np.sqrt(1 / 100) / init.TRUNCATED_NORMAL_STDDEV
    assert np.abs(w).max() <= 2 * untruncated_std + 1e-6
    # and the correction constant is the std of N(0,1) truncated to [-2, 2]
    z = np.asarray(jax.random.truncated_normal(KEY, -2, 2, (200_000,)))
    assert abs(z.std() - init.TRUNCATED_NORMAL_STDDEV) < 5e-3


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5), (5, 5)])
def test_orthogonal(shape: tuple[int, ...]) -> None:
    w = np.asarray(init.orthogonal(scale=2.0)(KEY, shape), np.float64)
    assert w.shape == shape
    m = w.reshape(-1, shape[-1]) / 2.0
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    assert init.orthogonal(column_axis=0)(KEY, (4, 6)).shape == (4, 6)
