"""Draw the figure of docs/optimizer-zoo.md: the optimizers of minijax.optim on the
Rosenbrock function and on a small classifier.

    python tools/optimizer_zoo.py                       # writes docs/optimizer-zoo.png
    python tools/optimizer_zoo.py --out /tmp/zoo.png

Left: the paths of the optimizers from (-1.2, 1) towards the minimum (1, 1) of
$f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$, 1000 steps each (L-BFGS: 40). Right: the
training loss of a two-layer MLP on two interleaved half-moons, 300 full-batch
steps. Everything is deterministic: the same figure each run, on the CPU.
"""

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import minijax.optim as optax

ROOT = Path(__file__).resolve().parents[1]

ZOO = {
    "sgd (momentum 0.9)": lambda: optax.sgd(5e-4, momentum=0.9),
    "adam": lambda: optax.adam(0.05),
    "adabelief": lambda: optax.adabelief(0.05),
    "yogi": lambda: optax.yogi(0.05),
    "radam (clipped to norm 1)": lambda: optax.chain(
        optax.clip_by_global_norm(1.0), optax.radam(0.05)
    ),
    "amsgrad": lambda: optax.amsgrad(0.05),
    "adamax": lambda: optax.adamax(0.05),
    "lion": lambda: optax.lion(0.01, weight_decay=0.0),
    "signum": lambda: optax.signum(0.01),
    "rprop": lambda: optax.rprop(0.01),
    "novograd": lambda: optax.novograd(0.05),
    "adan": lambda: optax.adan(0.05),
}


def rosenbrock(p: jax.Array) -> jax.Array:
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def path(tx: Any, loss: Any, p0: Any, steps: int, with_loss: bool = False) -> np.ndarray:
    """The iterates of `tx` minimising `loss` from `p0`, stacked."""

    def step(carry: Any, _: Any) -> Any:
        state, p = carry
        value, grad = jax.value_and_grad(loss)(p)
        extra = {"value": value, "grad": grad, "value_fn": loss} if with_loss else {}
        u, state = tx.update(grad, state, p, **extra)
        p = optax.apply_updates(p, u)
        return (state, p), p

    _, ps = jax.jit(lambda p: jax.lax.scan(step, (tx.init(p), p), None, length=steps))(p0)
    return np.concatenate([np.asarray(p0)[None], np.asarray(ps)])


def moons(n: int = 256) -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(0)
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    x = np.stack([np.cos(t) + label, np.sin(t) * (1 - 2 * label) + 0.5 * label], 1)
    x += 0.1 * rng.normal(size=x.shape)
    return jnp.asarray(x, jnp.float32), jnp.asarray(label, jnp.float32)


def mlp_loss(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    logits = (h @ params["w2"] + params["b2"])[:, 0]
    return jnp.mean(optax.sigmoid_binary_cross_entropy(logits, y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "optimizer-zoo.png")
    args = parser.parse_args()

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    xs, ys = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
    left.contour(
        xs,
        ys,
        (1 - xs) ** 2 + 100 * (ys - xs**2) ** 2,
        np.logspace(-1, 3.5, 15),
        colors="0.8",
        linewidths=0.6,
    )
    p0 = jnp.array([-1.2, 1.0])
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(ZOO) + 1))
    for color, (name, make) in zip(colors, ZOO.items(), strict=False):
        ps = path(make(), rosenbrock, p0, 1000)
        left.plot(ps[:, 0], ps[:, 1], color=color, lw=1.2, label=name)
    lbfgs = optax.chain(
        optax.scale_by_lbfgs(),
        optax.scale(-1.0),
        optax.scale_by_backtracking_linesearch(20, decrease_factor=0.5),
    )
    ps = path(lbfgs, rosenbrock, p0, 40, with_loss=True)
    left.plot(ps[:, 0], ps[:, 1], "k.-", lw=1.5, ms=4, label="L-BFGS + backtracking (40 steps)")
    left.plot([1], [1], "r*", ms=14)
    left.set(
        xlim=(-1.5, 1.5),
        ylim=(-0.4, 1.6),
        title="Rosenbrock from (-1.2, 1): 1000 steps",
        xlabel="x",
    )
    left.legend(fontsize=7, loc="upper center", ncols=2)

    x, y = moons()
    key1, key2 = jax.random.split(jax.random.key(0))
    params = {
        "w1": jax.random.normal(key1, (2, 16)) * 0.5,
        "b1": jnp.zeros(16),
        "w2": jax.random.normal(key2, (16, 1)) * 0.5,
        "b2": jnp.zeros(1),
    }
    classifier = {
        "sgd (momentum 0.9)": optax.sgd(0.1, momentum=0.9),
        "adam": optax.adam(0.01),
        "adabelief": optax.adabelief(0.01),
        "lamb": optax.lamb(0.01),
        "lars": optax.lars(0.5),
        "adafactor": optax.adafactor(0.05),
        "lion": optax.lion(0.003),
        "novograd": optax.novograd(0.05),
        "yogi": optax.yogi(0.01),
        "sm3": optax.sm3(0.1),
    }
    for color, (name, tx) in zip(colors, classifier.items(), strict=False):

        def step(carry: Any, _: Any, tx: Any = tx) -> Any:
            state, p = carry
            value, grad = jax.value_and_grad(mlp_loss)(p, x, y)
            u, state = tx.update(grad, state, p)
            return (state, optax.apply_updates(p, u)), value

        _, losses = jax.jit(
            lambda p, tx=tx, step=step: jax.lax.scan(step, (tx.init(p), p), None, length=300)
        )(params)
        right.plot(np.asarray(losses), color=color, lw=1.2, label=name)
    right.set(
        yscale="log", title="Two-layer MLP on two moons", xlabel="step", ylabel="training loss"
    )
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
