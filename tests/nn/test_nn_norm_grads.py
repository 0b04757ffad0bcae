"""The backward pass of the norms, bitwise against flax: `jax.grad` of a loss through
the layer, in the parameters and in the input, eager and under `jit`.

Both are equal to the bit for every norm. The input gradients of LayerNorm and
BatchNorm are the delicate ones: with the fast variance, $x$ reaches the loss three
ways (through $x - \\mu$, through $\\mu = E[x]$ and through $E[x^2]$), and autodiff
adds the three contributions in the reverse order of the forward pass. flax's
`_compute_stats` squares $x$ before it takes either mean, and so does
`compute_stats`; taking $E[x]$ first makes the sum associate differently, and a few
entries then differ in the last bit (the test below catches that order).
"""

from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as mnn

pytestmark = pytest.mark.parity

X = jax.random.normal(jax.random.key(1), (3, 5, 8))
T = jax.random.normal(jax.random.key(2), (3, 5, 8))

NORMS: dict[str, tuple[Callable[[Any], Any], dict[str, Any]]] = {
    "LayerNorm": (lambda nn: nn.LayerNorm(), {}),
    "LayerNorm_two_axes": (lambda nn: nn.LayerNorm(reduction_axes=(1, 2)), {}),
    "RMSNorm": (lambda nn: nn.RMSNorm(), {}),
    "GroupNorm": (lambda nn: nn.GroupNorm(num_groups=4), {}),
    "BatchNorm": (
        lambda nn: nn.BatchNorm(use_running_average=False),
        {"mutable": ["batch_stats"]},
    ),
}


def grads(build: Callable[[Any], Any], nn: Any, kwargs: dict[str, Any], jit: bool) -> Any:
    model = build(nn)
    variables = build(fnn).init(jax.random.key(0), X)
    # scale and bias away from 1 and 0, so that their gradients mix in
    variables = jax.tree.map(
        lambda p: p + 0.3 * jax.random.normal(jax.random.key(3), p.shape), variables
    )

    def loss(params: Any, x: Any) -> Any:
        out = model.apply({**variables, "params": params}, x, **kwargs)
        y = out[0] if isinstance(out, tuple) else out
        return jnp.sum(jnp.sin(y) * T)

    grad = jax.grad(loss, argnums=(0, 1))
    return (jax.jit(grad) if jit else grad)(variables["params"], X)


def assert_bitwise(ours: Any, theirs: Any) -> None:
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", list(NORMS))
def test_parameter_gradients_bitwise_equal_flax(name: str, jit: bool) -> None:
    build, kwargs = NORMS[name]
    assert_bitwise(grads(build, mnn, kwargs, jit)[0], grads(build, fnn, kwargs, jit)[0])


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", list(NORMS))
def test_input_gradients_bitwise_equal_flax(name: str, jit: bool) -> None:
    build, kwargs = NORMS[name]
    np.testing.assert_array_equal(
        grads(build, mnn, kwargs, jit)[1], grads(build, fnn, kwargs, jit)[1]
    )
