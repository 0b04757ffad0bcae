"""Grading: splice a submission's regions into a clean tree, run the tests, score them.

A task's points are split evenly over its tests (public and hidden); a test that
fails, errs or runs over its time limit scores 0, and the run goes on. A `.P` task
(property tests written by students) is graded by mutation (`minijax.course.mutation`).

Formats: `text` (for people), `json` (the report as data) and `gradescope`
(Gradescope's `results.json`: `score`, `execution_time`, `output`, `tests[]` with
`name`, `score`, `max_score`, `output`, `visibility`, `tags`; hidden tests are
`after_due_date`).
"""

import csv
import io
import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from minijax.course import manifest, runner, tree
from minijax.course.manifest import Assignment

__all__ = ["Report", "TaskScore", "TestScore", "format_report", "grade", "grade_batch",
           "prepare_tests"]


@dataclass
class TestScore:
    """One test's score."""

    name: str
    task: str
    visibility: str  # public or hidden
    score: float
    max_score: float
    status: str
    message: str = ""


@dataclass
class TaskScore:
    """One task's score, its status (`graded`, `refused`, `invalid`) and messages."""

    id: str
    title: str
    points: float
    score: float = 0.0
    status: str = "graded"
    messages: list[str] = field(default_factory=list)
    tests: list[TestScore] = field(default_factory=list)


@dataclass
class Report:
    """The result of grading one submission for one assignment."""

    assignment: str
    submission: str
    tasks: list[TaskScore]
    execution_time: float = 0.0

    @property
    def score(self) -> float:
        """The sum of the tasks' scores."""
        return round(sum(t.score for t in self.tasks), 6)

    @property
    def max_score(self) -> float:
        """The assignment's points."""
        return sum(t.points for t in self.tasks)


def prepare_tests(work: Path, stems: list[str], *, hidden: bool) -> list[str]:
    """Copy the course conftest and the test files of `stems` into `work/tests`."""
    dest = work / "tests"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(tree.suite_dir() / "_plugin.py", dest / "conftest.py")
    files = []
    for stem in stems:
        for kind in ("public", "hidden") if hidden else ("public",):
            src = tree.suite_dir() / f"{stem}_{kind}.py"
            if src.is_file():
                shutil.copy(src, dest / src.name)
                files.append(f"tests/{src.name}")
    return files


def _score_tests(a: Assignment, outcomes: list[runner.Outcome],
                 scores: dict[str, TaskScore]) -> None:
    by_task: dict[str, list[runner.Outcome]] = {}
    for o in outcomes:
        tid = manifest.test_task(o.name)
        if tid in scores:
            by_task.setdefault(tid, []).append(o)
    for tid, ts in scores.items():
        tests = by_task.get(tid, [])
        each = ts.points / len(tests) if tests else 0.0
        for o in tests:
            visibility = "hidden" if o.file.endswith("_hidden.py") else "public"
            ok = o.passed and ts.status == "graded"
            ts.tests.append(TestScore(o.name, tid, visibility, each if ok else 0.0, each,
                                      o.status, o.message))
        ts.score = round(sum(t.score for t in ts.tests), 6)


def grade(assignment_id: str, submission: Path, *, carry: bool = False,
          timeout: float = 60.0, keep: Path | None = None) -> Report:
    """Grade the repository `submission` for `assignment_id`.

    Only the bodies of the assignment's regions are read from `submission` (with
    `carry`, those of earlier assignments too; otherwise those come from the
    reference). `keep`: a folder to build the grading tree in, left in place.
    """
    start = time.time()
    a = manifest.assignment(assignment_id)
    if not (tree.suite_dir() / "a0_hidden.py").is_file():
        raise RuntimeError(f"the minijax at {tree.library_root()} is a student release (it has "
                           "no hidden tests): grade from the instructor's clone, outside "
                           "the student's folder")
    work = keep or tree.temp_tree()
    try:
        tree.copy_library(work)
        scores = {t.id: TaskScore(t.id, t.title, t.points) for t in a.tasks}
        if a.student_tests is not None:
            from minijax.course import mutation

            mutation.grade_property_tests(a, work, submission, scores, timeout=timeout)
        else:
            splice = [t for t in a.tasks]
            if carry:
                splice += [t for b in manifest.ASSIGNMENTS[: manifest.order(a.id)]
                           for t in b.tasks if t.files]
            report = tree.splice_tasks(work, submission, splice)
            for tid, status in report.status.items():
                if tid in scores and status != "spliced":
                    scores[tid].status = status
                    scores[tid].messages += report.messages.get(tid, [])
            files = prepare_tests(work, [a.suite_stem], hidden=True)
            _score_tests(a, runner.run_tests(work, files, timeout=timeout), scores)
        return Report(a.id, str(submission), list(scores.values()),
                      round(time.time() - start, 2))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)


