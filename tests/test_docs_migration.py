"""The migration tables of docs/migration/ agree with the code.

Each table lists every public flax/optax name (captured in
tools/migration/names.json) with its minijax counterpart. When a name is added to
minijax, or one is removed, the committed table no longer agrees: re-run
`python tools/migration_tables.py` and commit the pages it writes.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "migration_tables", ROOT / "tools" / "migration_tables.py"
)
assert spec is not None and spec.loader is not None
migration_tables = importlib.util.module_from_spec(spec)
sys.modules["migration_tables"] = migration_tables
spec.loader.exec_module(migration_tables)

DATA, REASONS = migration_tables.load()
RERUN = "re-run `python tools/migration_tables.py` and commit docs/migration/"


@pytest.mark.parametrize("table", sorted(migration_tables.TABLES))
def test_table_agrees_with_the_code(table):
    page = ROOT / "docs" / "migration" / f"{table}.md"
    assert page.is_file(), f"docs/migration/{table}.md is missing: {RERUN}"
    rows = migration_tables.rows(table, DATA["names"], REASONS)
    problems = migration_tables.disagreements(page.read_text(encoding="utf-8"), rows)
    assert not problems, (
        f"docs/migration/{table}.md disagrees with the code ({RERUN}):\n" + "\n".join(problems)
    )
    assert page.read_text(encoding="utf-8") == migration_tables.render(table, DATA, REASONS), RERUN


def test_a_planted_disagreement_is_caught_both_ways():
    rows = migration_tables.rows("flax-linen", DATA["names"], REASONS)
    text = migration_tables.render("flax-linen", DATA, REASONS)
    dense = next(r for r in rows if r.source == "flax.linen.Dense")
    assert dense.target == "minijax.nn.Dense"
    # minijax gains a name the table calls unsupported ...
    gained = text.replace(
        "| `Dense` | [`minijax.nn.Dense`][minijax.nn.Dense] |", "| `Dense` | not supported |"
    )
    assert migration_tables.disagreements(gained, rows) == [
        "flax.linen.Dense: minijax has minijax.nn.Dense; the table says not supported"
    ]
    # ... or loses one the table calls supported.
    lost = [migration_tables.Row(r.source, None, "gone") if r is dense else r for r in rows]
    assert migration_tables.disagreements(text, lost) == [
        "flax.linen.Dense: the table says minijax.nn.Dense, which minijax lacks"
    ]


def test_every_unsupported_name_has_a_reason_and_every_reason_is_used():
    for table in migration_tables.TABLES:
        rows = migration_tables.rows(table, DATA["names"], REASONS)
        assert all(r.note for r in rows if r.target is None)
    renamed = REASONS["renamed"]
    for source, target in renamed.items():
        assert migration_tables._resolve(target), f"[renamed] {source} -> {target}: no such name"


def test_names_were_captured_from_the_versions_the_page_states():
    assert set(DATA["versions"]) == {"flax", "optax"}
    assert len(DATA["names"]["flax.linen"]) > 100 and len(DATA["names"]["optax"]) > 150
