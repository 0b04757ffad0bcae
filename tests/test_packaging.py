"""Packaging: dependency ranges as wide as what is tested, the console script, the
examples shipped in the wheel. (Building and installing the wheel in a fresh venv is
`tools/wheel_smoke.sh`, run by `.ci/run`.)"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements() -> dict[str, str]:
    reqs = list(PROJECT["dependencies"])
    for extra in PROJECT["optional-dependencies"].values():
        reqs += extra
    found = {}
    for req in reqs:
        m = re.match(r"([A-Za-z0-9_.\-\[\]]+)\s*(.*)", req)
        assert m, req
        found[m[1]] = m[2]
    return found


def test_no_exact_pins():
    pinned = {name: spec for name, spec in _requirements().items() if "==" in spec}
    assert not pinned, f"use ranges, not exact pins: {pinned}"


def test_jax_has_a_floor_and_no_cap_and_the_floor_is_what_ci_tests():
    deps = {r.split(">=")[0]: r for r in PROJECT["dependencies"]}
    for name in ("jax", "jaxlib"):
        assert "<" not in deps[name], f"{deps[name]}: no upper cap without a named break"
        floor = deps[name].split(">=")[1]
        script = (ROOT / "tools" / "oldest_deps.sh").read_text()
        assert f'"{name}=={floor}"' in script, f"tools/oldest_deps.sh must test {name}=={floor}"


def test_typeguard_stays_below_3_as_jaxtyping_needs():
    assert _requirements()["typeguard"] == ">=2.13.3,<3"
    assert "typeguard 3 and 4 break jaxtyping" in (ROOT / "README.md").read_text()


def test_console_script_and_shipped_examples():
    assert PROJECT["scripts"] == {"minijax": "minijax.cli:main"}
    setup = (ROOT / "setup.py").read_text()
    assert '"minijax.examples"' in setup and '{"minijax.examples": "examples"}' in setup


def test_ci_runs_docs_doctests_and_the_wheel():
    ci = (ROOT / ".ci" / "run").read_text()
    for step in (
        "--doctest-modules minijax",
        "mkdocs build --strict",
        "tools/doc_coverage.py",
        "tools/wheel_smoke.sh",
        "tools/oldest_deps.sh",
    ):
        assert step in ci, step
