"""A3 hidden tests."""

from typing import Any

import jax.numpy as jnp
import numpy as np

from minijax import optim

G = [np.array([0.5, -1.0], np.float32), np.array([0.1, 0.2], np.float32)]


def test_a3_1_keeps_the_params_dtype_and_none() -> None:
    params = {"w": jnp.ones(2, jnp.bfloat16), "n": None}
    out = optim.apply_updates(params, {"w": jnp.full(2, 0.5, jnp.float32), "n": None})
    assert out["w"].dtype == jnp.bfloat16, f"dtype {out['w'].dtype}, want bfloat16"
    assert out["n"] is None, "a None param is no longer None"
    np.testing.assert_allclose(out["w"].astype(jnp.float32), [1.5, 1.5])


def test_a3_2_nesterov() -> None:
    tx = optim.trace(0.5, nesterov=True)
    state = tx.init(jnp.zeros(2))
    m = np.zeros(2)
    for g in G:
        u, state = tx.update(jnp.asarray(g), state)
        m = g + 0.5 * m
        np.testing.assert_allclose(u, g + 0.5 * m, rtol=1e-6, err_msg="nesterov update")
    np.testing.assert_allclose(state.trace, m, rtol=1e-6, err_msg="trace state")


def test_a3_3_adam_count_and_eps_root() -> None:
    tx = optim.scale_by_adam(0.8, 0.9, eps=1e-3, eps_root=1e-2)
    state = tx.init(jnp.zeros(2))
    m = v = np.zeros(2)
    for t, g in enumerate(G, start=1):
        u, state = tx.update(jnp.asarray(g), state)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g**2
        want = (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t) + 1e-2) + 1e-3)
        np.testing.assert_allclose(u, want, rtol=1e-4, err_msg=f"step {t}")
    assert int(state.count) == 2, f"count {state.count} after two updates"
    np.testing.assert_allclose(state.mu, m, rtol=1e-5, err_msg="mu")
    np.testing.assert_allclose(state.nu, v, rtol=1e-5, err_msg="nu")


def _running_sum() -> optim.GradientTransformation:
    """A test-local stateful transformation (so that A3.4 does not need A3.2's trace)."""
    def init(params: Any) -> Any:
        return jnp.zeros_like(params)

    def update(updates: Any, state: Any, params: Any = None) -> Any:
        total = state + updates
        return total, total

    return optim.GradientTransformation(init, update)


def test_a3_4_chain_threads_each_state() -> None:
    tx = optim.chain(_running_sum(), optim.scale(-0.1))
    state = tx.init(jnp.zeros(2))
    total = np.zeros(2)
    for g in G:
        u, state = tx.update(jnp.asarray(g), state)
        total = total + g
        np.testing.assert_allclose(u, -0.1 * total, rtol=1e-6,
                                   err_msg="chain(running sum, scale)")
    np.testing.assert_allclose(state[0], total, rtol=1e-6, err_msg="inner running-sum state")


def test_a3_5_staircase_begin_and_end_value() -> None:
    s = optim.schedules.exponential_decay(2.0, 4, 0.5, transition_begin=2, staircase=True,
                                          end_value=0.6)
    got = [float(s(c)) for c in (0, 2, 5, 6, 9, 30)]
    np.testing.assert_allclose(got, [2.0, 2.0, 2.0, 1.0, 1.0, 0.6], rtol=1e-6,
                               err_msg="staircase from step 2, clipped at 0.6")
