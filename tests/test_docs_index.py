"""The landing page's example is a whole program: run it and check that it trains."""

import contextlib
import io
import pathlib
import re

INDEX = pathlib.Path(__file__).resolve().parents[1] / "docs" / "index.md"


def test_index_example_trains_two_moons():
    code = re.findall(r"```python\n(.*?)```", INDEX.read_text(), flags=re.DOTALL)[0]
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(code, str(INDEX), "exec"), namespace)
    final_loss = float(printed.getvalue().split()[-1])
    assert final_loss < 0.2  # the page says "about 0.07, down from 0.7"
    assert int(namespace["state"].step) == 200  # type: ignore[attr-defined]
