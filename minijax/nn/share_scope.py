"""`nn.share_scope(module, other)`: two modules, one scope (one set of variables).

A wrapper module can share its scope with the module it wraps, so that the
wrapper's own params sit next to the wrapped module's instead of one level down:

```python
class DenseLoRA(nn.Module):
    inner: nn.Dense
    rank: int

    def setup(self):
        nn.share_scope(self, self.inner)     # kernel, bias, A, B all at one path

    @nn.compact
    def __call__(self, x):
        A = self.param("A", nn.initializers.zeros, (x.shape[-1], self.rank))
        B = self.param("B", nn.initializers.zeros, (self.rank, self.inner.features))
        return self.inner(x) + x @ A @ B
```

If `other`'s scope is a child of `module`'s (the usual case: `other` is a submodule),
`other` takes `module`'s scope; otherwise `module` takes `other`'s. The children
already bound below the module that moves are moved with it: their scopes get the
new parent, so their variables follow (their rng keys stay those of their first
path, as in flax).

In flax this is `nn.share_scope` (`flax/linen/module.py`).

>>> import jax, jax.numpy as jnp, minijax.nn as nn
>>> class Wrapper(nn.Module):
...     inner: nn.Module
...     def setup(self):
...         nn.share_scope(self, self.inner)
...     def __call__(self, x):
...         return self.inner(x)
>>> sorted(Wrapper(nn.Dense(2)).init(jax.random.key(0), jnp.ones((1, 3)))["params"])
['bias', 'kernel']
"""

from minijax.nn import errors
from minijax.nn.module import Module
from minijax.nn.scope import Scope

__all__ = ["share_scope"]


def _is_below(scope: Scope, other: Scope) -> bool:
    node: Scope | None = other
    while node is not None:
        if node is scope:
            return True
        node = node.parent
    return False


def share_scope(module: Module, other: Module, /) -> None:
    """Make `module` and `other` use one scope (see the module docstring).

    Args:
        module: a bound module, usually the wrapper (call this in its `setup`).
        other: a bound module, usually the wrapped submodule.

    Raises:
        CallShareScopeOnUnboundModuleError: one of them is not bound.

    A LoRA wrapper whose `A` sits next to the wrapped `Dense`'s kernel:

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class LoRA(nn.Module):
    ...     inner: nn.Dense
    ...     def setup(self):
    ...         nn.share_scope(self, self.inner)
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         a = self.param("A", nn.initializers.zeros, (x.shape[-1], self.inner.features))
    ...         return self.inner(x) + x @ a
    >>> params = LoRA(nn.Dense(2)).init(jax.random.key(0), jnp.ones((1, 3)))["params"]
    >>> {name: params[name].shape for name in sorted(params)}   # not params["inner"]["kernel"]
    {'A': (3, 2), 'bias': (2,), 'kernel': (3, 2)}
    """
    if module.scope is None or other.scope is None:
        raise errors.unbound(type(module).__name__, "call share_scope",
                             errors.CallShareScopeOnUnboundModuleError)
    if _is_below(module.scope, other.scope):
        moving, new = other, module.scope
    else:
        moving, new = module, other.scope
    old = moving.scope
    assert old is not None
    object.__setattr__(moving, "scope", new)
    for child in moving._state.children.values():
        scope = getattr(child, "scope", None)
        if isinstance(child, Module) and scope is not None and scope.parent is not None \
                and scope.parent.path == old.path and scope.parent.store is old.store:
            new.reserve(scope.name)
            scope.parent = new
