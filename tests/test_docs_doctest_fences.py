"""The site shows a docstring's `>>>` examples as code (tools/griffe_doctests.py).

The extension wraps each doctest block in a ```` ```pycon ```` fence before
mkdocstrings renders the docstring; without it Markdown turns `>>>` into nested
quotes and `x["a"]["b"]` into a link.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("griffe_doctests", ROOT / "tools/griffe_doctests.py")
assert spec is not None and spec.loader is not None
griffe_doctests = importlib.util.module_from_spec(spec)
sys.modules["griffe_doctests"] = griffe_doctests
spec.loader.exec_module(griffe_doctests)
fence = griffe_doctests.fence_doctests


def test_a_doctest_block_is_fenced_up_to_the_blank_line():
    text = 'Adds.\n\n>>> x = {"a": {"b": 1}}\n>>> x["a"]["b"]\n1\n\nMore text.\n'
    assert fence(text) == (
        'Adds.\n\n```pycon\n>>> x = {"a": {"b": 1}}\n>>> x["a"]["b"]\n1\n```\n\nMore text.\n'
    )


def test_blocks_at_the_end_and_indented_ones_are_closed_at_their_indentation():
    assert fence("Args:\n    x: a value.\n\n    >>> f(1)\n    2") == (
        "Args:\n    x: a value.\n\n    ```pycon\n    >>> f(1)\n    2\n    ```"
    )


def test_examples_already_in_a_fence_and_text_without_examples_are_unchanged():
    fenced = "Use:\n\n```python\n>>> 1 + 1\n2\n```\n"
    assert fence(fenced) == fenced
    plain = "No example; a quote > is not a prompt.\n"
    assert fence(plain) == plain


def test_the_package_docstrings_keep_their_text_and_every_example_is_fenced():
    import doctest

    import minijax.train.metrics as module

    tests = [t for t in doctest.DocTestFinder().find(module) if t.examples]
    assert len(tests) >= 5
    for test in tests:
        fenced = fence(test.docstring)
        added = [ln for ln in fenced.splitlines() if ln.strip() in ("```pycon", "```")]
        kept = [ln for ln in fenced.splitlines() if ln.strip() not in ("```pycon", "```")]
        original = [ln for ln in test.docstring.splitlines() if ln.strip() != "```"]
        assert kept == original, test.name
        assert any(ln.strip() == "```pycon" for ln in added), test.name
        # every `>>>` line now sits inside a pycon fence
        inside = False
        for line in fenced.splitlines():
            if line.strip() == "```pycon":
                inside = True
            elif line.strip() == "```":
                inside = False
            elif line.lstrip().startswith(">>>"):
                assert inside, (test.name, line)


def test_rest_math_blocks_and_roles_become_markdown():
    rst = griffe_doctests.rst_leftovers
    text = (
        "Normalize:\n\n.. math::\n    \\mu = E[x], \\quad\n    y = \\frac{x - \\mu}{\\sigma}\n\n"
        "and :func:`apply_updates` adds :math:`u`.\n"
    )
    assert rst(text) == (
        "Normalize:\n\n$$\n\\mu = E[x], \\quad\ny = \\frac{x - \\mu}{\\sigma}\n$$\n\n"
        "and `apply_updates` adds $u$.\n"
    )
    # a one-line block directly followed by text gets its own paragraph
    assert rst("    .. math:: \\ell = -\\log p\n    Next.") == (
        "    $$\n    \\ell = -\\log p\n    $$\n\n    Next."
    )
    plain = "Markdown already: $x$ and `Dense`.\n"
    assert rst(plain) == plain
