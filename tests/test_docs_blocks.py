"""Every ```python block of the pages under docs/ runs, in order, one namespace per page.

A page's blocks are one program read top to bottom: a later block may use what an
earlier one defined. A block that must not run (a fragment, a program that needs
several hosts) is preceded by an HTML comment that says why, which the site does
not show:

    <!-- skip: needs several processes -->
    ```python
    ...
    ```

A failure names the page and the line of the block. Each page runs with jax's
64-bit mode restored afterwards and figures drawn off-screen.
"""

import contextlib
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import jax
import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n`]*)$")
_SKIP = re.compile(r"<!--\s*skip:\s*(?P<reason>.+?)\s*-->")


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    code: str
    skip: str | None  # the reason, for a block marked `<!-- skip: reason -->`


def blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown page (indented ones too, as in admonitions)."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m["indent"], m["fence"], m["info"].strip()
        end = i + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence) and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        if info.split()[:1] in (["python"], ["py"], ["{.python"]):
            body = [
                ln[len(indent) :] if ln.startswith(indent) else ln.lstrip()
                for ln in lines[i + 1 : end]
            ]
            previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            skip = _SKIP.search(previous)
            found.append(Block(i + 1, "\n".join(body) + "\n", skip["reason"] if skip else None))
        i = end + 1
    return found


PAGES = sorted(p for p in DOCS.rglob("*.md") if blocks(p.read_text(encoding="utf-8")))

#: Pages whose blocks are known not to run yet, with the reason. Strict: when a page
#: starts to run, its entry must go.
NOT_YET_RUNNABLE: dict[str, str] = {}


def test_block_extraction_reads_fences_skips_and_indents():
    text = (
        "# t\n```python\na = 1\n```\n\n<!-- skip: a fragment -->\n```python\nundefined\n```\n"
        "```bash\nls\n```\n!!! note\n    ```python\n    b = a + 1\n    ```\n"
    )
    found = blocks(text)
    assert [(b.line, b.code, b.skip) for b in found] == [
        (2, "a = 1\n", None),
        (7, "undefined\n", "a fragment"),
        (14, "b = a + 1\n", None),
    ]


def test_a_failing_block_is_reported_with_its_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```python\nx = 1\n```\n\n```python\nassert x == 2, 'wrong'\n```\n")
    with pytest.raises(AssertionError, match=r"page\.md, the block at line 7"):
        run_page(page)


def run_page(page: Path) -> int:
    """Run the blocks of `page` in one namespace; return how many ran."""
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    ran = 0
    x64 = jax.config.read("jax_enable_x64")
    cwd = os.getcwd()
    try:
        for block in blocks(page.read_text(encoding="utf-8")):
            if block.skip:
                continue
            where = f"{page.name}, the block at line {block.line}"
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    # Pad with newlines so a traceback's line numbers are the page's.
                    exec(compile("\n" * block.line + block.code, str(page), "exec"), namespace)
                except Exception as error:
                    raise AssertionError(
                        f"{where} raised {type(error).__name__}: {error}"
                    ) from error
            ran += 1
    finally:
        jax.config.update("jax_enable_x64", x64)
        os.chdir(cwd)
    return ran


def _param(page: Path):  # type: ignore[no-untyped-def]
    name = page.relative_to(DOCS).as_posix()
    reason = NOT_YET_RUNNABLE.get(name)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(page, id=name, marks=marks)


@pytest.mark.parametrize("page", [_param(p) for p in PAGES])
def test_page_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)  # files a page writes (checkpoints, figures) go here
    assert run_page(page) > 0 or all(b.skip for b in blocks(page.read_text(encoding="utf-8")))
