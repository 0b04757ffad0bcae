"""The command line: grade-batch never stops at a bad submission, and writes one row each."""

import csv
from pathlib import Path

from minijax.course.cli import main


def test_grade_batch_rows_for_bad_submissions(tmp_path: Path) -> None:
    subs = tmp_path / "subs"
    (subs / "empty").mkdir(parents=True)
    broken = subs / "broken" / "minijax" / "nn"
    broken.mkdir(parents=True)
    (broken / "activation.py").write_text("# >>> TASK A1.1\nx = 1\n")  # never closed
    out = tmp_path / "grades.csv"
    assert main(["grade-batch", "A1", "--submissions", str(subs), "--out", str(out),
                 "--timeout", "20"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["submission"] for r in rows] == ["broken", "empty"]
    assert all(r["total"] == "0" and r["max"] == "10" for r in rows), rows


def test_unknown_ids_are_named(capsys: object) -> None:
    assert main(["grade", "A9", "--submission", "."]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "unknown assignment 'A9'" in err and "A0" in err
