"""minijax.train.common_utils: onehot and stack_forest, bitwise equal to flax's."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.training import common_utils as flax_common_utils

from minijax.train import common_utils

pytestmark = pytest.mark.parity


@pytest.mark.parametrize(("on", "off"), [(1.0, 0.0), (0.9, 0.1 / 4), (0.5, -1.0)])
@pytest.mark.parametrize("shape", [(3,), (2, 3)])
def test_onehot_equals_flax(on: float, off: float, shape: tuple[int, ...]) -> None:
    labels = jax.random.randint(jax.random.key(1), shape, -1, 6)  # -1 and 5: no hit
    ours = common_utils.onehot(labels, 5, on_value=on, off_value=off)
    theirs = flax_common_utils.onehot(labels, 5, on_value=on, off_value=off)
    assert ours.dtype == theirs.dtype == jnp.float32
    assert ours.shape == (*shape, 5)
    np.testing.assert_array_equal(ours, theirs)


def test_onehot_under_jit() -> None:
    labels = jnp.array([0, 2])
    out = jax.jit(common_utils.onehot, static_argnums=1)(labels, 3)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1]])


def test_stack_forest_equals_flax() -> None:
    forest = [{"loss": jnp.float32(i), "acc": {"top1": jnp.arange(2) + i}} for i in range(3)]
    ours = common_utils.stack_forest(forest)
    theirs = flax_common_utils.stack_forest(forest)
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert isinstance(a, np.ndarray)
        np.testing.assert_array_equal(a, b)
    assert ours["acc"]["top1"].shape == (3, 2)


def test_stack_forest_of_nothing_says_so() -> None:
    with pytest.raises(ValueError, match="got no trees"):
        common_utils.stack_forest([])
