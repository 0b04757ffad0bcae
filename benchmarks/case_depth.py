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
* step: one call of the compiled step, median of a few calls,
* memory: the compiled step's peak buffer size as XLA plans it
  (`compiled.memory_analysis()`: arguments + outputs + temporaries, in MB).

Targets: under `nn.scan` compile time stays flat in L; minijax's trace and compile
times are at most flax's (aim: 0.7x); step times within noise of flax.

    python benchmarks/case_depth.py [--quick]
    python benchmarks/case_depth.py --out benchmarks/results/depth --docs
    python benchmarks/case_depth.py --depths 32          # one L only

`--out DIR` also writes `DIR/depth.json` (every sample), `DIR/depth.md` (the table
of medians by L) and `DIR/depth.png` (time against L); `--docs` copies the table
into docs/benchmarks.md between `<!-- BEGIN DEPTH -->` and `<!-- END DEPTH -->`
and the plot to docs/benchmarks-depth.png.
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


def peak_mb(compiled: Any) -> float:
    """XLA's planned peak: arguments + outputs + temporaries, less what is aliased."""
    m = compiled.memory_analysis()
    total = (m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
             - m.alias_size_in_bytes)
    return float(total) / 2**20


PROGRAMS: dict[tuple[int, bool, bool, str], str] = {}  # (L, scan, remat, nn) -> HLO hash


def sampler(nn: Any, depth: int, scan: bool, remat: bool) -> Any:
    import hashlib

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
        key = (depth, scan, remat, nn.__name__)
        if key not in PROGRAMS:  # outside the timed spans, once per candidate
            PROGRAMS[key] = hashlib.sha256(lowered.as_text().encode()).hexdigest()
        jax.block_until_ready(compiled(params, x))
        calls = [harness.time_once(lambda: compiled(params, x)) for _ in range(3)]
        return {"trace": t1 - t0, "compile": t2 - t1, "step": sorted(calls)[1],
                "memory": peak_mb(compiled)}

    return sample


DEPTHS: tuple[int, ...] | None = None  # --depths: only these L


def run(cfg: harness.Config) -> harness.CaseResult:
    import flax.linen as fnn

    import minijax.nn as mnn

    res = harness.CaseResult("depth", "8. Cost as depth grows: unrolled vs nn.scan, +/- remat")
    depths = DEPTHS or cfg.pick((2, 8), (2, 8, 32, 64))
    rounds = cfg.pick(2, 3)
    variants = [(scan, remat) for scan in (False, True) for remat in (False, True)]
    samplers = {}
    for depth in depths:
        for scan, remat in variants:
            if not scan and depth > 32:
                continue  # unrolled L=64 compiles for minutes on a small machine
            name = f"L={depth} {'scan' if scan else 'unrolled'}{' remat' if remat else ''}"
            # which framework goes first alternates from pair to pair (the order
            # rotates by only one place per round)
            pair = [("minijax", mnn), ("flax", fnn)]
            for fw, lib in pair if len(samplers) % 4 == 0 else pair[::-1]:
                samplers[f"{name} {fw}"] = sampler(lib, depth, scan, remat)
    samples = harness.interleaved(samplers, rounds=rounds, warmup=0)
    pairs = sorted({k[:3] for k in PROGRAMS})
    same = [p for p in pairs if len({v for k, v in PROGRAMS.items() if k[:3] == p}) == 1]
    same_note = (f"The lowered programs (StableHLO text) are byte-identical in "
                 f"{len(same)} of the {len(pairs)} (L, variant) pairs: there, a compile-time "
                 "difference is measurement noise, not the framework.")
    res.add({k: v for k, v in samples.items() if not k.endswith(" memory")})
    res.add({k: v for k, v in samples.items() if k.endswith(" memory")}, unit="MB")
    for key in samplers:
        if key.endswith(" minijax"):
            base = key.removesuffix(" minijax")
            for part in ("trace", "compile", "step", "memory"):
                res.comparisons.append(harness.compare(
                    f"{base} {part}: minijax / flax", samples, f"{key} {part}",
                    f"{base} flax {part}", target=None if part in ("step", "memory") else 1.0,
                    target_text="" if part in ("step", "memory") else "<= 1.0"))
    res.notes.append(
        f"{rounds} rounds, interleaved; D={WIDTH}, {HEADS} heads, batch {BATCH}x{LENGTH}; "
        "trace is jit(step).lower, compile is .compile(), step is the median of 3 calls, "
        "memory is XLA's planned peak (arguments + outputs + temporaries). "
        "Unrolled stacks stop at L=32.")
    res.notes.append(same_note)
    return res


PARTS = ("trace", "compile", "step", "memory")


