"""Case 4: import time of minijax over ``import jax``, vs flax+optax and equinox+optax.

Each sample is a fresh ``python -c`` subprocess that imports jax, then the
framework, and prints how long each took (``time.perf_counter`` around the
``import`` statements; the same as the cumulative figure of ``python -X
importtime``). The framework's *overhead* is its import time after jax; it is
measured inside the subprocess, so interpreter start-up (tens of ms of noise on
a busy machine) does not enter it. The wall time of the whole subprocess is
recorded too. The four commands are interleaved round-robin; the comparison is
the per-round ratio of overheads. Target: minijax's overhead at most a third of
flax+optax's.

Bytecode caching is left at Python's default (see ``_env``), so every
framework imports from ``.pyc`` files after the untimed warm-up round.
``python -X importtime`` of each framework (one extra run) names the packages
that cost the most beyond jax.
"""

import os
import statistics
import subprocess
import sys
import time

import harness

TARGET = 1 / 3

FRAMEWORKS = {
    "jax": "",
    "flax+optax": "import flax.linen, optax, flax.training.train_state",
    "equinox+optax": "import equinox, optax",
    "minijax": "import minijax, minijax.nn, minijax.optim, minijax.train",
}
COMMANDS = {k: ("import jax; " + v).rstrip("; ") for k, v in FRAMEWORKS.items()}

CHILD = """
import time
t0 = time.perf_counter()
import jax
t1 = time.perf_counter()
{imports}
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def _env() -> dict[str, str]:
    """The environment of the subprocesses: Python's defaults for bytecode caching.

    ``PYTHONDONTWRITEBYTECODE`` is removed: with it set, minijax (an editable
    install, whose ``__pycache__`` is not written by pip) would be compiled from
    source on every import while flax, optax and equinox load their ``.pyc``
    files from site-packages, an unfair comparison. The untimed warm-up round
    writes minijax's ``.pyc`` files (git-ignored ``__pycache__`` folders).
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def wall(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=_env(), capture_output=True)
    return time.perf_counter() - t0


def sample(framework: str) -> dict[str, float]:
    """One fresh subprocess: wall time, jax's import time, the framework's import time after jax."""
    code = CHILD.format(imports=FRAMEWORKS[framework] or "pass")
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, env=_env(), capture_output=True, text=True
    ).stdout
    wall_s = time.perf_counter() - t0
    jax_s, fw_s = (float(v) for v in out.split()[-2:])
    return {"wall": wall_s, "import jax": jax_s, "overhead": fw_s}


def importtime(code: str) -> dict[str, tuple[int, int]]:
    """module -> (self µs, cumulative µs) from ``python -X importtime``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        env=_env(),
        capture_output=True,
        text=True,
    ).stderr
    table: dict[str, tuple[int, int]] = {}
    for line in out.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        depth = len(name) - len(name.lstrip())
        table[name.strip()] = (int(parts[0]), int(parts[1]), depth)  # type: ignore[assignment]
    return table


def beyond_jax(fw: str, top: int = 6) -> str:
    """The top-level packages that ``fw``'s imports load beyond ``import jax``, by self time."""
    base = importtime(COMMANDS["jax"])
    mine = importtime(COMMANDS[fw])
    extra: dict[str, int] = {}
    for mod, (self_us, _cum, *_rest) in mine.items():
        if mod in base:
            continue
        pkg = mod.split(".")[0]
        extra[pkg] = extra.get(pkg, 0) + self_us
    total = sum(extra.values())
    ranked = sorted(extra.items(), key=lambda kv: -kv[1])[:top]
    listed = ", ".join(f"{k} {v / 1e3:.0f} ms" for k, v in ranked)
    return f"{fw}: modules beyond jax take {total / 1e3:.0f} ms of self import time ({listed})"


def run(cfg: harness.Config) -> harness.CaseResult:
    res = harness.CaseResult(
        "import", "4. Import time over `import jax` (fresh subprocesses)", metric="time"
    )
    ok, why = harness.try_import_minijax()
    frameworks = list(FRAMEWORKS)
    if not ok:
        frameworks.remove("minijax")
        res.notes.append(f"minijax: not measured ({why})")
    rounds = cfg.pick(4, 15)
    raw = harness.interleaved({fw: (lambda fw=fw: sample(fw)) for fw in frameworks}, rounds=rounds)
    overhead = {fw: raw[f"{fw} overhead"] for fw in frameworks if fw != "jax"}
    res.add({f"{fw}: import after jax": v for fw, v in overhead.items()})
    res.add({f"{fw}: subprocess wall time": raw[f"{fw} wall"] for fw in frameworks})
    res.add(
        {"import jax (all subprocesses)": [x for fw in frameworks for x in raw[f"{fw} import jax"]]}
    )
    if "minijax" in overhead:
        for ref, tgt in (("flax+optax", TARGET), ("equinox+optax", None)):
            res.comparisons.append(
                harness.compare(
                    f"minijax import overhead / {ref}'s",
                    overhead,
                    "minijax",
                    ref,
                    target=tgt,
                    target_text="<= 0.333" if tgt else "",
                )
            )
    walls = {fw: statistics.median(raw[f"{fw} wall"]) for fw in frameworks}
    res.notes.append(
        f"{rounds} rounds of {len(frameworks)} interleaved subprocesses. For reference, "
        "median(subprocess wall time) - median(jax alone): "
        + ", ".join(
            f"{fw} {harness.fmt_time(walls[fw] - walls['jax'])}" for fw in frameworks if fw != "jax"
        )
        + " (noisier: includes interpreter start-up)."
    )
    for fw in frameworks:
        if fw != "jax":
            try:
                res.notes.append(beyond_jax(fw))
            except Exception as e:  # pragma: no cover
                res.notes.append(f"{fw}: -X importtime failed ({e})")
    return res


if __name__ == "__main__":
    harness.standalone(run)
