"""Activations: bitwise equal to flax.linen's (NaN and inf included), gradients, errors."""

from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

import minijax.nn as nn
from minijax.testing import check_grads, on_device

# Ordinary values, the kinks (0, +-1, +-3, 6), and the special values.
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 6.0, 1e4, -1e4]
X = jnp.concatenate([jnp.linspace(-7.0, 7.0, 36), jnp.array(SPECIAL, jnp.float32)]).reshape(6, 8)
X_FINITE = jnp.linspace(-7.0, 7.0, 48).reshape(6, 8)
X_ROW_NAN = X_FINITE.at[1, 3].set(jnp.nan).at[2, 0].set(jnp.inf).at[4, 4].set(-jnp.inf)

ELEMENTWISE = [
    "celu",
    "elu",
    "gelu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softplus",
    "swish",
    "tanh",
]

VARIANTS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    name: (getattr(nn, name), getattr(fnn, name)) for name in ELEMENTWISE
}
VARIANTS |= {
    "gelu_exact": (
        lambda x: nn.gelu(x, approximate=False),
        lambda x: fnn.gelu(x, approximate=False),
    ),
    "elu_alpha": (lambda x: nn.elu(x, 0.5), lambda x: fnn.elu(x, 0.5)),
    "celu_alpha": (lambda x: nn.celu(x, 2.0), lambda x: fnn.celu(x, 2.0)),
    "leaky_relu_slope": (lambda x: nn.leaky_relu(x, 0.2), lambda x: fnn.leaky_relu(x, 0.2)),
    "glu": (nn.glu, fnn.glu),
    "glu_axis0": (lambda x: nn.glu(x, axis=0), lambda x: fnn.glu(x, axis=0)),
    "softmax": (nn.softmax, fnn.softmax),
    "softmax_axis0": (lambda x: nn.softmax(x, axis=0), lambda x: fnn.softmax(x, axis=0)),
    "softmax_all": (lambda x: nn.softmax(x, axis=None), lambda x: fnn.softmax(x, axis=None)),
    "softmax_where": (
        lambda x: nn.softmax(x, where=x > -2),
        lambda x: fnn.softmax(x, where=x > -2),
    ),
    "log_softmax": (nn.log_softmax, fnn.log_softmax),
    "log_softmax_axes": (
        lambda x: nn.log_softmax(x, axis=(0, 1)),
        lambda x: fnn.log_softmax(x, axis=(0, 1)),
    ),
    "log_softmax_where": (
        lambda x: nn.log_softmax(x, where=x < 2),
        lambda x: fnn.log_softmax(x, where=x < 2),
    ),
    "logsumexp": (nn.logsumexp, fnn.logsumexp),
    "logsumexp_axis_keepdims": (
        lambda x: nn.logsumexp(x, axis=1, keepdims=True),
        lambda x: fnn.logsumexp(x, axis=1, keepdims=True),
    ),
    "logsumexp_b": (
        lambda x: nn.logsumexp(x, axis=0, b=jnp.arange(8.0) - 3),
        lambda x: fnn.logsumexp(x, axis=0, b=jnp.arange(8.0) - 3),
    ),
    "logsumexp_sign": (
        lambda x: nn.logsumexp(x, axis=-1, b=-1.0, return_sign=True),
        lambda x: fnn.logsumexp(x, axis=-1, b=-1.0, return_sign=True),
    ),
    "logsumexp_where": (
        lambda x: nn.logsumexp(x, axis=0, where=x > 0),
        lambda x: fnn.logsumexp(x, axis=0, where=x > 0),
    ),
    "standardize": (nn.standardize, fnn.standardize),
    "standardize_stable_axis0": (
        lambda x: nn.standardize(x, axis=0, algorithm="stable"),
        lambda x: fnn.standardize(x, axis=0, algorithm="stable"),
    ),
    "standardize_given_stats": (
        lambda x: nn.standardize(x, mean=1.0, variance=4.0, epsilon=0.0),
        lambda x: fnn.standardize(x, mean=1.0, variance=4.0, epsilon=0.0),
    ),
    "standardize_where": (
        lambda x: nn.standardize(x, where=x > 0),
        lambda x: fnn.standardize(x, where=x > 0),
    ),
    "normalize": (nn.normalize, fnn.normalize),
}

