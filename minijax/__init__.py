"""minijax: flax.linen, optax and flax's TrainState rebuilt from scratch on JAX.

Subpackages (import them by name, as you would flax and optax)::

    import minijax.nn as nn          # flax.linen
    import minijax.optim as optax    # optax
    from minijax.train import TrainState
    from minijax import random, struct, typing, testing, losses, data
"""

from minijax import config, random, struct, typing

__version__ = "0.1.0"

__all__ = ["__version__", "random", "struct", "typing"]
__all__ += ["config"]
