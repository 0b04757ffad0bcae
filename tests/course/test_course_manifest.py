"""The manifest agrees with the source: every task's regions exist, every region has a task,
tests exist per task, and no task depends on a later assignment."""

import json
from pathlib import Path

from minijax.course import manifest, regions, runner, tree
from minijax.course.cli import main

LIB = tree.library_root()


def _regions_by_task() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in LIB.rglob("*.py"):
        rel = path.relative_to(LIB.parent).as_posix()
        if rel.startswith("minijax/course/"):  # the kit's own examples of markers
            continue
        for r in regions.find_regions(path.read_text(encoding="utf-8"), rel):
            found.setdefault(r.task, set()).add(rel)
    return found


def test_every_task_has_its_regions_and_every_region_a_task() -> None:
    found = _regions_by_task()
    declared = {t.id: set(t.files) for a in manifest.ASSIGNMENTS for t in a.tasks if t.files}
    assert found == declared, f"regions in the source {found} != the manifest's {declared}"


def test_every_task_has_public_and_hidden_tests() -> None:
    names = {kind: [n for p in tree.suite_dir().glob(f"a*_{kind}.py")
                    for n in runner.test_names(p)] for kind in ("public", "hidden")}
    for a in manifest.ASSIGNMENTS:
        for t in a.tasks:
            if t.files:
                for kind in ("public", "hidden"):
                    assert any(n.startswith(t.test_prefix) for n in names[kind]), \
                        f"{t.id} has no {kind} test"
    tasks = {t.id for a in manifest.ASSIGNMENTS for t in a.tasks}
    for n in names["public"] + names["hidden"]:
        assert manifest.test_task(n) in tasks, f"test {n} names no task"


def test_dependencies_point_backwards() -> None:
    for a in manifest.ASSIGNMENTS:
        for t in a.tasks:
            for d in manifest.dependencies(t.id):
                assert manifest.order(manifest.assignment_of(d).id) <= manifest.order(a.id), \
                    f"{t.id} depends on the later {d}"


def test_points_and_list_json(capsys: object) -> None:
    assert len(manifest.ASSIGNMENTS) >= 8
    assert main(["list", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert [x["id"] for x in out] == [a.id for a in manifest.ASSIGNMENTS]
    assert all(x["points"] == sum(t.points for t in manifest.assignment(x["id"]).tasks) > 0
               for x in out)


def test_every_mutant_sits_in_its_task_region() -> None:
    from minijax.course.mutants import MUTANTS

    for m in MUTANTS:
        text = (LIB.parent / m.file).read_text(encoding="utf-8")
        hits = sum(b.count(m.old) for b in regions.region_bodies(text, m.task))
        assert hits == 1, f"mutant {m.id}: {hits} matches in {m.task}'s regions"
    for p in ("A1", "A5"):
        n = sum(m.task.startswith(p + ".") for m in MUTANTS)
        assert 8 <= n <= 15, f"{p} has {n} mutants"
    assert Path(tree.suite_dir() / "a1p_props.py").is_file()
