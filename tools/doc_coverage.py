"""Which public names of minijax teach by example, and which have an API entry.

    python tools/doc_coverage.py                 # counts, and the names lacking an example
    python tools/doc_coverage.py --site site     # also: every name has an entry in the built site
    python tools/doc_coverage.py --fail-missing  # exit 1 if a function or class lacks an example

The public modules are the subpackages of `minijax.__all__`, `minijax.cli`,
`minijax.testing.strategies`, and, recursively, every module listed in a public
module's `__all__` (`minijax.nn.initializers`, `minijax.train.checkpoint`...).
A public name is an entry of a public module's `__all__`; it is counted once, under
the first module (in that order) that exports it.

A name "has a runnable example" when its docstring (for a class: the class's or its
`__init__`'s) holds at least one `>>>` example, which `pytest --doctest-modules
minijax` runs. Data (type aliases, constants) and modules are listed apart: they
have no docstring of their own to hold one.

`--site DIR` reads `DIR/objects.inv`, the inventory that mkdocstrings writes, and
fails when a public name has no entry there (a module missing from `docs/api/`,
or a name dropped by a filter).
"""

import argparse
import doctest
import importlib
import inspect
import re
import sys
import types
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Report:
    modules: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # "minijax.nn.Dense" -> kind
    canonical: dict[str, str] = field(default_factory=dict)  # where it is defined
    examples: dict[str, int] = field(default_factory=dict)  # public name -> `>>>` count

    def lacking(self) -> list[str]:
        return [
            n for n, k in self.names.items() if k in ("class", "function") and not self.examples[n]
        ]


def public_modules() -> list[str]:
    """The public modules, in the order described above."""
    import minijax

    todo = [f"minijax.{n}" for n in minijax.__all__ if n != "__version__"]
    todo = ["minijax", *todo, "minijax.cli", "minijax.testing.strategies"]
    seen: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            value = getattr(module, attr, None)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("minijax."):
                todo.append(value.__name__)
    return seen


def _kind(value: object) -> str:
    if isinstance(value, types.ModuleType):
        return "module"
    if inspect.isclass(value):
        return "class"
    if callable(value) and hasattr(value, "__name__"):
        return "function"
    return "data"


def _examples(value: object) -> int:
    docs = [inspect.getdoc(value) if _kind(value) != "data" else None]
    if inspect.isclass(value) and "__init__" in vars(value):
        docs.append(vars(value)["__init__"].__doc__)
    parser = doctest.DocTestParser()
    return sum(len(parser.get_examples(d)) for d in docs if d)


def collect() -> Report:
    report = Report(modules=public_modules())
    exported: set[int] = set()
    for module_name in report.modules:
        module = importlib.import_module(module_name)
        for attr in getattr(module, "__all__", ()):
            if attr.startswith("__"):
                continue
            value = getattr(module, attr)
            kind = _kind(value)
            if kind != "data" and id(value) in exported:
                continue  # re-exported: counted under the first module
            exported.add(id(value))
            report.names[f"{module_name}.{attr}"] = kind
            if kind in ("class", "function"):
                report.canonical[f"{module_name}.{attr}"] = (
                    f"{value.__module__}.{value.__qualname__}"
                )
            report.examples[f"{module_name}.{attr}"] = _examples(value) if kind != "module" else 0
    return report


def package_examples() -> tuple[int, int]:
    """(docstrings with examples, `>>>` examples) over every module of the package:
    what `pytest --doctest-modules minijax` collects."""
    import pkgutil

    import minijax

    finder = doctest.DocTestFinder(exclude_empty=True)
    tests: dict[str, int] = {}
    for info in pkgutil.walk_packages(minijax.__path__, "minijax."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional dependency missing: pytest skips it too
            continue
        for test in finder.find(module, info.name):
            if test.examples and test.filename and test.name.startswith(info.name):
                tests[test.name] = len(test.examples)
    module = importlib.import_module("minijax")
    for test in finder.find(module, "minijax"):
        if test.examples and test.name.count(".") <= 1 and test.name not in tests:
            tests[test.name] = len(test.examples)
    return len(tests), sum(tests.values())


def inventory(site: Path) -> set[str]:
    """The entries of a built site: the object names of its `objects.inv` (a Sphinx
    inventory, version 2) and the `id`s of the headings of its API pages."""
    raw = (site / "objects.inv").read_bytes()
    lines = raw.split(b"\n", 4)
    body = zlib.decompress(lines[4]).decode("utf-8")
    names = {line.split(" ", 1)[0] for line in body.splitlines() if line.strip()}
    for page in (site / "api").rglob("*.html"):
        names.update(re.findall(r'<h[1-6] id="(minijax[.\w]*)"', page.read_text("utf-8")))
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site: check its objects.inv")
    parser.add_argument(
        "--fail-missing",
        action="store_true",
        help="exit 1 if a public function or class has no example",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    report = collect()
    kinds = list(report.names.values())
    callables = [n for n, k in report.names.items() if k in ("class", "function")]
    with_examples = [n for n in callables if report.examples[n]]
    docstrings, examples = package_examples()
    print(f"public modules: {len(report.modules)}")
    print(
        f"public names: {len(report.names)} ({kinds.count('class')} classes, "
        f"{kinds.count('function')} functions, {kinds.count('module')} modules, "
        f"{kinds.count('data')} data)"
    )
    print(
        f"classes and functions with a runnable example: {len(with_examples)} of {len(callables)}"
    )
    print(f"doctest examples in the package: {examples} `>>>` lines in {docstrings} docstrings")
    lacking = report.lacking()
    if lacking:
        print(f"\nlacking an example ({len(lacking)}):")
        for name in lacking:
            print(f"  {name}")
    status = 1 if args.fail_missing and lacking else 0
    if args.site:
        entries = inventory(args.site)
        missing = [
            n
            for n in [*report.modules, *report.names]
            if n not in entries and report.canonical.get(n) not in entries
        ]
        print(
            f"\nAPI entries in {args.site}/objects.inv: "
            f"{len(report.names) + len(report.modules) - len(missing)} of "
            f"{len(report.names) + len(report.modules)}"
        )
        if missing:
            print(
                "missing from the API reference (add `::: <module>` to a page in docs/api/ "
                "and list the page in mkdocs.yml's nav):"
            )
            for name in missing:
                print(f"  {name}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
