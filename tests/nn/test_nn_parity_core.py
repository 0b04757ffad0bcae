"""The same numbers as flax.linen: the module system's key plumbing, bitwise.

Each model is written once against a module namespace `nn` and built twice, with
`flax.linen` and with `minijax.nn`. `init` with the same key must give bitwise-equal
variables in the same tree structure (for several seeds), and a train-mode `apply`
with the same `dropout` key bitwise-equal outputs. The models cover the corners of
flax's key recipe: compact and setup submodules, lists of submodules, a module called
twice, a module object shared by two parents, submodules passed as fields,
`share_scope`, `compact_name_scope`, a single key seeding every stream, and the
per-module draw counters that carry on across calls.

The per-layer bitwise tests of every layer are in `test_nn_parity_layers.py`; here the
library layers appear only inside whole models.
"""

from collections.abc import Callable
from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _toy import toy_layers

import minijax.nn as mnn

pytestmark = pytest.mark.parity

SEEDS = (0, 1, 7)
X = jnp.asarray(np.random.default_rng(0).standard_normal((4, 6)), jnp.float32)


def assert_bitwise(mine: Any, theirs: Any) -> None:
    """Same tree structure and bitwise-equal leaves (a plain-dict view of both)."""
    assert jax.tree.structure(mine) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def check_init(build: Callable[[Any], Any], *args: Any, seeds: tuple[int, ...] = SEEDS,
               **kwargs: Any) -> tuple[Any, Any]:
    """`init` with each seed gives the same variables in both libraries."""
    flax_model, mini_model = build(fnn), build(mnn)
    for seed in seeds:
        key = jax.random.key(seed)
        theirs = flax_model.init(key, *args, **kwargs)
        mine = mini_model.init(key, *args, **kwargs)
        assert_bitwise(mine, theirs)
    return flax_model, mini_model


# --- models with library layers ------------------------------------------------------


def mlp(nn: Any) -> Any:
    class MLP(nn.Module):
        features: tuple[int, ...]

        @nn.compact
        def __call__(self, x: Any) -> Any:
            for f in self.features[:-1]:
                x = nn.relu(nn.Dense(f)(x))
            return nn.Dense(self.features[-1])(x)

    return MLP((5, 4, 3))


def cnn(nn: Any) -> Any:
    class CNN(nn.Module):
        @nn.compact
        def __call__(self, x: Any, train: bool) -> Any:
            x = nn.Conv(4, (3, 3))(x)
            x = nn.BatchNorm(use_running_average=not train)(x)
            x = nn.relu(x)
            x = nn.avg_pool(x, (2, 2), strides=(2, 2))
            x = x.reshape((x.shape[0], -1))
            x = nn.Dropout(0.5, deterministic=not train)(x)
            return nn.Dense(3)(x)

    return CNN()


def autoencoder(nn: Any) -> Any:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return nn.Dense(2)(nn.relu(nn.Dense(4)(x)))

    class AutoEncoder(nn.Module):
        def setup(self) -> None:
            self.encoder = Encoder()
            self.decoder = [nn.Dense(4), nn.Dense(6)]

        def encode(self, x: Any) -> Any:
            return self.encoder(x)

        def decode(self, z: Any) -> Any:
            return self.decoder[1](nn.relu(self.decoder[0](z)))

        def __call__(self, x: Any) -> Any:
            return self.decode(self.encode(x))

    return AutoEncoder()


def embed_attention(nn: Any) -> Any:
    class Tiny(nn.Module):
        @nn.compact
        def __call__(self, ids: Any, train: bool) -> Any:
            x = nn.Embed(10, 8)(ids)
            x = nn.MultiHeadDotProductAttention(
                num_heads=2, dropout_rate=0.3, deterministic=not train)(x)
            return nn.LayerNorm()(x)

    return Tiny()


def test_mlp_init_bitwise() -> None:
    check_init(mlp, X)


def test_cnn_with_batchnorm_init_and_train_step_bitwise() -> None:
    x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 6, 6, 1)), jnp.float32)
    f, m = check_init(cnn, x, train=False)
    variables = f.init(jax.random.key(0), x, train=False)
    rngs = {"dropout": jax.random.key(5)}
    theirs = f.apply(variables, x, train=True, rngs=rngs, mutable=["batch_stats"])
    mine = m.apply(variables, x, train=True, rngs=rngs, mutable=["batch_stats"])
    assert_bitwise(mine, theirs)


def test_autoencoder_in_setup_init_and_methods_bitwise() -> None:
    f, m = check_init(autoencoder, X)
    variables = f.init(jax.random.key(0), X)
    assert_bitwise(m.init(jax.random.key(3), X, method="encode"),
                   f.init(jax.random.key(3), X, method="encode"))
    assert_bitwise(m.apply(variables, X, method=m.encode), f.apply(variables, X, method=f.encode))