# --- output --------------------------------------------------------------------------


def _text(r: Report) -> str:
    lines = [f"{r.assignment}: {r.score:g}/{r.max_score:g}  ({r.submission}, "
             f"{r.execution_time:g} s)"]
    for t in r.tasks:
        pub = [s for s in t.tests if s.visibility == "public"]
        hid = [s for s in t.tests if s.visibility == "hidden"]
        counts = (f"public {sum(s.score > 0 for s in pub)}/{len(pub)}, "
                  f"hidden {sum(s.score > 0 for s in hid)}/{len(hid)}") if t.tests else ""
        status = "" if t.status == "graded" else f" [{t.status}]"
        lines.append(f"  {t.id:5} {t.title:40} {t.score:5.2f}/{t.points:g}{status}  {counts}")
        for m in t.messages:
            lines.append(f"        {m}")
        for s in t.tests:
            if s.score == 0 and s.message:
                first = s.message.splitlines()[0][:200]
                lines.append(f"        {s.visibility} {s.name}: {first}")
    return "\n".join(lines) + "\n"


def _gradescope(r: Report) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    for t in r.tasks:
        if not t.tests:
            tests.append({"name": f"{t.id} {t.title}", "score": t.score,
                          "max_score": t.points, "output": "\n".join(t.messages),
                          "visibility": "visible", "tags": [t.id]})
        for s in t.tests:
            out = "\n".join([*t.messages, s.message]).strip()
            tests.append({"name": f"{t.id} {s.name}", "score": round(s.score, 6),
                          "max_score": round(s.max_score, 6),
                          "output": out or ("passed" if s.score else s.status),
                          "visibility": "visible" if s.visibility == "public"
                          else "after_due_date", "tags": [t.id]})
    public = [x for x in tests if x["visibility"] == "visible"]
    passed = sum(1 for x in public if x["score"] == x["max_score"])
    return {"score": r.score, "execution_time": r.execution_time,
            "output": f"public {passed}/{len(public)} passed; hidden tests are shown "
                      "after the due date",
            "tests": tests}


def format_report(r: Report, fmt: str = "text") -> str:
    """`r` as `text`, `json` or `gradescope` (Gradescope's results.json)."""
    if fmt == "text":
        return _text(r)
    if fmt == "json":
        return json.dumps({**asdict(r), "score": r.score, "max_score": r.max_score},
                          indent=2) + "\n"
    if fmt == "gradescope":
        return json.dumps(_gradescope(r), indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}: use text, json or gradescope")


def grade_batch(assignment_id: str, submissions: Path, *, timeout: float = 60.0,
                carry: bool = False) -> str:
    """Grade every folder in `submissions`; a CSV with one row per submission.

    A submission that cannot be graded gets a row with its error, and the batch
    goes on.
    """
    a = manifest.assignment(assignment_id)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["submission", *(t.id for t in a.tasks), "total", "max", "error"])
    for sub in sorted(p for p in submissions.iterdir() if p.is_dir()):
        try:
            r = grade(a.id, sub, timeout=timeout, carry=carry)
            w.writerow([sub.name, *(f"{t.score:g}" for t in r.tasks), f"{r.score:g}",
                        f"{r.max_score:g}", ""])
        except Exception as e:  # one bad submission never stops the batch
            w.writerow([sub.name, *("0" for _ in a.tasks), "0", f"{a.points:g}",
                        f"{type(e).__name__}: {e}"])
    return out.getvalue()
