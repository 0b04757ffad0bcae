"""Task regions in source text: find them, stub them, splice them, check their names.

A region is the lines strictly between `# >>> TASK A1.1` and `# <<< TASK A1.1`, both
at the region's indentation. A task may have several regions in one file (A1.1 has
`softmax` and `log_softmax`); they are matched in order.

>>> src = "def f(x):\\n    # >>> TASK A9.1\\n    return x + 1\\n    # <<< TASK A9.1\\n"
>>> print(stub(src, "A9.1", "A9.1 f: add one"), end="")
def f(x):
    # >>> TASK A9.1
    raise NotImplementedError("A9.1 f: add one")
    # <<< TASK A9.1
>>> region_bodies(src, "A9.1")
['    return x + 1\\n']
"""

import ast
import json
import re
from dataclasses import dataclass

__all__ = [
    "Region",
    "RegionError",
    "find_regions",
    "forbidden_uses",
    "region_bodies",
    "replace_bodies",
    "splice",
    "stub",
    "task_ids",
]

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)# >>> TASK (?P<id>A\d+\.\w+)[ \t]*$")
_END = re.compile(r"^(?P<indent>[ \t]*)# <<< TASK (?P<id>A\d+\.\w+)[ \t]*$")


class RegionError(ValueError):
    """A region's markers are missing, unbalanced, or differ between two files."""


@dataclass(frozen=True)
class Region:
    """Lines `[start, end)` of a file (0-based, excluding the markers) of task `task`."""

    task: str
    indent: str
    start: int
    end: int


def find_regions(text: str, where: str = "<source>") -> list[Region]:
    """All regions of `text`, in order; raises `RegionError` on unbalanced markers."""
    lines = text.splitlines(keepends=True)
    out: list[Region] = []
    open_: tuple[str, str, int] | None = None
    for i, line in enumerate(lines):
        if m := _BEGIN.match(line):
            if open_ is not None:
                raise RegionError(f"{where}:{i + 1}: TASK {m['id']} begins inside TASK "
                                  f"{open_[0]}; close it first with '# <<< TASK {open_[0]}'.")
            open_ = (m["id"], m["indent"], i + 1)
        elif m := _END.match(line):
            if open_ is None or open_[0] != m["id"]:
                raise RegionError(f"{where}:{i + 1}: '# <<< TASK {m['id']}' closes no open "
                                  f"region; keep the markers as they were released.")
            out.append(Region(open_[0], open_[1], open_[2], i))
            open_ = None
    if open_ is not None:
        raise RegionError(f"{where}: TASK {open_[0]} is never closed; add "
                          f"'# <<< TASK {open_[0]}' after its last line.")
    return out


def task_ids(text: str) -> list[str]:
    """The tasks with a region in `text`, in order of first appearance."""
    return list(dict.fromkeys(r.task for r in find_regions(text)))


def region_bodies(text: str, task: str, where: str = "<source>") -> list[str]:
    """The text of each region of `task` in `text`."""
    lines = text.splitlines(keepends=True)
    return ["".join(lines[r.start:r.end]) for r in find_regions(text, where) if r.task == task]


def replace_bodies(text: str, task: str, bodies: list[str], where: str = "<source>") -> str:
    """`text` with the regions of `task` replaced by `bodies`, one per region, in order."""
    lines = text.splitlines(keepends=True)
    regions = [r for r in find_regions(text, where) if r.task == task]
    if len(regions) != len(bodies):
        raise RegionError(f"{where}: TASK {task} has {len(regions)} region(s) here but "
                          f"{len(bodies)} were given; keep every released region.")
    for r, body in reversed(list(zip(regions, bodies, strict=True))):
        if body and not body.endswith("\n"):
            body += "\n"
        lines[r.start:r.end] = [body]
    return "".join(lines)


def stub(text: str, task: str, message: str, where: str = "<source>") -> str:
    """`text` with every region of `task` replaced by `raise NotImplementedError(message)`."""
    regions = [r for r in find_regions(text, where) if r.task == task]
    bodies = [f"{r.indent}raise NotImplementedError({json.dumps(message)})\n" for r in regions]
    return replace_bodies(text, task, bodies, where)


def splice(clean: str, submitted: str, task: str, where: str = "<source>") -> str:
    """`clean` with the bodies of `task`'s regions taken from `submitted`."""
    return replace_bodies(clean, task, region_bodies(submitted, task, where), where)


# --- names a region may not use ------------------------------------------------------


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _aliases(tree: ast.AST) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    names[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _matches(name: str, banned: str) -> bool:
    return name == banned or name.startswith(banned + ".")


def forbidden_uses(module_source: str, body: str, banned: tuple[str, ...]) -> list[str]:
    """The names of `banned` (dotted prefixes: `jax.nn`, `optax`) that `body` uses.

    Names are resolved through the imports of `module_source` (the clean file the
    body is spliced into) and the body's own: `jnn.softmax` after `from jax import
    nn as jnn` is `jax.nn.softmax`. Strings are not names: a docstring may mention
    anything.
    """
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(body))
    except SyntaxError:
        return []  # reported by the splice's compile check
    aliases = {**_aliases(ast.parse(module_source)), **_aliases(tree)}
    found: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            d = _dotted(node)
            if d is not None:
                head, _, rest = d.partition(".")
                names = [aliases.get(head, head) + ("." + rest if rest else "")]
        for name in names:
            for b in banned:
                if _matches(name, b) and b not in found:
                    found.append(b)
    return found
