"""Run every benchmark case and write the results (Markdown, JSON, plot).

::

    python benchmarks/run_all.py                 # full run (~6-8 min on 2 quiet cores)
    python benchmarks/run_all.py --quick         # few repetitions, for development
    python benchmarks/run_all.py --cases mlp_step toy_loop --out /tmp/bench

Writes, under ``--out`` (default ``benchmarks/results``):

* ``results.md``: machine, versions, date, the summary table (ratios, spreads,
  targets met/missed) and one detail table per case;
* ``benchmarks.png``: the ratios as bars (if matplotlib is installed);
* ``raw/results.json``: every sample of every candidate (git-ignored).

A full run with the default ``--out`` also copies ``results.md`` into
``docs/benchmarks.md``, between the markers ``<!-- BEGIN RESULTS -->`` and
``<!-- END RESULTS -->`` (the text around them is hand-written and kept), and
the plot to ``docs/benchmarks.png``. ``--no-docs`` turns that off; ``--docs``
forces it (e.g. after a ``--quick`` run, to try the mechanism).
"""

import argparse
import os
import re
import shutil
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import case_cnn_step  # noqa: E402
import case_compile  # noqa: E402
import case_gradcheck  # noqa: E402
import case_import  # noqa: E402
import case_init  # noqa: E402
import case_mlp_step  # noqa: E402
import case_toy_loop  # noqa: E402
import harness  # noqa: E402
import report  # noqa: E402

CASES = {
    "mlp_step": case_mlp_step.run,
    "cnn_step": case_cnn_step.run,
    "toy_loop": case_toy_loop.run,
    "import": case_import.run,
    "init": case_init.run,
    "compile": case_compile.run,
    "gradcheck": case_gradcheck.run,
}

DEFAULT_OUT = os.path.join(HERE, "results")
DOCS = os.path.join(ROOT, "docs", "benchmarks.md")
BEGIN, END = "<!-- BEGIN RESULTS -->", "<!-- END RESULTS -->"


def splice_docs(results_md: str, plot_src: str | None, docs: str = DOCS) -> None:
    """Replace the text between the BEGIN/END markers of ``docs`` with ``results_md``."""
    with open(docs) as f:
        page = f.read()
    if BEGIN not in page or END not in page:
        raise SystemExit(f"{docs} lacks the markers {BEGIN} ... {END}")
    if plot_src:
        shutil.copyfile(plot_src, os.path.join(os.path.dirname(docs), "benchmarks.png"))
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    page = pattern.sub(lambda _m: f"{BEGIN}\n{results_md}\n{END}", page)
    with open(docs, "w") as f:
        f.write(page)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="few repetitions (development only)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output folder (default benchmarks/results)")
    p.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    docs = p.add_mutually_exclusive_group()
    docs.add_argument("--docs", action="store_true", help="always update docs/benchmarks.md")
    docs.add_argument("--no-docs", action="store_true", help="never update docs/benchmarks.md")
    args = p.parse_args(argv)

    cfg = harness.Config(quick=args.quick)
    info = harness.machine_info()
    print(f"{info['cpu']}, {info['cores']} cores, load {info['load_average']}", flush=True)
    print(f"jax {info['versions']['jax']} on {info['jax_backend']}", flush=True)
    ok, why = harness.try_import_minijax()
    if not ok:
        print(f"warning: minijax is not importable ({why}); its rows are skipped", flush=True)

    t_start = time.perf_counter()
    cpu_start = harness.cpu_seconds()
    results: list[harness.CaseResult] = []
    for name in args.cases:
        print(f"== {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            res = CASES[name](cfg)
        except Exception as e:
            traceback.print_exc()
            res = harness.CaseResult(name, f"{name} (failed)")
            res.notes.append(f"The case failed: {type(e).__name__}: {e}")
        res.seconds = time.perf_counter() - t0
        res.notes = list(dict.fromkeys(res.notes))  # drop repeated notes, keep order
        results.append(res)
        for c in res.comparisons:
            print(f"   {c.label}: {c.value:.3f} [{c.verdict()}]", flush=True)
        print(f"   ({res.seconds:.0f} s)", flush=True)
    total = time.perf_counter() - t_start
    info["cpu_seconds"] = harness.cpu_seconds() - cpu_start

    os.makedirs(args.out, exist_ok=True)
    plot_path = report.plot(results, os.path.join(args.out, "benchmarks.png"))
    md = report.full_markdown(
        results, info, args.quick, total, "benchmarks.png" if plot_path else None
    )
    md_path = os.path.join(args.out, "results.md")
    with open(md_path, "w") as f:
        f.write(md + "\n")
    harness.dump_json(
        os.path.join(args.out, "raw", "results.json"),
        {
            "machine": info,
            "quick": args.quick,
            "total_seconds": total,
            "cases": [r.to_json() for r in results],
        },
    )
    print(f"wrote {md_path}" + (f" and {plot_path}" if plot_path else ""))

    default_out = os.path.abspath(args.out) == os.path.abspath(DEFAULT_OUT)
    all_cases = set(args.cases) == set(CASES)
    if args.docs or (not args.no_docs and not args.quick and default_out and all_cases):
        splice_docs(md, plot_path)
        print(f"updated {DOCS}")
    print(f"total {total:.0f} s wall, {info['cpu_seconds']:.0f} s CPU (user+sys)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