def by_depth(res: harness.CaseResult) -> dict[str, dict[int, dict[str, float]]]:
    """Medians as {"<variant> <framework>": {L: {part: median}}}."""
    out: dict[str, dict[int, dict[str, float]]] = {}
    for m in res.measurements:
        head, part = m.name.rsplit(" ", 1)
        depth_text, rest = head.split(" ", 1)
        variant = rest  # e.g. "scan remat minijax"
        out.setdefault(variant, {}).setdefault(int(depth_text[2:]), {})[part] = m.median
    return out


def table(res: harness.CaseResult) -> str:
    """One row per L and variant: both frameworks' medians and minijax / flax."""
    med = by_depth(res)
    ratio = {c.label: c.value for c in res.comparisons}
    lines = ["| L | variant | trace minijax / flax | compile minijax / flax | "
             "step minijax / flax | peak MB minijax / flax |",
             "|---:|---|---:|---:|---:|---:|"]
    variants = sorted({v.rsplit(" ", 1)[0] for v in med}, key=lambda v: (v.startswith("scan"), v))
    depths = sorted({d for v in med.values() for d in v})
    for d in depths:
        for v in variants:
            mj, fx = med.get(f"{v} minijax", {}).get(d), med.get(f"{v} flax", {}).get(d)
            if mj is None or fx is None:
                continue
            cells = []
            for part in PARTS:
                r = ratio.get(f"L={d} {v} {part}: minijax / flax", float("nan"))
                if part == "memory":
                    cells.append(f"{mj[part]:.2f} / {fx[part]:.2f}")
                elif part == "step":
                    cells.append(f"{mj[part] * 1e3:.2f} ms / {fx[part] * 1e3:.2f} ms ({r:.2f})")
                else:
                    cells.append(f"{mj[part]:.2f} s / {fx[part]:.2f} s (**{r:.2f}**)")
            lines.append(f"| {d} | {v} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(res: harness.CaseResult, path: str) -> bool:
    """Trace and compile time against L, one line per variant and framework."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    med = by_depth(res)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, part, label in zip(axes, ("trace", "compile", "memory"),
                               ("trace (s)", "compile (s)", "planned peak (MB)"), strict=True):
        variants = sorted({n.rsplit(" ", 1)[0] for n in med})
        for name in sorted(med):
            depths = sorted(med[name])
            variant, fw = name.rsplit(" ", 1)
            ax.plot(depths, [med[name][d][part] for d in depths],
                    "-" if fw == "minijax" else "--", marker="o" if fw == "minijax" else "x",
                    color=f"C{variants.index(variant)}", label=name)
        ax.set_xscale("log", base=2)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("L (blocks)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Cost as depth grows: minijax (solid) and flax (dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> None:
    import argparse
    import json
    import os
    import re
    import shutil

    import report

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", help="folder for depth.json, depth.md and depth.png")
    p.add_argument("--docs", action="store_true", help="copy table and plot into docs/")
    p.add_argument("--depths", type=int, nargs="*", help="only these L (default 2 8 32 64)")
    args = p.parse_args()
    global DEPTHS
    DEPTHS = tuple(args.depths) if args.depths else None
    info = harness.machine_info()
    t0 = time.perf_counter()
    res = run(harness.Config(quick=args.quick))
    res.seconds = time.perf_counter() - t0
    print(report.case_markdown(res))
    print(table(res))
    if not args.out:
        return
    os.makedirs(args.out, exist_ok=True)
    load_after = [round(x, 1) for x in os.getloadavg()]
    harness.dump_json(os.path.join(args.out, "depth.json"),
                      {"machine": info, "result": res.to_json()})
    md = (f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores; load average "
          f"{info['load_average'][0]:.1f} at the start, {load_after[0]:.1f} at the end), "
          f"jax {info['versions']['jax']}, flax {info['versions']['flax']}; "
          f"{' '.join(res.notes)} Case wall time {res.seconds / 60:.0f} min.\n\n{table(res)}\n")
    with open(os.path.join(args.out, "depth.md"), "w") as f:
        f.write(md)
    png = os.path.join(args.out, "depth.png")
    has_plot = plot(res, png)
    print(json.dumps({"out": args.out, "plot": has_plot}))
    if args.docs:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        page = os.path.join(root, "docs", "benchmarks.md")
        with open(page) as f:
            text = f.read()
        block = f"<!-- BEGIN DEPTH -->\n{md}\n<!-- END DEPTH -->"
        text = re.sub(r"<!-- BEGIN DEPTH -->.*?<!-- END DEPTH -->", lambda _: block, text,
                      flags=re.S)
        with open(page, "w") as f:
            f.write(text)
        if has_plot:
            shutil.copy(png, os.path.join(root, "docs", "benchmarks-depth.png"))


if __name__ == "__main__":
    main()
