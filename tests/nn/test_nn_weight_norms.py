"""WeightNorm and SpectralNorm: init, apply, the power-iteration state and the
gradients bitwise equal to flax for the same key; float64 gradient checks; errors."""

from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import check_layer_grads

import minijax.nn as mnn
from minijax.nn import normalization

SEEDS = (0, 3)


def normal(seed: int, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.normal(jax.random.key(50 + seed), shape)


def leaves(tree: Any) -> dict[str, Any]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): leaf for path, leaf in flat}


def assert_same(ours: Any, theirs: Any) -> None:
    a, b = leaves(ours), leaves(theirs)
    assert a.keys() == b.keys(), (sorted(a), sorted(b))
    for path in a:
        assert a[path].dtype == b[path].dtype and a[path].shape == b[path].shape, path
        np.testing.assert_array_equal(a[path], b[path], err_msg=path)


class _Stack:
    """A two-layer block, written once for both namespaces."""

    @staticmethod
    def build(nn: Any) -> Any:
        class Block(nn.Module):
            @nn.compact
            def __call__(self, x: Any) -> Any:
                return nn.Dense(3)(nn.tanh(nn.Dense(5)(x)))

        return Block()


WEIGHT_NORM: dict[str, tuple[Callable[[Any], Any], tuple[int, ...]]] = {
    "dense": (lambda nn: nn.WeightNorm(nn.Dense(4)), (2, 3)),
    "all_variables_one_norm": (
        lambda nn: nn.WeightNorm(nn.Dense(3), variable_filter=None, feature_axes=None),
        (2, 5),
    ),
    "conv_no_scale": (
        lambda nn: nn.WeightNorm(nn.Conv(3, (3, 3)), use_scale=False, epsilon=1e-6),
        (1, 5, 5, 2),
    ),
    "conv_two_feature_axes": (
        lambda nn: nn.WeightNorm(
            nn.Conv(4, (2, 2)), feature_axes=(-2, -1), scale_init=nn.initializers.normal(1.0)
        ),
        (2, 4, 4, 3),
    ),
    "nested_filter": (
        lambda nn: nn.WeightNorm(_Stack.build(nn), variable_filter={"Dense_1", "bias"}),
        (3, 4),
    ),
    "bfloat16": (lambda nn: nn.WeightNorm(nn.Dense(2), dtype=jnp.bfloat16), (2, 3)),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(WEIGHT_NORM))
@pytest.mark.parametrize("seed", SEEDS)
def test_weight_norm_init_apply_and_grads_bitwise_equal_flax(case: str, seed: int) -> None:
    build, shape = WEIGHT_NORM[case]
    ours, theirs = build(mnn), build(fnn)
    x = normal(seed, shape)
    key = jax.random.key(seed)
    v_ours, v_theirs = ours.init(key, x), theirs.init(key, x)
    assert_same(v_ours, v_theirs)
    # scales away from 1, so that they matter
    v = jax.tree.map(lambda p: p * (1.5 + jax.random.uniform(key, p.shape, p.dtype)), v_theirs)
    assert_same(ours.apply(v, x), theirs.apply(v, x))

    def loss(model: Any) -> Callable[[Any], Any]:
        return lambda v: jnp.sum(jnp.sin(model.apply(v, x).astype(jnp.float32)))

    assert_same(jax.jit(jax.grad(loss(ours)))(v), jax.jit(jax.grad(loss(theirs)))(v))


SPECTRAL_NORM: dict[str, tuple[Callable[[Any], Any], tuple[int, ...]]] = {
    "dense": (lambda nn: nn.SpectralNorm(nn.Dense(4)), (2, 3)),
    "dense_many_steps_strict": (
        lambda nn: nn.SpectralNorm(
            nn.Dense(3, use_bias=False), n_steps=5, error_on_non_matrix=True
        ),
        (2, 6),
    ),
    "conv_flattened": (lambda nn: nn.SpectralNorm(nn.Conv(3, (3, 3)), n_steps=2), (1, 5, 5, 2)),
    "nested_own_collection": (
        lambda nn: nn.SpectralNorm(_Stack.build(nn), collection_name="spectral", epsilon=1e-6),
        (3, 4),
    ),
    "no_steps": (lambda nn: nn.SpectralNorm(nn.Dense(2), n_steps=0), (2, 3)),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(SPECTRAL_NORM))
