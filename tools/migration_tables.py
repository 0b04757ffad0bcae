"""The migration tables: every public flax/optax name and its minijax counterpart.

    python tools/migration_tables.py            # rewrite docs/migration/*.md from the code
    python tools/migration_tables.py --capture  # first re-read flax's and optax's names

Three inputs make the tables:

* `tools/migration/names.json`: the public names of flax.linen, flax.struct,
  flax.training.*, flax.serialization and optax, captured with `--capture` from the
  installed flax and optax (their versions are recorded in the file), so that
  generating and testing need neither installed;
* the code: a name is supported when minijax has it, found with `getattr` on the
  counterpart module (`flax.linen.Dense` -> `minijax.nn.Dense`) or on the target
  that `tools/migration/reasons.toml` gives under `[renamed]`;
* `tools/migration/reasons.toml`, kept by hand: why an unsupported name is not
  rebuilt (exact names, or `*` patterns; the first match wins).

`tests/test_docs_migration.py` regenerates the tables in memory and fails when a
committed table disagrees with the code: re-run this script after adding a name.
"""

import argparse
import fnmatch
import importlib
import json
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tools" / "migration"
PAGES = ROOT / "docs" / "migration"

#: The tables: page name -> (title, [(source module, minijax module)]).
TABLES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "flax-linen": (
        "From flax.linen to minijax.nn",
        [("flax.linen", "minijax.nn"), ("flax.linen.initializers", "minijax.nn.initializers")],
    ),
    "flax-training": (
        "From flax.training, flax.struct and flax.serialization to minijax",
        [
            ("flax.struct", "minijax.struct"),
            ("flax.training.train_state", "minijax.train"),
            ("flax.training.checkpoints", "minijax.train.checkpoint"),
            ("flax.training.common_utils", "minijax.train.common_utils"),
            ("flax.training.dynamic_scale", "minijax.train"),
            ("flax.training.early_stopping", "minijax.train"),
            ("flax.training.lr_schedule", "minijax.optim.schedules"),
            ("flax.training.orbax_utils", "minijax.train.checkpoint"),
            ("flax.training.prefetch_iterator", "minijax.data"),
            ("flax.serialization", "minijax.serialization"),
        ],
    ),
    "optax": (
        "From optax to minijax.optim",
        [
            ("optax", "minijax.optim"),
            ("optax.losses", "minijax.optim.losses"),
            ("optax.schedules", "minijax.optim.schedules"),
            ("optax.tree", "minijax.optim.tree"),
            ("optax.tree_utils", "minijax.optim.tree_utils"),
        ],
    ),
}

#: Submodules of flax.linen that are part of its API (the others are its source files).
LINEN_NAMESPACES = {"initializers"}


def capture() -> dict[str, object]:
    """Read the public names of the installed flax and optax (needs both)."""
    import types
    import typing

    import flax
    import optax

    def public(module_name: str) -> list[str]:
        module = importlib.import_module(module_name)
        if hasattr(module, "__all__"):
            names = list(module.__all__)
        else:
            names = [n for n in dir(module) if not n.startswith("_")]
        keep = []
        for name in names:
            value = getattr(module, name, None)
            if isinstance(value, types.ModuleType):
                if (module_name == "flax.linen" and name in LINEN_NAMESPACES) or (
                    module_name == "optax" and name in names
                ):
                    keep.append(name)  # a namespace of the API (optax.losses)
                continue
            if isinstance(value, typing.TypeVar):
                continue
            origin = getattr(value, "__module__", None) or ""
            if not module_name.startswith(("flax.linen", "optax")):
                if not origin.startswith(module_name.split(".")[0]):
                    continue  # typing helpers, numpy, msgpack... imported by the module
                if module_name.startswith("flax.training") and origin != module_name:
                    continue  # defined elsewhere in flax, re-imported
            keep.append(name)
        return sorted(set(keep))

    modules = sorted({src for _, pairs in TABLES.values() for src, _ in pairs})
    return {
        "versions": {"flax": flax.__version__, "optax": optax.__version__},
        "names": {m: public(m) for m in modules},
    }


@dataclass
class Row:
    source: str  # "flax.linen.Dense"
    target: str | None  # "minijax.nn.Dense", or None
    note: str  # the reason when unsupported; "" or a remark when supported


def _resolve(path: str) -> bool:
    """Whether `minijax.a.b.Name` exists (importing `minijax.a.b`, then the attribute)."""
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        try:  # a module's attribute that is itself a module path
            importlib.import_module(path)
            return True
        except ImportError:
            return False
    return hasattr(module, attr)


