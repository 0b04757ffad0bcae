"""A2 hidden tests."""

import jax
import jax.numpy as jnp
import numpy as np

from minijax.nn import backward
from minijax.testing import check_grads

RNG = np.random.default_rng(1)


def test_a2_1_softplus_backward_far_out() -> None:
    g = jax.grad(lambda v: backward.softplus(v).sum())(jnp.array([-40.0, 0.0, 40.0]))
    np.testing.assert_allclose(g, [0.0, 0.5, 1.0], atol=1e-7, err_msg="softplus' = sigmoid")


def test_a2_2_logsumexp_backward_batched() -> None:
    x = jnp.asarray(RNG.normal(size=(2, 3, 4)) * 4)
    check_grads(lambda v: backward.logsumexp(v) * jnp.arange(1.0, 4.0), (x,), modes=("rev",))


def test_a2_3_linear_backward_with_batch_axes() -> None:
    x, w, b = (np.asarray(RNG.normal(size=s)) for s in ((2, 3, 4), (4, 5), (5,)))
    ct = RNG.normal(size=(2, 3, 5))
    _, vjp = jax.vjp(backward.linear, jnp.asarray(x), jnp.asarray(w), jnp.asarray(b))
    gx, gw, gb = vjp(jnp.asarray(ct))
    np.testing.assert_allclose(gx, ct @ w.T, rtol=1e-5, err_msg="x cotangent")
    np.testing.assert_allclose(gw, np.einsum("abi,abo->io", x, ct), rtol=1e-5,
                               err_msg="W cotangent (summed over the batch axes)")
    np.testing.assert_allclose(gb, ct.sum((0, 1)), rtol=1e-5, err_msg="b cotangent")
