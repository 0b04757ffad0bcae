"""Dataclasses whose last fields are given: how every module ends with `parent, name`.

`Module` subclasses are dataclasses whose fields are the subclass's own, in order,
followed by the keyword-only `parent` and `name`:

>>> import minijax.nn as nn
>>> class Block(nn.Module):
...     features: int
>>> list(Block.__dataclass_fields__)
['features', 'parent', 'name']

A plain `dataclasses.dataclass` would put inherited fields first (`parent, name,
features`), because it collects the fields of the base classes before the class's
own. `dataclass` below hides the extra fields from the bases while the class is
processed, re-declares them at the end, and puts the bases back.

In flax this is `flax/linen/kw_only_dataclasses.py` (which also emulates `kw_only`
for Python < 3.10; minijax needs 3.11, where `dataclasses.field(kw_only=True)` exists).
"""

import dataclasses
import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["dataclass"]

_C = TypeVar("_C", bound=type)


def dataclass(
    cls: _C, extra_fields: Mapping[str, tuple[Any, Any]], **kwargs: Any
) -> _C:
    """Make `cls` a dataclass whose fields end with `extra_fields`.

    Fields declared `dataclasses.field(init=False)` (set in `setup`) are excluded
    from comparison, hashing and `repr`, since they do not exist before `setup` runs.

    Args:
        cls: the class to turn into a dataclass, in place.
        extra_fields: `{name: (annotation, make_field)}`, with `make_field()` returning
            a fresh `dataclasses.field(...)`; these come last, in this order.
        **kwargs: passed to `dataclasses.dataclass`.

    Returns:
        `cls`.

    >>> @dataclasses.dataclass
    ... class Base:
    ...     tag: str = dataclasses.field(default="", kw_only=True)
    >>> class Child(Base):
    ...     size: int
    >>> extra = {"tag": (str, lambda: dataclasses.field(default="", kw_only=True))}
    >>> [f.name for f in dataclasses.fields(dataclass(Child, extra))]
    ['size', 'tag']
    """
    own = {k: v for k, v in inspect.get_annotations(cls).items() if k not in extra_fields}
    for name in own:
        value = cls.__dict__.get(name)
        if isinstance(value, dataclasses.Field) and not value.init:
            value.compare = value.hash = value.repr = False
    for name, (annotation, make_field) in extra_fields.items():
        own[name] = annotation
        setattr(cls, name, make_field())
    cls.__annotations__ = own
    hidden = []
    for base in cls.__mro__[1:]:
        fields = base.__dict__.get("__dataclass_fields__")
        if fields and any(name in fields for name in extra_fields):
            hidden.append((base, fields))
            base.__dataclass_fields__ = {  # type: ignore[attr-defined]
                k: f for k, f in fields.items() if k not in extra_fields
            }
    try:
        result: _C = dataclasses.dataclass(cls, **kwargs)  # type: ignore[assignment]
        return result
    finally:
        for base, fields in hidden:
            base.__dataclass_fields__ = fields  # type: ignore[attr-defined]
