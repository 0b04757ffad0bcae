"""Stubs, splices and the names a region may not use."""

import shutil
from pathlib import Path

import pytest

from minijax.course import manifest, regions, tree

SRC = '''import jax
from jax import nn as jnn


def f(x):
    """Doc."""
    y = 1
    # >>> TASK A9.1
    return x + y
    # <<< TASK A9.1
'''


def test_stub_and_splice_touch_only_the_region() -> None:
    stubbed = regions.stub(SRC, "A9.1", "A9.1 f: add y")
    assert 'raise NotImplementedError("A9.1 f: add y")' in stubbed
    assert stubbed.replace('    raise NotImplementedError("A9.1 f: add y")\n', "") == \
        SRC.replace("    return x + y\n", "")
    student = stubbed.replace('"""Doc."""', '"""Edited."""').replace(
        '    raise NotImplementedError("A9.1 f: add y")', "    return y + x")
    spliced = regions.splice(stubbed, student, "A9.1")
    assert '"""Doc."""' in spliced and "return y + x" in spliced


def test_unbalanced_markers_are_named() -> None:
    with pytest.raises(regions.RegionError, match="never closed"):
        regions.find_regions("# >>> TASK A9.1\nx = 1\n")


@pytest.mark.parametrize("body", [
    "    return jax.nn.softmax(x)\n",
    "    return jnn.softmax(x)\n",
    "    from jax.nn import softmax\n    return softmax(x)\n",
    "    import optax\n    return x\n",
    "    return __import__('jax').nn.softmax(x)\n",
    "    import numpy\n    numpy.testing.assert_allclose = print\n    return x\n",
    "    import os\n    os._exit(0)\n",
])
def test_forbidden_names_are_found_through_aliases(body: str) -> None:
    """Another library's function, or a reach for the tests or the process."""
    banned = manifest.GLOBAL_FORBIDDEN + manifest.task("A1.1").forbidden
    assert regions.forbidden_uses(SRC, body, banned), f"not refused: {body!r}"


def test_allowed_names_pass() -> None:
    banned = manifest.GLOBAL_FORBIDDEN + manifest.task("A1.1").forbidden
    body = "    m = jax.lax.stop_gradient(x.max())\n    s = 'jax.nn.softmax'\n    return m\n"
    assert regions.forbidden_uses(SRC, body, banned) == []


def test_splice_refuses_a_softmax_shortcut(tmp_path: Path) -> None:
    work = tmp_path / "work"
    tree.copy_library(work)
    sub = tmp_path / "sub"
    tree.copy_library(sub)
    p = sub / "minijax/nn/activation.py"
    text = p.read_text()
    n = len(regions.region_bodies(text, "A1.1"))
    p.write_text(regions.replace_bodies(text, "A1.1", ["    return jax.nn.softmax(x)\n"] * n))
    report = tree.splice_tasks(work, sub, [manifest.task("A1.1"), manifest.task("A1.2")])
    assert report.status == {"A1.1": "refused", "A1.2": "spliced"}, report
    assert "jax.nn" in report.messages["A1.1"][0]
    assert "NotImplementedError" in (work / "minijax/nn/activation.py").read_text()
    shutil.rmtree(sub)


def test_a_syntax_error_in_a_region_is_invalid_not_fatal(tmp_path: Path) -> None:
    work = tmp_path / "work"
    tree.copy_library(work)
    sub = tmp_path / "sub"
    tree.copy_library(sub)
    p = sub / manifest.task("A1.4").files[0]
    text = p.read_text()
    p.write_text(regions.replace_bodies(text, "A1.4", ["    return (\n"]))
    report = tree.splice_tasks(work, sub, [manifest.task("A1.4")])
    assert report.status["A1.4"] == "invalid" and "syntax error" in report.messages["A1.4"][0]
    compile((work / manifest.task("A1.4").files[0]).read_text(), "losses.py", "exec")
