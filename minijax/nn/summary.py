"""`tabulate`: a table of every module call of a model, with its inputs, outputs, variables.

`model.tabulate(key, x)` runs `model.init(key, x)` abstractly (`jax.eval_shape`:
shapes only, no FLOPs, no memory) inside `nn.intercept_methods`, with an interceptor
that records each module method call: its path, the module, the shapes of its inputs
and outputs. Each row then shows the variables stored at that path (not those of
submodules that have their own row) and their count and size; the footer totals each
collection. `compute_flops` / `compute_vjp_flops` add the cost XLA estimates for each
call alone (and its backward pass), compiled from the recorded shapes.

```
                          Foo Summary
┏━━━━━━━━━┳━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━┓
┃ path    ┃ module ┃ inputs        ┃ outputs       ┃ params               ┃
┡━━━━━━━━━╇━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━┩
│         │ Foo    │ float32[16,9] │ float32[16,2] │                      │
├─────────┼────────┼───────────────┼───────────────┼──────────────────────┤
│ Dense_0 │ Dense  │ float32[16,9] │ float32[16,4] │ bias: float32[4]     │
│         │        │               │               │ kernel: float32[9,4] │
│         │        │               │               │                      │
│         │        │               │               │ 40 (160 B)           │
...
```

The layout is flax's (`flax/linen/summary.py`), drawn here as plain text: flax draws
it with the `rich` library, whose styling options (`console_kwargs`, `table_kwargs`,
`column_kwargs`) minijax accepts for compatibility and does not use; the table is
never wrapped or colored.

>>> import jax, jax.numpy as jnp, minijax.nn as nn
>>> table = nn.Dense(4).tabulate(jax.random.key(0), jnp.ones((2, 3)))
>>> [line for line in table.splitlines() if "Total Parameters" in line][0].strip()
'Total Parameters: 16 (64 B)'
"""

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np

from minijax.nn import meta
from minijax.nn.filters import INIT_MUTABLE, CollectionFilter
from minijax.nn.intercept import InterceptorContext, intercept_methods

__all__ = ["Row", "Table", "tabulate"]


@dataclasses.dataclass
class _ArrayRepresentation:
    """An array in a row: its shape and dtype only."""

    shape: tuple[int, ...]
    dtype: Any

    def render(self) -> str:
        return f"{np.dtype(self.dtype).name}[{','.join(map(str, self.shape))}]"


@dataclasses.dataclass
class _ObjectRepresentation:
    """Any other value in a row, shown by its `repr`."""

    obj: Any

    def render(self) -> str:
        return repr(self.obj)


@dataclasses.dataclass
class _PartitionedArrayRepresentation(_ArrayRepresentation):
    """A `Partitioned` box in a row: its array and its axis names, as `P(None, data)`."""

    names: tuple[Any, ...] = ()

    def render(self) -> str:
        names = ", ".join(map(str, self.names)) + ("," if len(self.names) == 1 else "")
        return f"{super().render()} P({names})"


def _represent(x: Any) -> Any:
    if isinstance(x, meta.Partitioned):
        value = x.value
        return _PartitionedArrayRepresentation(tuple(np.shape(value)), value.dtype, x.names)
    if isinstance(x, bool | int | float | type(None)) or not hasattr(x, "shape"):
        return _ObjectRepresentation(x)
    return _ArrayRepresentation(tuple(np.shape(x)), x.dtype)


def _represent_tree(tree: Any) -> Any:
    return jax.tree.map(_represent, tree,
                        is_leaf=lambda x: x is None or isinstance(x, meta.Partitioned))


@dataclasses.dataclass
class Row:
    """One module call (in flax: `nn.summary.Row`).

    Attributes:
        path: the module's path, `("block1", "conv")`.
        module_copy: an unbound copy of the module.
        method: the method called.
        inputs: the arguments: one, a tuple of them, or `(*args, kwargs)`.
        outputs: what the call returned.
        module_variables: `{collection: variables}` at this path, without those of
            submodules that have rows of their own.
        counted_variables: what the row counts: `module_variables`, or the whole
            subtree for a row at the `depth` limit.
        flops: XLA's estimate for the call alone (-1 if not computed).
        vjp_flops: the same for its backward pass.

    >>> Row((), None, "__call__", (), (), {"params": {}}, {}, -1, -1).size_and_bytes(["params"])
    {'params': (0, 0)}
    """

    path: tuple[str, ...]
    module_copy: Any
    method: str
    inputs: Any
    outputs: Any
    module_variables: dict[str, dict[str, Any]]
    counted_variables: dict[str, dict[str, Any]]
    flops: int
    vjp_flops: int

    def size_and_bytes(self, collections: Iterable[str]) -> dict[str, tuple[int, int]]:
        """`{collection: (number of values, bytes)}` of the counted variables."""
        return {c: _size_and_bytes(self.counted_variables.get(c, {})) for c in collections}


