"""Student repositories and Gradescope bundles, cut from the library.

`release(ID, out)` writes a fresh one-commit git repository: the library with stubs
for ID's tasks and every later task's, the public tests up to ID, the handout, a
lock file of exact versions, a GitHub Classroom workflow with one step per task,
and, for a `.P` assignment, the file the tests go in. It fails if any line of a
stubbed solution is anywhere in the repository.
"""

import importlib.metadata
import os
import re
import shutil
import stat
import subprocess
import zipfile
from pathlib import Path

from minijax.course import manifest, regions, tree
from minijax.course.manifest import Assignment, Task

__all__ = ["LeakError", "autograder", "lock_lines", "release", "solution_lines"]

_MIN_LEAK = 16  # shorter lines (`return y`, `)`) say nothing of a solution


class LeakError(RuntimeError):
    """A line of a stubbed solution appears in a release."""


def _normal(line: str) -> str:
    return " ".join(line.split())


def solution_lines(tasks: list[Task]) -> dict[str, str]:
    """`{line: task}`: the lines of `tasks`' regions that appear nowhere else in the library.

    A line that the library also has outside every region (a common
    `x = jnp.asarray(x)`) is not the solution's own and is not looked for.
    """
    root = tree.library_root()
    inside: dict[str, str] = {}
    outside: set[str] = set()
    wanted = {t.id for t in tasks}
    for path in root.rglob("*.py"):
        if "course" in path.relative_to(root).parts:
            continue
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        covered: set[int] = set()
        for r in regions.find_regions(text, str(path)):
            covered.update(range(r.start - 1, r.end + 1))
            if r.task in wanted:
                for line in lines[r.start:r.end]:
                    n = _normal(line)
                    if len(n) >= _MIN_LEAK and not n.startswith("#"):
                        inside.setdefault(n, r.task)
        outside.update(_normal(x) for i, x in enumerate(lines) if i not in covered)
    return {line: t for line, t in inside.items() if line not in outside}


def _check_leaks(out: Path, tasks: list[Task]) -> None:
    protected = solution_lines(tasks)
    leaks = []
    for path in sorted(out.rglob("*")):
        if ".git" in path.relative_to(out).parts or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(text.splitlines(), start=1):
            n = _normal(line)
            if n in protected:
                leaks.append(f"{path.relative_to(out)}:{i}: a line of {protected[n]}'s "
                             f"solution: {n}")
    if leaks:
        raise LeakError("the release holds solution lines:\n  " + "\n  ".join(leaks[:20]))


def lock_lines() -> list[str]:
    """`name==version` for minijax's runtime and test requirements, transitively."""
    names = ["jax", "jaxlib", "numpy", "pytest", "hypothesis"]
    try:
        for req in importlib.metadata.requires("minijax") or []:
            if "extra ==" not in req:
                names.append(req)
    except importlib.metadata.PackageNotFoundError:
        pass
    seen: dict[str, str] = {}
    todo = list(names)
    while todo:
        req = todo.pop()
        if ";" in req and "extra ==" in req.split(";", 1)[1]:
            continue
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        if m is None:
            continue
        key = m.group(1).lower().replace("_", "-")
        if key in seen:
            continue
        try:
            seen[key] = importlib.metadata.version(key)
        except importlib.metadata.PackageNotFoundError:
            continue
        todo.extend(importlib.metadata.requires(key) or [])
    return [f"{k}=={v}" for k, v in sorted(seen.items())]


def _handout(a: Assignment) -> str:
    page = tree.library_root().parent / "docs" / "course" / a.handout
    if page.is_file():
        text = page.read_text(encoding="utf-8")
        return re.sub(r"\]\((\.\./|)([\w./-]+)\.md\)", r"](the course site: \2)", text)
    rows = "\n".join(f"| {t.id} | {t.title} | {t.points:g} | {t.hint} |" for t in a.tasks)
    return (f"# {a.id}: {a.title}\n\n**Points: {a.points:g}.**\n\n| Task | What | Points | "
            f"Hint |\n|---|---|---|---|\n{rows}\n")


_README = """# {id}: {title}

Install (Python 3.11 or later), then check a task:

```bash
python3 -m venv .venv && .venv/bin/pip install -r requirements.lock -e .
.venv/bin/python -m minijax.course check {first}
```

The handout is `HANDOUT.md`. Write your code only between the `# >>> TASK` and
`# <<< TASK` lines of the tasks below: the grader takes those regions and nothing
else. `check` runs the public tests; hidden tests run when you submit.

{tasks}
"""

_PYPROJECT = """[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "minijax-{stem}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["jax", "numpy", "typeguard", "jaxtyping", "pytest", "hypothesis"]

[tool.setuptools.packages.find]
include = ["minijax*"]

[tool.pytest.ini_options]
python_files = ["*_public.py", "test_*.py"]
addopts = "-p no:cacheprovider"
"""


