"""Grade students' property tests by mutation (the `.P` tasks).

1. The test files must import minijax and must not compare with another library
   (flax, optax, equinox, `jax.nn`, `jax.scipy.special`...): such a file is rejected.
2. They run on the reference: a test that fails there is a false alarm, and the
   score is 0.
3. Each mutant (`minijax.course.mutants`) is planted in a clean tree in turn; it is
   caught when a test fails on an assertion or with an error raised inside minijax
   (not a timeout, not an error in the test's own code). The score is the share
   caught.
"""

import ast
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from minijax.course import manifest, regions, runner, tree
from minijax.course.manifest import Assignment

if TYPE_CHECKING:
    from minijax.course.grade import TaskScore
    from minijax.course.mutants import Mutant

__all__ = ["MutationReport", "check_test_sources", "grade_property_tests", "run_mutants"]

#: Oracles a student's property test may not compare against.
ORACLES = ("flax", "optax", "equinox", "haiku", "torch", "tensorflow", "jax.nn",
           "jax.scipy.special", "jax.example_libraries", "scipy.special")


@dataclass
class MutationReport:
    """Which mutants the tests caught, and why a submission was rejected, if it was."""

    caught: dict[str, bool] = field(default_factory=dict)
    rejected: str = ""
    false_alarms: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        """The share of mutants caught (0 when rejected)."""
        if self.rejected or not self.caught:
            return 0.0
        return sum(self.caught.values()) / len(self.caught)


def check_test_sources(files: list[Path]) -> str:
    """Why these test files are rejected, or `""` when they are acceptable."""
    if not files:
        return "no test file found: write your tests in student_tests/test_*.py"
    uses_minijax = False
    for f in files:
        source = f.read_text(encoding="utf-8")
        try:
            parsed = ast.parse(source)
        except SyntaxError as e:
            return f"{f.name}:{e.lineno}: syntax error: {e.msg}"
        for node in ast.walk(parsed):
            if isinstance(node, ast.Import | ast.ImportFrom):
                mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                        else [node.module or ""])
                uses_minijax |= any(m == "minijax" or m.startswith("minijax.") for m in mods)
        used = regions.forbidden_uses(source, source, ORACLES)
        if used:
            return (f"{f.name} uses {', '.join(used)}: property tests must check minijax "
                    "against properties, not against another library")
        if not any(n.name.startswith("test_") for n in ast.walk(parsed)
                   if isinstance(n, ast.FunctionDef)):
            return f"{f.name} defines no test function (def test_...)"
    if not uses_minijax:
        return "the tests never import minijax, so they cannot test it"
    return ""


def _student_files(submission: Path, a: Assignment) -> list[Path]:
    assert a.student_tests is not None
    folder = (submission / a.student_tests).parent
    return sorted(folder.glob("test_*.py")) if folder.is_dir() else []


def run_mutants(work: Path, files: list[str], target_tasks: list[str], *,
                timeout: float = 60.0, workers: int | None = None,
                only: list[str] | None = None) -> tuple[list[runner.Outcome], dict[str, bool]]:
    """Run `files` on the reference in `work`, then on each mutant of `target_tasks`.

    Mutants run `workers` at a time (default: the CPU count, at most 2), each in its
    own copy of `work`. `only`: the ids of the mutants to run (default: all).
    """
    from minijax.course.mutants import apply_mutant, mutants_for

    baseline = runner.run_tests(work, files, timeout=timeout)
    caught: dict[str, bool] = {}
    if not baseline or not all(o.passed for o in baseline):
        return baseline, caught
    chosen = [m for m in mutants_for(target_tasks) if only is None or m.id in only]

    def one(m: "Mutant") -> bool:
        copy = tree.temp_tree("minijax-mutant-")
        try:
            shutil.copytree(work, copy, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".hypothesis", "__pycache__"))
            apply_mutant(copy, m)
            outcomes = runner.run_tests(copy, files, timeout=timeout)
            return any(not o.passed and o.kind in ("assertion", "library") for o in outcomes)
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    n = workers or min(2, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=n) as pool:
        for m, hit in zip(chosen, pool.map(one, chosen), strict=True):
            caught[m.id] = hit
    return baseline, caught


def grade_property_tests(a: Assignment, work: Path, submission: Path,
                         scores: "dict[str, TaskScore]", *,
                         timeout: float = 60.0) -> MutationReport:
    """Score `a`'s one `.P` task in `scores` from the tests in `submission`."""
    (t,) = a.tasks
    ts = scores[t.id]
    report = MutationReport()
    files = _student_files(submission, a)
    report.rejected = check_test_sources(files)
    if not report.rejected:
        dest = work / "student_tests"
        dest.mkdir(exist_ok=True)
        shutil.copy(tree.suite_dir() / "_plugin.py", dest / "conftest.py")
        for f in files:
            shutil.copy(f, dest / f.name)
        names = [f"student_tests/{f.name}" for f in files]
        baseline, report.caught = run_mutants(work, names, list(t.depends), timeout=timeout)
        report.false_alarms = [f"{o.name}: {o.message.splitlines()[0] if o.message else o.status}"
                               for o in baseline if not o.passed]
        if not baseline:
            report.rejected = "no test ran"
        elif report.false_alarms:
            report.rejected = ("false alarm: these tests fail on the reference library: "
                               + "; ".join(report.false_alarms))
    ts.status = "rejected" if report.rejected else "graded"
    if report.rejected:
        ts.messages.append(report.rejected)
    else:
        n = sum(report.caught.values())
        ts.messages.append(f"caught {n} of {len(report.caught)} planted bugs")
    ts.score = round(ts.points * report.share, 6)
    from minijax.course.grade import TestScore

    each = ts.points / len(report.caught) if report.caught else 0.0
    for mid, hit in report.caught.items():
        ts.tests.append(TestScore(f"mutant {mid}", t.id, "hidden", each if hit else 0.0, each,
                                  "caught" if hit else "survived"))
    return report


def mutate(task_id: str, tests: Path, *, timeout: float = 60.0) -> MutationReport:
    """`mutate TASK --tests DIR`: run the test files in `tests` against `task_id`'s mutants.

    For a `.P` task the mutants are those of the tasks it covers; for any other task,
    its own.
    """
    t = manifest.task(task_id)
    targets = list(t.depends) if t.is_property_task else [t.id]
    work = tree.temp_tree()
    try:
        tree.copy_library(work)
        files = sorted(tests.glob("test_*.py")) if tests.is_dir() else [tests]
        report = MutationReport(rejected=check_test_sources(files))
        if report.rejected:
            return report
        dest = work / "student_tests"
        dest.mkdir()
        shutil.copy(tree.suite_dir() / "_plugin.py", dest / "conftest.py")
        for f in files:
            shutil.copy(f, dest / f.name)
        baseline, report.caught = run_mutants(
            work, [f"student_tests/{f.name}" for f in files], targets, timeout=timeout)
        report.false_alarms = [o.name for o in baseline if not o.passed]
        if report.false_alarms:
            report.rejected = "false alarm on the reference: " + ", ".join(report.false_alarms)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)