class Table(list[Row]):
    """The rows, with the module they describe and the collections it has.

    >>> Table(None, ("params",), []).collections
    ('params',)
    """

    def __init__(self, module: Any, collections: tuple[str, ...], rows: Iterable[Row]) -> None:
        super().__init__(rows)
        self.module, self.collections = module, collections


def _size_and_bytes(tree: Any) -> tuple[int, int]:
    leaves = [x for x in jax.tree.leaves(tree) if hasattr(x, "shape")]
    size = sum(int(np.prod(x.shape)) for x in leaves)
    return size, sum(int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize for x in leaves)


def _subtree(path: tuple[str, ...], variables: Mapping[str, Any]) -> dict[str, Any]:
    """`{collection: subtree at path}` for the collections that have one."""
    out = {}
    for col, node in variables.items():
        for name in path:
            node = node.get(name) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            out[col] = dict(node)
    return out


def _own(path: tuple[str, ...], variables: Mapping[str, Any],
         paths: set[tuple[str, ...]]) -> dict[str, Any]:
    """The subtree at `path` without the children that are module paths in the table."""
    return {col: {k: v for k, v in tree.items() if (*path, k) not in paths}
            for col, tree in _subtree(path, variables).items()}


def _process_inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if args and kwargs:
        return (*args, kwargs)
    if args:
        return args[0] if len(args) == 1 else args
    return kwargs or ()


def _flops(fn: Callable[..., Any], *args: Any) -> int:
    cost = jax.jit(fn).lower(*args).cost_analysis()
    return int(cost.get("flops", 0)) if cost else 0


def _call_flops(call: dict[str, Any], forward: bool, backward: bool) -> tuple[int, int]:
    """XLA's FLOP estimate of the call alone, compiled from the recorded shapes."""
    if not (forward or backward):
        return -1, -1
    rngs = {name: jax.random.key(0) for name in call["rngs"]}
    leaves, treedef = jax.tree.flatten((call["args"], call["kwargs"]),
                                       is_leaf=lambda x: hasattr(x, "render"))
    dynamic = [jax.ShapeDtypeStruct(x.shape, x.dtype) for x in leaves  # type: ignore[no-untyped-call]
               if isinstance(x, _ArrayRepresentation)]

    def inputs(arrays: list[Any]) -> Any:
        it = iter(arrays)
        full = [next(it) if isinstance(x, _ArrayRepresentation) else x.obj for x in leaves]
        return jax.tree.unflatten(treedef, full)

    def init(rngs: Any, arrays: list[Any]) -> Any:
        a, kw = inputs(arrays)
        return call["module"].init(rngs, *a, method=call["method"], mutable=call["mutable"], **kw)

    def apply(variables: Any, rngs: Any, arrays: list[Any]) -> Any:
        a, kw = inputs(arrays)
        return call["module"].apply(variables, *a, rngs=rngs, method=call["method"],
                                    mutable=call["mutable"], **kw)

    def vjp(variables: Any, rngs: Any, arrays: list[Any]) -> Any:
        out, pullback = jax.vjp(apply, variables, rngs, arrays)
        return pullback(out)

    variables = jax.eval_shape(init, rngs, dynamic)
    return (_flops(apply, variables, rngs, dynamic) if forward else -1,
            _flops(vjp, variables, rngs, dynamic) if backward else -1)


