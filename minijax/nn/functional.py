"""A module as pure functions: `init`, `apply`, `bind`, and their function forms.

Every entry point does the same three steps:

1. make a root `Scope` with the variables (`{}` for `init`), the rng streams and the
   collections that may be written (`mutable`);
2. bind a clone of the module to it (`module.clone(parent=scope, _deep_clone=True)`)
   and call the method (`__call__`, or `method=`);
3. return the output and the mutable collections, and end the scope: the store is
   private to the call, so `init` and `apply` are pure functions of
   `(variables, rngs, inputs)`, and `jax.jit`, `grad`, `vmap` and `lax.scan` of them
   just work.

`bind` keeps the bound clone for interactive use instead of ending the scope.

`Module` inherits these methods from `InitApply`; `init`, `apply` and
`init_with_output` below are flax's function forms (`nn.apply(fn, module)`), where
`fn(bound_module, *args)` may be any function, not only a method.

In flax this is `Module.init` / `apply` / `bind` in `flax/linen/module.py`, over
`core.init` and `core.apply` in `flax/core/scope.py`.

>>> import jax, jax.numpy as jnp, minijax.nn as nn
>>> model = nn.Dense(2)
>>> variables = model.init(jax.random.key(0), jnp.ones((1, 3)))
>>> model.apply(variables, jnp.ones((1, 3))).shape
(1, 2)
"""

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from minijax import config
from minijax.core import freeze
from minijax.nn import errors, summary
from minijax.nn.filters import INIT_MUTABLE, CollectionFilter, union_filters
from minijax.nn.intercept import capture_intermediates as capturing
from minijax.nn.lazy_init import lazy_init
from minijax.nn.scope import Scope

__all__ = ["InitApply", "apply", "init", "init_with_output"]

M = TypeVar("M", bound="InitApply")


def _check_module(module: Any, call: str) -> None:
    if not isinstance(module, InitApply):
        raise errors.not_a_module(module, call)
    if "_id" not in module.__dict__:
        raise errors.post_init_not_called(type(module).__name__)


