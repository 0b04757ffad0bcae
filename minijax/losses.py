"""Loss functions: `minijax.optim.losses` (optax: `optax.losses`) under a shorter name.

The same functions, not copies: `minijax.losses.l2_loss is minijax.optim.losses.l2_loss`.
See `minijax.optim.losses` for what they share (shapes, `axis=`, `where=`, errors).

>>> import jax.numpy as jnp
>>> import minijax.losses
>>> minijax.losses.squared_error(jnp.array([1.0, 3.0]), jnp.array([1.0, 1.0]))
Array([0., 4.], dtype=float32)
"""

# One list of names, `minijax.optim.losses.__all__`: a loss added there is here too.
from minijax.optim.losses import *  # noqa: F403
from minijax.optim.losses import __all__ as __all__