pytestmark = pytest.mark.parity


def assert_bitwise(ours: Any, theirs: Any) -> None:
    ours_leaves, theirs_leaves = jax.tree.leaves(ours), jax.tree.leaves(theirs)
    assert len(ours_leaves) == len(theirs_leaves)
    for a, b in zip(ours_leaves, theirs_leaves, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # NaN == NaN here; +0 vs -0 is checked below
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def test_every_flax_activation_exists() -> None:
    import flax.linen.activation as flax_activation

    flax_names = {
        n for n in dir(flax_activation) if not n.startswith("_") and n in dir(fnn) and n != "jnp"
    }
    flax_names -= {"Any", "Array", "Dtype", "Module", "Optional", "compact", "Dense"}
    assert flax_names <= set(nn.activation.__all__), flax_names - set(nn.activation.__all__)


@pytest.mark.parametrize("name", list(VARIANTS))
@pytest.mark.parametrize("x", [X, X_FINITE, X_ROW_NAN], ids=["special", "finite", "row_nan"])
def test_values_bitwise_equal_flax(name: str, x: jax.Array) -> None:
    ours, theirs = VARIANTS[name]
    assert_bitwise(ours(x), theirs(x))


@pytest.mark.parametrize("name", ["relu", "relu6", "leaky_relu", "hard_tanh", "celu", "softmax"])
def test_nan_and_inf_propagate(name: str) -> None:
    y = getattr(nn, name)(jnp.array([jnp.nan, 1.0]))
    assert np.isnan(y[0])
    assert np.isnan(nn.relu(jnp.nan)) and nn.relu(jnp.inf) == jnp.inf and nn.relu(-jnp.inf) == 0
    assert nn.sigmoid(jnp.inf) == 1 and nn.sigmoid(-jnp.inf) == 0


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # -inf as int, as flax
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.float16, jnp.bfloat16])
@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax", "log_softmax", "glu"])
def test_dtypes_as_flax(name: str, dtype: Any) -> None:
    x = (jnp.arange(-4, 4).reshape(2, 4)).astype(dtype)
    if dtype == jnp.int32 and name in {"sigmoid", "silu", "swish", "glu"}:
        # flax's raise a TypeError (`lax.logistic` takes floats); these cast to float32
        assert_bitwise(getattr(nn, name)(x), getattr(fnn, name)(x.astype(jnp.float32)))
        return
    assert_bitwise(getattr(nn, name)(x), getattr(fnn, name)(x))


@pytest.mark.parametrize(
    "name",
    ["relu", "relu6", "elu", "celu", "selu", "gelu", "silu", "softplus", "softmax", "log_softmax"],
)
def test_gradients_bitwise_equal_flax(name: str) -> None:
    # The points include the kinks 0 and 6, where relu/relu6 take the gradient 0 as flax.
    x = jnp.concatenate([X_FINITE.ravel(), jnp.array([0.0, 6.0])])

    def loss(f: Callable[..., Any]) -> Callable[[jax.Array], jax.Array]:
        return lambda x: jnp.sum(f(x) * jnp.arange(x.size, dtype=x.dtype))

    assert_bitwise(jax.grad(loss(getattr(nn, name)))(x), jax.grad(loss(getattr(fnn, name)))(x))


@pytest.mark.parametrize("axis", [-1, 0, 1])
@pytest.mark.parametrize("dtype", [None, jnp.int8, jnp.bfloat16])
def test_one_hot_bitwise_equal_flax(axis: int, dtype: Any) -> None:
    ids = jnp.array([[0, 3, -1], [2, 5, 1]])
    assert_bitwise(
        nn.one_hot(ids, 4, dtype=dtype, axis=axis), fnn.one_hot(ids, 4, dtype=dtype, axis=axis)
    )