def test_embed_and_self_attention_init_and_dropout_bitwise() -> None:
    ids = jnp.array([[1, 4, 0], [3, 3, 9]])
    f, m = check_init(embed_attention, ids, train=False)
    variables = f.init(jax.random.key(0), ids, train=False)
    for seed in SEEDS:
        rngs = {"dropout": jax.random.key(seed)}
        assert_bitwise(m.apply(variables, ids, train=True, rngs=rngs),
                       f.apply(variables, ids, train=True, rngs=rngs))


# --- key plumbing, with test-local layers -------------------------------------------


def nested(nn: Any) -> Any:
    toy = toy_layers(nn)

    class Inner(nn.Module):  # setup inside compact inside setup
        def setup(self) -> None:
            self.scale = toy.Scale()
            self.blocks = {"a": toy.Affine(3), "b": toy.Affine(3)}

        def __call__(self, x: Any) -> Any:
            return self.scale(self.blocks["b"](self.blocks["a"](x)))

    class Middle(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            x = Inner()(x)
            x = toy.Affine(3, name="named")(x)
            return toy.Noise()(Inner()(x))

    class Outer(nn.Module):
        def setup(self) -> None:
            self.middle = Middle()
            self.head = toy.Affine(2)

        def __call__(self, x: Any) -> Any:
            return self.head(self.middle(x))

    return Outer()


def shared(nn: Any) -> Any:
    toy = toy_layers(nn)

    class Twice(nn.Module):  # one module object called twice, and a draw per call
        @nn.compact
        def __call__(self, x: Any) -> Any:
            layer, noise = toy.Affine(6), toy.Noise()
            return noise(layer(noise(layer(x))))

    class Unshared(nn.Module):
        shared: Any

        def __call__(self, x: Any) -> Any:
            return self.shared(x)

    class Super(nn.Module):  # one instance given to two parents: bound under the first
        a: Any
        b: Any

        def run_b(self, x: Any) -> Any:
            return self.b(x)

        @nn.compact
        def __call__(self, x: Any) -> Any:
            return self.a(x) + self.b(x) + Twice()(x)

    sh = toy.Affine(6)
    return Super(a=Unshared(sh), b=Unshared(sh))


def scopes(nn: Any) -> Any:
    toy = toy_layers(nn)

    class LoRA(nn.Module):
        inner: Any

        def setup(self) -> None:
            nn.share_scope(self, self.inner)

        @nn.compact
        def __call__(self, x: Any) -> Any:
            a = self.param("A", jax.nn.initializers.normal(1.0), (x.shape[-1], 2))
            return self.inner(x) + x @ a @ jnp.ones((2, 3))

    class Grouped(nn.Module):
        @nn.compact_name_scope
        def up(self, x: Any) -> Any:
            return toy.Affine(3)(x)

        @nn.compact
        def __call__(self, x: Any) -> Any:
            return self.up(x) + toy.Affine(3)(x) + LoRA(toy.Affine(3))(x)

    return Grouped()


@pytest.mark.parametrize("build", [nested, shared, scopes], ids=["nested", "shared", "scopes"])
def test_key_plumbing_init_bitwise(build: Callable[[Any], Any]) -> None:
    check_init(build, X)


def test_shared_submodule_called_through_second_parent() -> None:
    f, m = shared(fnn), shared(mnn)
    variables = f.init(jax.random.key(0), X)
    assert "b" not in variables["params"] and "shared" in variables["params"]["a"]
    rngs = {"dropout": jax.random.key(1)}
    assert_bitwise(m.apply(variables, X, method="run_b", rngs=rngs),
                   f.apply(variables, X, method="run_b", rngs=rngs))


def test_one_key_seeds_every_stream_at_init_and_apply() -> None:
    """A lone key is the `params` stream, and streams that were not passed fall back to it."""
    f, m = nested(fnn), nested(mnn)
    key = jax.random.key(2)
    assert_bitwise(m.init(key, X), f.init(key, X))  # Noise draws 'dropout' from 'params'
    variables = f.init(key, X)
    assert_bitwise(m.apply(variables, X, rngs=key), f.apply(variables, X, rngs=key))
    both = {"params": key, "dropout": jax.random.key(3)}
    assert_bitwise(m.apply(variables, X, rngs=both), f.apply(variables, X, rngs=both))


def test_draw_counters_carry_on_across_calls_and_apply_calls() -> None:
    """Twice's Noise draws keys 1 and 2 in one call; a new apply starts again from 1."""
    f, m = shared(fnn), shared(mnn)
    variables = f.init(jax.random.key(0), X)
    rngs = {"dropout": jax.random.key(4)}
    y1, y2 = m.apply(variables, X, rngs=rngs), m.apply(variables, X, rngs=rngs)
    np.testing.assert_array_equal(y1, y2)
    assert_bitwise(y1, f.apply(variables, X, rngs=rngs))
