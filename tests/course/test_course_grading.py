"""Grading, sampled on A1: the reference scores full, the untouched release 0 (every test
failing through its stub), and one crafted submission shows the rest: a refused
shortcut, a test that runs over its limit, edits outside the regions, and a mutant."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from minijax.course import grade, manifest, regions, release, tree
from minijax.course.mutants import MUTANTS, apply_mutant


@pytest.fixture(scope="module")
def rel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return release.release("A1", tmp_path_factory.mktemp("rel") / "a1")


def test_the_reference_scores_full_marks() -> None:
    r = grade.grade("A1", tree.library_root().parent)
    assert r.score == r.max_score == 10, grade.format_report(r)


def test_the_untouched_release_scores_zero_through_its_stubs(rel: Path) -> None:
    r = grade.grade("A1", rel)
    assert r.score == 0
    tests = [s for t in r.tasks for s in t.tests]
    assert len(tests) >= 8 and all("NotImplementedError" in s.message for s in tests), \
        [(s.name, s.message[:60]) for s in tests]
    gs = json.loads(grade.format_report(r, "gradescope"))
    assert set(gs) == {"score", "execution_time", "output", "tests"}
    assert {"name", "score", "max_score", "output", "visibility", "tags"} <= set(gs["tests"][0])
    assert {t["visibility"] for t in gs["tests"]} == {"visible", "after_due_date"}
    assert "all tests passed" not in gs["output"].lower()


def test_a_crafted_submission(rel: Path, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(rel, sub)
    lib = tree.library_root().parent
    act, loss = sub / "minijax/nn/activation.py", sub / "minijax/losses.py"
    ref_act = (lib / "minijax/nn/activation.py").read_text()
    # A1.1: the shortcut; A1.2: a loop that never ends
    text = regions.replace_bodies(act.read_text(), "A1.1", ["    return jax.nn.softmax(x)\n"] * 2)
    text = regions.replace_bodies(text, "A1.2", ["    while True:\n        pass\n"])
    act.write_text(text + "\nraise RuntimeError('an edit outside the regions')\n")
    # A1.3 reference code; A1.4 reference code with a planted bug
    text = loss.read_text()
    ref_loss = (lib / "minijax/losses.py").read_text()
    for tid in ("A1.3", "A1.4"):
        text = regions.replace_bodies(text, tid, regions.region_bodies(ref_loss, tid))
    loss.write_text("import this_module_does_not_exist\n" + text)
    (sub / "tests/a1_public.py").write_text("def test_a1_1_nothing():\n    pass\n")
    m = next(m for m in MUTANTS if m.id == "huber-no-delta")
    apply_mutant(sub, m)
    assert ref_act  # the reference file is untouched

    r = grade.grade("A1", sub, timeout=4)
    by = {t.id: t for t in r.tasks}
    assert by["A1.1"].status == "refused" and by["A1.1"].score == 0
    assert "jax.nn" in by["A1.1"].messages[0]
    assert by["A1.2"].score == 0 and {s.status for s in by["A1.2"].tests} == {"timeout"}
    assert by["A1.3"].score == by["A1.3"].points, grade.format_report(r)
    assert 0 < by["A1.4"].score < by["A1.4"].points, grade.format_report(r)
    assert manifest.assignment("A1").points == r.max_score


def test_the_students_check_reports_public_tests_only(rel: Path, tmp_path: Path) -> None:
    from minijax.course.check import check

    text, ok = check("A1.4", rel)
    assert not ok and "public 0/1 passed; hidden tests run on submission" in text, text
    assert "all tests passed" not in text.lower()
    work = tmp_path / "work"
    subprocess.run(["git", "clone", "-q", str(rel), str(work)], check=True)
    loss = work / "minijax/losses.py"
    ref = (tree.library_root() / "losses.py").read_text()
    loss.write_text(regions.replace_bodies(loss.read_text(), "A1.4",
                                           regions.region_bodies(ref, "A1.4")))
    text, ok = check("A1.4", work)
    assert ok and "public 1/1 passed; hidden tests run on submission" in text, text
