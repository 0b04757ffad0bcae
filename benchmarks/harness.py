"""Shared timing helpers, statistics, machine/version info and result records.

Every comparison in these benchmarks follows the same rules:

* candidates (one per framework) are timed in the *same process*, interleaved
  round-robin: in round ``r`` the order is rotated by ``r``, so slow drifts of a
  shared machine (other jobs, thermal, frequency) hit every candidate alike;
* a candidate's figure is the *median* over rounds;
* a comparison is the *per-round ratio* ``t[candidate] / t[reference]`` (both
  measured in the same round, seconds apart), reported as the median ratio with
  its interquartile range (IQR) and min-max; never a lone absolute time;
* every timed call blocks on its result (``jax.block_until_ready``), and the
  garbage collector is off while a sample is taken.
"""

import dataclasses
import datetime
import gc
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "CaseResult",
    "Comparison",
    "Config",
    "Measurement",
    "compare",
    "interleaved",
    "machine_info",
    "quantiles",
    "time_calls",
    "try_import_minijax",
]

# --------------------------------------------------------------------------- config


@dataclasses.dataclass(frozen=True)
class Config:
    """How hard to measure. ``quick`` is for development, the default for the docs."""

    quick: bool = False

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full


# --------------------------------------------------------------------------- timing


def _block(x: Any) -> Any:
    import jax

    return jax.block_until_ready(x)


def time_calls(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``fn()`` over ``number`` back-to-back calls, blocking at the end.

    Calls are dispatched back to back (as in a training loop: jax's asynchronous
    dispatch may overlap Python work with the previous computation) and the
    clock stops only when the last result is ready.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        out = None
        t0 = time.perf_counter()
        for _ in range(number):
            out = fn()
        _block(out)
        t1 = time.perf_counter()
    finally:
        if gc_was_enabled:
            gc.enable()
    return (t1 - t0) / number


def time_once(fn: Callable[[], Any]) -> float:
    """Seconds for one call of ``fn()`` including blocking on its result."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        _block(fn())
        t1 = time.perf_counter()
    finally:
        if gc_was_enabled:
            gc.enable()
    return t1 - t0


def interleaved(
    samplers: dict[str, Callable[[], Any]],
    rounds: int,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Run each sampler once per round, round-robin, rotating the order every round.

    A sampler takes one measurement and returns it (in seconds). Returns the
    samples per name, aligned by round (``out[a][r]`` and ``out[b][r]`` come
    from the same round). ``warmup`` rounds run first and are thrown away.

    A sampler may also return a dict ``{part: seconds}`` (e.g. trace and compile
    time of one lowering); its samples are then stored as ``"<name> <part>"``.
    """
    names = list(samplers)
    out: dict[str, list[float]] = {}
    for r in range(warmup + rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            value = samplers[name]()
            if r < warmup:
                continue
            if isinstance(value, dict):
                for part, v in value.items():
                    out.setdefault(f"{name} {part}", []).append(v)
            else:
                out.setdefault(name, []).append(value)
    return out


# --------------------------------------------------------------------------- statistics


def quantiles(xs: Sequence[float]) -> dict[str, float]:
    """median, q1, q3, min, max of ``xs`` (q1/q3 by linear interpolation)."""
    s = sorted(xs)
    if len(s) == 1:
        v = s[0]
        return {"median": v, "q1": v, "q3": v, "min": v, "max": v}
    q = statistics.quantiles(s, n=4, method="inclusive")
    return {"median": statistics.median(s), "q1": q[0], "q3": q[2], "min": s[0], "max": s[-1]}


@dataclasses.dataclass
class Measurement:
    """The samples of one candidate (seconds unless ``unit`` says otherwise)."""

    name: str
    samples: list[float]
    unit: str = "s"

    @property
    def stats(self) -> dict[str, float]:
        return quantiles(self.samples)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclasses.dataclass
class Comparison:
    """A ratio ``candidate / reference`` per round, with a target to meet.

    ``target_op`` is ``"<="`` (smaller is better: the candidate must be at most
    ``target`` times the reference) or ``">="`` (a speed-up of at least ``target``).
    ``ratios`` holds the per-round ratios (or bootstrap replicates, see ``spread``).
    """

    label: str
    ratios: list[float]
    target: float | None = None
    target_op: str = "<="
    target_text: str = ""
    spread: str = "IQR of per-round ratios"
    headline: float | None = None  # overrides the median of ``ratios`` (e.g. ratio of medians)

    @property
    def stats(self) -> dict[str, float]:
        return quantiles(self.ratios)

    @property
    def value(self) -> float:
        return self.headline if self.headline is not None else self.stats["median"]

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        if self.target_op == "<=":
            return self.value <= self.target
        return self.value >= self.target

    @property
    def within_noise(self) -> bool:
        """The target lies inside the IQR: the verdict could flip on a re-run."""
        if self.target is None:
            return False
        s = self.stats
        return s["q1"] <= self.target <= s["q3"]

    def verdict(self) -> str:
        m = self.met
        if m is None:
            return "-"
        text = "met" if m else "**missed**"
        if self.within_noise:
            text += " (within noise)"
        return text


def compare(
    label: str,
    samples: dict[str, list[float]],
    candidate: str,
    reference: str,
    target: float | None = None,
    target_op: str = "<=",
    target_text: str = "",
    invert: bool = False,
) -> Comparison:
    """Per-round ratio ``samples[candidate][r] / samples[reference][r]``.

    ``invert=True`` gives ``reference / candidate`` (a speed-up of the candidate).
    """
    a, b = samples[candidate], samples[reference]
    if invert:
        ratios = [rb / ra for ra, rb in zip(a, b, strict=True)]
    else:
        ratios = [ra / rb for ra, rb in zip(a, b, strict=True)]
    return Comparison(label, ratios, target, target_op, target_text)


@dataclasses.dataclass
class CaseResult:
    """Everything one case reports: measurements, comparisons, free-form notes."""

    key: str
    title: str
    measurements: list[Measurement] = dataclasses.field(default_factory=list)
    comparisons: list[Comparison] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    metric: str = "time"  # what the measurements are (column header)
    seconds: float = 0.0  # wall time the case took

    def add(self, samples: dict[str, list[float]], unit: str = "s", prefix: str = "") -> None:
        for name, xs in samples.items():
            self.measurements.append(Measurement(prefix + name, list(xs), unit))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "metric": self.metric,
            "seconds": self.seconds,
            "notes": self.notes,
            "measurements": [
                {"name": m.name, "unit": m.unit, "samples": m.samples, **m.stats}
                for m in self.measurements
            ],
            "comparisons": [
                {
                    "label": c.label,
                    "value": c.value,
                    "target": c.target,
                    "target_op": c.target_op,
                    "target_text": c.target_text,
                    "met": c.met,
                    "within_noise": c.within_noise,
                    "spread": c.spread,
                    "ratios": c.ratios,
                    **c.stats,
                }
                for c in self.comparisons
            ],
        }


# --------------------------------------------------------------------------- environment


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(module: str) -> str:
    try:
        from importlib import metadata

        return metadata.version(module)
    except Exception:
        try:
            return str(importlib.import_module(module).__version__)
        except Exception:
            return "not installed"


def _git_commit() -> str:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=10,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "minijax"],
            cwd=os.path.dirname(here),
            capture_output=True,
            text=True,
            timeout=10,
        )
        commit = out.stdout.strip() or "unknown"
        return commit + (" (+ uncommitted changes in minijax/)" if dirty.stdout.strip() else "")
    except Exception:
        return "unknown"


