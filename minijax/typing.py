"""Typed arrays: jaxtyping shapes, checked at run time by typeguard.

Every public function in minijax that takes arrays annotates them with their
shape and dtype, e.g. ``x: Float[Array, "batch in"]``, and is wrapped in
:func:`typed`. A call with the wrong shape then fails at once with a message
that names the function, the argument, the expected axes with the sizes the
other arguments already bound, the actual shape and the likely fix::

    Type-check error in minijax.losses.softmax_cross_entropy: parameter 'labels'
    does not match its annotation.
      expected: Float array with axes '*batch classes' = (16, 10)
      actual:   f32[16,9] (dtype float32, shape (16, 9))
      sizes bound by the other arguments: classes=10, batch=(16,)
      likely fix: axis 'classes' is 9 here but 10 in the other arguments; ...

(jaxtyping's own report stays attached as the error's ``__cause__``.)

How it works: ``jaxtyping.jaxtyped`` opens a "memo" that binds axis names
(``batch``, ``in``) to sizes for the duration of one call, and typeguard checks
each argument and the return value against its annotation. Under ``jax.jit`` the
Python function only runs while jax traces it, so the check runs once per
compilation and costs nothing in the compiled step.

Switch checking off (for speed in eager loops) with ``MINIJAX_TYPECHECK=0`` in
the environment before minijax is imported. The switch only turns off the run-time
type checker: the checks a function does itself on static shapes and dtypes
(:func:`check_same_shape`, :func:`check_dtype`, e.g. in the losses) cost nothing
under ``jit`` and stay on.

In flax and optax this does not exist: they use plain ``jax.Array`` hints.
It is the "typed arrays" best practice from the equinox/jaxtyping ecosystem.

Note: never turn on postponed evaluation of annotations (PEP 563, the
``annotations`` feature imported from ``__future__``) in a module that uses these
aliases: it turns annotations into strings and the shape checks break.
"""

import ast
import functools
import inspect
import os
import re
from collections.abc import Callable
from typing import Any, TypeVar

import jaxtyping
import numpy as np
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
    "check_dtype",
    "check_same_shape",
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
        try:
            return checked[0](*args, **kwargs)
        except TypeCheckError as e:
            if getattr(e, "_minijax", False):  # from a typed function called inside
                raise
            raise _rephrase(fn, e, args, kwargs) from e

    return wrapper  # type: ignore[return-value]


# --- the error in minijax's words ------------------------------------------------------

_EXPECTED_RE = re.compile(r"\b([A-Z][A-Za-z]*)\[[^\[\]]*?, '([^']*)'\]")
_BOUND_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.+)$")
_KINDS = {
    "Float": "f",
    "Inexact": "fc",
    "Int": "iu",
    "Integer": "iu",
    "UInt": "u",
    "Bool": "b",
    "Num": "iufc",
    "Real": "iuf",
}


def _axis_size(token: str, bound: dict[str, Any]) -> list[Any] | None:
    """The sizes one axis token stands for, given the bound names (None: unknown)."""
    name = token.lstrip("#_?")
    if name.isdigit():
        return [int(name)]
    if name.startswith("*"):
        value = bound.get(name[1:])
        return list(value) if isinstance(value, tuple) else None
    value = bound.get(name)
    return [value] if isinstance(value, int) else None


def _expected_shape(dims: str, bound: dict[str, Any]) -> tuple[Any, ...] | None:
    out: list[Any] = []
    for token in dims.split():
        sizes = _axis_size(token, bound)
        if sizes is None:
            return None
        out += sizes
    return tuple(out)


def _likely_fix(name: str, kind: str, dims: str, bound: dict[str, Any], value: Any) -> str:
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return f"pass a jax or NumPy array for '{name}' (got {type(value).__name__})."
    want = _KINDS.get(kind)
    if want is not None and np.dtype(dtype).kind not in want:
        cast = {"f": "jnp.float32", "fc": "jnp.float32", "b": "bool"}.get(want, "jnp.int32")
        article = "an" if kind[0] in "AEIOU" else "a"
        return (
            f"'{name}' must be {article} {kind} array, it is {dtype}: cast it, "
            f"{name}.astype({cast})."
        )
    expected = _expected_shape(dims, bound)
    tokens = dims.split()
    if not any(t.lstrip("#_?").startswith(("*", ".")) for t in tokens) and len(tokens) == len(
        shape
    ):
        for token, size in zip(tokens, shape, strict=True):
            bound_size = bound.get(token.lstrip("#_?"))
            if isinstance(bound_size, int) and bound_size != size:
                return (
                    f"axis '{token}' is {size} here but {bound_size} in the other arguments; "
                    "make them agree."
                )
    if expected is not None and tuple(shape) != expected:
        if len(shape) == len(expected) + 1 and shape[-1] == 1:
            return f"drop the trailing size-1 axis: {name}.squeeze(-1), shape {expected}."
        if len(shape) + 1 == len(expected) and expected[-1] == 1:
            return f"add the missing last axis: {name}[..., None], shape {expected}."
        for token, size in zip(dims.split(), shape, strict=False):
            bound_size = bound.get(token.lstrip("#_?"))
            if isinstance(bound_size, int) and bound_size != size:
                return (
                    f"axis '{token}' is {size} here but {bound_size} in the other arguments; "
                    f"make them agree (expected shape {expected})."
                )
        return f"give '{name}' the shape {expected}."
    return f"give '{name}' axes '{dims}' consistent with the other arguments."


