"""Case 1: a compiled train step of the MLP 784-512-512-10, batch 128, Adam.

minijax vs flax.linen+optax vs equinox+optax vs a hand-written pure-JAX step.
Target: minijax's step within 2% of the hand-written one (ratio <= 1.02).
"""

from typing import Any

import harness
import models

TARGET = 1.02


def calibrate(sample_one: Any, budget: float) -> int:
    """How many steps make a sample of about ``budget`` seconds (at least 1).

    ``sample_one()`` times one step and returns its seconds.
    """
    per_step = min(sample_one() for _ in range(5))
    return max(1, round(budget / max(per_step, 1e-7)))


def program_cost(s: models.StepSetup) -> str:
    """XLA's own count of the work in the compiled step: same math, same numbers."""
    try:
        compiled = s.jit(s.make_step()).lower(s.state, s.x, s.y).compile()
        ca = compiled.cost_analysis()
        ca = ca[0] if isinstance(ca, (list, tuple)) else ca
        ops = sum(1 for line in compiled.as_text().splitlines() if " = " in line)
        return f"{ca['flops'] / 1e6:.1f} MFLOP, {ca['bytes accessed'] / 1e6:.1f} MB, {ops} ops"
    except Exception as e:  # not every jit wrapper exposes it
        return f"(no cost analysis: {type(e).__name__})"


def run_train_step(
    cfg: harness.Config, model: str, batch_size: int, key: str, title: str
) -> harness.CaseResult:
    res = harness.CaseResult(key, title, metric="time per step")
    res.notes += models.check_same_math(model, batch_size)
    runs = models.setups(model, batch_size, res.notes)
    holders: dict[str, list[Any]] = {}
    steps: dict[str, Any] = {}
    costs: list[str] = []
    for fw, s in runs.items():
        step = s.jit(s.make_step())
        holders[fw] = [step(s.state, s.x, s.y)[0]]  # compile + one step
        steps[fw] = step
        costs.append(f"{fw} {program_cost(s)}")
    res.notes.append(
        "Compiled programs (XLA cost analysis: flops, bytes accessed; optimized HLO ops): "
        + "; ".join(costs)
        + "."
    )

    def sampler(fw: str, inner: int) -> Any:
        s, step, holder = runs[fw], steps[fw], holders[fw]

        def one() -> Any:
            holder[0], loss = step(holder[0], s.x, s.y)
            return holder[0], loss

        return lambda: harness.time_calls(one, inner)

    ref = "jax" if "jax" in runs else next(iter(runs))
    inner = calibrate(sampler(ref, 1), cfg.pick(0.03, 0.08))
    rounds = cfg.pick(5, 25)
    samples = harness.interleaved({fw: sampler(fw, inner) for fw in runs}, rounds=rounds)
    res.add(samples)
    res.notes.append(
        f"{rounds} rounds x {inner} steps per sample; parameters: {models.param_count(model):,}."
    )
    if "jax" in samples:
        for fw in runs:
            if fw == "jax":
                continue
            tgt = TARGET if fw == "minijax" else None
            res.comparisons.append(
                harness.compare(
                    f"{fw} / hand-written JAX (step time)",
                    samples,
                    fw,
                    "jax",
                    target=tgt,
                    target_text="<= 1.02" if tgt else "",
                )
            )
    if "minijax" in samples and "flax" in samples:
        res.comparisons.append(
            harness.compare("minijax / flax (step time)", samples, "minijax", "flax")
        )
    return res


def run(cfg: harness.Config) -> harness.CaseResult:
    return run_train_step(
        cfg, "mlp", 128, "mlp_step", "1. Compiled train step: MLP 784-512-512-10, batch 128, Adam"
    )


if __name__ == "__main__":
    harness.standalone(run)
