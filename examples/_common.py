"""Small functions shared by the example scripts (argument parsing and plotting).

Nothing here is part of minijax: it only keeps the examples short. Plots need
matplotlib (``pip install -e ".[examples]"``); without it the examples still run
and print their metrics, they just skip the figures.
"""

import argparse
import time
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent / "out"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every example takes: --quick, --out, --seed."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        help="a few seconds on a CPU (the smoke test uses this)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"folder for plots and checkpoints (default: {DEFAULT_OUT})",
    )
    p.add_argument("--seed", type=int, default=0, help="the PRNG seed")
    p.add_argument("--no-plot", action="store_true", help="do not draw figures")
    return p


def pyplot(args: argparse.Namespace) -> Any:
    """``matplotlib.pyplot`` with the Agg backend, or None (no matplotlib, or --no-plot)."""
    if getattr(args, "no_plot", False):
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: no figures; pip install -e '.[examples]')")
        return None
    return plt


def save(fig: Any, args: argparse.Namespace, name: str) -> Path:
    """Save ``fig`` as ``<out>/<name>`` and print where it went."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved figure: {path}")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


class Timer:
    """``with Timer("train") as t: ...`` prints the wall time of the block."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds = 0.0

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        print(f"[{self.label}: {self.seconds:.1f} s]")
