"""Fault injection for `minijax.train.checkpoint`: SIGKILL at random points, concurrent writers.

    python tools/checkpoint_faults.py --trials 200            # SIGKILL trials
    python tools/checkpoint_faults.py --trials 50 --external  # kills at random times instead
    python tools/checkpoint_faults.py --concurrent 20         # 4 writers of one step, 20 times

A SIGKILL trial runs, in a fresh process, a fixed plan of saves into an empty
directory: steps 1 to 6 with `max_to_keep=3`, each even step saved a second time with
`overwrite=True`. The process prints `confirmed <step> <version>` after each save
returns. It is killed at a random point: by default at the k-th file-system call
(`mkdir`, `fsync`, `replace`, `unlink`, `rmdir`), k uniform over all the calls the
plan makes, so every phase (writing the leaves, the rename, moving an old copy
aside, the `max_to_keep` deletion) is hit; with `--external`, by the parent after a
random delay. Then the parent checks, from a new process's point of view:

* every listed step restores, and every leaf of it holds the values of one save of
  that step (no mix of two saves, nothing half-written);
* no confirmed save is lost: a confirmed step is still listed with that version (or a
  later one), unless `max_to_keep` newer steps are listed;
* `restore` without a step gives the newest listed step, bitwise;
* the next save cleans up: only `step_*` directories remain.

A concurrent trial starts 4 processes that save the same step with
`overwrite=False`; each waits, just before its final rename, until all four have
written their files, so all of them have passed the "does it exist" check. Exactly
one must succeed; the others raise `CheckpointExistsError`, and the step restores to
the winner's values.

Prints the figures and exits 1 if any invariant is violated.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MAX_TO_KEEP = 3
STEPS = range(1, 7)
_HOOKED = ("mkdir", "fsync", "replace", "unlink", "rmdir")


def plan() -> list[tuple[int, int, bool]]:
    """The saves of one trial: (step, version, overwrite)."""
    out = []
    for step in STEPS:
        out.append((step, 0, False))
        if step % 2 == 0:
            out.append((step, 1, True))
    return out


def tree(step: int, version: int) -> dict[str, Any]:
    """A checkpointed tree whose every leaf encodes (step, version)."""
    code = 10 * step + version
    return {
        "w": np.full((128, 64), code, np.float32),
        "b": np.arange(32, dtype=np.int32) + code,
        "opt": {"mu": np.full((64,), -code, np.float32), "count": np.int32(code)},
    }


def decode(restored: dict[str, Any]) -> set[int]:
    """Every (step, version) code the leaves of a restored tree hold (one when intact)."""
    codes = {int(v) for v in np.unique(np.asarray(restored["w"]))}
    codes |= {int(v) for v in np.unique(np.asarray(restored["b"]) - np.arange(32))}
    codes |= {int(v) for v in np.unique(-np.asarray(restored["opt"]["mu"]))}
    codes.add(int(restored["opt"]["count"]))
    return codes


# --- the child processes ----------------------------------------------------------------


def _child_plan(directory: str, kill_at: int) -> None:
    """Run the plan; SIGKILL ourselves at the kill_at-th hooked call (0: never)."""
    sys.path.insert(0, str(REPO))
    from minijax.train import checkpoint

    state: dict[str, Any] = {"calls": 0, "phase": "start"}
    trace: list[str] = []

    def hook(name: str, real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            state["calls"] += 1
            trace.append(state["phase"])
            if state["calls"] == kill_at:
                sys.stderr.write(f"killed {name} {state['phase']}\n")
                sys.stderr.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        return wrapped

    def phase(name: str, real: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            previous, state["phase"] = state["phase"], name
            try:
                return real(*args, **kwargs)
            finally:
                state["phase"] = previous

        return wrapped

    checkpoint._publish = phase("publish", checkpoint._publish)  # type: ignore[attr-defined]
    checkpoint._delete_step = phase("delete", checkpoint._delete_step)  # type: ignore[attr-defined]
    for name in _HOOKED:
        setattr(os, name, hook(name, getattr(os, name)))
    print("ready", flush=True)
    for step, version, overwrite in plan():
        state["phase"] = "overwrite" if overwrite else "write"
        checkpoint.save(
            directory, tree(step, version), step=step, overwrite=overwrite, max_to_keep=MAX_TO_KEEP
        )
        print(f"confirmed {step} {version}", flush=True)
    print(f"phases {json.dumps(trace)}", flush=True)


def _child_writer(directory: str, index: int, barrier: str, writers: int) -> None:
    """Save step 7 with this writer's values; wait for all writers before the rename."""
    sys.path.insert(0, str(REPO))
    from minijax.train import checkpoint

    real = os.replace
    waited = [False]

    def replace(src: Any, dst: Any) -> None:
        if not waited[0]:
            waited[0] = True
            Path(barrier, str(index)).touch()
            deadline = time.monotonic() + 60
            while len(os.listdir(barrier)) < writers and time.monotonic() < deadline:
                time.sleep(0.005)
        real(src, dst)

    os.replace = replace
    try:
        checkpoint.save(directory, tree(7, index), step=7)
    except checkpoint.CheckpointExistsError as e:
        print("exists", "already exists" in str(e), flush=True)
    else:
        print("won", flush=True)


