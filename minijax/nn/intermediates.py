"""Values a module reports from inside a call: `sow`, `perturb`, `capture_intermediates`.

* `self.sow("intermediates", "h", h)` appends `h` to the collection `intermediates`
  (if the call made it mutable): `apply(..., mutable=["intermediates"])` returns
  every sown value, per module path, as a tuple (one entry per call).
* `self.perturb("h", h)` adds a zero variable `perturbations/<path>/h` to `h`, so that
  the gradient of the loss with respect to the perturbation *is* the gradient with
  respect to the intermediate value `h`.
* `apply(..., capture_intermediates=True)` sows the output of every `__call__`
  (`capture_intermediates` in `intercept.py`).

`Module` inherits `sow` and `perturb` from `Intermediates`. In flax these are
`Module.sow` and `Module.perturb` (`flax/linen/module.py`).

>>> import jax.numpy as jnp, minijax.nn as nn
>>> class Square(nn.Module):
...     def __call__(self, x):
...         self.sow("intermediates", "x", x)
...         return x * x
>>> Square().apply({}, 3.0, mutable=["intermediates"])
(9.0, {'intermediates': {'x': (3.0,)}})
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from minijax.nn import errors

__all__ = ["Intermediates"]


class Intermediates:
    """`sow` and `perturb`, the methods of `minijax.nn.Module` that report values.

    >>> hasattr(Intermediates, "sow"), hasattr(Intermediates, "perturb")
    (True, True)
    """

    def sow(self, col: str, name: str, value: Any,
            reduce_fn: Callable[[Any, Any], Any] = lambda xs, x: (*xs, x),
            init_fn: Callable[[], Any] = tuple) -> bool:
        """Store `reduce_fn(previous or init_fn(), value)` in `col/name` if `col` is mutable.

        Args:
            col: the collection, e.g. `"intermediates"`.
            name: the variable's name in this module.
            value: the value to store.
            reduce_fn: combines the stored value with the new one (default: append to
                a tuple).
            init_fn: the stored value before the first call (default: `()`).

        Returns:
            Whether the value was stored (False when `col` is not mutable).

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Probe(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         h = nn.Dense(2)(x)
        ...         self.sow("intermediates", "h", h)
        ...         return h.sum()
        >>> model, x = Probe(), jnp.ones((1, 3))
        >>> variables = model.init(jax.random.key(0), x)
        >>> y, state = model.apply(variables, x, mutable=["intermediates"])
        >>> [h.shape for h in state["intermediates"]["h"]]   # a tuple: one entry per call
        [(1, 2)]
        """
        scope = self._bound("store variables")  # type: ignore[attr-defined]
        if not scope.is_mutable_collection(col):
            return False
        if scope.has_variable(col, name):
            xs = scope.get_variable(col, name)
        else:
            scope.reserve(name, col)
            self._state.children[name] = col  # type: ignore[attr-defined]
            xs = init_fn()
        scope.put_variable(col, name, reduce_fn(xs, value))
        return True

    def perturb(self, name: str, value: Any, collection: str = "perturbations") -> Any:
        """`value + collection/name`, a variable created as zeros where `collection` is mutable.

        Take the gradient of the loss with respect to the `perturbations` collection
        to get the gradient with respect to `value`. If the variables passed to
        `apply` have no such collection, `value` is returned unchanged.

        Raises:
            ValueError: the collection was passed but lacks `name`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Model(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         h = self.perturb("h", nn.Dense(2, use_bias=False)(x))
        ...         return (h ** 2).sum()
        >>> model, x = Model(), jnp.ones((1, 3))
        >>> variables = model.init(jax.random.key(0), x)           # params and perturbations
        >>> grads = jax.grad(lambda v: model.apply(v, x))(variables)
        >>> h = nn.Dense(2, use_bias=False).apply({"params": variables["params"]["Dense_0"]}, x)
        >>> bool(jnp.allclose(grads["perturbations"]["h"], 2 * h))   # d(sum h^2)/dh = 2h
        True
        """
        scope = self._bound("store variables")  # type: ignore[attr-defined]
        if scope.is_mutable_collection(collection) and not scope.has_variable(collection, name):
            scope.reserve(name, collection)
            self._state.children[name] = collection  # type: ignore[attr-defined]
            scope.put_variable(collection, name, jax.tree.map(jnp.zeros_like, value))
        if collection in scope.store.variables:
            if not scope.has_variable(collection, name):
                raise errors.missing_perturbation(collection, name, scope.path)
            value = jax.tree.map(jnp.add, value, scope.get_variable(collection, name))
        return value
