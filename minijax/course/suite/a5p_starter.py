"""A5.P: your property tests for Conv, the norms, BatchNorm, Dropout, pooling and Embed.

Write Hypothesis tests (functions named `test_...`) that hold for every correct
layer and fail on wrong ones, from properties: a normalized row has mean 0 and
variance 1, running averages move by exactly 1 - momentum, pooling keeps examples
apart... `python -m minijax.course check A5.P` runs them on the reference; the
planted bugs run when you submit.
"""

import hypothesis.strategies as st  # noqa: F401
import jax  # noqa: F401
import jax.numpy as jnp  # noqa: F401
import numpy as np  # noqa: F401
from hypothesis import given  # noqa: F401

import minijax.nn as nn  # noqa: F401
