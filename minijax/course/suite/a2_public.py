"""A2 public tests: the hand-written backward passes against finite differences."""

import jax
import jax.numpy as jnp
import numpy as np

from minijax.nn import backward
from minijax.testing import check_grads

RNG = np.random.default_rng(0)


def test_a2_1_softplus_backward() -> None:
    x = jnp.asarray(RNG.normal(size=5) * 3)
    check_grads(backward.softplus, (x,), modes=("rev",))


def test_a2_2_logsumexp_backward() -> None:
    x = jnp.asarray(RNG.normal(size=(2, 4)))
    check_grads(backward.logsumexp, (x,), modes=("rev",))


def test_a2_3_linear_backward() -> None:
    x, w, b = (jnp.asarray(RNG.normal(size=s)) for s in ((2, 3), (3, 4), (4,)))
    check_grads(backward.linear, (x, w, b), modes=("rev",))


def test_a2_3_linear_gradients_have_the_inputs_shapes() -> None:
    x, w, b = jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.zeros(4)
    gx, gw, gb = jax.grad(lambda *a: backward.linear(*a).sum(), argnums=(0, 1, 2))(x, w, b)
    shapes = (gx.shape, gw.shape, gb.shape)
    assert shapes == ((2, 3), (3, 4), (4,)), f"cotangent shapes {shapes}"
