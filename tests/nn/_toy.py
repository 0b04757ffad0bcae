"""Test-local layers for the module-system tests: they use only `self.param`/`make_rng`.

The module system is tested with these rather than with `nn.Dense` and friends, so
that a bug (or a course exercise's stub) in a library layer breaks only that layer's
tests. `toy_layers(nn)` builds them against any namespace with flax's Module API,
so the same classes run on `minijax.nn` and on `flax.linen` (the key-parity tests).
"""

from types import SimpleNamespace
from typing import Any

import jax
import jax.numpy as jnp


def toy_layers(nn: Any) -> SimpleNamespace:
    """`Affine`, `Scale`, `Noise` and `Counter`, written against the namespace `nn`."""

    class Affine(nn.Module):
        """`x @ w + b`; both params random, so each draws a key."""

        features: int

        @nn.compact
        def __call__(self, x: Any) -> Any:
            w = self.param("w", jax.nn.initializers.lecun_normal(),
                           (x.shape[-1], self.features))
            b = self.param("b", jax.nn.initializers.normal(1.0), (self.features,))
            return x @ w + b

    class Scale(nn.Module):
        """`x * s`, with `s` created in setup."""

        def setup(self) -> None:
            self.s = self.param("s", jax.nn.initializers.normal(1.0), ())

        def __call__(self, x: Any) -> Any:
            return x * self.s

    class Noise(nn.Module):
        """`x + N(0, 1)` noise from the `dropout` stream when `train`."""

        @nn.compact
        def __call__(self, x: Any, train: bool = True) -> Any:
            if not train:
                return x
            return x + jax.random.normal(self.make_rng("dropout"), jnp.shape(x))

    class Counter(nn.Module):
        """Counts its calls in the `counter` collection."""

        @nn.compact
        def __call__(self, x: Any) -> Any:
            n = self.variable("counter", "n", lambda: jnp.zeros((), jnp.int32))
            if not self.is_initializing():
                n.value = n.value + 1
            return x

    return SimpleNamespace(Affine=Affine, Scale=Scale, Noise=Noise, Counter=Counter)
