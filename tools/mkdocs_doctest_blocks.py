"""MkDocs hook: show docstring examples (`>>>` sessions) as highlighted code.

A docstring's example is a Python session: `>>>` and `...` lines and the output
under them, up to a blank line. Markdown would read `>>>` as a triple
blockquote and `[1, 2]` in the output as a link, so this hook adds a small
Markdown preprocessor (to the site and to mkdocstrings, which renders the
docstrings with the site's extensions) that wraps each such session in a
```` ```pycon ```` fence. Sessions already inside a fence are left alone.
"""

import re
from typing import Any

from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor
from mkdocs.plugins import event_priority

_FENCE = re.compile(r"^\s*(```|~~~)")
_PROMPT = re.compile(r"^(\s*)>>>( |$)")


def fence_sessions(lines: list[str]) -> list[str]:
    """Wrap every `>>>` session outside a fence in a `pycon` fence."""
    out: list[str] = []
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _PROMPT.match(line)
        if match is None:
            out.append(line)
            i += 1
            continue
        indent = match.group(1)
        if out and out[-1].strip():
            out.append("")
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return out


class _Sessions(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return fence_sessions(lines)


class DoctestBlocks(Extension):
    """The Markdown extension: registered before the fenced-code preprocessor."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.preprocessors.register(_Sessions(md), "doctest_blocks", 40)


@event_priority(100)  # before mkdocstrings reads the extension list
def on_config(config: Any) -> Any:
    config.markdown_extensions.append(DoctestBlocks())
    return config
