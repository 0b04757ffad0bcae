"""Case 6: trace and compile time of the train step (MLP and CNN), minijax vs flax.

Each sample builds a *fresh* Python step function (so no jit cache keyed on the
function can hide the work), then times ``jax.jit(step).lower(state, x, y)``
(trace to a jaxpr and lower to StableHLO: the framework's Python runs here) and
``lowered.compile()`` (XLA; depends only on the program it is given); the
hand-written JAX step is the floor. The size of each lowered program is noted.
Targets: minijax no slower than flax (ratio <= 1.0) for both.
"""

import time
from typing import Any

import harness
import models

TARGET = 1.0
FRAMEWORKS = ("minijax", "flax", "jax")  # equinox left out to keep the run short


def program_size(s: models.StepSetup) -> str:
    """Lower once (priming one-time costs) and count the StableHLO and optimized HLO ops."""
    lowered = s.jit(s.make_step()).lower(s.state, s.x, s.y)
    stablehlo = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
    compiled = lowered.compile()
    hlo = sum(1 for line in compiled.as_text().splitlines() if " = " in line)
    return f"{stablehlo} StableHLO ops / {hlo} optimized HLO ops"


def sampler(s: models.StepSetup) -> Any:
    def sample() -> dict[str, float]:
        step = s.jit(s.make_step())
        t0 = time.perf_counter()
        lowered = step.lower(s.state, s.x, s.y)
        t1 = time.perf_counter()
        lowered.compile()
        t2 = time.perf_counter()
        return {"trace": t1 - t0, "compile": t2 - t1}

    return sample


def run(cfg: harness.Config) -> harness.CaseResult:
    res = harness.CaseResult(
        "compile", "6. Trace and compile time of the train step", metric="time"
    )
    rounds = cfg.pick(2, 5)
    samplers: dict[str, Any] = {}
    sizes: dict[str, list[str]] = {"mlp": [], "cnn": []}
    for model, bs in (("mlp", 128), ("cnn", 64)):
        notes: list[str] = []
        for fw, s in models.setups(model, bs, notes).items():
            if fw not in FRAMEWORKS:
                continue
            try:
                sizes[model].append(f"{fw} {program_size(s)}")
            except Exception as e:
                notes.append(f"{fw}: not measured ({type(e).__name__}: {e})")
                continue
            samplers[f"{model} {fw}"] = sampler(s)
        res.notes += [f"{model}: {n}" for n in notes]
    # The priming lowering above paid the one-time costs; no warm-up round needed.
    samples = harness.interleaved(samplers, rounds=rounds, warmup=0)
    res.add(samples)
    for model in ("mlp", "cnn"):
        for part in ("trace", "compile"):
            mj, fl = f"{model} minijax {part}", f"{model} flax {part}"
            if mj in samples and fl in samples:
                res.comparisons.append(
                    harness.compare(
                        f"{model.upper()} {part}: minijax / flax",
                        samples,
                        mj,
                        fl,
                        target=TARGET,
                        target_text="<= 1.0",
                    )
                )
            for other in ("jax",):
                o = f"{model} {other} {part}"
                if mj in samples and o in samples:
                    res.comparisons.append(
                        harness.compare(
                            f"{model.upper()} {part}: minijax / {other}", samples, mj, o
                        )
                    )
    for model, listed in sizes.items():
        if listed:
            res.notes.append(f"{model.upper()} program size: " + "; ".join(listed) + ".")
    res.notes.append(
        f"{rounds} rounds; every sample traces and compiles a fresh step function. "
        "'trace' is `jit(step).lower(...)`, 'compile' is `.compile()` of that lowering."
    )
    return res


if __name__ == "__main__":
    harness.standalone(run)
