"""Griffe extension for the site: a docstring's `>>>` examples are shown as code.

The docstrings hold their examples as doctest blocks (`pytest --doctest-modules
minijax` runs them), not inside Markdown fences. Markdown would read each `>>>` as
three nested quotes and `x["a"]["b"]` as a link; this extension wraps every run of
doctest lines, from a `>>>` line to the next blank line (where a doctest example
ends), in a ```` ```pycon ```` fence, which Pygments highlights at build time.
Examples that already sit in a fence are left alone.

It is named in `mkdocs.yml` (`plugins: mkdocstrings: handlers: python: options:
extensions`); the docstrings themselves are unchanged.
"""

import re
from typing import Any

import griffe

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def fence_doctests(text: str) -> str:
    """`text` with each doctest block wrapped in a ```` ```pycon ```` fence.

    >>> fence_doctests("Adds one.\\n\\n>>> 1 + 1\\n2").splitlines()
    ['Adds one.', '', '```pycon', '>>> 1 + 1', '2', '```']
    """
    out: list[str] = []
    fence: str | None = None  # the marker of the Markdown fence we are in, if any
    in_doctest = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_doctest and not stripped:
            out.append(f"{indent}```")
            in_doctest = False
        if not in_doctest:
            match = _FENCE.match(line)
            if match:
                marker = match.group(1)
                if fence is None:
                    fence = marker
                elif stripped.startswith(fence) and not stripped.strip(fence[0]):
                    fence = None
            elif fence is None and (stripped.startswith(">>> ") or stripped == ">>>"):
                indent = line[: len(line) - len(stripped)]
                out.append(f"{indent}```pycon")
                in_doctest = True
        out.append(line)
    if in_doctest:
        out.append(f"{indent}```")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


class DoctestFences(griffe.Extension):
    """Fence the doctest blocks of every docstring griffe loads."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
