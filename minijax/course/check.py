"""The student's local check: public tests of one task, through the grader's splice.

The pristine tree is the release's first commit; the regions of the task's
assignment are spliced in from the working tree, so the check sees what the grader
will see. It reports "public 3/3 passed; hidden tests run on submission", never
"all tests passed".
"""

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from minijax.course import manifest, mutation, runner, tree

__all__ = ["check", "find_repo"]


def find_repo(start: Path) -> Path:
    """The student repository holding `start`: the folder with `minijax/` and `tests/`."""
    for p in [start, *start.parents]:
        if (p / "minijax").is_dir() and (p / "tests").is_dir():
            return p
    raise FileNotFoundError(f"no student repository (a folder with minijax/ and tests/) "
                            f"at or above {start}; run check inside your repository")


def _pristine(repo: Path, dest: Path) -> None:
    try:
        root = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=repo,
                              check=True, capture_output=True, text=True).stdout.split()[-1]
        data = subprocess.run(["git", "archive", root], cwd=repo, check=True,
                              capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest, filter="data")
    except (subprocess.CalledProcessError, FileNotFoundError, IndexError):
        shutil.copytree(repo / "minijax", dest / "minijax")
        shutil.copytree(repo / "tests", dest / "tests")


def check(task_id: str, repo: Path) -> tuple[str, bool]:
    """Run the public tests of `task_id` on `repo`; the report and whether all passed."""
    t = manifest.task(task_id)
    a = manifest.assignment_of(t.id)
    work = tree.temp_tree("minijax-check-")
    try:
        _pristine(repo, work)
        if t.is_property_task:
            assert a.student_tests is not None
            sources = sorted((repo / a.student_tests).parent.glob("test_*.py"))
            why = mutation.check_test_sources(sources)
            if why:
                return f"{t.id}: rejected: {why}\n", False
            dest = work / "student_tests"
            dest.mkdir(exist_ok=True)
            shutil.copy(tree.suite_dir() / "_plugin.py", dest / "conftest.py")
            for f in sources:
                shutil.copy(f, dest / f.name)
            out = runner.run_tests(work, [f"student_tests/{f.name}" for f in sources])
            ok = all(o.passed for o in out) and bool(out)
            lines = [f"{t.id}: your tests on the reference: {sum(o.passed for o in out)}/"
                     f"{len(out)} passed; the planted bugs run on submission"]
        else:
            report = tree.splice_tasks(work, repo, [x for x in a.tasks if x.files])
            files = [f"tests/{p.name}" for p in sorted((work / "tests").glob("*_public.py"))]
            out = runner.run_tests(work, files, prefix=t.test_prefix)
            ok = bool(out) and all(o.passed for o in out) and report.status[t.id] == "spliced"
            lines = [f"{t.id} {t.title}: public {sum(o.passed for o in out)}/{len(out)} "
                     f"passed; hidden tests run on submission"]
            lines += [f"  {m}" for m in report.messages.get(t.id, [])]
        for o in out:
            if not o.passed:
                lines.append(f"  {o.name}: {o.message or o.status}")
        return "\n".join(lines) + "\n", ok
    finally:
        shutil.rmtree(work, ignore_errors=True)
