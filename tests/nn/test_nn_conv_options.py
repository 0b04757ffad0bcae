"""ConvLocal, and conv_general_dilated / conv_general_dilated_cls / promote_dtype on Conv,
promote_dtype / preferred_element_type on ConvTranspose: bitwise equal to flax, gradients."""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import check_layer_grads
from jax import lax

import minijax.nn as mnn

KEY = jax.random.key(0)


def normal(seed: int, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.normal(jax.random.key(seed), shape)


def assert_same(ours: Any, theirs: Any) -> None:
    a, b = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(a) == len(b) and len(a) > 0
    for u, v in zip(a, b, strict=True):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


def both(name: str, x: jax.Array, **kw: Any) -> tuple[Any, Any]:
    ours, theirs = getattr(mnn, name)(**kw), getattr(fnn, name)(**kw)
    for seed in (0, 3):
        v_ours, v_theirs = ours.init(jax.random.key(seed), x), theirs.init(jax.random.key(seed), x)
        assert_same(v_ours, v_theirs)
        v = jax.tree.map(lambda p: p + normal(9, p.shape).astype(p.dtype), v_theirs)
        assert_same(ours.apply(v, x), theirs.apply(v, x))
    return ours, v_ours


LOCAL = {
    "1d_valid": ((2, 7, 3), {"features": 4, "kernel_size": (3,), "padding": "VALID"}),
    "1d_same_strided": ((2, 8, 2), {"features": 3, "kernel_size": 3, "strides": 2}),
    "2d_same": ((2, 5, 4, 3), {"features": 2, "kernel_size": (3, 2)}),
    "2d_dilated_no_bias": (
        (1, 6, 6, 2),
        {"features": 2, "kernel_size": (2, 2), "kernel_dilation": 2, "use_bias": False},
    ),
    "2d_circular": ((1, 4, 5, 2), {"features": 3, "kernel_size": (3, 3), "padding": "CIRCULAR"}),
    "1d_causal_batch_axes": ((2, 3, 6, 2), {"features": 2, "kernel_size": 3, "padding": "CAUSAL"}),
    "1d_unbatched": ((6, 2), {"features": 2, "kernel_size": 2}),
}


@pytest.mark.parity
@pytest.mark.parametrize("case", list(LOCAL))
def test_conv_local_bitwise_equal_flax(case: str) -> None:
    shape, kwargs = LOCAL[case]
    both("ConvLocal", normal(1, shape), **kwargs)


def _scaled_conv(*args: Any, **kwargs: Any) -> Any:
    return 0.5 * lax.conv_general_dilated(*args, **kwargs)


class _RoundedConv:
    def __call__(self, lhs: Any, rhs: Any, *args: Any, **kwargs: Any) -> Any:
        return lax.conv_general_dilated(jnp.round(lhs, 1), rhs, *args, **kwargs)


def _promote_to_bf16(*args: Any, dtype: Any = None, inexact: bool = True) -> list[Any]:
    return [None if a is None else jnp.asarray(a, jnp.bfloat16) for a in args]


@pytest.mark.parity
@pytest.mark.parametrize(
    "option",
    [
        {"conv_general_dilated": _scaled_conv},
        {"conv_general_dilated_cls": _RoundedConv},
        {"conv_general_dilated": _scaled_conv, "conv_general_dilated_cls": _RoundedConv},
        {"promote_dtype": _promote_to_bf16},
    ],
    ids=["fn", "cls", "both", "promote_dtype"],
)
def test_conv_options_bitwise_equal_flax(option: dict[str, Any]) -> None:
    x = normal(2, (2, 5, 5, 3))
    ours, variables = both("Conv", x, features=4, kernel_size=(3, 3), **option)
    plain = mnn.Conv(features=4, kernel_size=(3, 3)).apply(variables, x)
    assert not np.array_equal(ours.apply(variables, x), plain)  # the option was used


@pytest.mark.parity
def test_conv_transpose_options_bitwise_equal_flax() -> None:
    x = normal(2, (2, 4, 3)).astype(jnp.bfloat16)
    both(
        "ConvTranspose",
        x,
        features=2,
        kernel_size=(3,),
        strides=(2,),
        promote_dtype=_promote_to_bf16,
    )
    both(
        "ConvTranspose",
        x,
        features=2,
        kernel_size=(3,),
        param_dtype=jnp.bfloat16,
        preferred_element_type=jnp.float32,
    )


@pytest.mark.parametrize(
    "build,shape",
    [
        (lambda: mnn.ConvLocal(2, (3,), padding="VALID"), (2, 5, 2)),
        (lambda: mnn.ConvLocal(2, (2, 2), strides=2), (1, 4, 4, 2)),
        (lambda: mnn.Conv(2, (2,), conv_general_dilated=_scaled_conv), (1, 4, 2)),
    ],
)
def test_gradients(build: Any, shape: tuple[int, ...]) -> None:
    layer, x = build(), normal(4, shape)
    check_layer_grads(layer, layer.init(KEY, x), x)


def test_conv_local_errors() -> None:
    with pytest.raises(NotImplementedError, match=r"feature_group_count=2 is not supported"):
        mnn.ConvLocal(4, (3,), feature_group_count=2).init(KEY, jnp.ones((1, 5, 4)))
    with pytest.raises(ValueError, match=r"mask has shape \(3, 4, 2\) but the kernel has shape"):
        mnn.ConvLocal(2, (3,), mask=jnp.ones((3, 4, 2))).init(KEY, jnp.ones((1, 5, 4)))


@pytest.mark.parity
def test_tabulate_with_flops_has_one_row_per_conv_call_as_flax() -> None:
    # the helper that picks the convolution op is no module method of its own
    kwargs = {"console_kwargs": {"force_terminal": False, "no_color": True, "width": 10_000},
              "compute_flops": True, "compute_vjp_flops": True}
    x = jnp.ones((1, 5, 5, 2))
    mine = mnn.Conv(3, (3, 3)).tabulate(jax.random.key(0), x, **kwargs)
    theirs = fnn.Conv(3, (3, 3)).tabulate(jax.random.key(0), x, **kwargs)
    assert mine == theirs
    assert "_conv_fn" not in mine


@pytest.mark.parametrize(
    "padding, rank", [("same", 2), (2, 3), ([1, (2, 3)], 2), ((0, 1), 2), ("causal", 1)]
)
def test_canonicalize_padding_is_flaxs_in_linear(padding: Any, rank: int) -> None:
    from flax.linen import linear as flax_linear

    from minijax.nn import linear

    got = linear.canonicalize_padding(padding, rank)
    want = flax_linear.canonicalize_padding(padding, rank)
    # flax passes a string on as it is; minijax checks it and upper-cases it
    assert got == (want.upper() if isinstance(want, str) else want)


@pytest.mark.parametrize("padding, rank", [((2, 2), 3), ((2, 2), 1), ([None, (1, 2)], 2)])
def test_canonicalize_padding_rejects_what_flax_rejects(padding: Any, rank: int) -> None:
    from minijax.nn import linear

    with pytest.raises(ValueError, match=f"for {rank} spatial axes"):
        linear.canonicalize_padding(padding, rank)
