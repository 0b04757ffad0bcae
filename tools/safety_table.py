"""Write docs/safety.md from the misuse catalogue (tests/misuse/catalogue.py).

    python tools/safety_table.py          # runs every case, writes the page
    python tools/safety_table.py --check  # exit 1 if the page lacks a case

The minijax column is what minijax actually raises when the case runs: the error
type and the first line of its message. The flax/optax column is the catalogue's
note on what flax or optax do for the same mistake.
"""

import argparse
import importlib
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "safety.md"
AREAS = (
    "layers",
    "module system",
    "rngs",
    "optimizers",
    "schedules",
    "losses",
    "train steps",
    "checkpoints",
    "data",
    "typing",
    "gradient checks",
)

INTRO = """# Safety: common mistakes and what catches them

minijax tries to turn every common mistake into an error that says **what** is
wrong, **where** (the layer path, the parameter, the argument, the shapes) and
**how to fix it**. This page lists the mistakes of the misuse catalogue
(`tests/misuse/catalogue.py`, run by `tests/misuse/test_misuse.py`, which checks the
error type and that the message names the problem, the place and the fix), each with
what minijax raises (the first line of the message, produced by running the case)
beside what flax or optax do for the same mistake. The flax/optax column quotes
what flax 0.12.8 and optax 0.2.8 raise where it quotes a message (measured by running
the same mistake); entries marked "not measured" are read from their sources.

Outcomes: {counts}.

## What a compiled jax program cannot check

Some mistakes are invisible to any library on jax, because a compiled program checks
nothing while it runs. minijax documents them and offers the debug mode that catches
each (`minijax.debug`, slow, for finding the bug and not for training):

* a random key used twice: plain jax gives the same numbers twice;
  `minijax.debug.debug_key_reuse()` (jax's key-reuse checker) raises.
* an `Embed` id out of range inside `jit`: plain jax fills the row with NaN;
  `minijax.debug.debug_checks(fn)` (`checkify` index checks) raises.
* a NaN made inside the model: plain jax lets it flow on;
  `minijax.debug.debug_nans(params)` names the module path, the line and the
  non-finite parameters.
* a NaN loss in training: the parameters become NaN; `fit(..., on_nan="raise")`
  (the default) stops with the step, the metric and what to try.

Static checks (a shape or dtype known while tracing) cost nothing under `jit`, so
they stay on when `MINIJAX_TYPECHECK=0` switches off the run-time type checker: the
losses still refuse `(B, 1)` predictions against `(B,)` targets and integer labels
for `softmax_cross_entropy`.

## Nothing saved is lost

`minijax.train.checkpoint` never loses a confirmed checkpoint: the final rename is
also the existence check (of several processes saving one step, exactly one wins,
the others get `CheckpointExistsError`), `max_to_keep` renames a step out of the
listed names before deleting it, the manifest carries its own checksum, and a full
disk or read-only directory is a `CheckpointWriteError` naming the step and the
path, with the earlier checkpoints intact. `tools/checkpoint_faults.py --trials N`
kills a process at random points of save, overwrite and deletion and checks this;
`tests/train/test_checkpoint_faults.py` runs a few trials.
"""


def load_catalogue() -> Any:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    return importlib.import_module("misuse.catalogue")


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else ""
    line = line if len(line) <= 160 else line[:157] + "..."
    return line.replace("|", "\\|").replace("`", "'")


def minijax_column(case: Any, tmp: Path) -> str:
    try:
        case.run(tmp)
    except BaseException as e:  # every case raises by design
        if case.outcome == "xfail":
            return f"not caught yet ({case.reason}): {type(e).__name__}"
        return f"`{type(e).__name__}`: {first_line(e)}"
    return f"not caught yet: {case.reason}"


def render() -> str:
    catalogue = load_catalogue()
    cases = catalogue.CASES
    counts = Counter(c.outcome for c in cases)
    names = {"error": "a clear error", "debug": "caught by a debug mode", "xfail": "not caught yet"}
    summary = ", ".join(f"{counts[k]} {names[k]}" for k in ("error", "debug", "xfail") if counts[k])
    parts = [INTRO.format(counts=f"{len(cases)} cases: {summary}")]
    by_area: dict[str, list[Any]] = {area: [] for area in AREAS}
    for c in cases:
        by_area.setdefault(c.area, []).append(c)
    for area, group in by_area.items():
        if not group:
            continue
        parts.append(f"\n## {area.capitalize()}\n")
        parts.append("| case | the mistake | minijax | flax / optax |")
        parts.append("| --- | --- | --- | --- |")
        for c in group:
            with tempfile.TemporaryDirectory() as tmp:
                mj = minijax_column(c, Path(tmp))
            mistake = c.mistake.replace("|", "\\|")
            flax = c.flax.replace("|", "\\|")
            parts.append(f"| `{c.id}` | {mistake} | {mj} | {flax} |")
    return "\n".join(parts) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the page lists every case")
    args = parser.parse_args()
    if args.check:
        page = PAGE.read_text()
        missing = [c.id for c in load_catalogue().CASES if f"`{c.id}`" not in page]
        print("missing:", missing or "none")
        return 1 if missing else 0
    PAGE.write_text(render())
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
