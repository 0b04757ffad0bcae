"""Typed arrays: jaxtyping shapes, checked at run time by typeguard.

Every public function in minijax that takes arrays annotates them with their
shape and dtype, e.g. ``x: Float[Array, "batch in"]``, and is wrapped in
:func:`typed`. A call with the wrong shape then fails at once with a message
that names the function, the argument, the expected axes and the actual shape::

    Type-check error whilst checking the parameters of minijax.nn.Dense.__call__.
    The problem arose whilst typechecking parameter 'x'.
    Actual value: f32[5,4]
    Expected type: Float[Array, '*batch in'] ...

How it works: ``jaxtyping.jaxtyped`` opens a "memo" that binds axis names
(``batch``, ``in``) to sizes for the duration of one call, and typeguard checks
each argument and the return value against its annotation. Under ``jax.jit`` the
Python function only runs while jax traces it, so the check runs once per
compilation and costs nothing in the compiled step.

Switch checking off (for speed in eager loops) with ``MINIJAX_TYPECHECK=0`` in
the environment before minijax is imported.

In flax and optax this does not exist: they use plain ``jax.Array`` hints.
It is the "typed arrays" best practice from the equinox/jaxtyping ecosystem.

Note: never turn on postponed evaluation of annotations (PEP 563, the
``annotations`` feature imported from ``__future__``) in a module that uses these
aliases: it turns annotations into strings and the shape checks break.
"""

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import jaxtyping
import typeguard
from jaxtyping import (
    Array,
    ArrayLike,
    Bool,
    Float,
    Inexact,
    Int,
    Integer,
    Key,
    Num,
    PRNGKeyArray,
    PyTree,
    Real,
    Scalar,
    ScalarLike,
    Shaped,
    UInt,
)

__all__ = [
    "Array",
    "ArrayLike",
    "Bool",
    "Float",
    "Inexact",
    "Int",
    "Integer",
    "Key",
    "Num",
    "PRNGKeyArray",
    "PyTree",
    "Real",
    "Scalar",
    "ScalarLike",
    "Shaped",
    "TypeCheckError",
    "UInt",
    "typecheck_enabled",
    "typed",
]

TypeCheckError = jaxtyping.TypeCheckError

_F = TypeVar("_F", bound=Callable[..., Any])

ENV_VAR = "MINIJAX_TYPECHECK"


def typecheck_enabled() -> bool:
    """Whether :func:`typed` checks shapes (``MINIJAX_TYPECHECK`` is not ``0``)."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def typed(fn: _F) -> _F:
    """Check the jaxtyping annotations of ``fn`` at every (traced) call.

    Equivalent to ``jaxtyping.jaxtyped(typechecker=typeguard.typechecked)(fn)``,
    except that the checked function is built at the first call rather than at
    import (building it costs about a millisecond per function, which ``import
    minijax`` would otherwise pay for every typed function it defines).
    Returns ``fn`` unchanged when checking is switched off, so the switch costs
    nothing at all. The decision is taken when ``fn`` is decorated, i.e. at import.
    """
    if not typecheck_enabled():
        return fn
    checked: list[Callable[..., Any]] = []

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not checked:
            checked.append(jaxtyping.jaxtyped(typechecker=typeguard.typechecked)(fn))
        return checked[0](*args, **kwargs)

    return wrapper  # type: ignore[return-value]
