"""tools/run_flax_examples.py on flax's sst2 example: runs on minijax, equal to flax.

Needs a checkout of flax 0.12.8 (the runner imports the example's own modules from
it): set `MINIJAX_FLAX_SRC=/path/to/flax`. Skipped without it, as in CI.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FLAX_SRC = os.environ.get("MINIJAX_FLAX_SRC", "")

pytestmark = [
    pytest.mark.parity,
    pytest.mark.skipif(not FLAX_SRC, reason="set MINIJAX_FLAX_SRC to a flax source tree"),
]


def test_sst2_runs_on_minijax_and_equals_flax(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "run_flax_examples.py"), FLAX_SRC,
         "--only", "sst2", "--json", str(out)],
        check=True, capture_output=True, text=True, timeout=900,
    )
    result = json.loads(out.read_text())["sst2"]
    assert result["reference"]["ok"], result["reference"]
    assert result["minijax"]["ok"], result["minijax"]
    assert result["minijax"]["leaked"] == []  # no real flax/optax module on minijax's side
    assert result["compare"] == {
        "params_init": "bitwise", "loss_0": "bitwise", "loss_1": "bitwise",
        "params_final": "bitwise", "eval": "bitwise", "predict": "-",
    }