def rows(table: str, names: dict[str, list[str]], reasons: dict[str, dict[str, str]]) -> list[Row]:
    """The rows of one table, in the order of its sources, names sorted."""
    renamed = reasons.get("renamed", {})
    why = reasons.get(table, {})
    out = []
    for source_module, target_module in TABLES[table][1]:
        for name in names.get(source_module, []):
            source = f"{source_module}.{name}"
            target = renamed.get(source, f"{target_module}.{name}")
            if _resolve(target):
                note = "" if target.rpartition(".")[2] == name else "renamed"
                out.append(Row(source, target, note))
                continue
            reason = next(
                (r for pattern, r in why.items() if fnmatch.fnmatchcase(source, pattern)),
                reasons["default"][table],
            )
            out.append(Row(source, None, reason))
    return out


def _anchor(target: str) -> str:
    """The API reference's identifier for `target`: its own path, or, for a function
    that shares its name with a module (`minijax.train.fit`), where it is defined."""
    import importlib.util
    import types

    module_name, _, attr = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        value = getattr(module, attr)
    except (ImportError, AttributeError):
        return target
    if isinstance(value, types.ModuleType) or not hasattr(module, "__path__"):
        return target
    if importlib.util.find_spec(target) is None:
        return target
    return f"{value.__module__}.{value.__qualname__}"


def _cell(row: Row) -> str:
    if row.target is None:
        return "not supported"
    return f"[`{row.target}`][{_anchor(row.target)}]"


def render(table: str, data: dict[str, object], reasons: dict[str, dict[str, str]]) -> str:
    title, sources = TABLES[table]
    names = data["names"]
    versions = data["versions"]
    assert isinstance(names, dict) and isinstance(versions, dict)
    table_rows = rows(table, names, reasons)
    supported = sum(r.target is not None for r in table_rows)
    library = "optax" if table == "optax" else "flax"
    lines = [
        f"# {title}",
        "",
        f"Every public name of {', '.join(f'`{s}`' for s, _ in sources)} "
        f"({library} {versions[library]}) with its minijax counterpart, or the reason it has "
        f"none. {supported} of {len(table_rows)} names are supported. A supported name "
        "takes the same arguments and, where the parity tests cover it, gives the same "
        "numbers.",
        "",
        "This page is generated from the code by `python tools/migration_tables.py`; "
        "`tests/test_docs_migration.py` fails when it and the code disagree.",
        "",
    ]
    current = None
    for row in table_rows:
        module = row.source.rpartition(".")[0]
        if module != current:
            current = module
            lines += [
                "",
                f"## `{module}`",
                "",
                f"| {module} | minijax | note |",
                "| --- | --- | --- |",
            ]
        lines.append(f"| `{row.source.rpartition('.')[2]}` | {_cell(row)} | {row.note} |")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str | None]:
    """Read a rendered table back: source name -> minijax name, or None (not supported)."""
    found: dict[str, str | None] = {}
    module = ""
    for line in text.splitlines():
        if line.startswith("## `"):
            module = line[4:].rstrip("`")
        elif line.startswith("| `"):
            name, cell = (c.strip() for c in line.strip("|").split("|")[:2])
            target = None if cell == "not supported" else cell.split("`")[1]
            found[f"{module}.{name.strip('`')}"] = target
    return found


def disagreements(text: str, table_rows: list[Row]) -> list[str]:
    """What a committed table gets wrong about the code, one line per name."""
    committed = parse(text)
    problems = []
    for row in table_rows:
        if row.source not in committed:
            problems.append(f"{row.source}: not in the table")
        elif committed[row.source] is not None and row.target is None:
            problems.append(
                f"{row.source}: the table says {committed[row.source]}, which minijax lacks"
            )
        elif committed[row.source] is None and row.target is not None:
            problems.append(f"{row.source}: minijax has {row.target}; the table says not supported")
        elif committed[row.source] != row.target:
            problems.append(
                f"{row.source}: the table says {committed[row.source]}, the code {row.target}"
            )
    for source in committed.keys() - {r.source for r in table_rows}:
        problems.append(f"{source}: in the table, not among the names of names.json")
    return problems


def load() -> tuple[dict[str, object], dict[str, dict[str, str]]]:
    data = json.loads((DATA / "names.json").read_text(encoding="utf-8"))
    reasons = tomllib.loads((DATA / "reasons.toml").read_text(encoding="utf-8"))
    return data, reasons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--capture",
        action="store_true",
        help="re-read the names from the installed flax and optax first",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.capture:
        (DATA / "names.json").write_text(json.dumps(capture(), indent=1) + "\n", encoding="utf-8")
    data, reasons = load()
    PAGES.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        text = render(table, data, reasons)
        (PAGES / f"{table}.md").write_text(text, encoding="utf-8")
        table_rows = rows(table, data["names"], reasons)  # type: ignore[arg-type]
        print(
            f"docs/migration/{table}.md: {sum(r.target is not None for r in table_rows)} "
            f"of {len(table_rows)} supported"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