def machine_info() -> dict[str, Any]:
    import jax

    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "platform": platform.platform(),
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "versions": {
            "python": platform.python_version(),
            "jax": _version("jax"),
            "jaxlib": _version("jaxlib"),
            "flax": _version("flax"),
            "optax": _version("optax"),
            "equinox": _version("equinox"),
            "minijax": _version("minijax"),
        },
        "minijax_commit": _git_commit(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def try_import_minijax() -> tuple[bool, str]:
    """Whether ``minijax.nn``, ``minijax.optim`` and ``minijax.train`` import, and why not."""
    try:
        importlib.import_module("minijax.nn")
        importlib.import_module("minijax.optim")
        importlib.import_module("minijax.train")
    except Exception as e:  # not landed yet, or broken
        return False, f"{type(e).__name__}: {e}"
    return True, ""


def cpu_seconds() -> float:
    """user + sys CPU time of this process and its finished children so far."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def fmt_time(seconds: float) -> str:
    if seconds != seconds:  # nan
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def dump_json(path: str, obj: Any) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, default=str)


def standalone(run: Callable[[Config], CaseResult]) -> None:
    """``python benchmarks/case_x.py [--quick]``: run one case and print its tables."""
    import argparse

    import report

    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    t0 = time.perf_counter()
    res = run(Config(quick=args.quick))
    res.seconds = time.perf_counter() - t0
    print(report.case_markdown(res))
    sys.stdout.flush()
