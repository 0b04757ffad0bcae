"""Run flax's or optax's own test files against minijax, through an import shim.

    python tools/conformance.py flax-linen /path/to/flax        # the linen files
    python tools/conformance.py flax-transforms /path/to/flax   # transforms, meta, serialization...
    python tools/conformance.py optax /path/to/optax            # optax's core test files
    python tools/conformance.py optax /path/to/optax --reference   # the same files on real optax

The source tree is a checkout of the pinned release (flax 0.12.8: commit 3a491108;
optax 0.2.8: tag v0.2.8). Nothing from it is copied into this repository: each test file
is copied to a scratch directory and run there by pytest, one process per file, with
``tools/conformance_shim.py`` resolving ``flax.linen`` to ``minijax.nn``, ``optax`` to
``minijax.optim`` and so on (see that file). ``--reference`` runs the same files on the
installed flax/optax instead, which gives the denominator.

Writes ``<out>/<suite>[-reference].json`` (every case with its outcome and the first line
of its error) and prints a table of passed/total per file. CI does not run this.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SUITES = {
    "flax-linen": [
        "tests/linen/initializers_test.py",
        "tests/linen/linen_activation_test.py",
        "tests/linen/linen_attention_test.py",
        "tests/linen/linen_combinators_test.py",
        "tests/linen/linen_linear_test.py",
        "tests/linen/linen_module_test.py",
        "tests/linen/linen_recurrent_test.py",
        "tests/linen/linen_test.py",
        "tests/linen/summary_test.py",
        "tests/struct_test.py",
    ],
    "flax-transforms": [
        "tests/linen/linen_transforms_test.py",
        "tests/linen/partitioning_test.py",
        "tests/linen/linen_meta_test.py",
        "tests/linen/linen_dtypes_test.py",
        "tests/linen/linen_batch_apply_test.py",
        "tests/linen/kw_only_dataclasses_test.py",
        "tests/serialization_test.py",
    ],
    "optax": [
        *(f"optax/_src/{n}_test.py" for n in (
            "alias", "base", "combine", "float64", "numerics", "transform", "update", "utils")),
        "optax/schedules/_inject_test.py",
        "optax/schedules/_join_test.py",
        "optax/schedules/_schedule_test.py",
        "optax/losses/_classification_test.py",
        "optax/losses/_regression_test.py",
        *(f"optax/transforms/_{n}_test.py" for n in (
            "accumulation", "adding", "clipping", "combining", "conditionality",
            "constraining", "freezing", "layouts", "masking", "monitoring")),
        "optax/tree_utils/_casting_test.py",
        "optax/tree_utils/_random_test.py",
        "optax/tree_utils/_state_utils_test.py",
        "optax/tree_utils/_tree_math_test.py",
    ],
}

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
RANK = {"passed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "collect-error": 3, "error": 3}


def run_file(src: Path, rel: str, scratch: Path, reference: bool, timeout: int) -> dict:
    """Run one test file in its own pytest process; return {case id: (outcome, reason)}."""
    name = rel.replace("/", "__")
    work = scratch / name.removesuffix(".py")
    work.mkdir(parents=True)
    shutil.copy(src / rel, work / name)
    (work / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    out = work / "outcomes.jsonl"
    env = dict(os.environ)
    path = [str(TOOLS)] if reference else [str(TOOLS), str(REPO)]
    env.update(
        PYTHONPATH=os.pathsep.join(path),
        CONFORMANCE_SHIM="0" if reference else "1",
        CONFORMANCE_SRC=str(src),
        CONFORMANCE_OUT=str(out),
        JAX_PLATFORMS="cpu",
        MINIJAX_TYPECHECK=os.environ.get("MINIJAX_TYPECHECK", "1"),
    )
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "conformance_shim", "-x" * 0 or "-q",
           "--rootdir", str(work), "-c", str(work / "pytest.ini"), str(work / name)]
    started = time.time()
    try:
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True,
                              timeout=timeout)
        tail = proc.stdout[-2000:]
    except subprocess.TimeoutExpired:
        tail = f"timed out after {timeout} s"
    cases: dict[str, tuple[str, str]] = {}
    if out.exists():
        for line in out.read_text().splitlines():
            entry = json.loads(line)
            case = entry["id"].split("::", 1)[-1] if "::" in entry["id"] else "<file>"
            old = cases.get(case)
            if old is None or RANK.get(entry["outcome"], 3) > RANK.get(old[0], 3):
                cases[case] = (entry["outcome"], entry["reason"])
    return {"file": rel, "cases": cases, "seconds": round(time.time() - started, 1),
            "tail": tail if not cases else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=sorted(SUITES))
    parser.add_argument("source", type=Path, help="a checkout of flax or optax")
    parser.add_argument("--reference", action="store_true",
                        help="run on the installed flax/optax instead of minijax")
    parser.add_argument("--only", nargs="*", default=None, help="a subset of the files")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per file")
    parser.add_argument("--out", type=Path, default=REPO / "tools" / "conformance-results")
    args = parser.parse_args()

    files = [f for f in SUITES[args.suite]
             if args.only is None or any(o in f for o in args.only)]
    scratch = Path(tempfile.mkdtemp(prefix="conformance-"))
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_file, args.source.resolve(), f, scratch, args.reference,
                               args.timeout) for f in files]
        for fut in concurrent.futures.as_completed(futures):
            r = fut.result()
            results.append(r)
            n = sum(o == "passed" for o, _ in r["cases"].values())
            print(f"{r['file']}: {n}/{len(r['cases'])} passed ({r['seconds']} s)", flush=True)
    results.sort(key=lambda r: SUITES[args.suite].index(r["file"]))

    args.out.mkdir(parents=True, exist_ok=True)
    tag = args.suite + ("-reference" if args.reference else "")
    report = {
        "suite": args.suite, "reference": args.reference, "source": str(args.source),
        "files": {r["file"]: {"cases": r["cases"], "seconds": r["seconds"], "tail": r["tail"]}
                  for r in results},
    }
    (args.out / f"{tag}.json").write_text(json.dumps(report, indent=1, sort_keys=True))

    ref_path = args.out / f"{args.suite}-reference.json"
    ref = json.loads(ref_path.read_text()) if ref_path.exists() and not args.reference else None
    total = {"passed": 0, "cases": 0, "ref_passed": 0}
    print(f"\n{'file':52} {'passed':>7} {'cases':>6}" + (f" {'ref':>6}" if ref else ""))
    for r in results:
        cases = r["cases"]
        if ref and r["file"] in ref["files"]:
            # A file that failed at import has one "<file>" entry: count the reference cases.
            ref_cases = ref["files"][r["file"]]["cases"]
            n_cases = max(len(ref_cases), len([c for c in cases if c != "<file>"]))
            ref_passed = sum(o == "passed" for o, _ in ref_cases.values())
        else:
            n_cases, ref_passed = len(cases), 0
        passed = sum(o == "passed" for o, _ in cases.values())
        total["passed"] += passed
        total["cases"] += n_cases
        total["ref_passed"] += ref_passed
        print(f"{r['file']:52} {passed:7d} {n_cases:6d}" + (f" {ref_passed:6d}" if ref else ""))
    print(f"{'total':52} {total['passed']:7d} {total['cases']:6d}"
          + (f" {total['ref_passed']:6d}" if ref else ""))
    print(f"\nwritten: {args.out / (tag + '.json')}")


if __name__ == "__main__":
    main()