def test_stability_at_extremes() -> None:
    big = jnp.array([-1e4, -100.0, 0.0, 100.0, 1e4])
    np.testing.assert_allclose(
        nn.softplus(big), [0.0, 3.72e-44, np.log(2), 100.0, 1e4], rtol=1e-5, atol=1e-30
    )
    ls = nn.log_softmax(jnp.array([1000.0, 0.0, -1000.0]))
    assert np.all(np.isfinite(ls)) and abs(float(ls[0])) < 1e-6
    assert np.all(np.isfinite(jax.grad(lambda x: nn.elu(x).sum())(big)))
    assert np.all(np.isfinite(jax.grad(lambda x: nn.log_sigmoid(x).sum())(big)))
    assert float(nn.logsumexp(jnp.array([-jnp.inf, -jnp.inf]))) == -np.inf


def test_prelu_init_and_apply_as_flax() -> None:
    x = jax.random.uniform(jax.random.key(1), (4, 6, 5)) - 0.5
    for kwargs in [{}, {"negative_slope_init": 0.3, "param_dtype": jnp.bfloat16}]:
        (y, v), (fy, fv) = (
            nn.PReLU(**kwargs).init_with_output(jax.random.key(0), x),
            fnn.PReLU(**kwargs).init_with_output(jax.random.key(0), x),
        )
        assert_bitwise(v, fv)
        assert_bitwise(y, fy)
    v = nn.PReLU().init(jax.random.key(0), x)
    grads = jax.grad(lambda p: nn.PReLU().apply(p, x).sum())(v)
    np.testing.assert_allclose(
        grads["params"]["negative_slope"], jnp.sum(jnp.minimum(x, 0)), rtol=1e-6
    )


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"glu: the size of axis -1 .* \(shape \(2, 3\)\).*even"):
        nn.glu(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="num_classes must be a non-negative Python int"):
        nn.one_hot(jnp.arange(3), -1)
    with pytest.raises(ValueError, match=r"axis 3 is out of range .* \[-3, 2\]"):
        nn.one_hot(jnp.zeros((2, 2), jnp.int32), 3, axis=3)
    with pytest.raises(ValueError, match="unknown algorithm 'exact'; use 'fast'"):
        nn.standardize(jnp.ones(3), algorithm="exact")


SMOOTH = {
    "gelu": nn.gelu,
    "gelu_exact": lambda x: nn.gelu(x, approximate=False),
    "silu": nn.silu,
    "sigmoid": nn.sigmoid,
    "log_sigmoid": nn.log_sigmoid,
    "tanh": nn.tanh,
    "softplus": nn.softplus,
    "soft_sign": nn.soft_sign,
    "elu": nn.elu,
    "celu": lambda x: nn.celu(x, 0.7),
    "selu": nn.selu,
    "relu": nn.relu,
    "leaky_relu": nn.leaky_relu,
    "hard_tanh": nn.hard_tanh,
    "hard_silu": nn.hard_silu,
    "relu6": nn.relu6,
    "glu": nn.glu,
    "softmax": nn.softmax,
    "log_softmax": nn.log_softmax,
    "logsumexp": lambda x: nn.logsumexp(x, axis=-1),
    "standardize": nn.standardize,
}


@given(
    name=st.sampled_from(sorted(SMOOTH)),
    values=st.lists(
        st.floats(-4, 4).filter(lambda v: min(abs(v), abs(abs(v) - 1), abs(abs(v) - 3)) > 0.05),
        min_size=6,
        max_size=6,
    ),
)
def test_gradients(device, name: str, values: list[float]) -> None:  # type: ignore[no-untyped-def]
    # (points away from the kinks at 0, +-1 and +-3; float64 finite differences)
    with on_device(device):
        x = jnp.array(values, jnp.float32).reshape(2, 3)
        if name == "glu":
            x = jnp.concatenate([x, x[:, ::-1]], axis=1)
        check_grads(SMOOTH[name], (x,))
