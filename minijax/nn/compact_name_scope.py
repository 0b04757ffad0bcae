"""`@nn.compact_name_scope`: a method that creates its submodules under its own name.

```python
class Foo(nn.Module):
    @nn.compact_name_scope
    def up(self, x):
        return nn.Dense(3)(x)          # params/up/Dense_0

    def __call__(self, x):
        return self.up(x)
```

When `Foo` is set up, each such method gets a child module named after it, a
`CompactNameScope`, whose `@compact` `__call__` runs the method's body with `self`
still being `Foo`: the body's inline submodules are named inside the child
(`up/Dense_0`), while `self.param` and the other methods are `Foo`'s. This is the
Haiku-style way to group layers by method. Such a method can be called from the
module's other methods or by `apply(..., method="up")`.

In flax this is `nn.compact_name_scope` and `CompactNameScope` (`flax/linen/module.py`).

>>> import jax, jax.numpy as jnp, minijax.nn as nn
>>> class Foo(nn.Module):
...     @nn.compact_name_scope
...     def up(self, x):
...         return nn.Dense(3)(x)
...     def __call__(self, x):
...         return self.up(x)
>>> sorted(Foo().init(jax.random.key(0), jnp.ones((1, 2)))["params"]["up"])
['Dense_0']
"""

import functools
import weakref
from collections.abc import Callable
from typing import Any

from minijax.nn import errors
from minijax.nn.module import Module, compact

__all__ = ["CompactNameScope", "compact_name_scope"]


class CompactNameScope(Module):
    """The child module of one `compact_name_scope` method.

    Attributes:
        fn: the method's function.
        module_fn: returns the module that owns the method (a weak reference to it).

    >>> issubclass(CompactNameScope, Module)
    True
    """

    fn: Callable[..., Any]
    module_fn: Callable[[], Module]

    @compact
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """`fn(owner, *args, **kwargs)`, with this child on the module stack."""
        return self.fn(self.module_fn(), *args, **kwargs)


def _make_scope(fun: Callable[..., Any], module: Module) -> None:
    """Create `module`'s child for `fun` (called at the end of the module's setup)."""
    owner: Callable[[], Module] = weakref.ref(module)  # type: ignore[assignment]
    child = CompactNameScope(fun, owner, name=fun.__name__, parent=module)
    module.__dict__.setdefault("_compact_name_scope_modules", {})[fun.__name__] = child


def compact_name_scope(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Make `fun` a method whose inline submodules are named under `fun.__name__`.

    Args:
        fun: a method of a `Module`.

    Returns:
        The method; calling it runs `fun` in its child `CompactNameScope`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class AutoEncoder(nn.Module):
    ...     @nn.compact_name_scope
    ...     def encode(self, x):
    ...         return nn.Dense(2)(x)
    ...     @nn.compact_name_scope
    ...     def decode(self, z):
    ...         return nn.Dense(4)(z)
    ...     def __call__(self, x):
    ...         return self.decode(self.encode(x))
    >>> model, x = AutoEncoder(), jnp.ones((1, 4))
    >>> variables = model.init(jax.random.key(0), x)
    >>> jax.tree.map(jnp.shape, variables["params"]["encode"])
    {'Dense_0': {'bias': (2,), 'kernel': (4, 2)}}
    >>> model.apply(variables, x, method="encode").shape   # one method on its own
    (1, 2)
    """

    @functools.wraps(fun)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> Any:
        self._try_setup()
        scopes = self.__dict__.get("_compact_name_scope_modules")
        if scopes is None:
            raise errors.unbound(type(self).__name__, f"call compact_name_scope method "
                                 f"{fun.__name__!r}")
        return scopes[fun.__name__](*args, **kwargs)

    wrapper.compact_name_scope = True  # type: ignore[attr-defined]
    wrapper.nowrap = True  # type: ignore[attr-defined]
    wrapper.make_scope = functools.partial(_make_scope, fun)  # type: ignore[attr-defined]
    return wrapper
