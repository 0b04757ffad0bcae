"""InstanceNorm and the options of the norms (mask=, axis_name, axis_index_groups,
force_float32_reductions): bitwise equal to flax, gradient checks, errors."""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import check_layer_grads

import minijax.nn as mnn

X = jax.random.normal(jax.random.key(1), (3, 4, 6))
MASK = jax.random.bernoulli(jax.random.key(2), 0.7, X.shape)


def assert_same(ours: Any, theirs: Any) -> None:
    a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(a) == len(b)
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


def both(name: str, x: jax.Array, *, apply_kwargs: Any = None, **kwargs: Any) -> None:
    """init + apply of nn.<name>(**kwargs) on x, in minijax and flax, bitwise."""
    apply_kwargs = apply_kwargs or {}
    ours, theirs = getattr(mnn, name)(**kwargs), getattr(fnn, name)(**kwargs)
    v_ours = ours.init(jax.random.key(0), x, **apply_kwargs)
    v_theirs = theirs.init(jax.random.key(0), x, **apply_kwargs)
    assert_same(v_ours, v_theirs)
    # params with random values, so that scale and bias matter
    v_theirs = jax.tree.map(
        lambda p: p + jax.random.normal(jax.random.key(5), p.shape, p.dtype), v_theirs
    )
    mutable = ["batch_stats"] if name == "BatchNorm" else False
    assert_same(
        ours.apply(v_theirs, x, mutable=mutable, **apply_kwargs),
        theirs.apply(v_theirs, x, mutable=mutable, **apply_kwargs),
    )


CASES = {
    "InstanceNorm": {},
    "InstanceNorm_features_1_2": {"feature_axes": (1, 2)},
    "InstanceNorm_no_scale_slow_var": {"use_scale": False, "use_fast_variance": False},
    "LayerNorm": {},
    "RMSNorm": {},
    "GroupNorm": {"num_groups": 3},
    "BatchNorm": {"use_running_average": False},
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "mask"])
def test_norms_and_mask_bitwise_equal_flax(case: str, masked: bool) -> None:
    name = case.split("_")[0]
    apply_kwargs = {"mask": MASK} if masked else {}
    both(name, X, apply_kwargs=apply_kwargs, **CASES[case])


@pytest.mark.parity
@pytest.mark.parametrize("name", ["InstanceNorm", "LayerNorm", "RMSNorm", "GroupNorm"])
def test_half_precision_without_float32_reductions(name: str) -> None:
    x = X.astype(jnp.bfloat16)
    kwargs: dict[str, Any] = {"num_groups": 2} if name == "GroupNorm" else {}
    for f32 in (True, False):
        both(name, x, force_float32_reductions=f32, param_dtype=jnp.bfloat16, **kwargs)


@pytest.mark.parity
def test_batchnorm_keeps_running_stats_in_param_dtype_without_float32_reductions() -> None:
    x = X.astype(jnp.bfloat16)
    both(
        "BatchNorm",
        x,
        use_running_average=False,
        force_float32_reductions=False,
        param_dtype=jnp.bfloat16,
    )
    stats = mnn.BatchNorm(force_float32_reductions=False, param_dtype=jnp.bfloat16).init(
        jax.random.key(0), x, use_running_average=True
    )["batch_stats"]
    assert stats["mean"].dtype == jnp.bfloat16


