"""No tracer leaks: ``init`` and ``apply`` inside ``jit`` and ``vmap``, under
``jax.checking_leaks()`` (as flax's)."""

import jax
import jax.numpy as jnp
import numpy as np

import minijax.nn as nn


class Block(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Dense(4)(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        x = nn.Dropout(0.5, deterministic=not train)(x)
        return nn.Dense(2)(nn.relu(x))


def test_init_and_apply_in_jit_and_vmap_do_not_leak():
    model = Block()
    x = jnp.ones((3, 5))
    with jax.checking_leaks():
        init = jax.jit(lambda k: model.init({"params": k, "dropout": k}, x))
        variables = init(jax.random.key(0))
        keys = jax.random.split(jax.random.key(1), 2)
        batched = jax.jit(jax.vmap(lambda k: model.init({"params": k, "dropout": k}, x)))(keys)

        @jax.jit
        def apply(v, k):
            return model.apply(v, x, rngs={"dropout": k}, mutable=["batch_stats"])

        y, updates = apply(variables, jax.random.key(2))
        ys = jax.jit(jax.vmap(lambda v: model.apply(v, x, train=False)))(batched)
    assert y.shape == (3, 2) and ys.shape == (2, 3, 2)
    assert np.all(np.isfinite(np.asarray(ys)))
    assert jax.tree.structure(updates) == jax.tree.structure(
        {"batch_stats": variables["batch_stats"]}
    )
