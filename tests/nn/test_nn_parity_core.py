"""Parity with flax.linen: same variable trees, flax's variables load, same outputs.

Each model is written once against a module namespace ``nn`` and built twice, with
``flax.linen`` and with ``minijax.nn``; flax initialises, both apply flax's variables.
The tutorial programs are those of the blog post "getting started with Flax",
unchanged but for the import.
"""

from collections.abc import Sequence
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as mnn

pytestmark = pytest.mark.parity

KEY = jax.random.key(0)
X = jax.random.normal(jax.random.key(1), (6, 5))


def layout(tree: Any) -> Any:
    return jax.tree.map(lambda a: (a.shape, a.dtype), tree)


def assert_close(a: Any, b: Any, tol: float = 1e-6) -> None:
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=tol, atol=tol), a, b)


def check(build: Any, *args: Any, rngs: Any = KEY, **kwargs: Any) -> tuple[Any, Any]:
    """Build with both libraries: equal layouts at init; equal outputs on flax's variables."""
    flax_model, mini_model = build(fnn), build(mnn)
    fv = flax_model.init(rngs, *args, **kwargs)
    mv = mini_model.init(rngs, *args, **kwargs)
    assert layout(mv) == layout(fv)
    assert jax.tree.structure(mv) == jax.tree.structure(fv)
    assert_close(mini_model.apply(fv, *args, **kwargs), flax_model.apply(fv, *args, **kwargs))
    return flax_model, mini_model


# --- single layers -------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [{}, {"use_bias": False}, {"param_dtype": jnp.bfloat16}, {"dtype": jnp.bfloat16}],
    ids=["default", "no_bias", "bf16_params", "bf16_compute"],
)
def test_dense(config: dict[str, Any]) -> None:
    f, m = check(lambda nn: nn.Dense(7, **config), X)
    x3 = jax.random.normal(KEY, (2, 3, 5))
    fv = f.init(KEY, x3)
    tol = 1e-2 if config else 1e-6
    assert_close(m.apply(fv, x3), f.apply(fv, x3), tol)


def test_embed_and_attend() -> None:
    ids = jnp.array([[1, 4, 0], [3, 3, 2]])
    f, m = check(lambda nn: nn.Embed(num_embeddings=5, features=4), ids)
    fv = f.init(KEY, ids)
    q = jax.random.normal(KEY, (2, 4))
    assert_close(m.apply(fv, q, method="attend"), f.apply(fv, q, method="attend"))
    assert_close(m.apply(fv, q, method=m.attend), f.apply(fv, q, method=f.attend))


@pytest.mark.parametrize("axis,momentum", [(-1, 0.99), (1, 0.9), ((1, 2), 0.99)])
def test_batchnorm_train_eval_and_stats(axis: Any, momentum: float) -> None:
    x = jax.random.normal(KEY, (8, 3, 4)) * 3 + 2

    def build(nn: Any) -> Any:
        return nn.BatchNorm(axis=axis, momentum=momentum)

    f, m = build(fnn), build(mnn)
    fv = f.init(KEY, x, use_running_average=False)
    assert layout(m.init(KEY, x, use_running_average=False)) == layout(fv)
    assert_close(m.init(KEY, x, use_running_average=False), fv)  # no update at init
    fy, fupd = f.apply(fv, x, use_running_average=False, mutable=["batch_stats"])
    my, mupd = m.apply(fv, x, use_running_average=False, mutable=["batch_stats"])
    assert_close(my, fy, 1e-5)
    assert_close(mupd, fupd)
    # eval with the updated statistics
    fv2 = {"params": fv["params"], **fupd}
    assert_close(m.apply(fv2, x, use_running_average=True),
                 f.apply(fv2, x, use_running_average=True), 1e-5)


def test_dropout_statistics_and_deterministic() -> None:
    x = jnp.ones((100, 100))
    check(lambda nn: nn.Dropout(0.3, deterministic=True), x)
    rngs = {"dropout": KEY}
    fy = fnn.Dropout(0.3).apply({}, x, deterministic=False, rngs=rngs)
    my = mnn.Dropout(0.3).apply({}, x, deterministic=False, rngs=rngs)
    # the masks differ (flax derives its keys differently); the law is the same
    for y in (fy, my):
        assert abs(float(jnp.mean(y == 0)) - 0.3) < 0.02
        np.testing.assert_allclose(np.unique(np.asarray(y)), [0.0, 1 / 0.7], rtol=1e-6)
    for rate in (0.0, 1.0):
        assert_close(mnn.Dropout(rate).apply({}, x, deterministic=False, rngs=rngs),
                     fnn.Dropout(rate).apply({}, x, deterministic=False, rngs=rngs))
    # an explicit rng is used as is: then the masks agree
    assert_close(
        mnn.Dropout(0.3).apply({}, x, False, KEY), fnn.Dropout(0.3).apply({}, x, False, KEY)
    )


