"""Case 5: parameter initialization of a 20-layer MLP and of the CNN, eager and jitted.

``eager``: ``module.init(key, x)`` op by op (flax, minijax) or the
hand-written init (the floor). ``jit``: the first call of a *fresh*
``jax.jit(lambda key: module.init(key, x))`` (trace + compile + run: what a
script pays once), built anew for every sample so that no cache hides it.
Input: one example. Target: minijax no slower than flax (ratio <= 1.0).
"""

from typing import Any

import harness
import jax
import models
import numpy as np

TARGET = 1.0


def inits(model: str, notes: list[str]) -> dict[str, Any]:
    """framework -> ``init(key)`` returning the parameters."""
    x = models.batch("cnn" if model == "cnn" else "mlp", 1)[0]
    out: dict[str, Any] = {}
    try:
        m = models.minijax_modules()[model]
        out["minijax"] = lambda key, m=m: m.init(key, x)
    except Exception as e:
        notes.append(f"minijax: not measured ({type(e).__name__}: {e})")
    f = models.flax_modules()[model]
    out["flax"] = lambda key: f.init(key, x)
    # equinox is left out to keep the run short; the hand-written init is the floor.
    if model == "cnn":
        out["jax"] = lambda key: models.jax_cnn_init(key)
    else:
        out["jax"] = lambda key: models.jax_mlp_init(key, models.DEEP_SIZES)
    return out


def program_size(fn: Any) -> str:
    """Equations of the init's jaxpr, of which ``random_fold_in`` (key derivations)."""
    jaxpr = jax.make_jaxpr(fn)(jax.random.key(0)).jaxpr
    folds = sum(1 for e in jaxpr.eqns if e.primitive.name == "random_fold_in")
    return f"{len(jaxpr.eqns)} equations, {folds} random_fold_in"


def eager(fn: Any) -> Any:
    return lambda: harness.time_once(lambda: fn(jax.random.key(0)))


def jitted(fn: Any, framework: str) -> Any:
    del framework

    def sample() -> float:
        fresh = lambda key: fn(key)  # a new function object: a new jit cache entry
        compiled = jax.jit(fresh)
        return harness.time_once(lambda: compiled(jax.random.key(0)))

    return sample


def run(cfg: harness.Config) -> harness.CaseResult:
    res = harness.CaseResult("init", "5. Initialization: 20-layer MLP and CNN", metric="time")
    rounds = cfg.pick(2, 5)
    samplers: dict[str, Any] = {}
    sizes: list[str] = []
    for model in ("deep", "cnn"):
        notes: list[str] = []
        for fw, fn in inits(model, notes).items():
            try:  # prime: one-time costs, and a clear note if it does not run
                eager(fn)()
                jitted(fn, fw)()
            except Exception as e:
                notes.append(f"{fw}: not measured ({type(e).__name__}: {e})")
                continue
            samplers[f"{model} {fw} eager"] = eager(fn)
            if fw != "jax":  # the hand-written jitted init: left out to keep the run short
                samplers[f"{model} {fw} jit"] = jitted(fn, fw)
                sizes.append(f"{model} {fw}: {program_size(fn)}")
        res.notes += [f"{model}: {n}" for n in notes]
    samples = harness.interleaved(samplers, rounds=rounds, warmup=0)
    res.add(samples)
    names = {"deep": "20-layer MLP", "cnn": "CNN"}
    for model in ("deep", "cnn"):
        for mode in ("eager", "jit"):
            mj, fl = f"{model} minijax {mode}", f"{model} flax {mode}"
            if mj in samples and fl in samples:
                res.comparisons.append(
                    harness.compare(
                        f"{names[model]} init, {mode}: minijax / flax",
                        samples,
                        mj,
                        fl,
                        target=TARGET,
                        target_text="<= 1.0",
                    )
                )
    res.notes.append("Init programs (jaxpr of the init): " + "; ".join(sizes) + ".")
    nparams = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(models.jax_params("deep")))
    res.notes.append(
        f"{rounds} rounds. 20-layer MLP: 784-256x19-10 ({nparams:,} parameters); "
        f"CNN: {models.param_count('cnn'):,} parameters. 'jit' = first call of a fresh "
        "jitted init (trace + compile + run)."
    )
    return res


if __name__ == "__main__":
    harness.standalone(run)