class InitApply:
    """The entry points of `minijax.nn.Module`: `init`, `apply`, `bind`, `tabulate`, ...

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> bound = nn.Dense(2).bind(nn.Dense(2).init(jax.random.key(0), jnp.ones((1, 3))))
    >>> sorted(bound.variables["params"])
    ['bias', 'kernel']
    """

    def _method(self, method: Any) -> Callable[..., Any]:
        """`method=` as a function of the module: a name, a (bound) method, or a function."""
        if isinstance(method, str):
            attr, method = method, getattr(self, method)
            if isinstance(method, InitApply):  # a submodule: call it
                return lambda module, *args, **kwargs: getattr(module, attr)(*args, **kwargs)
            if not callable(method):
                raise TypeError(f"'{type(self).__name__}.{attr}' must be a callable, got "
                                f"{type(method)}. Pass the name of a method.")
        elif method is None:
            method = self.__call__  # type: ignore[operator]
        if inspect.ismethod(method) and isinstance(method.__self__, InitApply):
            method = method.__func__
        if not callable(method) or not inspect.signature(method).parameters:
            raise errors.invalid_method(method)
        return method  # type: ignore[no-any-return]

    def _run(self, method: Any, variables: Mapping[str, Any], rngs: Any,
             mutable: CollectionFilter, flags: dict[str, Any], capture: Any,
             args: tuple[Any, ...], kwargs: Any) -> tuple[Any, Any]:
        """Steps 1-3 of the module docstring."""
        fun = self._method(method)
        rngs = rngs if rngs is None or isinstance(rngs, Mapping) else {"params": rngs}
        scope = Scope(variables, rngs, mutable=mutable, flags=flags)
        try:
            with capturing(capture):
                y = fun(self.clone(parent=scope, _deep_clone=True), *args, **kwargs)  # type: ignore
            updates = scope.mutable_variables()
            return y, freeze(updates) if config.return_frozendict else updates
        finally:
            scope.store.invalidate()

    def init_with_output(self, rngs: Any, *args: Any, method: Any = None,
                         mutable: CollectionFilter = INIT_MUTABLE,
                         capture_intermediates: Any = False, **kwargs: Any) -> tuple[Any, Any]:
        """`(output, variables)` of a first call that creates every variable.

        Args:
            rngs: a key (the `params` stream, which also feeds every stream that was
                not passed), an int seed, or `{stream: key}`.
            *args: the method's arguments.
            method: `None` (`__call__`), a method, its name, or `fn(module, *args)`.
            mutable: the collections to create and return (all but `intermediates`).
            capture_intermediates: True (every `__call__` output) or a filter
                `fn(module, method_name)`: sow outputs in `intermediates`.
            **kwargs: the method's keyword arguments.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> y, variables = nn.Dense(2).init_with_output(jax.random.key(0), jnp.ones((1, 3)))
        >>> y.shape, jax.tree.map(jnp.shape, variables)
        ((1, 2), {'params': {'bias': (2,), 'kernel': (3, 2)}})
        """
        _check_module(self, "init_with_output")
        errors.check_rngs(rngs, type(self).__name__, "init")
        if capture_intermediates:
            mutable = union_filters(mutable, "intermediates")
        return self._run(method, {}, rngs, mutable, {"initializing": True},
                         capture_intermediates, args, kwargs)

    def init(self, rngs: Any, *args: Any, method: Any = None,
             mutable: CollectionFilter = INIT_MUTABLE,
             capture_intermediates: Any = False, **kwargs: Any) -> Any:
        """The variables a first call creates: `{"params": {...}, "batch_stats": ...}`.

        Arguments as `init_with_output`. In flax: `Module.init`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> model = nn.Dense(2)
        >>> variables = model.init(jax.random.key(0), jnp.ones((1, 3)))   # shapes from x
        >>> jax.tree.map(jnp.shape, variables)
        {'params': {'bias': (2,), 'kernel': (3, 2)}}
        >>> same = model.init(jax.random.key(0), jnp.ones((1, 3)))        # same key, same numbers
        >>> bool((same["params"]["kernel"] == variables["params"]["kernel"]).all())
        True
        """
        _check_module(self, "init")
        return self.init_with_output(rngs, *args, method=method, mutable=mutable,
                                     capture_intermediates=capture_intermediates, **kwargs)[1]

    def lazy_init(self, rngs: Any, *args: Any, method: Any = None,
                  mutable: CollectionFilter = INIT_MUTABLE, **kwargs: Any) -> Any:
        """`init` from input shapes: pass `jax.ShapeDtypeStruct`s; nothing runs on them.

        Raises:
            LazyInitError: a variable depends on an input given only by its shape.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> x = jax.ShapeDtypeStruct((1, 3), jnp.float32)       # no array, only a shape
        >>> variables = nn.Dense(2).lazy_init(jax.random.key(0), x)
        >>> variables["params"]["kernel"].shape
        (3, 2)
        """
        _check_module(self, "lazy_init")
        return lazy_init(lambda r, *a, **k: self.init(r, *a, method=method, mutable=mutable,
                                                      **k))(rngs, *args, **kwargs)

    def apply(self, variables: Mapping[str, Any], *args: Any, rngs: Any = None,
              method: Any = None, mutable: CollectionFilter = False,
              capture_intermediates: Any = False, **kwargs: Any) -> Any:
        """Run `method` (default `__call__`) with `variables`.

        Args:
            variables: `{collection: {...}}`, as `init` returned them.
            *args: the method's arguments.
            rngs: a key or `{stream: key}` for the streams the call draws from.
            method: as in `init_with_output`.
            mutable: the collections that may be written and are returned.
            capture_intermediates: as in `init_with_output`.
            **kwargs: the method's keyword arguments.

        Returns:
            The output, or `(output, {collection: ...})` when `mutable` is not False.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> model = nn.Dense(1, use_bias=False)
        >>> model.apply({"params": {"kernel": jnp.array([[1.0], [2.0]])}}, jnp.array([[3.0, 4.0]]))
        Array([[11.]], dtype=float32)
        >>> model.apply({"kernel": jnp.ones((2, 1))}, jnp.ones((1, 2)))   # params alone
        Traceback (most recent call last):
        minijax.nn.errors.ApplyScopeInvalidVariablesTypeError: variables["kernel"] is ..., not
        a dict: ... If you passed the params alone, pass {'params': params} instead.
        """
        _check_module(self, "apply")
        errors.check_variables(variables)
        if rngs is not None:
            errors.check_rngs(rngs, type(self).__name__, "apply")
        if capture_intermediates:
            mutable = union_filters(mutable, "intermediates")
        y, updates = self._run(method, variables, rngs, mutable, {}, capture_intermediates,
                               args, kwargs)
        return (y, updates) if mutable is not False else y

    def bind(self: M, variables: Mapping[str, Any], *args: Any, rngs: Any = None,
             mutable: CollectionFilter = False) -> M:
        """A bound copy for interactive use: `model.bind(variables).encoder(x)`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class AutoEncoder(nn.Module):
        ...     def setup(self):
        ...         self.encoder, self.decoder = nn.Dense(2), nn.Dense(3)
        ...     def __call__(self, x):
        ...         return self.decoder(self.encoder(x))
        >>> variables = AutoEncoder().init(jax.random.key(0), jnp.ones((1, 3)))
        >>> AutoEncoder().bind(variables).encoder(jnp.ones((1, 3))).shape   # one submodule
        (1, 2)
        """
        _check_module(self, "bind")
        errors.check_variables(variables)
        if rngs is not None:
            errors.check_rngs(rngs, type(self).__name__, "bind")
            rngs = rngs if isinstance(rngs, Mapping) else {"params": rngs}
        scope = Scope(variables, rngs, mutable=mutable)
        return self.clone(parent=scope, _deep_clone=True)  # type: ignore[attr-defined,no-any-return]

    def unbind(self: M) -> tuple[M, dict[str, Any]]:
        """`(an unbound copy, its variables)`: e.g. a `setup` submodule taken out alone.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class AutoEncoder(nn.Module):
        ...     def setup(self):
        ...         self.encoder, self.decoder = nn.Dense(2), nn.Dense(3)
        ...     def __call__(self, x):
        ...         return self.decoder(self.encoder(x))
        >>> variables = AutoEncoder().init(jax.random.key(0), jnp.ones((1, 3)))
        >>> encoder, encoder_vars = AutoEncoder().bind(variables).encoder.unbind()
        >>> encoder, encoder.apply(encoder_vars, jnp.ones((1, 3))).shape   # transfer learning
        (Dense(
            # attributes
            features = 2
            ...
        ), (1, 2))
        """
        if getattr(self, "scope", None) is None:
            raise errors.unbound(type(self).__name__, "unbind",
                                 errors.CallUnbindOnUnboundModuleError)
        copy = self.clone(_deep_clone=True, _reset_names=True, name=None)  # type: ignore
        return copy, self.variables  # type: ignore[attr-defined]

    def tabulate(self, rngs: Any, *args: Any, depth: int | None = None,
                 show_repeated: bool = False,
                 mutable: CollectionFilter = INIT_MUTABLE,
                 console_kwargs: Mapping[str, Any] | None = None,
                 table_kwargs: Mapping[str, Any] | None = None,
                 column_kwargs: Mapping[str, Any] | None = None,
                 compute_flops: bool = False, compute_vjp_flops: bool = False,
                 **kwargs: Any) -> str:
        """A text table of every module call: path, inputs, outputs, variables.

        See `minijax.nn.summary.tabulate` for the arguments.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> table = nn.Dense(2).tabulate(jax.random.key(0), jnp.ones((1, 3)))
        >>> "Dense" in table and "params" in table and "8 (32 B)" in table   # 6 + 2 params
        True
        """
        return summary.tabulate(
            self, rngs, depth=depth, show_repeated=show_repeated, mutable=mutable,
            console_kwargs=console_kwargs, table_kwargs=table_kwargs,
            column_kwargs=column_kwargs, compute_flops=compute_flops,
            compute_vjp_flops=compute_vjp_flops)(*args, **kwargs)

    def module_paths(self, rngs: Any, *args: Any, show_repeated: bool = False,
                     mutable: CollectionFilter = INIT_MUTABLE,
                     **kwargs: Any) -> dict[str, Any]:
        """`{"Bar_0/Dense_1": unbound copy, ...}` of every module a call of `init` uses.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> paths = nn.MLP([4, 2]).module_paths(jax.random.key(0), jnp.ones((1, 3)))
        >>> list(paths)
        ['', 'Dense_0', 'Dense_1']
        >>> paths["Dense_1"].features
        2
        """
        table = summary._get_module_table(self, None, show_repeated, False, False)(
            rngs, *args, mutable=mutable, **kwargs)
        return {"/".join(row.path): row.module_copy for row in table}


