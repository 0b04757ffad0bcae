"""Trees the course works on: copies of the library, stubbed, spliced or mutated.

The reference is the library this module is part of (`minijax`'s own folder). A
grading tree is a fresh copy of it, into which only region bodies are spliced.
"""

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import minijax
from minijax.course import manifest, regions
from minijax.course.manifest import Task

__all__ = [
    "SpliceReport",
    "copy_library",
    "library_root",
    "splice_tasks",
    "stub_tasks",
    "suite_dir",
    "temp_tree",
]

#: Parts of the course kit that a student repository does not get.
PRIVATE = ("mutants.py", "suite/a*.py")


def library_root() -> Path:
    """The folder of the `minijax` package that is running: the reference."""
    return Path(minijax.__file__).resolve().parent


def suite_dir() -> Path:
    """The folder of the course's test files."""
    return Path(__file__).resolve().parent / "suite"


def temp_tree(prefix: str = "minijax-course-") -> Path:
    """A new empty folder for a tree."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def copy_library(dest: Path, *, student: bool = False, source: Path | None = None) -> Path:
    """Copy the `minijax` package into `dest/minijax`; for students without `PRIVATE`."""
    target = dest / "minijax"
    shutil.copytree(source or library_root(), target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache"))
    if student:
        for pattern in PRIVATE:
            for p in (target / "course").glob(pattern):
                p.unlink()
    return target


def stub_message(t: Task) -> str:
    """The text of a stub: `A4.1 Scope.param: <hint>`."""
    return f"{t.id} {t.title}: {t.hint}"


def stub_tasks(tree: Path, tasks: list[Task]) -> None:
    """Replace every region of `tasks` under `tree` by its stub."""
    for t in tasks:
        for f in t.files:
            path = tree / f
            path.write_text(regions.stub(path.read_text(encoding="utf-8"), t.id,
                                         stub_message(t), f), encoding="utf-8")


@dataclass
class SpliceReport:
    """What the splice did per task: `spliced`, `refused`, `invalid` (with why)."""

    status: dict[str, str] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)

    def note(self, task: str, status: str, message: str = "") -> None:
        """Record `task`'s status (the worst one wins) and a message."""
        if self.status.get(task) in ("refused", "invalid"):
            status = self.status[task]
        self.status[task] = status
        if message:
            self.messages.setdefault(task, []).append(message)


def splice_tasks(tree: Path, submission: Path, tasks: list[Task]) -> SpliceReport:
    """Copy the bodies of `tasks`' regions from `submission` into `tree`.

    Nothing else of the submission is read. A region that is missing, does not parse
    or uses a forbidden name is replaced by the task's stub (so its tests fail) and
    reported.
    """
    report = SpliceReport()
    for t in tasks:
        originals = {f: (tree / f).read_text(encoding="utf-8") for f in t.files}
        problem = ""
        status = "spliced"
        for f in t.files:
            clean = originals[f]
            sub = submission / f
            if not sub.is_file():
                problem, status = f"{f} is missing from the submission", "invalid"
                break
            try:
                submitted = sub.read_text(encoding="utf-8")
                bodies = regions.region_bodies(submitted, t.id, f)
                spliced = regions.splice(clean, submitted, t.id, f)
            except (regions.RegionError, UnicodeDecodeError) as e:
                problem, status = str(e), "invalid"
                break
            banned = manifest.GLOBAL_FORBIDDEN + t.forbidden
            used = [b for body in bodies for b in regions.forbidden_uses(clean, body, banned)]
            if used:
                problem = (f"{t.id} uses {', '.join(sorted(set(used)))}, which this task "
                           f"may not use; write it with jax.numpy and lax.")
                status = "refused"
                break
            try:
                compile(spliced, f, "exec")
            except SyntaxError as e:
                problem, status = f"{f}:{e.lineno}: syntax error: {e.msg}", "invalid"
                break
            (tree / f).write_text(spliced, encoding="utf-8")
        if status != "spliced":
            for f, text in originals.items():
                (tree / f).write_text(text, encoding="utf-8")
            stub_tasks(tree, [t])
        report.note(t.id, status, problem)
    return report
