"""Dataclasses whose keyword-only fields come last, also inherited ones (flax:
`flax/linen/kw_only_dataclasses.py`).

This is how every module ends with `parent, name`: `Module` subclasses are
dataclasses whose fields are the subclass's own, in order, followed by the
keyword-only `parent` and `name`:

>>> import minijax.nn as nn
>>> class Block(nn.Module):
...     features: int
>>> list(Block.__dataclass_fields__)
['features', 'parent', 'name']

A plain `dataclasses.dataclass` puts inherited fields first (`parent, name,
features`), because it collects the fields of the base classes before the class's
own. `dataclass` below hides the keyword-only fields of the bases while the class
is processed, re-declares them at the end, and puts the bases back. A field that a
base declares keyword-only stays keyword-only when a subclass declares it again
(`x: int = 2`): only its default changes.

flax wrote this module for Python < 3.10, which had no keyword-only fields: its
"keyword-only" fields are only moved to the end of `__init__`, and a wrapper
rejects extra positional arguments. minijax needs Python 3.11, so they are real
keyword-only parameters (the signature shows `*`), and a keyword-only field may
have no default.
"""

import dataclasses
import inspect
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar, dataclass_transform, get_origin

__all__ = ["KW_ONLY", "dataclass", "field"]

_C = TypeVar("_C", bound=type)

#: The marker annotation after which every field is keyword-only: `_: KW_ONLY`.
KW_ONLY = dataclasses.KW_ONLY


def field(*, kw_only: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """`dataclasses.field`, whose `kw_only=True` fields `dataclass` moves last.

    flax: `kw_only_dataclasses.field` (there it tags the field in its `metadata`;
    here `dataclasses.field(kw_only=...)` is the tag).

    Args:
        kw_only: whether the field is keyword-only (default: that of the class).
        **kwargs: passed to `dataclasses.field` (`default`, `metadata`, ...).

    Returns:
        A `dataclasses.Field`.

    >>> @dataclass
    ... class Options:
    ...     verbose: bool = field(default=False, kw_only=True)
    ...     size: int
    >>> import inspect
    >>> print(inspect.signature(Options))
    (size: int, *, verbose: bool = False) -> None
    """
    return dataclasses.field(kw_only=kw_only, **kwargs)


def _is_kw_only(value: Any) -> bool:
    return isinstance(value, dataclasses.Field) and value.kw_only is True


def _is_class_var(annotation: Any) -> bool:
    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _as_kw_only(cls: type, name: str) -> dataclasses.Field[Any]:
    """`name`'s field in `cls` (or its inherited default), made keyword-only."""
    value: Any = getattr(cls, name, dataclasses.MISSING)
    if isinstance(value, dataclasses.Field):
        value.kw_only = True
        return value
    made: dataclasses.Field[Any] = dataclasses.field(default=value, kw_only=True)
    return made


@dataclass_transform(field_specifiers=(field, dataclasses.field))
def dataclass(
    cls: _C | None = None,
    extra_fields: Sequence[tuple[str, Any, dataclasses.Field[Any]]] | None = None,
    **kwargs: Any,
) -> Any:
    """`dataclasses.dataclass` with every keyword-only field, inherited ones too, last.

    flax: `kw_only_dataclasses.dataclass`. The fields of the result are, in order:
    the positional fields of the bases and of `cls`, then the keyword-only ones of
    the bases (farthest base first), then those of `cls` and `extra_fields`. A field
    is keyword-only when declared `field(kw_only=True)`, after a `_: KW_ONLY`
    marker, in a class made with `kw_only=True`, or when a base declared it so.

    Args:
        cls: the class to turn into a dataclass, in place (None: return a decorator).
        extra_fields: `(name, annotation, dataclasses.Field)` triples declared as if
            written at the end of `cls` (how `Module` adds `parent` and `name`).
        **kwargs: passed to `dataclasses.dataclass` (`frozen`, `eq`, `kw_only`, ...).

    Returns:
        `cls`, or a decorator when `cls` is None.

    Raises:
        TypeError: `extra_fields` is not a sequence of `(str, type, Field)` triples.

    >>> @dataclass
    ... class Parent:
    ...     name: str = field(default="", kw_only=True)
    >>> @dataclass
    ... class Child(Parent):
    ...     size: float                      # required, after a field with a default
    >>> import inspect
    >>> print(inspect.signature(Child))
    (size: float, *, name: str = '') -> None
    """
    if cls is None:
        return lambda c: _process_class(c, extra_fields, kwargs)
    return _process_class(cls, extra_fields, kwargs)


def _process_class(
    cls: _C, extra_fields: Sequence[tuple[str, Any, Any]] | None, kwargs: dict[str, Any]
) -> _C:
    own = dict(inspect.get_annotations(cls))
    # The fields after a `_: KW_ONLY` marker are keyword-only.
    after_marker = False
    for name in list(own):
        if own[name] is KW_ONLY:
            if after_marker:
                raise TypeError(f"dataclass({cls.__name__}): more than one KW_ONLY marker.")
            del own[name]
            after_marker = True
        elif after_marker and not _is_class_var(own[name]):
            setattr(cls, name, _as_kw_only(cls, name))
    for item in extra_fields or ():
        if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], str)
                and isinstance(item[2], dataclasses.Field)):
            raise TypeError(
                f"dataclass({cls.__name__}): extra_fields must be (name, annotation, "
                f"dataclasses.Field) triples, got {item!r}; make the field with "
                "field(default=..., kw_only=True)."
            )
        name, annotation, value = item
        own[name] = annotation
        setattr(cls, name, value)
    # The keyword-only fields of the bases: hidden from them while `cls` is processed.
    moved: dict[str, tuple[Any, Any]] = {}
    hidden: list[tuple[type, dict[str, Any]]] = []
    for base in reversed(cls.__mro__[1:]):
        fields = base.__dict__.get("__dataclass_fields__")
        if not fields:
            continue
        names = [f.name for f in dataclasses.fields(base)
                 if f.kw_only is True or f.name in moved]
        for name in names:
            moved[name] = (fields[name].type, fields[name])
        if names:
            hidden.append((base, fields))
            base.__dataclass_fields__ = {  # type: ignore[attr-defined]
                k: f for k, f in fields.items() if k not in names}
    # ... then re-declared after the class's own fields, with its own keyword-only ones.
    for name, annotation in list(own.items()):
        if name in moved:
            moved[name] = (annotation, _as_kw_only(cls, name) if name in vars(cls)
                           else moved[name][1])
        elif _is_kw_only(vars(cls).get(name)):
            moved[name] = (annotation, vars(cls)[name])
        else:
            continue
        del own[name]
    extra = [item[0] for item in extra_fields or ()]
    for name in extra:  # the extra fields last of all, also after those of the bases
        if name in moved:
            moved[name] = moved.pop(name)
    for name, (annotation, value) in moved.items():
        own[name] = annotation
        setattr(cls, name, value)
    cls.__annotations__ = own
    try:
        result: _C = dataclasses.dataclass(cls, **kwargs)  # type: ignore[assignment]
        return result
    finally:
        for base, fields in hidden:
            base.__dataclass_fields__ = fields  # type: ignore[attr-defined]
