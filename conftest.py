"""Set-up of the docstring examples: `python -m pytest --doctest-modules minijax`.

Examples are written to be copied: each imports what it uses, so nothing is
injected into their namespace. To keep their printed output stable:

* `doctest_optionflags` in `pyproject.toml`: `NUMBER` compares floats only to the
  digits written (`0.33` matches `0.3333334`), `ELLIPSIS` lets `...` stand for
  any text (object addresses, long reprs), `NORMALIZE_WHITESPACE` ignores line
  wrapping;
* NumPy prints with 4 decimals, the same on every machine;
* each example starts with jax's 64-bit mode off and shape checks as configured,
  whatever an earlier example switched on.
"""

import jax
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _doctest_defaults(request: pytest.FixtureRequest):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    x64 = jax.config.read("jax_enable_x64")
    options = np.get_printoptions()
    np.set_printoptions(precision=4, suppress=True)
    jax.config.update("jax_enable_x64", False)
    try:
        yield
    finally:
        np.set_printoptions(**options)
        jax.config.update("jax_enable_x64", x64)
