"""Synthetic datasets and the offline digits set: shapes, dtypes, determinism, content."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minijax import data

CASES = [
    (data.linear, {}, (200, 1), jnp.float32, (200, 1), jnp.float32),
    (data.polynomial, {}, (1000, 1), jnp.float32, (1000, 1), jnp.float32),
    (data.sine, {}, (200, 1), jnp.float32, (200, 1), jnp.float32),
    (data.two_moons, {}, (200, 2), jnp.float32, (200,), jnp.int32),
    (data.spirals, {"num_classes": 3}, (300, 2), jnp.float32, (300,), jnp.int32),
    (data.blobs, {"dim": 4}, (300, 4), jnp.float32, (300,), jnp.int32),
]


@pytest.mark.parametrize(
    ("fn", "kwargs", "xs", "xd", "ys", "yd"), CASES, ids=lambda c: getattr(c, "__name__", "")
)
def test_shapes_dtypes_and_determinism(fn, kwargs, xs, xd, ys, yd):
    x, y = fn(0, **kwargs)
    assert x.shape == xs and x.dtype == xd and y.shape == ys and y.dtype == yd
    x2, y2 = fn(jax.random.key(0), **kwargs)  # an int seed is jax.random.key(seed)
    assert np.asarray(x).tobytes() == np.asarray(x2).tobytes()
    assert np.asarray(y).tobytes() == np.asarray(y2).tobytes()
    x3, _ = fn(1, **kwargs)
    assert not np.array_equal(x, x3) or fn is data.polynomial  # polynomial's x is a linspace
    assert fn(0, 17, **kwargs)[0].shape[0] == 17
    assert np.isfinite(np.asarray(x)).all() and np.isfinite(np.asarray(y)).all()


def test_linear_has_slope_3_and_intercept_1():
    x, y = data.linear(0, 2000)
    slope, intercept = np.polyfit(np.asarray(x[:, 0]), np.asarray(y[:, 0]), 1)
    assert slope == pytest.approx(3.0, abs=0.03) and intercept == pytest.approx(1.0, abs=0.02)
    assert np.asarray(x).min() >= -1 and np.asarray(x).max() < 1
    x, y = data.linear(0, 50, noise=0.0, slope=-2.0, intercept=0.5)
    np.testing.assert_allclose(y, -2.0 * x + 0.5, rtol=1e-6, atol=1e-6)


def test_polynomial_matches_seed_004():
    x, y = data.polynomial(21, noise=0.0)
    np.testing.assert_allclose(x[:, 0], np.linspace(-10, 10, 1000), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(y[:, 0], np.polyval([1, -2, 1, -2], np.asarray(x[:, 0])), rtol=1e-4)
    xs, ys = data.polynomial(21, standardize=True)
    xs, ys = np.asarray(xs), np.asarray(ys)
    assert abs(xs.mean()) < 1e-5 and ys.std() == pytest.approx(1.0, abs=1e-4)


def test_classification_sets_are_balanced_and_separable_shapes():
    _, y = data.two_moons(0, 17)
    assert np.bincount(np.asarray(y)).tolist() == [8, 9]
    _, y = data.spirals(0, 300, num_classes=3)
    assert np.bincount(np.asarray(y)).tolist() == [100, 100, 100]
    x, y = data.blobs(0, 300, centers=np.array([[-10.0, 0.0], [10.0, 0.0]]), std=0.5)
    assert np.all((np.asarray(x[:, 0]) > 0) == (np.asarray(y) == 1))
    x, _ = data.spirals(0, 300, noise=0.0)
    assert np.linalg.norm(np.asarray(x), axis=1).max() <= 1.0 + 1e-6
    with pytest.raises(ValueError, match="positive int"):
        data.sine(0, 0)


def test_digits_offline_split():
    pytest.importorskip("sklearn")
    x, y = data.digits("train")
    xt, _ = data.digits("test")
    assert x.shape == (1438, 8, 8, 1) and xt.shape == (359, 8, 8, 1)
    assert x.dtype == jnp.float32 and y.dtype == jnp.int32 and y.shape == (1438,)
    assert np.asarray(x).min() == 0.0 and np.asarray(x).max() == 1.0
    assert set(np.asarray(y).tolist()) == set(range(10))
    again, _ = data.digits("train")
    assert np.asarray(again).tobytes() == np.asarray(x).tobytes()  # deterministic split
    xa, _ = data.digits("all")
    assert xa.shape[0] == x.shape[0] + xt.shape[0]
    # train and test are disjoint pieces of "all"
    rows = {r.tobytes() for r in np.asarray(xa).reshape(len(xa), -1)}
    assert len(rows) > 1700
    with pytest.raises(ValueError, match="split"):
        data.digits("val")


def test_digits_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'minijax\[examples\]'"):
        data.digits()
