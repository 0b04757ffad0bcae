"""Griffe extension for the site: a docstring's `>>>` examples are shown as code.

The docstrings hold their examples as doctest blocks (`pytest --doctest-modules
minijax` runs them), not inside Markdown fences. Markdown would read each `>>>` as
three nested quotes and `x["a"]["b"]` as a link; this extension wraps every run of
doctest lines, from a `>>>` line to the next blank line (where a doctest example
ends), in a ```` ```pycon ```` fence, which Pygments highlights at build time.
Examples that already sit in a fence are left alone.

Docstrings are written in Markdown with `$...$` math. A few reStructuredText
leftovers are translated so that they never reach a page raw: a `.. math::`
block becomes a `$$` block, `:math:`x`` becomes `$x$`, and a cross-reference role
such as `:class:`Dense`` becomes the code `Dense`.

It is named in `mkdocs.yml` (`plugins: mkdocstrings: handlers: python: options:
extensions`); the docstrings themselves are unchanged.
"""

import re
from typing import Any

import griffe

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|obj|exc|py:\w+):`~?([^`]+)`")
_MATH_BLOCK = re.compile(r"^(?P<indent>\s*)\.\. math::\s*(?P<first>.*)$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_leftovers(text: str) -> str:
    r"""`text` with `.. math::` blocks, `:math:` and reference roles made Markdown.

    >>> rst_leftovers("See :class:`~minijax.nn.Dense`, :math:`u = g`.")
    'See `minijax.nn.Dense`, $u = g$.'
    >>> rst_leftovers("Rule:\n\n.. math:: a\n    + b\n\nDone.").splitlines()
    ['Rule:', '', '$$', 'a', '+ b', '$$', '', 'Done.']
    """
    text = _ROLE.sub(lambda m: f"`{m.group(1)}`", _MATH_ROLE.sub(r"$\1$", text))
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        match = _MATH_BLOCK.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        indent = match["indent"]
        body = [match["first"].strip()] if match["first"].strip() else []
        i += 1
        while i < len(lines):
            if lines[i].strip():
                if _indent(lines[i]) <= len(indent):
                    break
                body.append(lines[i].strip())
                i += 1
                continue
            j = i  # a blank line: the block goes on only if an indented line follows
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j == len(lines) or _indent(lines[j]) <= len(indent):
                break
            i = j
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}$$", *(indent + b for b in body), f"{indent}$$"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


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
    """Fence the doctest blocks of every docstring griffe loads; translate reST leftovers."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(rst_leftovers(obj.docstring.value))