# --- the parent -------------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def check_directory(directory: Path, confirmed: list[tuple[int, int]]) -> list[str]:
    """The invariants after a crash; returns the violations (empty when all hold)."""
    from minijax.train import checkpoint

    problems = []
    listed = checkpoint.all_steps(directory)
    versions = {}
    for step in listed:
        try:
            codes = decode(checkpoint.restore(directory, tree(0, 0), step=step))
        except checkpoint.CheckpointError as e:
            problems.append(f"step {step} is listed but does not restore: {e}")
            continue
        if len(codes) != 1 or next(iter(codes)) // 10 != step:
            problems.append(f"step {step} holds a mix of saves: codes {sorted(codes)}")
            continue
        versions[step] = next(iter(codes)) % 10
    last_version: dict[int, int] = {}
    for step, version in confirmed:
        last_version[step] = version
    for step, version in last_version.items():
        newer = [s for s in listed if s > step]
        if step not in listed and len(newer) < MAX_TO_KEEP:
            problems.append(f"confirmed step {step} is lost (listed: {listed})")
        elif step in versions and versions[step] < version:
            problems.append(f"step {step} went back from version {version} to {versions[step]}")
    if confirmed and (not listed or listed[-1] < max(s for s, _ in confirmed)):
        problems.append(f"the newest confirmed step is not the newest listed: {listed}")
    if listed and listed[-1] in versions:
        latest = checkpoint.restore(directory, tree(0, 0))
        expected = tree(listed[-1], versions[listed[-1]])
        for key in ("w", "b"):
            if np.asarray(latest[key]).tobytes() != expected[key].tobytes():
                problems.append(f"restore() of the latest step {listed[-1]} is not bitwise")
    checkpoint.save(directory, tree(9, 0), step=9)  # the next save cleans up
    leftovers = sorted(p.name for p in directory.iterdir() if not p.name.startswith("step_"))
    leftovers += sorted(p.name for p in directory.iterdir() if ".ckpt." in p.name)
    if leftovers:
        problems.append(f"left behind after the next save: {leftovers}")
    return problems


def trace_plan(root: Path) -> tuple[list[str], float]:
    """The phase of each hooked call the whole plan makes, and how long the plan takes."""
    proc = _spawn("--child-plan", str(root / "dry"), "0")
    start = time.monotonic()
    out, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"the dry run failed:\n{err}")
    phases: list[str] = json.loads(out.split("phases ")[-1])
    return phases, time.monotonic() - start


