"""Smoke tests of the example scripts: each runs with ``--quick`` in a fresh process.

Each test starts ``python examples/NAME.py --quick --out <tmp>`` and checks the
exit code and one line of the output that shows the example did its job (an
accuracy, a converged fit, a caught shape error). Figures go to the temporary
folder; without matplotlib the examples skip them and still run. Examples that
read the digits data set need scikit-learn (the ``examples`` extra) and are
skipped with that reason when it is missing.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minijax.typing import typecheck_enabled

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None
needs_sklearn = pytest.mark.skipif(
    not HAS_SKLEARN,
    reason="needs scikit-learn for the digits data set: pip install -e '.[examples]'",
)

pytestmark = pytest.mark.subprocess


def run_example(name, tmp_path, *extra, timeout=300, fast_compile=True):
    """Run one example; return its combined output. Fails with the output on a non-zero exit."""
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    if fast_compile:
        # The quick runs spend most of their time in XLA's CPU compiler (a jitted
        # init or train step of a small model takes seconds to optimise); level 0
        # compiles about 3x faster. The numbers the tests check are unaffected.
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0".strip()
    cmd = [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(tmp_path), *extra]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited with {proc.returncode}:\n{out[-4000:]}"
    return out


def number_after(pattern, out):
    m = re.search(pattern + r"\s*([0-9.eE+-]+)", out)
    assert m, f"no line matching {pattern!r} in:\n{out[-3000:]}"
    return float(m.group(1))


@needs_sklearn
def test_demo(tmp_path):
    out = run_example("demo", tmp_path, "--quick")
    assert number_after(r"\ntest accuracy:", out) > 0.85
    assert "params and optimizer state identical: True" in out
    assert "ValueError: softmax_cross_entropy: labels has shape (4,)" in out
    assert (tmp_path / "demo_checkpoints").is_dir()


def test_linear_regression(tmp_path):
    out = run_example("linear_regression", tmp_path, "--quick")
    assert "converged: True" in out
    assert number_after(r"learned w =", out) == pytest.approx(3.0, abs=0.05)


def test_gradient_field(tmp_path):
    out = run_example("gradient_field", tmp_path, "--quick")
    assert number_after(r"max \|jax.grad - exact\| over a \d+x\d+ grid:", out) < 1e-5


@needs_sklearn
def test_cnn_classifier(tmp_path):
    out = run_example("cnn_classifier", tmp_path, "--quick")
    assert number_after(r"final test accuracy:", out) > 0.8


@needs_sklearn
def test_transfer_learning(tmp_path):
    out = run_example("transfer_learning", tmp_path, "--quick")
    assert number_after(r"max \|change\| of frozen body params:", out) == 0.0
    assert number_after(r"max \|change\| of head params:", out) > 0.0
    transferred = number_after(r"over 1 seed\(s\): transferred", out)
    scratch = number_after(r"from scratch", out.split("over 1 seed(s):")[1])
    assert transferred > scratch  # the reused body helps, even after a short pretraining


def test_polynomial_regression(tmp_path):
    out = run_example("polynomial_regression", tmp_path, "--quick")
    assert number_after(r"chain\(clip, adam, scale\): final loss", out) < 0.05
    if typecheck_enabled():
        assert "shape error caught: Type-check error" in out


def test_autoencoder(tmp_path):
    out = run_example("autoencoder", tmp_path, "--quick")
    assert "same function with the same params: True" in out
    assert "collections: ['batch_stats', 'params']" in out
    assert "reconstruction MSE" in out


def test_tiny_transformer(tmp_path):
    out = run_example("tiny_transformer", tmp_path, "--quick")
    assert number_after(r"final loss:", out) < 3.0  # uniform guessing is ln(40) = 3.69
    assert "sample:\nShall I" in out


def test_reinforcement_learning(tmp_path):
    out = run_example("reinforcement_learning", tmp_path, "--quick")
    first = number_after(r"mean episode length:", out)
    last = number_after(r"\(first 5 iterations\) ->", out)
    assert last > first  # the policy improves within the 10 quick iterations


def test_init_apply_vs_pytree(tmp_path):
    out = run_example("init_apply_vs_pytree", tmp_path, "--quick")
    assert "same outputs: True" in out
    assert "same gradients: True" in out
    assert "max |init/apply - pytree| = 0.0e+00" in out


@pytest.mark.slow
@needs_sklearn
def test_demo_full_run_reaches_90_percent(tmp_path):
    """The README's first command, as a user runs it: more than 90% test accuracy."""
    out = run_example("demo", tmp_path, "--no-plot", fast_compile=False)
    assert number_after(r"\ntest accuracy:", out) > 0.9
