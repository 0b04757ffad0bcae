"""Method interceptors: run code around every module method call, from a distance.

An interceptor is a function `interceptor(next_fun, args, kwargs, context)`. It may
change the arguments, call `next_fun(*args, **kwargs)` (the next interceptor, and at
the end the method itself) or not call it at all, and change what it returns.
`context.orig_method` calls the method directly, skipping the other interceptors.
Interceptors nest: the one registered first is the outermost.

Every method a `Module` subclass defines goes through `run_interceptors`, except
`@nn.nowrap` helpers, dataclass fields and dunder methods other than `__call__`.
`tabulate`, `module_paths` and `apply(capture_intermediates=...)` (below) are built
on this.

In flax this is `nn.intercept_methods` and `InterceptorContext` (`flax/linen/module.py`).

>>> import jax.numpy as jnp, minijax.nn as nn
>>> class Double(nn.Module):
...     def __call__(self, x):
...         return 2 * x
>>> def plus_one(next_fun, args, kwargs, context):
...     return next_fun(*args, **kwargs) + 1
>>> with nn.intercept_methods(plus_one):
...     print(Double()(3))
7
"""

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "Interceptor",
    "InterceptorContext",
    "capture_intermediates",
    "intercept_methods",
    "run_interceptors",
]


@dataclasses.dataclass(frozen=True)
class InterceptorContext:
    """What an interceptor is told about the call (in flax: `nn.module.InterceptorContext`).

    Attributes:
        module: the module whose method is called.
        method_name: the method's name, e.g. `"__call__"`.
        orig_method: the method bound to `module`; calling it skips the other interceptors.

    >>> [f.name for f in dataclasses.fields(InterceptorContext)]
    ['module', 'method_name', 'orig_method']
    """

    module: Any
    method_name: str
    orig_method: Callable[..., Any]


Interceptor = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any], InterceptorContext],
                       Any]


class _Stack(threading.local):
    def __init__(self) -> None:
        self.interceptors: list[Interceptor] = []


_stack = _Stack()


@contextlib.contextmanager
def intercept_methods(interceptor: Interceptor) -> Iterator[None]:
    """Run `interceptor` around every module method called inside the `with` block.

    Args:
        interceptor: `interceptor(next_fun, args, kwargs, context)`.

    >>> with intercept_methods(lambda f, args, kwargs, context: "intercepted"):
    ...     pass
    """
    _stack.interceptors.append(interceptor)
    try:
        yield
    finally:
        _stack.interceptors.remove(interceptor)


def run_interceptors(
    fun: Callable[..., Any], module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """`fun(module, *args, **kwargs)`, wrapped by the registered interceptors.

    >>> run_interceptors(lambda self, x: x + 1, None, (1,), {})
    2
    """
    if not _stack.interceptors:
        return fun(module, *args, **kwargs)
    call = functools.partial(fun, module)
    context = InterceptorContext(module, fun.__name__, call)
    for interceptor in reversed(_stack.interceptors):  # the first registered ends outermost
        call = functools.partial(_intercepted, interceptor, call, context)
    return call(*args, **kwargs)


def _intercepted(
    interceptor: Interceptor, next_fun: Callable[..., Any], context: InterceptorContext,
    *args: Any, **kwargs: Any,
) -> Any:
    return interceptor(next_fun, args, kwargs, context)


@contextlib.contextmanager
def capture_intermediates(filter_fn: Any) -> Iterator[None]:
    """Sow the output of each method call that `filter_fn(module, method_name)` selects.

    The outputs go to the `intermediates` collection, under the method's name, as a
    tuple (one entry per call). `True` selects every `__call__`; False nothing.
    `Module.apply(..., capture_intermediates=...)` runs the call inside this block.

    >>> import jax.numpy as jnp, minijax.nn as nn
    >>> class Double(nn.Module):
    ...     def __call__(self, x):
    ...         return 2 * x
    >>> Double().apply({}, 3, capture_intermediates=True)
    (6, {'intermediates': {'__call__': (6,)}})
    """
    if filter_fn is True:
        filter_fn = _is_call
    if not filter_fn:
        yield
        return

    def capture(next_fun: Any, args: Any, kwargs: Any, context: InterceptorContext) -> Any:
        y = next_fun(*args, **kwargs)
        if context.module.scope is not None and filter_fn(context.module, context.method_name):
            context.module.sow("intermediates", context.method_name, y)
        return y

    with intercept_methods(capture):
        yield


def _is_call(module: Any, method_name: str) -> bool:
    return method_name == "__call__"