def sigkill_trials(
    trials: int,
    seed: int = 0,
    external: bool = False,
    kill_points: Any = None,
) -> dict[str, Any]:
    """Run SIGKILL trials; returns the figures and the violations.

    ``kill_points(phases)`` may choose the kill points from the traced phases of the
    calls (a list of 1-based call numbers, one per trial); by default ``trials``
    points are drawn uniformly.
    """
    rng = np.random.default_rng(seed)
    phases: dict[str, int] = {}
    violations: list[str] = []
    lost_confirmed = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        traced, seconds = trace_plan(root)
        calls = len(traced)
        if kill_points is not None:
            points = list(kill_points(traced))
        else:
            points = [0 if external else int(rng.integers(1, calls + 1)) for _ in range(trials)]
        for trial, kill_at in enumerate(points):
            directory = root / f"trial_{trial}"
            proc = _spawn("--child-plan", str(directory), str(kill_at))
            if external:
                assert proc.stdout is not None
                proc.stdout.readline()  # "ready": jax is imported
                time.sleep(float(rng.uniform(0, seconds * 0.6)))
                proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=300)
            where = err.split("killed ")[-1].strip() if "killed " in err else "external"
            if proc.returncode == 0:
                where = "finished"
            elif proc.returncode != -signal.SIGKILL:
                violations.append(f"trial {trial}: the child failed:\n{err[-2000:]}")
                continue
            phase = where.split()[-1]
            phases[phase] = phases.get(phase, 0) + 1
            confirmed = [
                (int(a), int(b))
                for line in out.splitlines()
                if line.startswith("confirmed")
                for a, b in [line.split()[1:3]]
            ]
            if not directory.exists():
                continue  # killed before the first mkdir
            found = check_directory(directory, confirmed)
            lost_confirmed += sum("lost" in f for f in found)
            violations += [f"trial {trial} (killed at {where}): {f}" for f in found]
            print(f"trial {trial}: killed at {where}, {len(found)} violations", file=sys.stderr)
    return {
        "trials": len(points),
        "mode": "external" if external else "syscall",
        "calls_per_plan": calls,
        "kills_by_phase": phases,
        "lost_confirmed": lost_confirmed,
        "violations": violations,
    }


def concurrent_trials(trials: int, writers: int = 4) -> dict[str, Any]:
    """``writers`` processes save one step at once, ``trials`` times; exactly one may win."""
    from minijax.train import checkpoint

    violations: list[str] = []
    wins = exists = 0
    with tempfile.TemporaryDirectory() as tmp:
        for trial in range(trials):
            directory, barrier = Path(tmp, f"c{trial}"), Path(tmp, f"barrier{trial}")
            barrier.mkdir()
            procs = [
                _spawn("--child-writer", str(directory), str(i), str(barrier), str(writers))
                for i in range(writers)
            ]
            outs = [p.communicate(timeout=300) for p in procs]
            results = [out.split() for out, _ in outs]
            winners = [i for i, r in enumerate(results) if r[:1] == ["won"]]
            losers = [i for i, r in enumerate(results) if r == ["exists", "True"]]
            wins += len(winners)
            exists += len(losers)
            if len(winners) != 1 or len(losers) != writers - 1:
                errs = "\n".join(err[-1500:] for _, err in outs)
                violations.append(f"trial {trial}: results {results}\n{errs}")
                continue
            print(f"concurrent trial {trial}: results {results}", file=sys.stderr)
            codes = decode(checkpoint.restore(directory, tree(0, 0), step=7))
            if codes != {70 + winners[0]}:
                violations.append(f"trial {trial}: step 7 holds {codes}, winner {winners[0]}")
    return {
        "trials": trials,
        "writers": writers,
        "successes": wins,
        "exists_errors": exists,
        "violations": violations,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-plan":
        _child_plan(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--child-writer":
        _child_writer(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="SIGKILL trials")
    parser.add_argument("--external", action="store_true", help="kill at random times")
    parser.add_argument("--concurrent", type=int, default=0, help="concurrent-writer trials")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    reports = []
    if args.trials:
        reports.append(sigkill_trials(args.trials, args.seed, args.external))
    if args.concurrent:
        reports.append(concurrent_trials(args.concurrent))
    print(json.dumps(reports, indent=1))
    return 1 if any(r["violations"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
