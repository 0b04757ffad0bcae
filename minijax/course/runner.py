"""Run course tests on a tree in a subprocess: a time limit per test, never an abort.

Each test function gets one `Outcome`. A test that runs over its limit scores 0 and
the run goes on: the per-test alarm of the tests' conftest interrupts Python code,
and a test stuck where the alarm cannot reach (inside compiled code) is ended by a
watchdog here, which kills the process and starts a new one on the tests that have
not run yet.
"""

import ast
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Outcome", "run_tests", "test_names"]

_PYTEST_INI = "[pytest]\npython_files = *.py\npython_functions = test_*\naddopts =\n"


@dataclass
class Outcome:
    """How one test function did: `passed`, `failed`, `timeout` or `error`."""

    name: str
    file: str
    status: str
    kind: str = ""  # of a failure: assertion, library, timeout or error
    message: str = ""

    @property
    def passed(self) -> bool:
        """Whether every case of the test passed."""
        return self.status == "passed"


def test_names(path: Path) -> list[str]:
    """The test functions defined at the top level of the file `path`, in order."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.name for n in tree.body
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


test_names.__test__ = False  # type: ignore[attr-defined]


def _function(nodeid: str) -> tuple[str, str]:
    file, _, rest = nodeid.partition("::")
    return Path(file).name, rest.split("[")[0]


def _merge(out: dict[tuple[str, str], Outcome], key: tuple[str, str], status: str,
           kind: str, message: str) -> None:
    o = out.get(key)
    if o is None or o.status == "pending":
        out[key] = Outcome(key[1], key[0], status, kind, message)
    elif o.status == "passed" and status != "passed":
        o.status, o.kind, o.message = status, kind, message


def run_tests(tree: Path, files: list[str], *, timeout: float = 60.0,
              examples: int = 15, prefix: str = "") -> list[Outcome]:
    """Run the test files `files` (relative to `tree`) with `tree` first on the path.

    `prefix` selects the tests whose names start with it (`test_a4_1_`). Returns one
    `Outcome` per test function of the files, in order; one that never
    ran (its file failed to import, or the run was cut) is an `error` with a message.
    """
    tree = tree.resolve()
    (tree / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
    expected = [(Path(f).name, n) for f in files for n in test_names(tree / f)
                if n.startswith(prefix)]
    results: dict[tuple[str, str], Outcome] = {}
    log = tree / ".course-results.jsonl"
    done: set[str] = set()
    collect_errors: dict[str, str] = {}
    env = {**os.environ, "PYTHONPATH": str(tree), "COURSE_RESULTS": str(log),
           "COURSE_TIMEOUT": str(timeout), "COURSE_LIBRARY": str(tree / "minijax"),
           "COURSE_EXAMPLES": str(examples), "PYTHONDONTWRITEBYTECODE": "1"}
    env.setdefault("JAX_PLATFORMS", "cpu")
    for _attempt in range(len(expected) + 1):
        log.write_text("", encoding="utf-8")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "--assert=plain", "--tb=no", "-c", str(tree / "pytest.ini"),
               "--rootdir", str(tree), *(["-k", prefix] if prefix else []), *files,
               *(f"--deselect={d}" for d in sorted(done))]
        proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        current: tuple[str, float] | None = None
        finished = False
        stuck = False
        offset = 0
        while True:
            exited = proc.poll() is not None
            with open(log, "rb") as f:
                f.seek(offset)
                chunk = f.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.decode("utf-8").splitlines():
                r = json.loads(line)
                if r["event"] == "start":
                    current = (r["nodeid"], r["time"])
                elif r["event"] == "result":
                    done.add(r["nodeid"])
                    status = "timeout" if r.get("kind") == "timeout" else r["outcome"]
                    _merge(results, _function(r["nodeid"]), status, r.get("kind", ""),
                           r.get("message", ""))
                    if current and current[0] == r["nodeid"]:
                        current = None
                elif r["event"] == "collect-error":
                    collect_errors[Path(r["nodeid"]).name] = r["message"]
                elif r["event"] == "finish":
                    finished = True
            if exited:
                break
            if current and time.time() - current[1] > timeout + 30:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                done.add(current[0])
                _merge(results, _function(current[0]), "timeout", "timeout",
                       f"timed out after {timeout:g} s")
                stuck = True
                break
            time.sleep(0.2)
        if finished:
            break
        if not stuck:
            if current is None:
                break
            done.add(current[0])  # the process died inside this test: on with the rest
            _merge(results, _function(current[0]), "error", "error",
                   "the test process ended inside this test")
    out = []
    for key in expected:
        o = results.get(key)
        if o is None:
            why = collect_errors.get(key[0], "the test did not run")
            o = Outcome(key[1], key[0], "error", "error", why)
        elif o.status == "skipped":
            o = Outcome(key[1], key[0], "error", "error", "skipped: " + o.message)
        out.append(o)
    return out
