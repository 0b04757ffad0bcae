"""Case 8: cost as depth grows: an L-block transformer stack, unrolled or under nn.scan.

The stack is L pre-norm transformer blocks (self-attention with 2 heads, an MLP of
width 4D, D = 32) on a batch of 4 sequences of 16 tokens, written once against a
namespace `nn` and built with minijax.nn and with flax.linen, in four variants:
a Python loop of blocks (`unrolled`) or `nn.scan` over one block (`scan`), each
with and without `nn.remat` on the block. For each L, each variant and framework,
one sample builds a *fresh* train step (loss = mean square of the output, gradient
in the params) and times

* trace: `jax.jit(step).lower(params, x)` (the framework's Python runs here),
* compile: `.compile()` of that lowering (XLA),
* step: one call of the compiled step, median of a few calls.

Targets: under `nn.scan` compile time stays flat in L; minijax's trace and compile
times are at most flax's (aim: 0.7x); step times within noise of flax.

    python benchmarks/case_depth.py [--quick]
"""

import time
from typing import Any

import harness

WIDTH, HEADS, BATCH, LENGTH = 32, 2, 4, 16


def make_stack(nn: Any, depth: int, scan: bool, remat: bool) -> Any:
    class Block(nn.Module):
        @nn.compact
        def __call__(self, x: Any, _: Any = None) -> Any:
            h = nn.SelfAttention(num_heads=HEADS, qkv_features=WIDTH)(nn.LayerNorm()(x))
            x = x + h
            h = nn.Dense(4 * WIDTH)(nn.LayerNorm()(x))
            return x + nn.Dense(WIDTH)(nn.gelu(h)), None

    block = nn.remat(Block) if remat else Block

    class Stack(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            if scan:
                blocks = nn.scan(block, variable_axes={"params": 0},
                                 split_rngs={"params": True}, length=depth)
                return blocks(name="blocks")(x, None)[0]
            for _ in range(depth):
                x = block()(x, None)[0]
            return x

    return Stack()


def sampler(nn: Any, depth: int, scan: bool, remat: bool) -> Any:
    import jax
    import jax.numpy as jnp

    model = make_stack(nn, depth, scan, remat)
    x = jnp.ones((BATCH, LENGTH, WIDTH))
    params = jax.jit(model.init)(jax.random.key(0), x)

    def sample() -> dict[str, float]:
        def step(variables: Any, x: Any) -> Any:
            return jax.grad(lambda v: jnp.mean(model.apply(v, x) ** 2))(variables)

        t0 = time.perf_counter()
        lowered = jax.jit(step).lower(params, x)
        t1 = time.perf_counter()
        compiled = lowered.compile()
        t2 = time.perf_counter()
        jax.block_until_ready(compiled(params, x))
        calls = [harness.time_once(lambda: compiled(params, x)) for _ in range(3)]
        return {"trace": t1 - t0, "compile": t2 - t1, "step": sorted(calls)[1]}

    return sample


def run(cfg: harness.Config) -> harness.CaseResult:
    import flax.linen as fnn

    import minijax.nn as mnn

    res = harness.CaseResult("depth", "8. Cost as depth grows: unrolled vs nn.scan, +/- remat")
    depths = cfg.pick((2, 8), (2, 8, 32, 64))
    rounds = cfg.pick(2, 3)
    variants = [(scan, remat) for scan in (False, True) for remat in (False, True)]
    samplers = {}
    for depth in depths:
        for scan, remat in variants:
            if not scan and depth > 32:
                continue  # unrolled L=64 compiles for minutes on a small machine
            name = f"L={depth} {'scan' if scan else 'unrolled'}{' remat' if remat else ''}"
            for fw, lib in (("minijax", mnn), ("flax", fnn)):
                samplers[f"{name} {fw}"] = sampler(lib, depth, scan, remat)
    samples = harness.interleaved(samplers, rounds=rounds, warmup=0)
    res.add(samples)
    for key in samplers:
        if key.endswith(" minijax"):
            base = key.removesuffix(" minijax")
            for part in ("trace", "compile", "step"):
                res.comparisons.append(harness.compare(
                    f"{base} {part}: minijax / flax", samples, f"{key} {part}",
                    f"{base} flax {part}", target=None if part == "step" else 1.0,
                    target_text="" if part == "step" else "<= 1.0"))
    res.notes.append(
        f"{rounds} rounds, interleaved; D={WIDTH}, {HEADS} heads, batch {BATCH}x{LENGTH}; "
        "trace is jit(step).lower, compile is .compile(), step is the median of 3 calls. "
        "Unrolled stacks stop at L=32.")
    return res


if __name__ == "__main__":
    harness.standalone(run)
