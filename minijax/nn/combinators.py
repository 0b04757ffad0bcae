"""``Sequential`` (flax: ``flax/linen/combinators.py``) and ``MLP`` (minijax's own)."""

from collections.abc import Callable, Sequence
from typing import Any

from minijax.nn import initializers
from minijax.nn.activation import relu
from minijax.nn.linear import Dense, default_kernel_init
from minijax.nn.module import Module, compact

__all__ = ["MLP", "Sequential"]


class Sequential(Module):
    """Apply ``layers`` in order; a tuple output is splatted into the next layer's
    positional arguments, a dict into its keyword arguments (as flax).

    Layers may be modules or plain functions: ``Sequential([Dense(8), relu, Dense(1)])``.
    Modules passed this way are named after the field, ``layers_0``, ``layers_2``
    (the index in the list), as in flax.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn import Dense, relu
    >>> model = Sequential([Dense(8), relu, Dense(1)])
    >>> y, variables = model.init_with_output(jax.random.key(0), jnp.ones((2, 3)))
    >>> y.shape, list(variables["params"])
    ((2, 1), ['layers_0', 'layers_2'])
    """

    layers: Sequence[Callable[..., Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.layers, Sequence):
            raise ValueError(
                f"Sequential: 'layers' must be a sequence, got {type(self.layers).__name__!r}; "
                "pass a list or tuple of modules and functions."
            )
        super().__post_init__()

    @compact
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``layers[-1](...(layers[1](layers[0](*args, **kwargs))))``."""
        if not self.layers:
            raise ValueError(
                f"Empty Sequential module {self.name or '<unnamed>'}: it has no layers; pass "
                "at least one, e.g. Sequential([Dense(8), relu, Dense(1)])."
            )
        outputs = self.layers[0](*args, **kwargs)
        for layer in self.layers[1:]:
            if isinstance(outputs, tuple):
                outputs = layer(*outputs)
            elif isinstance(outputs, dict):
                outputs = layer(**outputs)
            else:
                outputs = layer(outputs)
        return outputs


class MLP(Module):
    """A stack of :class:`Dense` layers with ``activation`` between them (not in flax).

    ``MLP((12, 8, 4))`` is exactly the ``MLP`` of flax's tutorial: params
    ``Dense_0`` (in->12), ``Dense_1`` (12->8), ``Dense_2`` (8->4), ``relu`` after
    every layer but the last (``activate_final=True`` adds it there too).

    >>> import jax, jax.numpy as jnp
    >>> y, variables = MLP((12, 8, 4)).init_with_output(jax.random.key(0), jnp.ones((2, 3)))
    >>> y.shape, list(variables["params"])
    ((2, 4), ['Dense_0', 'Dense_1', 'Dense_2'])
    """

    features: Sequence[int]
    activation: Callable[..., Any] = relu
    activate_final: bool = False
    use_bias: bool = True
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros

    @compact
    def __call__(self, x: Any) -> Any:
        """``x -> Dense_0 -> activation -> Dense_1 -> ... -> Dense_{n-1}``."""
        for i, features in enumerate(self.features):
            x = Dense(
                features,
                use_bias=self.use_bias,
                kernel_init=self.kernel_init,
                bias_init=self.bias_init,
            )(x)
            if i < len(self.features) - 1 or self.activate_final:
                x = self.activation(x)
        return x
