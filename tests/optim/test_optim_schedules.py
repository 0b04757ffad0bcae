"""Parity of minijax.optim's schedules with optax's, over integer ranges that
span every boundary (warmup end, decay end, piecewise boundaries, staircase
steps, transition begin), for Hypothesis-drawn hyperparameters."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.optim as mo

pytestmark = pytest.mark.parity

value = st.floats(0.0, 2.0)
steps = st.integers(-3, 60)


def assert_schedules_equal(make: Any, horizon: int = 200) -> None:
    """Evaluate both schedules at every int32 count in [0, horizon), as an array
    (the way ``vmap``/``scan`` see it) and one Python int at a time."""
    ours, theirs = make(mo), make(optax)
    counts = jnp.arange(horizon, dtype=jnp.int32)
    a = np.asarray(jnp.broadcast_to(jnp.asarray(ours(counts)), counts.shape))
    b = np.asarray(jnp.broadcast_to(jnp.asarray(theirs(counts)), counts.shape))
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)
    for c in (0, 1, horizon // 3, horizon - 1):
        np.testing.assert_allclose(
            np.asarray(ours(c)), np.asarray(theirs(c)), rtol=1e-6, atol=1e-12, err_msg=str(c)
        )
        scalar = jnp.asarray(c, jnp.int32)
        np.testing.assert_allclose(
            np.asarray(ours(scalar)), np.asarray(theirs(scalar)), rtol=1e-6, atol=1e-12
        )


@given(v=value)
def test_constant(v: float) -> None:
    assert_schedules_equal(lambda L: L.constant_schedule(v))


@given(init=value, end=value, n=steps, begin=st.integers(-5, 80))
def test_linear(init: float, end: float, n: int, begin: int) -> None:
    assert_schedules_equal(lambda L: L.linear_schedule(init, end, n, begin))


@given(init=value, end=value, power=st.sampled_from([0.5, 1.0, 2.0, 3]), n=steps, begin=steps)
def test_polynomial(init: float, end: float, power: float, n: int, begin: int) -> None:
    assert_schedules_equal(lambda L: L.polynomial_schedule(init, end, power, n, begin))


@given(
    init=value,
    n=st.integers(1, 150),
    alpha=st.floats(0.0, 1.0),
    exponent=st.sampled_from([1.0, 2.0]),
)
def test_cosine_decay(init: float, n: int, alpha: float, exponent: float) -> None:
    assert_schedules_equal(lambda L: L.cosine_decay_schedule(init, n, alpha, exponent))


@given(
    init=value,
    peak=value,
    warmup=st.integers(0, 50),
    extra=st.integers(1, 100),
    end=st.floats(0.0, 0.1),
    exponent=st.sampled_from([1.0, 2.0]),
)
def test_warmup_cosine_decay(
    init: float, peak: float, warmup: int, extra: int, end: float, exponent: float
) -> None:
    assert_schedules_equal(
        lambda L: L.warmup_cosine_decay_schedule(init, peak, warmup, warmup + extra, end, exponent)
    )


@given(
    init=value,
    n=st.integers(-2, 40),
    rate=st.sampled_from([0.0, 0.5, 0.9, 1.5]),
    begin=st.integers(-5, 50),
    staircase=st.booleans(),
    end=st.sampled_from([None, 0.05, 3.0]),
)
def test_exponential_decay(
    init: float, n: int, rate: float, begin: int, staircase: bool, end: float | None
) -> None:
    assert_schedules_equal(lambda L: L.exponential_decay(init, n, rate, begin, staircase, end))


@given(
    init=value,
    boundaries=st.dictionaries(st.integers(0, 150), st.floats(0.0, 3.0), max_size=4),
)
def test_piecewise_constant(init: float, boundaries: dict[int, float]) -> None:
    assert_schedules_equal(lambda L: L.piecewise_constant_schedule(init, boundaries))


def test_piecewise_constant_applies_at_the_boundary() -> None:
    s = mo.piecewise_constant_schedule(1.0, {10: 0.5, 20: 0.1})
    assert [float(s(c)) for c in (9, 10, 19, 20)] == pytest.approx([1.0, 0.5, 0.5, 0.05])
    with pytest.raises(ValueError, match="non-negative"):
        mo.piecewise_constant_schedule(1.0, {10: -1.0})


@given(bounds=st.lists(st.integers(1, 60), min_size=1, max_size=3, unique=True))
def test_join_schedules(bounds: list[int]) -> None:
    bounds = sorted(bounds)

    def make(L: Any) -> Any:
        parts = [L.linear_schedule(1.0, 0.0, 30)]
        parts += [
            L.cosine_decay_schedule(0.5, 40),
            L.constant_schedule(0.2),
            L.exponential_decay(1.0, 7, 0.5),
        ][: len(bounds)]
        return L.join_schedules(parts, bounds)

    assert_schedules_equal(make)


def test_schedules_in_float64() -> None:
    with jax.enable_x64(True):
        assert_schedules_equal(lambda L: L.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100, 0.01))
        assert_schedules_equal(lambda L: L.exponential_decay(1.0, 7, 0.9, 3, True, 0.1))


def test_first_update_uses_schedule_at_zero() -> None:
    tx = mo.sgd(mo.linear_schedule(1.0, 0.0, 4))
    params = {"w": jnp.zeros(())}
    state = tx.init(params)
    seen = []
    for _ in range(5):
        u, state = tx.update({"w": jnp.ones(())}, state)
        seen.append(-float(u["w"]))
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