def _workflow(a: Assignment) -> str:
    steps = []
    ids = []
    for t in a.tasks:
        sid = t.id.lower().replace(".", "-")
        ids.append(sid)
        steps.append(f"""      - name: {t.id} {t.title}
        id: {sid}
        uses: education/autograding-command-grader@v1
        with:
          test-name: {t.id} {t.title}
          setup-command: pip install -q -r requirements.lock -e .
          command: python -m minijax.course check {t.id} --strict
          timeout: 10
          max-score: {int(t.points)}""")
    runners = ",".join(ids)
    results = "\n".join(f"          {i.upper().replace('-', '_')}_RESULTS: "
                        f"\"${{{{steps.{i}.outputs.result}}}}\"" for i in ids)
    return f"""name: Autograding
on: [push]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
{chr(10).join(steps)}
      - name: Autograding reporter
        uses: education/autograding-grader-reporter@v1
        env:
{results}
        with:
          runners: {runners}
"""


def _git(out: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "minijax course", "GIT_COMMITTER_NAME":
           "minijax course", "GIT_AUTHOR_EMAIL": "course@minijax.invalid",
           "GIT_COMMITTER_EMAIL": "course@minijax.invalid"}
    subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false",
                    *args], cwd=out, env=env, check=True, capture_output=True)


def release(assignment_id: str, out: Path) -> Path:
    """Write the student repository of `assignment_id` to `out` (empty or new)."""
    a = manifest.assignment(assignment_id)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; give --out a new folder")
    out.mkdir(parents=True, exist_ok=True)
    position = manifest.order(a.id)
    stubbed = [t for b in manifest.ASSIGNMENTS[position:] for t in b.tasks if t.files]
    tree.copy_library(out, student=True)
    tree.stub_tasks(out, stubbed)
    tests = out / "tests"
    tests.mkdir()
    shutil.copy(tree.suite_dir() / "_plugin.py", tests / "conftest.py")
    for b in manifest.ASSIGNMENTS[: position + 1]:
        src = tree.suite_dir() / f"{b.suite_stem}_public.py"
        if src.is_file() and b.student_tests is None:
            shutil.copy(src, tests / src.name)
    if a.student_tests is not None:
        starter = out / a.student_tests
        starter.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tree.suite_dir() / f"{a.suite_stem}_starter.py", starter)
    for name in a.examples:
        src = tree.library_root().parent / "examples" / name
        if src.is_file():
            (out / "examples").mkdir(exist_ok=True)
            shutil.copy(src, out / "examples" / name)
    (out / "HANDOUT.md").write_text(_handout(a), encoding="utf-8")
    (out / "requirements.lock").write_text("\n".join(lock_lines()) + "\n", encoding="utf-8")
    (out / "pyproject.toml").write_text(_PYPROJECT.format(stem=a.suite_stem),
                                        encoding="utf-8")
    task_list = "\n".join(f"- **{t.id}** {t.title} ({t.points:g} points)" +
                          (f": `{', '.join(t.files)}`" if t.files else f": `{a.student_tests}`")
                          for t in a.tasks)
    (out / "README.md").write_text(_README.format(id=a.id, title=a.title,
                                                  first=a.tasks[0].id, tasks=task_list),
                                   encoding="utf-8")
    (out / ".gitignore").write_text(".venv/\n__pycache__/\n*.egg-info/\n", encoding="utf-8")
    wf = out / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "classroom.yml").write_text(_workflow(a), encoding="utf-8")
    _check_leaks(out, stubbed)
    _git(out, "init", "-q")
    _git(out, "add", "-A")
    _git(out, "commit", "-q", "-m", f"{a.id}: {a.title}")
    return out


_RUN = """#!/usr/bin/env bash
# Gradescope runs this with the submission in /autograder/submission.
set -u
cd /autograder/source
python3 -m minijax.course grade {id} --submission /autograder/submission \\
    --format gradescope --out /autograder/results/results.json
"""

_SETUP = """#!/usr/bin/env bash
# Gradescope's image set-up. Offline when wheels/ holds the wheels of requirements.lock.
set -euo pipefail
cd /autograder/source
apt-get install -y -q python3-pip python3-venv > /dev/null 2>&1 || true
if [ -d wheels ] && ls wheels/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --find-links wheels -r requirements.lock
else
    python3 -m pip install -q -r requirements.lock
fi
"""


def autograder(assignment_id: str, out: Path, *, wheels: Path | None = None) -> Path:
    """Write the Gradescope bundle of `assignment_id` to the zip file `out`.

    It holds `setup.sh`, `run_autograder`, the pristine library (with the course's
    public and hidden tests and the mutants), `requirements.lock`, and with `wheels`
    the wheel files to install offline.
    """
    a = manifest.assignment(assignment_id)
    stage = tree.temp_tree("minijax-autograder-")
    try:
        tree.copy_library(stage)
        (stage / "requirements.lock").write_text("\n".join(lock_lines()) + "\n",
                                                 encoding="utf-8")
        (stage / "run_autograder").write_text(_RUN.format(id=a.id), encoding="utf-8")
        (stage / "setup.sh").write_text(_SETUP, encoding="utf-8")
        if wheels is not None:
            shutil.copytree(wheels, stage / "wheels")
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(stage.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(str(path.relative_to(stage)))
                    mode = 0o755 if path.name in ("run_autograder", "setup.sh") else 0o644
                    info.external_attr = (stat.S_IFREG | mode) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, path.read_bytes())
        return out
    finally:
        shutil.rmtree(stage, ignore_errors=True)


