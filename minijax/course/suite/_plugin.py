"""The graded runs' conftest: a deterministic Hypothesis profile, a time limit per test,
and one JSON line per test in `$COURSE_RESULTS` (its outcome and its message, never
its source).

Copied as `conftest.py` into the folder of the tests that a grading run executes.
"""

import json
import os
import signal
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "course",
    derandomize=True,
    deadline=None,
    max_examples=int(os.environ.get("COURSE_EXAMPLES", "15")),
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
settings.load_profile("course")

_RESULTS = os.environ.get("COURSE_RESULTS")
_TIMEOUT = float(os.environ.get("COURSE_TIMEOUT", "60"))
_LIBRARY = os.environ.get("COURSE_LIBRARY", "")


class TestTimeout(BaseException):
    """A test ran over its time limit (a BaseException: `except Exception` cannot eat it)."""


def _write(record: dict[str, Any]) -> None:
    if _RESULTS:
        with open(_RESULTS, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def _alarm(signum: int, frame: Any) -> None:
    raise TestTimeout(f"timed out after {_TIMEOUT:g} s")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: Any) -> Generator[None, None, None]:
    _write({"event": "start", "nodeid": item.nodeid, "time": time.time()})
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, _TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _kind(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    """`timeout`, `assertion`, `library` (raised inside minijax) or `error`."""
    if excinfo.errisinstance(TestTimeout):
        return "timeout"
    exc = excinfo.value
    leaves = list(exc.exceptions) if isinstance(exc, BaseExceptionGroup) else [exc]
    if all(isinstance(e, AssertionError) for e in leaves):
        return "assertion"
    if _LIBRARY:
        for entry in excinfo.traceback:
            path = str(entry.path)
            if path.startswith(_LIBRARY) and "/course/" not in path:
                return "library"
    return "error"


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    text = "\n".join(line for line in excinfo.exconly().strip().splitlines()
                     if "JAX has removed its internal frames" not in line
                     and not line.startswith("-" * 20))
    notes = getattr(excinfo.value, "__notes__", None) or []
    if notes:
        text += "\n" + "\n".join(str(n) for n in notes if "Falsifying" in str(n) or
                                 not str(n).startswith("You can"))
    return text if len(text) <= 1500 else text[:1500] + " [...]"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        record: dict[str, Any] = {"event": "result", "nodeid": item.nodeid,
                                  "outcome": "passed" if report.passed else
                                  "skipped" if report.skipped else "failed"}
        if call.excinfo is not None and not report.skipped:
            record["kind"] = _kind(call.excinfo)
            record["message"] = _message(call.excinfo)
        _write(record)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _write({"event": "collect-error", "nodeid": report.nodeid,
                "message": str(report.longrepr).strip().splitlines()[-1][:1500]})


def pytest_sessionfinish(session: pytest.Session) -> None:
    _write({"event": "finish", "cwd": str(Path.cwd())})
