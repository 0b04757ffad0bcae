"""`lazy_init`: initialize variables from input *shapes*, computing nothing on the inputs.

`Module.lazy_init(key, jax.ShapeDtypeStruct((1024, 128), jnp.float32))` returns the
same variables as `Module.init(key, x)` for any `x` of that shape and dtype, without
running the forward pass: the init function is traced to a jaxpr, and only the
equations the variables depend on are run. If a variable depends on an input given
only by its shape (`self.param("w", lambda _: x)`), there is nothing to compute it
from: `LazyInitError`.

In flax this is `flax/core/partial_eval.py`, built on jax's partial evaluation;
minijax walks the jaxpr itself and lets XLA drop the unused equations.

>>> import jax, jax.numpy as jnp
>>> def init(key, x):
...     return {"w": jax.random.normal(key, (x.shape[-1], 2)), "y": x.sum()}
>>> try:
...     lazy_init(init)(jax.random.key(0), jax.ShapeDtypeStruct((10**9, 3), jnp.float32))
... except Exception as e:
...     print(type(e).__name__)
LazyInitError
>>> lazy_init(lambda k, x: jax.random.normal(k, x.shape[1:]))(
...     jax.random.key(0), jax.ShapeDtypeStruct((10**9, 3), jnp.float32)).shape
(3,)
"""

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend import core as jex

from minijax.nn import errors

__all__ = ["lazy_init"]


def _depends_on(jaxpr: Any, unknown: list[bool]) -> list[bool]:
    """For each output of `jaxpr`: does it depend on an input marked unknown?

    Conservative: an equation with an unknown input makes all its outputs unknown.
    """
    tainted = {v for v, u in zip(jaxpr.invars, unknown, strict=True) if u}
    for eqn in jaxpr.eqns:
        if any(not isinstance(v, jex.Literal) and v in tainted for v in eqn.invars):
            tainted.update(eqn.outvars)
    return [not isinstance(v, jex.Literal) and v in tainted for v in jaxpr.outvars]


def lazy_init(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` that accepts `jax.ShapeDtypeStruct`s for inputs it needs only the shape of.

    Args:
        fn: a function of arrays (and other values), typically `module.init`.

    Returns:
        A function with the signature of `fn` that returns what `fn` would, computed
        without the values of the `ShapeDtypeStruct` inputs.

    Raises:
        LazyInitError: an output depends on the value of a `ShapeDtypeStruct` input.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        leaves, treedef = jax.tree.flatten((args, kwargs))
        unknown = [isinstance(x, jax.ShapeDtypeStruct) for x in leaves]
        is_array = [u or isinstance(x, jax.Array) for x, u in zip(leaves, unknown, strict=True)]

        def flat_fn(*arrays: Any) -> Any:
            it = iter(arrays)
            full = [next(it) if a else x for x, a in zip(leaves, is_array, strict=True)]
            a, kw = jax.tree.unflatten(treedef, full)
            return fn(*a, **kw)

        arrays = [x for x, a in zip(leaves, is_array, strict=True) if a]
        closed, out_shape = jax.make_jaxpr(flat_fn, return_shape=True)(*arrays)
        array_unknown = [u for u, a in zip(unknown, is_array, strict=True) if a]
        out_unknown = _depends_on(closed.jaxpr, array_unknown)
        if any(out_unknown):
            paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(
                out_shape)[0]]
            bad = [p for p, u in zip(paths, out_unknown, strict=False) if u]
            raise errors.LazyInitError(
                f"Lazy init encountered a value that depends on an input given only by its "
                f"shape (outputs {bad[:3]}). Pass a real array for the inputs that the "
                "variables depend on; ShapeDtypeStructs work only for inputs whose shape "
                "and dtype alone decide the variables."
            )
        known = [x for x, u in zip(arrays, array_unknown, strict=True) if not u]

        def run(known: list[Any]) -> Any:  # the unknown inputs are zeros that XLA drops
            it = iter(known)
            full = [jnp.zeros(x.shape, x.dtype) if u else next(it)
                    for x, u in zip(arrays, array_unknown, strict=True)]
            return flat_fn(*full)

        return jax.jit(run)(known)

    return wrapper
