"""Every mistake of the catalogue raises its error, and the message names the problem,
the place and the fix."""

import pytest

from .catalogue import CASES, Case


def _text(error: BaseException) -> str:
    return "\n".join([str(error), *getattr(error, "__notes__", [])])


def _param(case: Case) -> object:
    if case.outcome == "xfail":
        return pytest.param(
            case, id=case.id, marks=pytest.mark.xfail(strict=True, reason=case.reason)
        )
    return pytest.param(case, id=case.id)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_misuse(case: Case, tmp_path) -> None:
    with pytest.raises(case.error) as info:
        case.run(tmp_path)
    text = _text(info.value)
    for kind in ("problem", "where", "fix"):
        for phrase in getattr(case, kind):
            assert phrase in text, f"{case.id}: the {kind} {phrase!r} is not in:\n{text}"


def test_the_catalogue_is_large_and_every_case_is_documented() -> None:
    from pathlib import Path

    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)
    for c in CASES:
        assert c.problem and c.where, c.id
        assert c.fix or c.outcome == "debug", f"{c.id}: an error case must name the fix"
        assert c.outcome in ("error", "debug", "xfail") and c.flax, c.id
        assert c.reason or c.outcome == "error", f"{c.id}: name the debug mode or what is missing"
    page = (Path(__file__).resolve().parents[2] / "docs" / "safety.md").read_text()
    missing = [c.id for c in CASES if f"`{c.id}`" not in page]
    assert not missing, f"docs/safety.md lacks {missing}: run python tools/safety_table.py"
