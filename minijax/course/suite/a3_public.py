"""A3 public tests: optimizers against NumPy."""

import jax.numpy as jnp
import numpy as np

from minijax import optim

G = [np.array([0.5, -1.0], np.float32), np.array([0.1, 0.2], np.float32),
     np.array([-0.3, 0.4], np.float32)]


def test_a3_1_apply_updates_adds_leafwise() -> None:
    params = {"w": jnp.ones(2), "b": jnp.zeros(())}
    out = optim.apply_updates(params, {"w": jnp.array([1.0, -2.0]), "b": jnp.array(0.5)})
    np.testing.assert_allclose(out["w"], [2.0, -1.0], err_msg="w + u")
    np.testing.assert_allclose(out["b"], 0.5, err_msg="b + u")


def test_a3_2_momentum_matches_numpy() -> None:
    tx = optim.trace(0.9)
    state = tx.init(jnp.zeros(2))
    m = np.zeros(2)
    for g in G:
        u, state = tx.update(jnp.asarray(g), state)
        m = g + 0.9 * m
        np.testing.assert_allclose(u, m, rtol=1e-6, err_msg="momentum update")


def test_a3_3_adam_matches_numpy() -> None:
    b1, b2, eps = 0.9, 0.999, 1e-8
    tx = optim.scale_by_adam(b1, b2, eps)
    state = tx.init(jnp.zeros(2))
    m = v = np.zeros(2)
    for t, g in enumerate(G, start=1):
        u, state = tx.update(jnp.asarray(g), state)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        want = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        np.testing.assert_allclose(u, want, rtol=1e-4, err_msg=f"Adam update at step {t}")


def test_a3_4_chain_composes() -> None:
    tx = optim.chain(optim.scale(2.0), optim.scale(3.0))
    state = tx.init(jnp.zeros(2))
    u, state = tx.update(jnp.array([1.0, -1.0]), state)
    np.testing.assert_allclose(u, [6.0, -6.0], err_msg="chain(scale(2), scale(3))")
    assert isinstance(state, tuple) and len(state) == 2, f"chain state {state}"


def test_a3_5_exponential_decay_values() -> None:
    s = optim.schedules.exponential_decay(1.0, transition_steps=10, decay_rate=0.5)
    got = [float(s(c)) for c in (0, 10, 20, 5)]
    np.testing.assert_allclose(got, [1.0, 0.5, 0.25, 0.5**0.5], rtol=1e-6,
                               err_msg="exponential_decay(1, 10, 0.5) at 0, 10, 20, 5")
