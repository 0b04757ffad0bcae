"""A release (sampled on A1): one commit, stubs from A1 on, reference before, no leaks."""

import subprocess
from pathlib import Path

import pytest

from minijax.course import manifest, regions, release, tree


@pytest.fixture(scope="module")
def a1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release.release("A1", tmp_path_factory.mktemp("rel") / "a1")


def test_a_one_commit_repository(a1: Path) -> None:
    out = subprocess.run(["git", "log", "--format=%s"], cwd=a1, capture_output=True, text=True)
    assert out.stdout.splitlines() == ["A1: Activations and losses"]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=a1, capture_output=True,
                            text=True)
    assert status.stdout == "", f"uncommitted files: {status.stdout}"


def test_stubs_from_the_assignment_on_and_reference_before(a1: Path) -> None:
    lib = tree.library_root().parent
    for a in manifest.ASSIGNMENTS:
        for t in a.tasks:
            for f in t.files:
                bodies = regions.region_bodies((a1 / f).read_text(), t.id)
                if manifest.order(a.id) >= manifest.order("A1"):
                    assert all(f'raise NotImplementedError("{t.id} ' in b for b in bodies), t.id
                else:
                    assert bodies == regions.region_bodies((lib / f).read_text(), t.id), t.id


def test_public_tests_up_to_the_assignment_only(a1: Path) -> None:
    shipped = sorted(p.name for p in (a1 / "tests").glob("*.py"))
    assert shipped == ["a0_public.py", "a1_public.py", "conftest.py"], shipped
    assert not list(a1.rglob("*_hidden.py")) and not list(a1.rglob("*_props.py"))
    assert not (a1 / "minijax/course/mutants.py").exists()


def test_handout_lock_and_one_classroom_step_per_task(a1: Path) -> None:
    assert (a1 / "HANDOUT.md").read_text().startswith("# A1: Activations and losses")
    lock = (a1 / "requirements.lock").read_text().splitlines()
    import jax

    assert f"jax=={jax.__version__}" in lock, lock
    wf = (a1 / ".github/workflows/classroom.yml").read_text()
    for t in manifest.assignment("A1").tasks:
        assert f"python -m minijax.course check {t.id} --strict" in wf, t.id
    assert wf.count("autograding-command-grader") == 4


def test_a_leaked_solution_line_fails_the_release(a1: Path, tmp_path: Path) -> None:
    lines = release.solution_lines([manifest.task("A1.1")])
    assert lines, "no protected line for A1.1"
    (a1 / "NOTES.md").write_text("my notes\n" + next(iter(lines)) + "\n")
    try:
        with pytest.raises(release.LeakError, match=r"A1\.1"):
            release._check_leaks(a1, [manifest.task("A1.1")])
    finally:
        (a1 / "NOTES.md").unlink()
    release._check_leaks(a1, [manifest.task("A1.1")])  # and the release itself is clean


def test_autograder_bundle(tmp_path: Path) -> None:
    import zipfile

    z = zipfile.ZipFile(release.autograder("A1", tmp_path / "a1.zip"))
    names = set(z.namelist())
    for need in ("setup.sh", "run_autograder", "requirements.lock",
                 "minijax/course/suite/a1_hidden.py", "minijax/course/mutants.py",
                 "minijax/nn/activation.py"):
        assert need in names, need
    assert "grade A1" in z.read("run_autograder").decode()
    assert (z.getinfo("run_autograder").external_attr >> 16) & 0o111


def test_earlier_public_tests_pass_in_the_release(a1: Path, tmp_path: Path) -> None:
    import shutil

    from minijax.course import runner

    work = tmp_path / "copy"
    shutil.copytree(a1, work, ignore=shutil.ignore_patterns(".git"))
    out = runner.run_tests(work, ["tests/a0_public.py"])
    assert out and all(o.passed for o in out), [(o.name, o.message) for o in out]