def _get_module_table(module: Any, depth: int | None, show_repeated: bool,
                      compute_flops: bool, compute_vjp_flops: bool) -> Callable[..., Table]:
    """A function with `init`'s signature that returns the `Table` of the calls it makes."""

    def table_fn(rngs: Any, *args: Any, **kwargs: Any) -> Table:
        calls: list[dict[str, Any] | None] = []

        def record(next_fun: Any, a: Any, kw: Any, context: InterceptorContext) -> Any:
            index = len(calls)  # a parent's row comes before its children's
            calls.append(None)
            y = next_fun(*a, **kw)
            m = context.module
            if m.scope is not None and context.method_name != "setup":
                calls[index] = {
                    "path": m.path, "module": m.clone(_deep_clone=True), "method":
                    context.method_name, "rngs": tuple(m.scope.rngs), "mutable":
                    m.scope.store.mutable, "args": _represent_tree(a),
                    "kwargs": _represent_tree(kw), "outputs": _represent_tree(y)}
            return y

        # Array leaves (or ShapeDtypeStruct stand-ins) are traced; flags stay Python values.
        leaves, treedef = jax.tree.flatten((args, kwargs))
        traced = [i for i, x in enumerate(leaves) if hasattr(x, "shape") and hasattr(x, "dtype")]

        def init(rngs: Any, traced_leaves: list[Any]) -> Any:
            full = list(leaves)
            for i, x in zip(traced, traced_leaves, strict=True):
                full[i] = x
            a, kw = jax.tree.unflatten(treedef, full)
            return module.init(rngs, *a, **kw)

        with intercept_methods(record):
            variables = jax.eval_shape(init, rngs, [leaves[i] for i in traced])
        done = [c for c in calls if c is not None]
        paths, seen, rows = {c["path"] for c in done}, set(), []
        for c in done:
            if c["path"] in seen or not hasattr(c["module"], c["method"]):
                if not show_repeated:
                    continue
                own: dict[str, Any] = {}
                counted: dict[str, Any] = {}
            elif depth is not None and len(c["path"]) > depth:
                continue
            else:
                own = _own(c["path"], variables, paths)
                at_limit = depth is not None and len(c["path"]) == depth
                counted = _subtree(c["path"], variables) if at_limit else own
            seen.add(c["path"])
            rows.append(Row(c["path"], c["module"].clone(name=None), c["method"],
                            _process_inputs(c["args"], c["kwargs"]), c["outputs"], own,
                            counted, *_call_flops(c, compute_flops, compute_vjp_flops)))
        return Table(module, tuple(sorted(variables)), rows)

    return table_fn


def tabulate(module: Any, rngs: Any, depth: int | None = None, show_repeated: bool = False,
             mutable: CollectionFilter = INIT_MUTABLE,
             console_kwargs: Mapping[str, Any] | None = None,
             table_kwargs: Mapping[str, Any] | None = None,
             column_kwargs: Mapping[str, Any] | None = None,
             compute_flops: bool = False, compute_vjp_flops: bool = False,
             **kwargs: Any) -> Callable[..., str]:
    """A function of the inputs that returns the table (in flax: `nn.tabulate`).

    Args:
        module: the model.
        rngs: what `module.init` takes.
        depth: show submodules down to this depth only; a row at the limit counts the
            variables of its whole subtree, so the totals stay the same.
        show_repeated: also show second and later calls of a module (without variables).
        mutable: the collections `init` creates (all but `intermediates`).
        console_kwargs: accepted for compatibility with flax (its `rich` console); unused.
        table_kwargs: accepted for compatibility with flax; unused.
        column_kwargs: accepted for compatibility with flax; unused.
        compute_flops: add a `flops` column: XLA's estimate of each call's cost.
        compute_vjp_flops: add a `vjp_flops` column: the same for the backward pass.
        **kwargs: more keyword arguments for `module.init` (e.g. `method=`).

    Returns:
        `fn(*args, **kwargs) -> str`, the table of `module.init(rngs, *args, **kwargs)`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> print(nn.tabulate(nn.Dense(2), jax.random.key(0))(jnp.ones((1, 3))).splitlines()[3])
    ┃ path ┃ module ┃ inputs       ┃ outputs      ┃ params               ┃
    """
    del console_kwargs, table_kwargs, column_kwargs
    if mutable != INIT_MUTABLE:
        kwargs["mutable"] = mutable

    def tabulate_fn(*fn_args: Any, **fn_kwargs: Any) -> str:
        table = _get_module_table(module, depth, show_repeated, compute_flops,
                                  compute_vjp_flops)(rngs, *fn_args, **fn_kwargs, **kwargs)
        columns = ["path", "module", "inputs", "outputs"]
        columns += ["flops"] * compute_flops + ["vjp_flops"] * compute_vjp_flops
        return _render(table, columns)

    return tabulate_fn