def init_with_output(fn: Callable[..., Any], module: InitApply,
                     mutable: CollectionFilter = INIT_MUTABLE,
                     capture_intermediates: Any = False) -> Callable[..., tuple[Any, Any]]:
    """`(rngs, *args) -> (fn(bound module, *args), variables)` (in flax: `nn.init_with_output`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> y, v = init_with_output(lambda m, x: m(x), nn.Dense(2))(jax.random.key(0), jnp.ones(3))
    >>> y.shape
    (2,)
    """
    def wrapper(rngs: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        return module.init_with_output(rngs, *args, method=fn, mutable=mutable,
                                       capture_intermediates=capture_intermediates, **kwargs)

    return wrapper


def init(fn: Callable[..., Any], module: InitApply,
         mutable: CollectionFilter = INIT_MUTABLE,
         capture_intermediates: Any = False) -> Callable[..., Any]:
    """`(rngs, *args) -> variables` of `fn(bound module, *args)` (in flax: `nn.init`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> sorted(init(lambda m, x: m(x), nn.Dense(2))(jax.random.key(0), jnp.ones(3))["params"])
    ['bias', 'kernel']
    """
    def wrapper(rngs: Any, *args: Any, **kwargs: Any) -> Any:
        return init_with_output(fn, module, mutable, capture_intermediates)(
            rngs, *args, **kwargs)[1]

    return wrapper


def apply(fn: Callable[..., Any], module: InitApply, mutable: CollectionFilter = False,
          capture_intermediates: Any = False) -> Callable[..., Any]:
    """`(variables, *args, rngs=None) -> fn(bound module, *args)` (in flax: `nn.apply`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> v = nn.Dense(2).init(jax.random.key(0), jnp.ones(3))
    >>> apply(lambda m, x: m(x).shape, nn.Dense(2))(v, jnp.ones(3))
    (2,)
    """
    def wrapper(variables: Mapping[str, Any], *args: Any, rngs: Any = None,
                **kwargs: Any) -> Any:
        return module.apply(variables, *args, rngs=rngs, method=fn, mutable=mutable,
                            capture_intermediates=capture_intermediates, **kwargs)

    return wrapper
