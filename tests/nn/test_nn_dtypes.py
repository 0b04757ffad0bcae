"""nn.dtypes: the dtype rules of the layers, with flax.linen.dtypes as the oracle."""

import flax.linen.dtypes as flax_dtypes
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minijax.nn import dtypes, linear

CASES = [
    ((jnp.int32(1),), None, True),
    ((jnp.int32(1),), None, False),
    ((jnp.int16(1), jnp.int8(2)), None, True),
    ((jnp.ones(2, jnp.bfloat16), jnp.ones(2, jnp.float32)), None, True),
    ((jnp.ones(2, jnp.bfloat16), 2.0), None, True),
    ((jnp.ones(2, jnp.int32), None, jnp.ones(2, jnp.float16)), None, True),
    ((jnp.ones(2, jnp.complex64), jnp.ones(2)), None, True),
    ((np.ones(2, np.uint8), True), None, True),
    ((jnp.float32(1.0),), jnp.float16, True),
    ((jnp.float32(1.0), jnp.int32(3)), jnp.int32, False),
]


@pytest.mark.parametrize(("args", "dtype", "inexact"), CASES)
def test_canonicalize_and_promote_match_flax(args, dtype, inexact):
    ours = dtypes.canonicalize_dtype(*args, dtype=dtype, inexact=inexact)
    assert jnp.dtype(ours) == jnp.dtype(
        flax_dtypes.canonicalize_dtype(*args, dtype=dtype, inexact=inexact))
    got = dtypes.promote_dtype(*args, dtype=dtype, inexact=inexact)
    want = flax_dtypes.promote_dtype(*args, dtype=dtype, inexact=inexact)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        if w is None:
            assert g is None
        else:
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_int64_becomes_float32_under_x64():
    with jax.enable_x64(True):
        assert dtypes.canonicalize_dtype(jnp.int64(1)) == jnp.float32
        assert flax_dtypes.canonicalize_dtype(jnp.int64(1)) == jnp.float32


def test_an_explicit_integer_dtype_needs_inexact_false():
    with pytest.raises(ValueError, match=r"dtype=int32 is not a float or complex dtype.*"
                       r"inexact=True.*dtype=None"):
        dtypes.promote_dtype(jnp.ones(2), dtype=jnp.int32)
    (x,) = dtypes.promote_dtype(jnp.ones(2), dtype=jnp.int32, inexact=False)
    assert x.dtype == jnp.int32


def test_the_layers_use_the_one_definition():
    assert linear.promote_dtype is dtypes.promote_dtype