@pytest.mark.parametrize("seed", SEEDS)
def test_spectral_norm_training_steps_bitwise_equal_flax(case: str, seed: int) -> None:
    build, shape = SPECTRAL_NORM[case]
    ours, theirs = build(mnn), build(fnn)
    x = normal(seed, shape)
    key = jax.random.key(seed)
    v_ours = ours.init(key, x, update_stats=False)
    v_theirs = theirs.init(key, x, update_stats=False)
    assert_same(v_ours, v_theirs)
    col = ours.collection_name
    mutable = [col]

    def step(model: Any) -> Callable[[Any], Any]:
        # three steps: each stores the new u and sigma, and moves the params
        def loss(params: Any, state: Any) -> Any:
            y, updates = model.apply(
                {"params": params, **state}, x, update_stats=True, mutable=mutable
            )
            return jnp.sum(jnp.sin(y)), updates

        @jax.jit
        def run(params: Any, state: Any) -> Any:
            (_, updates), grads = jax.value_and_grad(loss, has_aux=True)(params, state)
            return jax.tree.map(lambda p, g: p - 0.3 * g, params, grads), dict(updates)

        return run

    run_ours, run_theirs = step(ours), step(theirs)
    p_ours, s_ours = v_ours["params"], {k: v for k, v in v_ours.items() if k != "params"}
    p_theirs, s_theirs = (
        v_theirs["params"],
        {k: v for k, v in v_theirs.items() if k != "params"},
    )
    for _ in range(3):
        p_ours, s_ours = run_ours(p_ours, s_ours)
        p_theirs, s_theirs = run_theirs(p_theirs, s_theirs)
        assert_same((p_ours, s_ours), (p_theirs, s_theirs))
    # evaluation: the stored u is the start, nothing is written
    final = {"params": p_theirs, **s_theirs}
    assert_same(
        ours.apply(final, x, update_stats=False), theirs.apply(final, x, update_stats=False)
    )
    if case != "no_steps":
        assert not np.array_equal(
            jax.tree.leaves(s_theirs)[0], jax.tree.leaves(v_theirs[col])[0]
        ), "the steps updated the power-iteration state"


def test_spectral_norm_sigma_is_the_largest_singular_value() -> None:
    layer = mnn.SpectralNorm(mnn.Dense(4, use_bias=False), n_steps=300)
    x = normal(0, (2, 6))
    variables = layer.init(jax.random.key(0), x, update_stats=False)
    _, updates = layer.apply(variables, x, update_stats=True, mutable=["batch_stats"])
    kernel = variables["params"]["layer_instance"]["kernel"]
    sigma = updates["batch_stats"]["layer_instance/kernel/sigma"]
    np.testing.assert_allclose(sigma, np.linalg.svd(np.asarray(kernel))[1][0], rtol=1e-5)
    normalized = layer.apply(variables, jnp.eye(6), update_stats=False)
    np.testing.assert_allclose(np.linalg.svd(np.asarray(normalized))[1][0], 1.0, rtol=1e-5)


def test_weight_norm_normalizes_each_output_feature() -> None:
    layer = mnn.WeightNorm(mnn.Dense(3, use_bias=False), use_scale=False)
    variables = layer.init(jax.random.key(0), jnp.ones((1, 5)))
    effective = layer.apply(variables, jnp.eye(5))  # the normalized kernel, row by row
    np.testing.assert_allclose(jnp.linalg.norm(effective, axis=0), jnp.ones(3), rtol=1e-6)


def test_weight_norm_grads_match_finite_differences() -> None:
    layer = mnn.WeightNorm(mnn.Dense(3), variable_filter=None)
    x = normal(0, (2, 4))
    variables = layer.init(jax.random.key(0), x)
    variables = jax.tree.map(lambda p: p + 0.5, variables)  # bias away from 0
    check_layer_grads(layer, variables, x)


def test_spectral_norm_grads_match_finite_differences() -> None:
    # Power iteration run to convergence: then u and v are stationary and their
    # stopped gradients drop nothing that finite differences would see.
    layer = mnn.SpectralNorm(mnn.Dense(3), n_steps=60)
    x = normal(1, (2, 4))
    variables = layer.init(jax.random.key(0), x, update_stats=False)
    kernel = jnp.asarray(np.diag([3.0, 1.0, 0.5])[[0, 1, 2, 0]] + 0.1, jnp.float32)
    variables = {
        "params": {"layer_instance": {"kernel": kernel, "bias": jnp.full(3, 0.2)}},
        "batch_stats": variables["batch_stats"],
    }
    check_layer_grads(layer, variables, x, apply_kwargs={"update_stats": False})


def test_importable_from_normalization_as_in_flax() -> None:
    assert normalization.WeightNorm is mnn.WeightNorm
    assert normalization.SpectralNorm is mnn.SpectralNorm


def test_spectral_norm_non_matrix_with_error_on_non_matrix_says_what_and_the_fix() -> None:
    layer = mnn.SpectralNorm(mnn.Conv(3, (3,)), error_on_non_matrix=True)
    with pytest.raises(ValueError, match="Input is 3D but error_on_non_matrix is True") as info:
        layer.init(jax.random.key(0), jnp.ones((1, 5, 2)), update_stats=False)
    message = str(info.value)
    assert "layer_instance/kernel" in message and "(3, 2, 3)" in message
    assert "error_on_non_matrix=False" in message and "6x3" in message


def test_weight_norm_feature_axis_out_of_range_names_the_variable() -> None:
    layer = mnn.WeightNorm(mnn.Dense(3), feature_axes=2)
    with pytest.raises(ValueError, match="axis 2 is out of range") as info:
        layer.init(jax.random.key(0), jnp.ones((1, 4)))
    assert "layer_instance/kernel" in str(info.value) and "(4, 3)" in str(info.value)


def test_spectral_norm_without_update_stats_names_the_argument() -> None:
    layer = mnn.SpectralNorm(mnn.Dense(3))
    with pytest.raises(TypeError, match="update_stats"):
        layer.init(jax.random.key(0), jnp.ones((1, 4)))


def test_the_wrappers_hash_so_they_can_be_static_arguments() -> None:
    layers = (mnn.WeightNorm(mnn.Dense(2)), mnn.SpectralNorm(mnn.Dense(2)))
    assert all(hash(layer) == hash(layer.clone()) for layer in layers)
