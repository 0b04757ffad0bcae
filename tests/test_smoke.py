import jax.numpy as jnp

import minijax


def test_import_and_device(device, on):
    with on:
        x = jnp.ones(3)
    assert minijax.__version__
    assert float(x.sum()) == 3.0