# --- drawing -----------------------------------------------------------------------


def _normalize(x: Any) -> Any:
    """Tuples, dicts and dataclasses as YAML sees them; each leaf rendered to text."""
    if hasattr(x, "render"):
        return x.render()
    if isinstance(x, list | tuple):
        return [_normalize(v) for v in x]
    if isinstance(x, Mapping):
        return {_normalize_key(k): _normalize(v) for k, v in x.items()}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _normalize(getattr(x, f.name)) for f in dataclasses.fields(x)}
    return repr(x)


def _normalize_key(k: Any) -> Any:
    return k.value if isinstance(k, enum.Enum) else k


def _yaml(x: Any) -> list[str]:
    """The lines of `x` in block YAML (as `yaml.safe_dump` writes them, unquoted)."""
    if isinstance(x, dict | list) and not x:
        return ["{}" if isinstance(x, dict) else "[]"]
    if isinstance(x, dict):
        lines = []
        for k, v in x.items():
            if isinstance(v, dict | list) and v:
                lines.append(f"{k}:")
                lines += [("  " if isinstance(v, dict) else "") + line for line in _yaml(v)]
            else:
                lines.append(f"{k}: {_yaml(v)[0]}")
        return lines
    if isinstance(x, list):
        lines = []
        for v in x:
            sub = _yaml(v)
            lines += [f"- {sub[0]}"] + [f"  {line}" for line in sub[1:]]
        return lines
    return [str(x).replace("'", "")]


def _cell(value: Any) -> str:
    value = _normalize(value)
    if value in ((), [], {}, None):
        return ""
    return "\n".join(_yaml(value))


def _bytes(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n > scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} B"


def _size(size: int, nbytes: int) -> str:
    return f"{size:,} ({_bytes(nbytes)})" if size else ""


def _render(table: Table, columns: list[str]) -> str:
    """Draw the table with box characters, as flax's rich table looks without color."""
    body = []
    for row in table:
        cells = ["/".join(row.path), type(row.module_copy).__name__
                 + (f" ({row.method})" if row.method not in ("__call__", "<lambda>") else "")]
        cells += [_cell(getattr(row, c)) for c in columns[2:]]
        for col, size in row.size_and_bytes(table.collections).items():
            own = _cell(_represent_tree(row.module_variables.get(col, {})))
            cells.append(own + "\n\n" * bool(own) + _size(*size))
        body.append(cells)
    totals = {c: (0, 0) for c in table.collections}
    for row in table:
        for c, (n, b) in row.size_and_bytes(table.collections).items():
            totals[c] = (totals[c][0] + n, totals[c][1] + b)
    footer = [""] * (len(columns) - 1) + ["Total"] + [_size(*t) for t in totals.values()]
    header = columns + list(table.collections)
    grid = [header, *body, footer]
    widths = [max(len(line) for r in grid for line in r[i].split("\n")) for i in range(len(header))]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def lines(cells: list[str], right_last_of: int = -1) -> list[str]:
        split = [c.split("\n") for c in cells]
        out = []
        for i in range(max(len(s) for s in split)):
            parts = [(s[i] if i < len(s) else "") for s in split]
            parts = [p.rjust(w) if j == right_last_of else p.ljust(w)
                     for j, (p, w) in enumerate(zip(parts, widths, strict=True))]
            out.append("│ " + " │ ".join(parts) + " │")
        return out

    width = sum(widths) + 3 * len(widths) + 1
    text = [_center(f"{type(table.module).__name__} Summary", width),
            rule("┏", "━", "┳", "┓"), *[line.replace("│", "┃") for line in lines(header)],
            rule("┡", "━", "╇", "┩")]
    for cells in body:
        text += [*lines(cells), rule("├", "─", "┼", "┤")]
    text += [*lines(footer, right_last_of=len(columns) - 1), rule("└", "─", "┴", "┘")]
    everything = (sum(n for n, _ in totals.values()), sum(b for _, b in totals.values()))
    caption = f"Total Parameters: {_size(*everything)}"
    text += [" " * width, _center(caption, width)]
    return "\n" + "\n".join(text) + "\n\n"


def _center(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)
