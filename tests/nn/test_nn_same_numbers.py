"""The same numbers as flax: for every layer minijax.nn exports, `init` with the same key
draws bitwise-equal variables, and a train-mode `apply` (a `dropout` key, mutable batch
statistics) gives bitwise-equal outputs and updated state, for several shapes and seeds.

Both sides start from their own `init` (never from each other's variables), so any
difference in the key recipe, the order in which a layer asks for its keys, or in an
initializer's draw shows up here. `test_every_layer_has_a_case` keeps the list complete.
"""

import inspect
from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as mnn

pytestmark = pytest.mark.parity

SEEDS = (0, 7)


def normal(seed: int, shape: tuple[int, ...]) -> jax.Array:
    return jax.random.normal(jax.random.key(100 + seed), shape)


def ids(seed: int, shape: tuple[int, ...], n: int) -> jax.Array:
    return jax.random.randint(jax.random.key(200 + seed), shape, 0, n)


class Case:
    """One configuration: a builder taking the `nn` namespace, the call arguments."""

    def __init__(
        self,
        layer: str,
        build: Callable[[Any], Any],
        inputs: Callable[[int], tuple[Any, ...]],
        *,
        method: str | None = None,
        init_kwargs: dict[str, Any] | None = None,
        apply_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.layer, self.build, self.inputs, self.method = layer, build, inputs, method
        self.init_kwargs = init_kwargs or {}
        self.apply_kwargs = apply_kwargs or {}


def _seq(b: int, t: int, f: int) -> Callable[[int], tuple[Any, ...]]:
    return lambda s: (normal(s, (b, t, f)),)


def _img(b: int, h: int, w: int, c: int) -> Callable[[int], tuple[Any, ...]]:
    return lambda s: (normal(s, (b, h, w, c)),)


def _carry_and_x(cell: str, b: int, f: int, features: int) -> Callable[[int], tuple[Any, ...]]:
    def inputs(s: int) -> tuple[Any, ...]:
        x = normal(s, (b, f))
        carry = getattr(fnn, cell)(features).initialize_carry(jax.random.key(s), x.shape)
        return carry, x

    return inputs


def _conv_carry_and_x(b: int, hw: int, c: int, features: int) -> Callable[[int], tuple[Any, ...]]:
    def inputs(s: int) -> tuple[Any, ...]:
        x = normal(s, (b, hw, hw, c))
        cell = fnn.ConvLSTMCell(features, (3, 3))
        return cell.initialize_carry(jax.random.key(s), x.shape), x

    return inputs


CASES: list[Case] = [
    Case("Dense", lambda nn: nn.Dense(5), _seq(2, 3, 4)),
    Case("Dense", lambda nn: nn.Dense(3, use_bias=False), lambda s: (normal(s, (6,)),)),
    Case(
        "Dense",
        lambda nn: nn.Dense(
            4, kernel_init=nn.initializers.he_uniform(), bias_init=nn.initializers.normal(0.5)
        ),
        _seq(1, 2, 3),
    ),
    Case("DenseGeneral", lambda nn: nn.DenseGeneral((2, 3)), _seq(2, 3, 4)),
    Case("DenseGeneral", lambda nn: nn.DenseGeneral(5, axis=(-2, -1)), _seq(2, 3, 4)),
    Case("DenseGeneral", lambda nn: nn.DenseGeneral(3, batch_dims=(0,)), _seq(2, 3, 4)),
    Case("Einsum", lambda nn: nn.Einsum((4, 2, 3), "btd,dnh->btnh"), _seq(2, 3, 4)),
    Case("Einsum", lambda nn: nn.Einsum((4, 5), "...d,df->...f", use_bias=False), _seq(1, 2, 4)),
    Case("Embed", lambda nn: nn.Embed(7, 4), lambda s: (ids(s, (2, 5), 7),)),
    Case(
        "Embed",
        lambda nn: nn.Embed(11, 3),
        lambda s: (normal(s, (2, 3)),),
        method="attend",
        init_kwargs={"method": "attend"},
    ),
    Case("Conv", lambda nn: nn.Conv(4, (3, 3)), _img(2, 6, 5, 3)),
    Case("Conv", lambda nn: nn.Conv(6, (3,), strides=2, feature_group_count=2), _seq(2, 9, 4)),
    Case(
        "Conv",
        lambda nn: nn.Conv(2, (2, 2, 2), padding="VALID"),
        lambda s: (normal(s, (1, 4, 4, 4, 2)),),
    ),
    Case("ConvLocal", lambda nn: nn.ConvLocal(3, (3, 3)), _img(2, 4, 5, 2)),
    Case("ConvLocal", lambda nn: nn.ConvLocal(2, (2,), strides=2, padding="VALID"), _seq(2, 6, 3)),
    Case("ConvTranspose", lambda nn: nn.ConvTranspose(3, (3, 3), strides=(2, 2)), _img(1, 4, 5, 2)),
    Case("ConvTranspose", lambda nn: nn.ConvTranspose(4, (2,), use_bias=False), _seq(2, 6, 3)),
    Case(
        "BatchNorm",
        lambda nn: nn.BatchNorm(use_running_average=False, momentum=0.8),
        _img(4, 3, 3, 2),
        apply_kwargs={"mutable": ["batch_stats"]},
    ),
    Case(
        "BatchNorm",
        lambda nn: nn.BatchNorm(use_running_average=False, axis=1, use_scale=False),
        _seq(3, 4, 5),
        apply_kwargs={"mutable": ["batch_stats"]},
    ),
    Case("LayerNorm", lambda nn: nn.LayerNorm(), _seq(2, 3, 6)),
    Case(
        "LayerNorm", lambda nn: nn.LayerNorm(reduction_axes=(1, 2), feature_axes=-1), _seq(2, 3, 6)
    ),
    Case("RMSNorm", lambda nn: nn.RMSNorm(), _seq(2, 3, 6)),
    Case("RMSNorm", lambda nn: nn.RMSNorm(use_scale=False, epsilon=1e-3), _img(2, 2, 3, 4)),
    Case("GroupNorm", lambda nn: nn.GroupNorm(num_groups=2), _img(2, 3, 3, 4)),
    Case("GroupNorm", lambda nn: nn.GroupNorm(num_groups=None, group_size=3), _seq(2, 4, 6)),
    Case("InstanceNorm", lambda nn: nn.InstanceNorm(), _img(2, 3, 3, 4)),
    Case(
        "InstanceNorm",
        lambda nn: nn.InstanceNorm(feature_axes=(1, 2), use_bias=False),
        _seq(2, 4, 3),
    ),
    Case("WeightNorm", lambda nn: nn.WeightNorm(nn.Dense(4)), _seq(2, 3, 5)),
    Case(
        "WeightNorm",
        lambda nn: nn.WeightNorm(nn.Conv(3, (3, 3)), variable_filter=None, feature_axes=None),
        _img(1, 4, 4, 2),
    ),
    Case(
        "SpectralNorm",
        lambda nn: nn.SpectralNorm(nn.Dense(4)),
        _seq(2, 3, 5),
        init_kwargs={"update_stats": False},
        apply_kwargs={"update_stats": True, "mutable": ["batch_stats"]},
    ),
    Case(
        "SpectralNorm",
        lambda nn: nn.SpectralNorm(nn.Conv(3, (3, 3)), n_steps=3),
        _img(1, 4, 4, 2),
        init_kwargs={"update_stats": False},
        apply_kwargs={"update_stats": True, "mutable": ["batch_stats"]},
    ),
    Case("Dropout", lambda nn: nn.Dropout(0.5, deterministic=False), _seq(2, 8, 8)),
    Case(
        "Dropout",
        lambda nn: nn.Dropout(0.2, broadcast_dims=(1,), deterministic=False),
        _seq(3, 5, 4),
    ),
    Case(
        "MultiHeadDotProductAttention",
        lambda nn: nn.MultiHeadDotProductAttention(
            num_heads=2, qkv_features=8, dropout_rate=0.3, deterministic=False
        ),
        lambda s: (normal(s, (2, 5, 6)), normal(s + 1, (2, 4, 6))),
    ),
    Case(
        "MultiHeadDotProductAttention",
        lambda nn: nn.MultiHeadDotProductAttention(num_heads=3, out_features=4, use_bias=False),
        lambda s: (normal(s, (1, 3, 6)),),
    ),
    Case(
        "MultiHeadAttention",
        lambda nn: nn.MultiHeadAttention(
            num_heads=2, qkv_features=4, dropout_rate=0.5, deterministic=False
        ),
        _seq(2, 3, 4),
    ),
    Case(
        "SelfAttention",
        lambda nn: nn.SelfAttention(num_heads=2, dropout_rate=0.5, deterministic=False),
        _seq(2, 4, 6),
    ),
    Case("LSTMCell", lambda nn: nn.LSTMCell(5), _carry_and_x("LSTMCell", 2, 3, 5)),
    Case("GRUCell", lambda nn: nn.GRUCell(4), _carry_and_x("GRUCell", 3, 2, 4)),
    Case("RNN", lambda nn: nn.RNN(nn.LSTMCell(4)), _seq(2, 5, 3)),
    Case("RNN", lambda nn: nn.RNN(nn.GRUCell(3), reverse=True), _seq(1, 4, 2)),
    Case("OptimizedLSTMCell", lambda nn: nn.OptimizedLSTMCell(5),
         _carry_and_x("OptimizedLSTMCell", 2, 3, 5)),
    Case("SimpleCell", lambda nn: nn.SimpleCell(4), _carry_and_x("SimpleCell", 3, 2, 4)),
    Case("MGUCell", lambda nn: nn.MGUCell(4), _carry_and_x("MGUCell", 3, 2, 4)),
    Case("ConvLSTMCell", lambda nn: nn.ConvLSTMCell(3, (3, 3)), _conv_carry_and_x(2, 5, 2, 3)),
    Case(
        "Bidirectional",
        lambda nn: nn.Bidirectional(nn.RNN(nn.LSTMCell(3)), nn.RNN(nn.GRUCell(3))),
        _seq(2, 4, 2),
    ),
    Case("PReLU", lambda nn: nn.PReLU(negative_slope_init=0.2), _seq(2, 3, 4)),
    Case(
        "Sequential",
        lambda nn: nn.Sequential(
            [nn.Dense(6), nn.relu, nn.Dropout(0.5, deterministic=False), nn.Dense(2)]
        ),
        _seq(2, 3, 4),
    ),
]


class _FlaxMLP(fnn.Module):
    """minijax's `MLP` has no flax counterpart: flax's tutorial MLP, written in flax."""

    features: tuple[int, ...]

    @fnn.compact
    def __call__(self, x: Any) -> Any:
        for i, f in enumerate(self.features):
            x = fnn.Dense(f)(x)
            if i < len(self.features) - 1:
                x = fnn.relu(x)
        return x


CASES.append(
    Case("MLP", lambda nn: nn.MLP((5, 3)) if nn is mnn else _FlaxMLP((5, 3)), _seq(2, 3, 4))
)

ABSTRACT = {"RNNCellBase"}  # a base class: its subclasses are the cases


def _leaves_with_paths(tree: Any) -> dict[str, Any]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {jax.tree_util.keystr(path): leaf for path, leaf in flat}


def assert_same(ours: Any, theirs: Any, what: str) -> None:
    a, b = _leaves_with_paths(ours), _leaves_with_paths(theirs)
    assert a.keys() == b.keys(), f"{what}: the trees differ: {sorted(a)} vs {sorted(b)}"
    for path in a:
        assert a[path].dtype == b[path].dtype and a[path].shape == b[path].shape, (what, path)
        np.testing.assert_array_equal(a[path], b[path], err_msg=f"{what} {path}")


def test_every_layer_has_a_case() -> None:
    exported = {
        name
        for name in mnn.__all__
        if inspect.isclass(getattr(mnn, name)) and issubclass(getattr(mnn, name), mnn.Module)
    }
    covered = {case.layer for case in CASES}
    assert exported - ABSTRACT - {"Module"} <= covered, sorted(exported - ABSTRACT - covered)


def _case_id(case: Case) -> str:
    return f"{case.layer}-{CASES.index(case)}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("seed", SEEDS)
def test_init_and_train_apply_bitwise_equal_flax(case: Case, seed: int) -> None:
    ours, theirs = case.build(mnn), case.build(fnn)
    args = case.inputs(seed)
    key = jax.random.key(seed)
    ours_vars = ours.init(key, *args, **case.init_kwargs)
    theirs_vars = theirs.init(key, *args, **case.init_kwargs)
    assert_same(ours_vars, theirs_vars, "init")

    rngs = {"dropout": jax.random.key(seed + 1000)}
    kwargs = dict(case.apply_kwargs, rngs=rngs)
    if case.method:
        kwargs["method"] = case.method
    ours_out = ours.apply(ours_vars, *args, **kwargs)
    theirs_out = theirs.apply(theirs_vars, *args, **kwargs)
    assert_same(ours_out, theirs_out, "apply")


def test_one_key_for_init_seeds_dropout_too_as_flax() -> None:
    # A layer that draws dropout during init, given a single key: both seed every stream.
    ours = mnn.Sequential([mnn.Dense(4), mnn.Dropout(0.5, deterministic=False)])
    theirs = fnn.Sequential([fnn.Dense(4), fnn.Dropout(0.5, deterministic=False)])
    x = normal(0, (3, 4))
    (y_ours, v_ours), (y_theirs, v_theirs) = (
        ours.init_with_output(jax.random.key(3), x),
        theirs.init_with_output(jax.random.key(3), x),
    )
    assert_same(v_ours, v_theirs, "init")
    assert_same(y_ours, y_theirs, "init output")
    assert bool((y_ours == 0).any())  # dropout did draw


def test_jitted_init_and_apply_equal_eager_and_flax() -> None:
    case = CASES[0]
    x = case.inputs(0)
    ours = jax.jit(case.build(mnn).init)(jax.random.key(0), *x)
    theirs = case.build(fnn).init(jax.random.key(0), *x)
    assert_same(ours, theirs, "jitted init")


COMPLEX = {
    "Dense": {"features": 4},
    "DenseGeneral": {"features": (2, 2)},
    "Einsum": {"shape": (3, 4), "einsum_str": "btd,df->btf"},
    "Conv": {"features": 2, "kernel_size": (3,)},
    "ConvLocal": {"features": 2, "kernel_size": (2,)},
    "LayerNorm": {},
    "Embed": {"num_embeddings": 4, "features": 3},
}


@pytest.mark.parametrize("layer", list(COMPLEX))
def test_complex_param_dtype_bitwise_equal_flax(layer: str) -> None:
    # variance_scaling draws a complex kernel as jax does (modulus and angle)
    kwargs = dict(COMPLEX[layer], param_dtype=jnp.complex64)
    x = ids(0, (2, 3), 4) if layer == "Embed" else normal(0, (2, 5, 3))
    ours = getattr(mnn, layer)(**kwargs).init_with_output(jax.random.key(0), x)
    theirs = getattr(fnn, layer)(**kwargs).init_with_output(jax.random.key(0), x)
    assert_same(ours, theirs, "complex init")
    assert jax.tree.leaves(ours[1])[0].dtype == jnp.complex64
