"""Check the whole course kit, for every assignment (the instructor's full run).

    python tools/course_check.py                 # every assignment
    python tools/course_check.py --only A1 A4    # some of them
    python tools/course_check.py --isolation     # also stub each task alone (slow)
    python tools/course_check.py --skip-assignments --isolation --tasks A0.1 A4.1
    python tools/course_check.py --only A4 --install  # also install the release from its
                                                      # lock file in a fresh venv

For each assignment: the release builds (one commit, no solution line in it); in it
every test of the assignment fails through a stub and no later test is shipped;
grading the untouched release scores 0 and the reference full marks; every mutant
of the assignment's tasks scores less than full; a submission that edits files
outside its regions scores the same as the reference; `return jax.nn.softmax(x)`
is refused (A1). With `--install`: the release installs from its lock file
(`requirements.lock`) into a fresh venv, as its README says, and there its earlier
public tests pass and its own fail through the stubs. For A1.P and A5.P: the
course's own property tests catch every mutant. With `--isolation`: stubbing one
task breaks only the course tests of that task and of the tasks that depend on it.
Each grading's time is printed; the budget is 5 minutes per assignment. The tests
in tests/course/ run a sample of these in CI. Exit status 1 when a check fails.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from minijax.course import grade, manifest, regions, release, runner, tree  # noqa: E402
from minijax.course.mutants import apply_mutant, mutants_for  # noqa: E402

BUDGET_S = 300.0
FAILURES: list[str] = []


def ok(cond: bool, what: str) -> None:
    print(f"  {'ok  ' if cond else 'FAIL'} {what}", flush=True)
    if not cond:
        FAILURES.append(what)


def submission_from_reference(dest: Path) -> Path:
    """A student-shaped repository holding the reference's regions."""
    tree.copy_library(dest)
    return dest


def _errors(stderr: str) -> str:
    """pip's ERROR lines, shortened (pip also prints long lists of ignored versions)."""
    lines = [ln[:200] for ln in stderr.splitlines() if ln.startswith("ERROR: No matching")
             or ln.startswith("ERROR: Could not")]
    return "".join("\n       " + ln for ln in lines)


def check_install(a: manifest.Assignment, rel: Path, scratch: Path) -> None:
    """Install a copy of the release as its README says, then run its public tests there."""
    work = scratch / f"install-{a.suite_stem}"
    shutil.copytree(rel, work)
    venv = work / ".venv"
    py = venv / "bin" / "python"
    t0 = time.time()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", "-r", "requirements.lock",
                          "-e", "."], cwd=work, capture_output=True, text=True)
    ok(pip.returncode == 0, f"{a.id}: installs from requirements.lock in a fresh venv "
                            f"({time.time() - t0:.0f} s){_errors(pip.stderr)}")
    if pip.returncode:
        return
    where = subprocess.run([str(py), "-c", "import minijax; print(minijax.__file__)"],
                           cwd=scratch, capture_output=True, text=True).stdout.strip()
    ok(where.startswith(str(work)), f"{a.id}: the venv imports the release's minijax ({where})")
    tests = sorted(p.name for p in (work / "tests").glob("*_public.py"))
    own = f"{a.suite_stem}_public.py"
    for name in tests:
        r = subprocess.run([str(py), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            f"tests/{name}"], cwd=work, capture_output=True, text=True)
        last = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        if name == own:
            ok(r.returncode == 1 and " passed" not in last and "NotImplementedError" in r.stdout,
               f"{a.id}: in the venv, {name} fails through the stubs ({last})")
        else:
            ok(r.returncode == 0, f"{a.id}: in the venv, {name} passes ({last})")
    shutil.rmtree(work)


