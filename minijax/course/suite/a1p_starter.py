"""A1.P: your property tests for softmax, log_softmax, gelu and the losses.

Write Hypothesis tests (functions named `test_...`) that hold for every correct
implementation and fail on wrong ones. Use minijax's functions and properties
(sums, invariances, identities, gradients with `minijax.testing.check_grads`), not
another library's softmax. `python -m minijax.course check A1.P` runs them on the
reference; the planted bugs run when you submit.
"""

import hypothesis.strategies as st  # noqa: F401
import jax.numpy as jnp  # noqa: F401
import numpy as np  # noqa: F401
from hypothesis import given  # noqa: F401

import minijax.nn as nn  # noqa: F401
from minijax import losses  # noqa: F401
