"""Eager init of the 20-layer MLP, minijax / flax, with shape checking on or off.

The run-time shape checks are decided at import (``MINIJAX_TYPECHECK``), so
this script measures one setting per process; run it for both::

    MINIJAX_TYPECHECK=1 python benchmarks/init_typecheck.py
    MINIJAX_TYPECHECK=0 python benchmarks/init_typecheck.py

It times ``model.init`` of minijax and flax alternately (the order flips every
round) and prints the median and IQR of the per-round ratios.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import jax
import models


def main(rounds: int = 30) -> None:
    x = models.batch("mlp", 1)[0]
    ours, theirs = models.minijax_modules()["deep"], models.flax_modules()["deep"]
    for _ in range(3):  # warm up both: caches, first-call costs
        ours.init(jax.random.key(0), x)
        theirs.init(jax.random.key(0), x)
    ratios = []
    for r in range(rounds):
        times = {}
        order = [("minijax", ours), ("flax", theirs)]
        for name, model in order if r % 2 else order[::-1]:
            start = time.perf_counter()
            jax.block_until_ready(model.init(jax.random.key(0), x))
            times[name] = time.perf_counter() - start
        ratios.append(times["minijax"] / times["flax"])
    ratios.sort()
    q = len(ratios) // 4
    print(
        f"MINIJAX_TYPECHECK={os.environ.get('MINIJAX_TYPECHECK', '1')}: minijax/flax eager init "
        f"of the 20-layer MLP: median {ratios[len(ratios) // 2]:.3f} "
        f"(IQR {ratios[q]:.3f}-{ratios[-q - 1]:.3f}), {rounds} rounds"
    )


if __name__ == "__main__":
    main()