def check_assignment(a: manifest.Assignment, scratch: Path, install: bool = False) -> None:
    print(f"{a.id} {a.title}", flush=True)
    rel = scratch / f"release-{a.suite_stem}"
    release.release(a.id, rel)
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=rel,
                             capture_output=True, text=True).stdout.strip()
    ok(commits == "1", f"{a.id}: the release is a one-commit repository ({commits})")
    shipped = {p.name for p in (rel / "tests").glob("*.py")}
    after = manifest.ASSIGNMENTS[manifest.order(a.id) + 1:]
    later = {f"{b.suite_stem}_public.py" for b in after}
    ok(not shipped & later, f"{a.id}: no later test is shipped ({sorted(shipped & later)})")
    ok(not list(rel.rglob("*_hidden.py")) and not (rel / "minijax/course/mutants.py").exists(),
       f"{a.id}: no hidden test or mutant is shipped")
    if install:
        check_install(a, rel, scratch)

    earlier = sorted(f"tests/{n}" for n in shipped if n.endswith("_public.py")
                     and n != f"{a.suite_stem}_public.py")
    if earlier:
        copy = scratch / f"copy-{a.suite_stem}"
        shutil.copytree(rel, copy, ignore=shutil.ignore_patterns(".git"))
        outs = runner.run_tests(copy, earlier)
        ok(bool(outs) and all(o.passed for o in outs),
           f"{a.id}: the {len(outs)} earlier public tests pass in the release")

    t0 = time.time()
    untouched = grade.grade(a.id, rel)
    ok(untouched.score == 0, f"{a.id}: the untouched release scores 0 ({untouched.score:g})")
    if a.student_tests is None:
        through_stub = all("NotImplementedError" in s.message
                           for t in untouched.tasks for s in t.tests)
        n = sum(len(t.tests) for t in untouched.tasks)
        ok(through_stub and n > 0, f"{a.id}: all {n} tests fail through a stub")
    t1 = time.time()
    ref = grade.grade(a.id, ROOT) if a.student_tests is None else None
    if ref is not None:
        ok(ref.score == ref.max_score,
           f"{a.id}: the reference scores full marks ({ref.score:g}/{ref.max_score:g})")
        took = time.time() - t1
        ok(took <= BUDGET_S, f"{a.id}: grading within {BUDGET_S:g} s ({took:.0f} s)")
    print(f"  grading time: {time.time() - t0:.0f} s for two gradings", flush=True)

    if a.student_tests is not None:
        props = tree.suite_dir() / f"{a.suite_stem}_props.py"
        sub = scratch / f"props-{a.suite_stem}"
        (sub / Path(a.student_tests).parent).mkdir(parents=True)
        shutil.copy(props, sub / Path(a.student_tests).parent / "test_props.py")
        t0 = time.time()
        r = grade.grade(a.id, sub)
        ok(r.score == r.max_score, f"{a.id}: the course's property tests catch every mutant "
                                   f"({r.tasks[0].messages})")
        elapsed = time.time() - t0
        ok(elapsed <= BUDGET_S, f"{a.id}: mutation grading within {BUDGET_S:g} s "
                                f"({elapsed:.0f} s)")
        return

    for m in mutants_for([t.id for t in a.tasks]):
        sub = submission_from_reference(scratch / f"mutant-{m.id}")
        apply_mutant(sub, m)
        r = grade.grade(a.id, sub)
        ok(r.score < r.max_score, f"{a.id}: mutant {m.id} scores less ({r.score:g})")
        shutil.rmtree(sub)

    edited = submission_from_reference(scratch / f"edited-{a.suite_stem}")
    (edited / "tests").mkdir()
    (edited / "tests" / f"{a.suite_stem}_public.py").write_text("def test_x():\n    pass\n")
    for t in a.tasks:
        for f in t.files:
            p = edited / f
            p.write_text(p.read_text() + "\nraise SystemExit('edited outside the regions')\n")
    r = grade.grade(a.id, edited)
    ok(ref is not None and r.score == ref.score,
       f"{a.id}: edits outside the regions change nothing ({r.score:g})")

    if a.id == "A1":
        bad = submission_from_reference(scratch / "softmax-shortcut")
        p = bad / "minijax/nn/activation.py"
        text = p.read_text()
        bodies = regions.region_bodies(text, "A1.1")
        shortcut = ["    return jax.nn.softmax(x)\n"] * len(bodies)
        p.write_text(regions.replace_bodies(text, "A1.1", shortcut))
        r = grade.grade(a.id, bad)
        ok(r.tasks[0].status == "refused" and r.tasks[0].score == 0,
           f"A1: return jax.nn.softmax(x) is refused ({r.tasks[0].messages})")


def isolation(scratch: Path, only: list[str] | None = None) -> None:
    print("isolation: stub one task at a time", flush=True)
    files = grade.prepare_tests(scratch / "iso", [a.suite_stem for a in manifest.ASSIGNMENTS
                                                  if a.student_tests is None], hidden=True)
    work = scratch / "iso"
    tree.copy_library(work)
    for a in manifest.ASSIGNMENTS:
        for t in a.tasks:
            if not t.files or (only and t.id not in only):
                continue
            originals = {f: (work / f).read_text() for f in t.files}
            tree.stub_tasks(work, [t])
            outcomes = runner.run_tests(work, files)
            for f, text in originals.items():
                (work / f).write_text(text)
            allowed = {t.id} | {u.id for b in manifest.ASSIGNMENTS for u in b.tasks
                                if t.id in manifest.dependencies(u.id)}
            broken = {manifest.test_task(o.name) for o in outcomes if not o.passed}
            ok(broken <= allowed and t.id in broken,
               f"stubbing {t.id} breaks {sorted(x for x in broken if x)}; "
               f"allowed {sorted(allowed)}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--only", nargs="*", help="assignment ids")
    p.add_argument("--isolation", action="store_true")
    p.add_argument("--install", action="store_true",
                   help="also install each release from its lock file in a fresh venv")
    p.add_argument("--tasks", nargs="*", help="with --isolation: only these tasks")
    p.add_argument("--skip-assignments", action="store_true",
                   help="only the isolation matrix")
    args = p.parse_args()
    chosen = ([manifest.assignment(i) for i in args.only] if args.only
              else list(manifest.ASSIGNMENTS))
    with tempfile.TemporaryDirectory(prefix="course-check-") as d:
        for a in [] if args.skip_assignments else chosen:
            check_assignment(a, Path(d), args.install)
        if args.isolation:
            isolation(Path(d), args.tasks)
    print(f"{len(FAILURES)} failure(s)" if FAILURES else "every check passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
