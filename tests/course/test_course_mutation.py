"""Mutation grading of students' property tests, sampled: which files are rejected, a
false alarm scores 0, and the course's tests catch two planted bugs that a weak test
misses."""

import shutil
from pathlib import Path

from minijax.course import grade, manifest, mutation, tree

WEAK = '''import jax.numpy as jnp
import minijax.nn as nn


def test_softmax_is_positive():
    assert bool((nn.softmax(jnp.arange(3.0)) > 0).all()), "softmax is not positive"
'''


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def test_sources_that_are_rejected(tmp_path: Path) -> None:
    oracle = _write(tmp_path / "a", "test_a.py", "import jax\nimport minijax.nn as nn\n\n"
                    "def test_x():\n    assert (nn.softmax(1.0) == jax.nn.softmax(1.0)).all()\n")
    assert "jax.nn" in mutation.check_test_sources([oracle])
    flax = _write(tmp_path / "b", "test_b.py", "import flax.linen\nimport minijax\n\n"
                  "def test_x():\n    pass\n")
    assert "flax" in mutation.check_test_sources([flax])
    alone = _write(tmp_path / "c", "test_c.py", "def test_x():\n    assert 1 + 1 == 2\n")
    assert "never import minijax" in mutation.check_test_sources([alone])
    empty = _write(tmp_path / "d", "test_d.py", "import minijax\n")
    assert "no test function" in mutation.check_test_sources([empty])
    assert mutation.check_test_sources([]) != ""
    ok = _write(tmp_path / "e", "test_e.py", WEAK)
    assert mutation.check_test_sources([ok]) == ""


def test_a_false_alarm_scores_zero(tmp_path: Path) -> None:
    a = manifest.assignment("A1.P")
    assert a.student_tests is not None
    _write(tmp_path / Path(a.student_tests).parent, "test_wrong.py",
           WEAK + "\n\ndef test_wrong():\n    assert float(nn.softmax(jnp.zeros(2))[0]) == 1.0,"
           " 'wrong on purpose'\n")
    r = grade.grade("A1.P", tmp_path)
    assert r.score == 0 and r.tasks[0].status == "rejected", grade.format_report(r)
    assert "false alarm" in r.tasks[0].messages[0] and "wrong on purpose" in r.tasks[0].messages[0]


def test_planted_bugs_caught_by_the_course_tests_not_by_a_weak_test(tmp_path: Path) -> None:
    only = ["softmax-no-max-shift", "huber-no-abs"]
    for source, want in ((tree.suite_dir() / "a1p_props.py", {True}), (None, {False})):
        work = tmp_path / ("strong" if source else "weak")
        tree.copy_library(work)
        dest = work / "student_tests"
        dest.mkdir()
        shutil.copy(tree.suite_dir() / "_plugin.py", dest / "conftest.py")
        if source is None:
            (dest / "test_weak.py").write_text(WEAK)
        else:
            shutil.copy(source, dest / "test_props.py")
        files = [f"student_tests/{p.name}" for p in dest.glob("test_*.py")]
        baseline, caught = mutation.run_mutants(work, files, ["A1.1", "A1.4"], only=only,
                                                workers=2)
        assert baseline and all(o.passed for o in baseline), [o.message for o in baseline]
        assert set(caught) == set(only) and set(caught.values()) == want, caught
