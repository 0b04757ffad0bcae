"""`import minijax` (lazy subpackages) and the `python -m minijax` command line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import minijax
from minijax import cli

ROOT = Path(__file__).resolve().parents[1]


def _python(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.subprocess
def test_import_minijax_is_lazy_and_gives_the_subpackages():
    code = (
        "import sys, minijax\n"
        "assert 'jax' not in sys.modules, 'import minijax imported jax'\n"
        "assert 'minijax.nn' not in sys.modules\n"
        "print(minijax.nn.Dense.__module__, minijax.optim.adam.__module__,"
        " minijax.train.TrainState.__name__)\n"
    )
    proc = _python("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["minijax.nn.linear", "minijax.optim.alias", "TrainState"]


def test_every_subpackage_is_listed_and_importable():
    on_disk = {
        p.stem if p.is_file() else p.name
        for p in (ROOT / "minijax").iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    assert set(minijax.__all__) == (on_disk - {"cli"}) | {"__version__"}
    for name in on_disk:
        assert getattr(minijax, name).__name__ == f"minijax.{name}"
    assert set(minijax.__all__) <= set(dir(minijax))


def test_unknown_attribute_names_where_the_name_lives():
    with pytest.raises(AttributeError, match=r"it is `minijax\.nn\.Dense`"):
        _ = minijax.Dense
    subpackages = r"the subpackages are [a-z_, ]*\bnn\b[a-z_, ]*\boptim\b"
    with pytest.raises(AttributeError, match=rf"no attribute 'nope'; {subpackages}"):
        _ = minijax.nope


def test_version_matches_the_package_metadata():
    text = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{minijax.__version__}"' in text


def test_help_explains_each_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "examples", "run NAME", "info"):
        assert f"\n  {command}" in out, command


def test_no_command_prints_the_help(capsys):
    assert cli.main([]) == 0
    assert "usage: minijax" in capsys.readouterr().out


def test_examples_lists_every_script(capsys):
    assert cli.main(["examples"]) == 0
    out = capsys.readouterr().out
    scripts = {p.stem for p in (ROOT / "examples").glob("*.py") if not p.stem.startswith("_")}
    listed = {line.split()[0] for line in out.splitlines()[: len(scripts)]}
    assert listed == scripts
    assert "train a CNN on handwritten digits" in out


def test_info_reports_versions_devices_and_shape_checks(capsys):
    import jax

    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(None, 1) for line in out.splitlines() if line and line[0] != " ")
    assert lines["minijax"].strip() == minijax.__version__
    assert lines["jax"].strip() == jax.__version__
    assert "shape" in out and ("checks  on" in out or "checks  off" in out)
    assert f"{jax.devices()[0].platform}:0" in out


def test_run_rejects_an_unknown_example_and_lists_the_others(capsys):
    assert cli.main(["run", "no_such_example"]) == 2
    err = capsys.readouterr().err
    assert "no example named 'no_such_example'" in err and "linear_regression" in err


@pytest.mark.subprocess
def test_python_m_minijax_runs_an_example_quickly(tmp_path):
    proc = _python("-m", "minijax", "run", "linear_regression", "--quick", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "converged: True" in proc.stdout
    assert any(tmp_path.glob("*.png")) or "matplotlib is not installed" in proc.stdout


@pytest.mark.subprocess
def test_python_m_minijax_version():
    proc = _python("-m", "minijax", "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"minijax {minijax.__version__}"
