"""``tabulate`` / ``summary``: a text table of a model's submodules (flax: ``linen/summary.py``).

The model is initialised abstractly (``jax.eval_shape``: shapes only, no FLOPs,
no memory) while a hook in ``Module._call_wrapped`` records each module method
call: its path, class and output shapes. Each row then lists the variables
stored directly at that path (not in its submodules) and their count; the last
row totals every collection.

::

    print(model.tabulate(jax.random.key(0), x))
    print(nn.tabulate(model, jax.random.key(0))(x))   # flax's spelling
"""

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from minijax.nn import module as module_lib

__all__ = ["summary", "tabulate"]


def _shapes(tree: Any) -> str:
    leaves = jax.tree.leaves(tree)
    return ", ".join(f"{np.dtype(x.dtype).name}[{','.join(map(str, x.shape))}]" for x in leaves)


def _own_variables(variables: dict[str, Any], path: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{collection: {name: leaf}}`` stored exactly at ``path``."""
    out: dict[str, dict[str, Any]] = {}
    for col, tree in variables.items():
        node = tree
        for part in path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            leaves = {k: v for k, v in node.items() if not isinstance(v, dict)}
            if leaves:
                out[col] = leaves
    return out


def _count(leaves: Any) -> int:
    """How many numbers the array leaves hold."""
    return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(leaves))


def _nbytes(leaves: Any) -> int:
    """How many bytes the array leaves take."""
    return sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(leaves))


def summary(module: Any, rngs: Any, *args: Any, method: Any = None, **kwargs: Any) -> str:
    """The table for ``module.init(rngs, *args, method=method, **kwargs)``.

    flax's counterpart is ``nn.tabulate`` / ``Module.tabulate``, whose table has the
    same rows (one per module call) in a rich-text layout.
    """
    calls: list[dict[str, Any]] = []

    def hook(mod: Any, method_name: str) -> Callable[[Any], None]:
        row = {"path": mod.path, "module": type(mod).__name__, "method": method_name}
        calls.append(row)

        def done(y: Any) -> None:
            row["outputs"] = _shapes(y)

        return done

    # Array leaves of the inputs (or jax.ShapeDtypeStruct stand-ins) are traced; the
    # rest (flags such as train=True) stay Python values.
    leaves, treedef = jax.tree.flatten((args, kwargs))
    traced = [i for i, x in enumerate(leaves) if hasattr(x, "shape") and hasattr(x, "dtype")]

    def init(rngs: Any, traced_leaves: list[Any]) -> Any:
        full = list(leaves)
        for i, x in zip(traced, traced_leaves, strict=True):
            full[i] = x
        a, kw = jax.tree.unflatten(treedef, full)
        return module.init(rngs, *a, method=method, **kw)

    module_lib._call_hooks.append(hook)
    try:
        variables = jax.eval_shape(init, rngs, [leaves[i] for i in traced])
    finally:
        module_lib._call_hooks.remove(hook)

    header = ("path", "module", "outputs", "variables", "count")
    lines: list[tuple[str, ...]] = []
    seen: set[tuple[str, ...]] = set()
    for row in calls:
        own = {} if row["path"] in seen else _own_variables(variables, row["path"])
        seen.add(row["path"])
        names = [f"{c}/{n}: {_shapes(v)}" for c, d in own.items() for n, v in d.items()]
        name = "/".join(row["path"]) or "<root>"
        if row["method"] != "__call__":
            name += f".{row['method']}"
        count = _count(own)
        outputs, count_text = row.get("outputs", ""), f"{count:,}" if count else ""
        lines.append((name, row["module"], outputs, "; ".join(names), count_text))

    totals = [f"{c}: {_count(t):,} ({_nbytes(t):,} bytes)" for c, t in variables.items()]
    lines.append(("Total", "", "", "; ".join(totals), f"{_count(variables):,}"))

    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(row: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    rule = "-+-".join("-" * w for w in widths)
    title = f"{type(module).__name__} summary"
    return "\n".join([title, fmt(header), rule, *map(fmt, lines[:-1]), rule, fmt(lines[-1])])


def tabulate(module: Any, rngs: Any, **kwargs: Any) -> Callable[..., str]:
    """flax's ``nn.tabulate(module, rngs)(*args)``: a function of the inputs returning the table."""
    return lambda *args, **call_kwargs: summary(module, rngs, *args, **kwargs, **call_kwargs)