@pytest.mark.parity
@pytest.mark.parametrize("name", ["LayerNorm", "RMSNorm", "GroupNorm", "InstanceNorm", "BatchNorm"])
def test_axis_name_averages_statistics_over_the_mapped_axis(name: str) -> None:
    # A vmap with an axis name stands for data-parallel devices: each "device" holds a
    # slice, and the statistics are averaged over them with lax.pmean, as in flax.
    xs = jax.random.normal(jax.random.key(3), (4, 2, 3, 6))  # (devices, batch, length, c)
    kwargs: dict[str, Any] = {"axis_name": "devices"}
    if name == "GroupNorm":
        kwargs["num_groups"] = 2
    if name == "BatchNorm":
        kwargs["use_running_average"] = False
    ours, theirs = getattr(mnn, name)(**kwargs), getattr(fnn, name)(**kwargs)
    plain = {k: v for k, v in kwargs.items() if k != "axis_name"}
    variables = getattr(fnn, name)(**plain).init(jax.random.key(0), xs[0])
    mutable = ["batch_stats"] if name == "BatchNorm" else False

    def run(layer: Any) -> Any:
        return jax.vmap(lambda x: layer.apply(variables, x, mutable=mutable), axis_name="devices")(
            xs
        )

    assert_same(run(ours), run(theirs))
    groups = {"axis_index_groups": [[0, 1], [2, 3]]}
    ours, theirs = getattr(mnn, name)(**kwargs, **groups), getattr(fnn, name)(**kwargs, **groups)
    if name == "BatchNorm":  # (vmap has no axis_index_groups; pmean checks them on devices)
        return
    with pytest.raises(NotImplementedError):
        run(theirs)
    with pytest.raises(NotImplementedError):
        run(ours)


def test_mask_means_the_statistics_of_the_selected_entries() -> None:
    x = jnp.array([[1.0, 3.0, 100.0, -50.0]])
    mask = jnp.array([[True, True, False, False]])
    layer = mnn.LayerNorm(epsilon=0.0)
    y = layer.apply(layer.init(jax.random.key(0), x), x, mask=mask)
    np.testing.assert_allclose(y[0, :2], [-1.0, 1.0])  # mean 2, variance 1 of (1, 3)


def test_instance_norm_statistics_per_example_and_channel() -> None:
    x = jax.random.normal(jax.random.key(4), (2, 5, 5, 3)) * 3 + 2
    y = mnn.InstanceNorm().init_with_output(jax.random.key(0), x)[0]
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(1, 2)), 1, atol=1e-4)


@pytest.mark.parametrize(
    "build",
    [
        lambda: mnn.InstanceNorm(),
        lambda: mnn.InstanceNorm(feature_axes=(1, 2), use_fast_variance=False),
    ],
)
def test_instance_norm_gradients(build: Any) -> None:
    x = jax.random.normal(jax.random.key(6), (2, 3, 4))
    layer = build()
    check_layer_grads(layer, layer.init(jax.random.key(0), x), x)


def test_masked_norm_gradients() -> None:
    x = jax.random.normal(jax.random.key(6), (2, 3, 4))
    mask = jax.random.bernoulli(jax.random.key(7), 0.6, x.shape).at[:, :, 0].set(True)
    for layer in (mnn.LayerNorm(), mnn.RMSNorm(), mnn.InstanceNorm(), mnn.GroupNorm(2)):
        variables = layer.init(jax.random.key(0), x)
        check_layer_grads(layer, variables, x, apply_kwargs={"mask": mask})


def test_bad_options_name_the_problem() -> None:
    with pytest.raises(
        ValueError,
        match=r"InstanceNorm: The channel axes cannot .* feature_axes=\(0, -1\) includes",
    ):
        mnn.InstanceNorm(feature_axes=(0, -1)).init(jax.random.key(0), X)
    with pytest.raises(
        ValueError,
        match=r"LayerNorm: mask has shape \(3, 5\), which does not broadcast .*\(3, 4, 6\)",
    ):
        mnn.LayerNorm().init(jax.random.key(0), X, mask=jnp.ones((3, 5), bool))


@pytest.mark.parity
@pytest.mark.parametrize("masked", [False, True], ids=["plain", "mask"])
def test_batchnorm_on_complex_inputs_bitwise_equal_flax(masked: bool) -> None:
    x = jax.random.normal(jax.random.key(1), (4, 3, 2), dtype=jnp.complex64)
    mask = jax.random.bernoulli(jax.random.key(2), 0.5, (4, 3, 1)) if masked else None
    both(
        "BatchNorm",
        x,
        apply_kwargs={"mask": mask},
        momentum=0.9,
        use_running_average=False,
        dtype=jnp.complex64,
    )
