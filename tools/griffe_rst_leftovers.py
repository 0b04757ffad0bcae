"""Griffe extension for the site: reStructuredText leftovers in docstrings become Markdown.

Docstrings are written in Markdown with `$...$` math, which the site renders
(KaTeX, shipped with it). A few reStructuredText constructs remain in older
docstrings; this extension translates them before mkdocstrings renders the
docstring, so that none reaches a page raw: a `.. math::` block becomes a `$$`
block, `:math:`x`` becomes `$x$`, and a cross-reference role such as
`:class:`Dense`` becomes the code `Dense`. The docstrings themselves are unchanged.

It is named in `mkdocs.yml` (`plugins: mkdocstrings: handlers: python: options:
extensions`). The `>>>` examples are fenced by `tools/mkdocs_doctest_blocks.py`.
"""

import re
from typing import Any

import griffe

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


class RstLeftovers(griffe.Extension):
    """Translate the reST leftovers of every docstring griffe loads."""

    def on_object(self, *, obj: Any, loader: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_leftovers(obj.docstring.value)
