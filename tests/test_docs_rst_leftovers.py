"""reST math and roles left in docstrings reach the site as Markdown (griffe_rst_leftovers).

The extension translates `.. math::` blocks, `:math:` and reference roles before
mkdocstrings renders a docstring; without it they reach the API pages as raw text.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("griffe", reason="griffe comes with the docs extra (pip install -e '.[docs]')")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "griffe_rst_leftovers", ROOT / "tools" / "griffe_rst_leftovers.py"
)
assert spec is not None and spec.loader is not None
griffe_rst_leftovers = importlib.util.module_from_spec(spec)
sys.modules["griffe_rst_leftovers"] = griffe_rst_leftovers
spec.loader.exec_module(griffe_rst_leftovers)
rst = griffe_rst_leftovers.rst_leftovers


def test_rest_math_blocks_and_roles_become_markdown():
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


def test_every_math_block_of_the_package_becomes_a_dollar_block():
    import inspect

    import minijax.losses as losses

    for name in losses.__all__:
        doc = inspect.getdoc(getattr(losses, name)) or ""
        out = rst(doc)
        assert ".. math::" not in out and ":class:" not in out and ":func:" not in out, name
        assert out.count("$$") == 2 * doc.count(".. math::"), name
