"""`repr(module)`: the attributes, then the bound children, nested (flax's layout).

```
MLP(
    # attributes
    features = (3, 2)
    # children
    Dense_0 = Dense(
        # attributes
        features = 3
        ...
    )
)
```

A function or a module with a `__name__` shows as that name (`act = relu`); everything
else as its `repr`. Children appear only for a bound module, once they exist.

In flax this is `_module_repr` in `flax/linen/module.py`.

>>> import minijax.nn as nn
>>> print(module_repr(nn.Dropout(0.5)).splitlines()[:3])
['Dropout(', '    # attributes', '    rate = 0.5']
"""

from typing import Any

__all__ = ["module_repr"]


def _attr_repr(value: Any) -> str:
    name = getattr(value, "__name__", None)
    if callable(value) and isinstance(name, str):
        return name
    return repr(value)


def module_repr(module: Any, indent: int = 4) -> str:
    """The nested text of `module`'s attributes and children.

    Args:
        module: a `minijax.nn.Module`.
        indent: spaces per level.

    Returns:
        `Class(\\n    # attributes\\n    field = value ...)`, or `Class()` when empty.

    >>> import minijax.nn as nn
    >>> module_repr(nn.Module())
    'Module()'
    """
    lines = []
    fields = [f for f in getattr(module, "__dataclass_fields__", {}).values()
              if f.name not in ("parent", "name") and f.repr]
    if fields:
        lines.append("# attributes")
        lines += [f"{f.name} = {_attr_repr(module.__dict__.get(f.name))}" for f in fields]
    children = {k: v for k, v in module._state.children.items() if not isinstance(v, str)}
    if children:
        lines.append("# children")
        lines += [f"{name} = {module_repr(child, indent)}" for name, child in children.items()]
    if not lines:
        return f"{type(module).__name__}()"
    pad = " " * indent
    body = "\n".join(pad + line for text in lines for line in text.split("\n"))
    return f"{type(module).__name__}(\n{body}\n)"

