"""nn.BatchApply, with flax.linen.BatchApply as the oracle (bitwise on CPU)."""

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as nn

KEY_A, KEY_B = jax.random.key(0), jax.random.key(1)


def _same(ours, theirs):
    assert jax.tree.structure(ours) == jax.tree.structure(theirs)
    for o, t in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), strict=True):
        assert np.shape(o) == np.shape(t)
        np.testing.assert_array_equal(o, t)


@pytest.mark.parametrize("num_dims", [1, 2, 3])
def test_matmul_over_merged_axes_equals_flax(num_dims):
    a = jax.random.normal(KEY_A, (2, 3, 5, 4))
    b = jax.random.normal(KEY_B, (4,))
    f = lambda a, b: jnp.dot(a, b)
    _same(nn.BatchApply(f, num_dims)(a, b), flax_nn.BatchApply(f, num_dims)(a, b))


def test_pytree_inputs_kwargs_and_outputs_equal_flax():
    x = {"u": jax.random.normal(KEY_A, (2, 3, 4)), "v": jax.random.normal(KEY_B, (2, 3))}

    def f(x, scale, offset=None):
        assert x["u"].shape == (6, 4) and x["v"].shape == (6,)
        return {"sum": x["u"].sum(-1) * scale + x["v"], "u": x["u"] + offset}, x["v"] * 2

    args, kwargs = (x, 2.0), {"offset": jnp.arange(4.0)}
    _same(nn.BatchApply(f)(*args, **kwargs), flax_nn.BatchApply(f)(*args, **kwargs))


def test_a_bound_module_sees_one_big_batch():
    x = jax.random.normal(KEY_A, (5, 4, 3))
    variables = nn.Dense(2).init(KEY_B, x[0])
    dense = nn.Dense(2).bind(variables)
    out = nn.BatchApply(dense)(x)
    np.testing.assert_array_equal(out, dense(x.reshape(20, 3)).reshape(5, 4, 2))


def test_under_jit_and_grad():
    a = jax.random.normal(KEY_A, (2, 3, 4))
    b = jax.random.normal(KEY_B, (4,))

    def loss(b, batch_apply):
        return batch_apply(lambda a, b: jnp.sin(a @ b))(a, b).sum()

    np.testing.assert_array_equal(jax.jit(jax.grad(loss), static_argnums=1)(b, nn.BatchApply),
                                  jax.grad(loss)(b, flax_nn.BatchApply))


def test_no_input_with_enough_axes():
    with pytest.raises(ValueError, match=r"at least one input with ndim >= 3.*shapes \[\(\), "
                       r"\(2, 2\)\].*smaller num_dims"):
        nn.BatchApply(lambda a, b: a, num_dims=3)(1.0, jnp.ones((2, 2)))


def test_leaves_with_other_leading_axes_are_merged_as_flax_does():
    a, b = jnp.arange(24.0).reshape(2, 3, 4), jnp.arange(24.0).reshape(3, 2, 4)
    f = lambda a, b: a * b
    _same(nn.BatchApply(f)(a, b), flax_nn.BatchApply(f)(a, b))


def test_zero_size_leading_axes():
    x = jnp.ones((0, 3, 4))
    _same(nn.BatchApply(jnp.sin)(x), flax_nn.BatchApply(jnp.sin)(x))


@pytest.mark.parametrize("num_dims", [0, -1, 1.5, True])
def test_bad_num_dims(num_dims):
    with pytest.raises(ValueError, match=r"num_dims=.*must be an int >= 1"):
        nn.BatchApply(jnp.sum, num_dims)


def test_f_must_be_callable():
    with pytest.raises(TypeError, match="f must be callable"):
        nn.BatchApply(jnp.ones(3))


@pytest.mark.parametrize("f", [lambda a: a.sum(), lambda a: a.T])
def test_outputs_without_the_merged_axis_in_front(f):
    with pytest.raises(ValueError, match=r"leading axis should be the merged one, of size 6 "
                       r"\(the axes \(2, 3\) of the inputs\)"):
        nn.BatchApply(f)(jnp.ones((2, 3, 4)))
