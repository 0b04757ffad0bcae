"""The `minijax` command: `python -m minijax demo | examples | run NAME | info`.

```text
minijax demo [--quick]          train the README's CNN on 8x8 digits, checkpoint it
minijax examples                list the example programs, one line each
minijax run NAME [ARGS...]      run one example; ARGS go to it (--quick, --epochs 5, ...)
minijax info                    versions, devices, whether shape checks are on
minijax --version
```

The examples are the scripts of the repository's `examples/` folder, shipped inside
the wheel as `minijax/examples/`. Their figures and checkpoints go to `--out`
(default: `./minijax-out`).

>>> from minijax.cli import main
>>> main(["--version"])
minijax 0.1.0
0
"""

import argparse
import ast
import importlib.metadata
import platform
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

import minijax

__all__ = ["example_names", "examples_dir", "info", "main"]

DEFAULT_OUT = Path("minijax-out")


def examples_dir() -> Path:
    """The folder of the example scripts: inside the installed package, else the checkout's.

    Returns:
        `minijax/examples/` in a wheel install; `examples/` next to the `minijax`
        folder in a source checkout (an editable install or `PYTHONPATH`).

    Raises:
        FileNotFoundError: neither exists (a broken install).

    >>> (examples_dir() / "demo.py").is_file()
    True
    """
    package = Path(minijax.__file__).resolve().parent
    for candidate in (package / "examples", package.parent / "examples"):
        if (candidate / "demo.py").is_file():
            return candidate
    raise FileNotFoundError(
        f"no examples folder next to {package}: reinstall minijax "
        "(`pip install minijax`), or run from a checkout of its repository"
    )


def example_names() -> dict[str, str]:
    """The runnable examples: name -> the first line of the script's docstring.

    >>> names = example_names()
    >>> "demo" in names and "linear_regression" in names
    True
    """
    names = {}
    for path in sorted(examples_dir().glob("*.py")):
        if path.name.startswith("_"):
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        names[path.stem] = doc.strip().splitlines()[0] if doc.strip() else ""
    return names


def info() -> dict[str, str]:
    """What `minijax info` prints: versions, the default backend, devices, shape checks.

    >>> report = info()
    >>> report["minijax"] == minijax.__version__
    True
    >>> import jax
    >>> report["jax"] == jax.__version__
    True
    """
    import jax

    from minijax.typing import typecheck_enabled

    report = {"minijax": minijax.__version__, "python": platform.python_version()}
    for dist in ("jax", "jaxlib", "numpy", "jaxtyping", "typeguard"):
        report[dist] = _version(dist)
    for dist in ("tqdm", "matplotlib", "scikit-learn", "hypothesis"):  # optional extras
        report[dist] = _version(dist)
    report["backend"] = jax.default_backend()
    report["devices"] = ", ".join(f"{d.platform}:{d.id}" for d in jax.devices())
    report["x64"] = str(jax.numpy.asarray(1.0).dtype == jax.numpy.float64)
    checks = typecheck_enabled()
    report["shape checks"] = "on" if checks else "off (MINIJAX_TYPECHECK=0)"
    return report


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _run_example(name: str, args: Sequence[str]) -> int:
    names = example_names()
    if name not in names:
        print(
            f"minijax: no example named {name!r}; the examples are: {', '.join(names)}"
            " (`minijax examples` describes them)",
            file=sys.stderr,
        )
        return 2
    args = list(args)
    if not any(a == "--out" or a.startswith("--out=") for a in args):
        args += ["--out", str(DEFAULT_OUT / name)]
    script = examples_dir() / f"{name}.py"
    argv, path = sys.argv, sys.path[:]
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.parent))  # the scripts import their `_common` helper
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exit_:  # argparse's --help and errors
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv, sys.path[:] = argv, path
    return 0


_DESCRIPTION = """\
minijax: flax.linen, optax and flax's TrainState rebuilt from scratch on JAX.

commands:
  demo [--quick]      the tour of the README: a CNN trained on 8x8 digits with a
                      progress bar, a summary table, a checkpoint saved and
                      restored, a caught shape error (--quick: a few seconds)
  examples            list the example programs with what each shows
  run NAME [ARGS]     run one example; ARGS go to the script (--quick, --seed N,
                      --no-plot, --out DIR, and its own flags: run NAME --help)
  info                versions of minijax, jax and the extras, the devices, and
                      whether run-time shape checks are on

Figures and checkpoints go to ./minijax-out/NAME unless you pass --out.
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="minijax",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"minijax {minijax.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the README's demo (examples/demo.py)")
    demo.add_argument("args", nargs=argparse.REMAINDER, help="passed to the demo")
    sub.add_parser("examples", help="list the examples")
    run = sub.add_parser("run", help="run one example: run NAME [ARGS...]")
    run.add_argument("name", help="an example's name, from `minijax examples`")
    run.add_argument("args", nargs=argparse.REMAINDER, help="passed to the example")
    sub.add_parser("info", help="versions, devices and shape checks")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `minijax` command line; return its exit status.

    Args:
        argv: the arguments after the program name (default: `sys.argv[1:]`).

    Returns:
        0 on success, 2 on a usage error, else the example's exit status.

    >>> main(["run", "no_such_example"])  # the message goes to stderr
    2
    """
    parser = _parser()
    try:
        ns = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, a usage error
        return exit_.code if isinstance(exit_.code, int) else 1
    if ns.command == "demo":
        return _run_example("demo", ns.args)
    if ns.command == "run":
        return _run_example(ns.name, ns.args)
    if ns.command == "examples":
        names = example_names()
        width = max(map(len, names))
        for name, line in names.items():
            print(f"{name:<{width}}  {line}")
        print("\nrun one with: python -m minijax run NAME [--quick]")
        return 0
    if ns.command == "info":
        report = info()
        width = max(map(len, report))
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
