"""The README's commands and its code are part of the product: check them."""

import pathlib
import re

import jax.numpy as jnp

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_opens_with_the_demo_and_the_test_command():
    first = _blocks("bash")[0].strip().splitlines()
    assert README.read_text().startswith("```bash\n")
    assert len(first) == 2
    assert first[0].endswith("-m minijax demo") and "pip install" in first[0]
    assert "[test" in first[1] and first[1].endswith("pytest -q -n auto")


def test_readme_python_example_runs_and_trains():
    namespace: dict[str, object] = {}
    exec(compile(_blocks("python")[0], str(README), "exec"), namespace)
    state = namespace["state"]
    loss = namespace["loss"]
    assert int(state.step) == 1  # type: ignore[attr-defined]
    assert jnp.isfinite(loss)
    assert set(state.params) == {"Dense_0", "Dense_1", "Dense_2"}  # type: ignore[attr-defined]