def test_sequential() -> None:
    check(lambda nn: nn.Sequential([nn.Dense(4), nn.relu, nn.Dense(3), nn.gelu]), X)


def test_activations_in_a_model() -> None:
    names = ["relu", "gelu", "silu", "swish", "tanh", "sigmoid", "softmax", "log_softmax",
             "elu", "leaky_relu", "softplus"]
    for name in names:
        fy, my = getattr(fnn, name)(X), getattr(mnn, name)(X)
        assert_close(my, fy)


# --- the tutorial programs ("getting started with Flax") -------------------------------


def tutorial_models(nn: Any) -> tuple[Any, Any, Any]:
    class Module(nn.Module):  # "a simple example", setup style
        features: tuple[int, ...] = (16, 4)

        def setup(self) -> None:
            self.dense1 = nn.Dense(self.features[0])
            self.dense2 = nn.Dense(self.features[1])

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.dense2(nn.relu(self.dense1(x)))

    class MLP(nn.Module):
        features: Sequence[int]

        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            for feat in self.features[:-1]:
                x = nn.relu(nn.Dense(feat)(x))
            x = nn.Dense(self.features[-1])(x)
            return x

    class AutoEncoder(nn.Module):
        encoder_widths: Sequence[int]
        decoder_widths: Sequence[int]
        input_shape: Sequence[int]

        def setup(self) -> None:
            input_dim = jnp.prod(jnp.asarray(self.input_shape))
            self.encoder = MLP(self.encoder_widths)
            self.decoder = MLP(self.decoder_widths + (input_dim,))  # noqa: RUF005 (as the seed)

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.decode(self.encode(x))

        def encode(self, x):  # type: ignore[no-untyped-def]
            assert x.shape[1:] == self.input_shape
            return self.encoder(jnp.reshape(x, (x.shape[0], -1)))

        def decode(self, z):  # type: ignore[no-untyped-def]
            z = self.decoder(z)
            x = nn.sigmoid(z)
            x = jnp.reshape(x, (x.shape[0], *self.input_shape))
            return x

    return Module, MLP, AutoEncoder


def test_tutorial_simple_setup_module() -> None:
    check(lambda nn: tutorial_models(nn)[0](), X)


def test_tutorial_mlp_12_8_4() -> None:
    batch = jnp.ones((32, 10))
    f, _ = check(lambda nn: tutorial_models(nn)[1]([12, 8, 4]), batch, rngs=jax.random.PRNGKey(0))
    variables = f.init(jax.random.PRNGKey(0), batch)
    assert set(variables["params"]) == {"Dense_0", "Dense_1", "Dense_2"}
    # minijax's own MLP has the same layout
    assert layout(mnn.MLP((12, 8, 4)).init(KEY, batch)) == layout(variables)
    assert_close(mnn.MLP((12, 8, 4)).apply(variables, batch), f.apply(variables, batch))


def test_tutorial_autoencoder_with_methods() -> None:
    def build(nn: Any) -> Any:
        return tutorial_models(nn)[2](
            encoder_widths=[20, 10, 5], decoder_widths=[5, 10, 20], input_shape=(12,)
        )

    batch = jax.random.uniform(KEY, (16, 12))
    f, m = check(build, batch, rngs=jax.random.PRNGKey(0))
    variables = f.init(jax.random.PRNGKey(0), batch)
    fe = f.apply(variables, batch, method=f.encode)
    me = m.apply(variables, batch, method=m.encode)
    assert_close(me, fe)
    assert_close(m.apply(variables, me, method=m.decode), f.apply(variables, fe, method=f.decode))


def test_setup_and_compact_with_batchnorm_and_dropout() -> None:
    def build(nn: Any) -> Any:
        class Net(nn.Module):
            @nn.compact
            def __call__(self, x, train: bool):  # type: ignore[no-untyped-def]
                x = nn.Dense(8)(x)
                x = nn.BatchNorm(use_running_average=not train)(x)
                x = nn.Dropout(0.5, deterministic=not train)(x)
                return nn.Dense(2)(nn.relu(x))

        return Net()

    f, m = check(build, X, train=False)
    fv = f.init(KEY, X, train=False)
    _, fupd = f.apply(fv, X, train=True, rngs={"dropout": KEY}, mutable=["batch_stats"])
    _, mupd = m.apply(fv, X, train=True, rngs={"dropout": KEY}, mutable=["batch_stats"])
    assert_close(mupd, fupd)  # the statistics do not depend on the dropout mask