def _rephrase(
    fn: Callable[..., Any], error: TypeCheckError, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> TypeCheckError:
    """jaxtyping's report, rewritten: function, argument, bound sizes, shape, fix."""
    text = str(error)
    where = f"{fn.__module__}.{fn.__qualname__}"
    param = re.search(r"parameter '([^']+)'", text)
    is_return = param is None and "return value" in text
    name = param[1] if param else "the return value"
    value: Any = None
    if param is not None:
        try:
            value = inspect.signature(fn).bind_partial(*args, **kwargs).arguments.get(name)
        except TypeError:
            value = None
    expected_line = next((ln for ln in text.splitlines() if ln.startswith("Expected type")), "")
    actual_line = next((ln for ln in text.splitlines() if ln.startswith("Actual value")), "")
    match = _EXPECTED_RE.search(expected_line)
    bound: dict[str, Any] = {}
    tail = text.split("axis annotation are as follows.")[-1] if "as follows." in text else ""
    for line in tail.splitlines():
        m = _BOUND_RE.match(line.strip())
        if m:
            try:
                bound[m[1]] = ast.literal_eval(m[2])  # ints and tuples of ints
            except (ValueError, SyntaxError):
                bound[m[1]] = m[2]
    lines = [
        f"Type-check error in {where}: "
        + (f"parameter '{name}'" if not is_return else "the return value")
        + " does not match its annotation."
    ]
    if match:
        kind, dims = match[1], match[2]
        expected = _expected_shape(dims, bound)
        shown = f" = {expected}" if expected is not None else ""
        lines.append(f"  expected: {kind} array with axes '{dims}'{shown}")
    else:
        kind, dims = "", ""
        lines.append(f"  expected: {expected_line.removeprefix('Expected type: ')}")
    actual = actual_line.removeprefix("Actual value: ")
    if value is not None and hasattr(value, "shape") and hasattr(value, "dtype"):
        actual += f" (dtype {value.dtype}, shape {tuple(value.shape)})"
    lines.append(f"  actual:   {actual}")
    if bound:
        sizes = ", ".join(f"{k}={v}" for k, v in bound.items())
        lines.append(f"  sizes bound by the other arguments: {sizes}")
    if match and param is not None:
        lines.append(f"  likely fix: {_likely_fix(name, kind, dims, bound, value)}")
    elif is_return:
        lines.append("  likely fix: the function computed a wrong shape; check its body.")
    new = TypeCheckError("\n".join(lines))
    new._minijax = True  # type: ignore[attr-defined]
    return new


# --- checks that stay on with MINIJAX_TYPECHECK=0 ----------------------------------------


def check_same_shape(where: str, a_name: str, a: Any, b_name: str, b: Any, fix: str) -> None:
    """Raise :data:`TypeCheckError` unless ``a`` and ``b`` have the same (static) shape.

    Costs nothing under ``jit`` (shapes are static), so it runs whether or not
    ``MINIJAX_TYPECHECK`` is on; broadcasting two such arrays is the classic silent
    bug (``(B, 1) - (B,)`` is ``(B, B)``).

    >>> check_same_shape("l2_loss", "predictions", np.ones((4, 1)), "targets", np.ones(4),
    ...                  "predictions.squeeze(-1)")
    Traceback (most recent call last):
    ...
    jaxtyping.TypeCheckError: l2_loss: predictions has shape (4, 1) but targets has ...
    """
    sa, sb = _shape(a), _shape(b)
    if sa != sb:
        try:
            silently = f"broadcasting them would silently give shape {np.broadcast_shapes(sa, sb)}"
        except ValueError:
            silently = "they do not even broadcast"
        error = TypeCheckError(
            f"{where}: {a_name} has shape {sa} but {b_name} has shape {sb}; they must be "
            f"equal ({silently}). Likely fix: {fix}."
        )
        error._minijax = True  # type: ignore[attr-defined]
        raise error


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def check_dtype(where: str, name: str, x: Any, kinds: str, what: str, fix: str) -> None:
    """Raise :data:`TypeCheckError` unless ``x``'s dtype kind (NumPy's letter) is in ``kinds``.

    >>> check_dtype("f", "labels", np.ones(3), "iu", "integer class ids", "labels.astype(int)")
    Traceback (most recent call last):
    ...
    jaxtyping.TypeCheckError: f: labels has dtype float64; expected integer class ids. ...
    """
    dtype = np.dtype(getattr(x, "dtype", None) or np.result_type(x))
    if dtype.kind not in kinds:
        error = TypeCheckError(
            f"{where}: {name} has dtype {dtype}; expected {what}. Likely fix: {fix}."
        )
        error._minijax = True  # type: ignore[attr-defined]
        raise error
