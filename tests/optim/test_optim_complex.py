"""Complex parameters: the second moments use $|g|^2$ (optax's `abs_sq`), so every
alias below gives optax's updates on complex parameters too, bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import minijax.optim as optim

ALIASES = {
    "adam": lambda L: L.adam(0.1),
    "adamw": lambda L: L.adamw(0.1),
    "nadam": lambda L: L.nadam(0.01),
    "adagrad": lambda L: L.adagrad(0.5),
    "rmsprop": lambda L: L.rmsprop(0.005, momentum=0.9),
    "amsgrad": lambda L: L.amsgrad(0.1),
    "adabelief": lambda L: L.adabelief(0.01),
    "yogi": lambda L: L.yogi(0.1),
    "radam": lambda L: L.radam(0.005),
    "lamb": lambda L: L.lamb(0.001),
    "adafactor": lambda L: L.adafactor(0.005),
}


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_complex_params_bitwise_equal_optax(name: str) -> None:
    params = {"w": jnp.array([1.0 + 2.0j, -0.5 + 0.1j, 3.0 - 1.0j], jnp.complex64),
              "m": jnp.array([[0.5 - 0.5j, 2.0 + 0.0j]], jnp.complex64)}

    def loss(p: dict[str, jax.Array]) -> jax.Array:
        return sum(jnp.sum(jnp.abs(v - (1 + 1j)) ** 2) for v in p.values())

    def run(lib: object) -> dict[str, jax.Array]:
        tx = ALIASES[name](lib)
        p, state = params, tx.init(params)  # type: ignore[attr-defined]
        for _ in range(20):
            g = jax.tree.map(jnp.conj, jax.grad(loss)(p))
            u, state = tx.update(g, state, p)  # type: ignore[attr-defined]
            p = optax.apply_updates(p, u)
        return p

    ours, theirs = run(optim), run(optax)
    for k in params:
        np.testing.assert_array_equal(np.asarray(ours[k]), np.asarray(theirs[k]), err_msg=k)
