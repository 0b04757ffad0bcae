"""Case 7: the test suite's gradient checks, time per layer.

For each layer, ``minijax.testing.check_grads`` checks the derivatives of
``(params, x) -> layer.apply({"params": params}, x)`` with respect to the
parameters *and* the inputs (forward and reverse mode, float64 finite
differences, default settings), with one representative configuration and the
shapes of each layer's gradient test in tests/nn/. One sample is one full
``check_grads`` call (it jits the function, its JVP and its VJP, so most of
the time is tracing and compiling, not arithmetic). No target: this tells
where the test suite's time goes. The layers are interleaved round-robin.
"""

from collections.abc import Callable
from typing import Any

import harness
import jax
import jax.numpy as jnp
import numpy as np

Check = Callable[[], None]


def normal(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> jax.Array:
    """NumPy normals as float32 jax arrays (as tests/nn/_layers.py)."""
    return jnp.asarray(scale * np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def fake_init(model: Any, *args: Any, seed: int = 0, **kwargs: Any) -> Any:
    """``model.init``'s tree with NumPy random values (as tests/nn/_layers.py)."""
    shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), *args, **kwargs))
    leaves, treedef = jax.tree.flatten(shapes)
    rng = np.random.default_rng(seed)
    return jax.tree.unflatten(
        treedef, [jnp.asarray(0.5 * rng.standard_normal(x.shape), x.dtype) for x in leaves]
    )


def layer_check(model: Any, *inputs: Any, **apply_kwargs: Any) -> Check:
    """``check_grads`` of ``(variables, *inputs) -> model.apply(...)`` (as the tests do)."""
    from minijax.testing import check_grads

    variables = fake_init(model, *inputs, **apply_kwargs)

    def f(variables: Any, *xs: Any) -> Any:
        return model.apply(variables, *xs, **apply_kwargs)

    return lambda: check_grads(f, (variables, *inputs))


def layers() -> dict[str, Callable[[], Check]]:
    """name -> a builder of the check, with one representative case of each layer test.

    The shapes are those of tests/nn/test_nn_*.py (their Hypothesis strategies
    draw the configuration; here it is fixed to the default one).
    """
    import minijax.nn as nn
    from minijax.testing import check_grads

    key = jax.random.key(0)

    def dense() -> Check:  # test_nn_dense.py
        layer = nn.Dense(3)
        x = normal(1, (2, 4))
        params = layer.init(key, x)["params"]
        return lambda: check_grads(lambda p, x: layer.apply({"params": p}, x), (params, x))

    def embed() -> Check:  # test_nn_embed.py
        e = nn.Embed(5, 4)
        idx = jnp.array([0, 1, 2, 1]).reshape(2, 2)
        params = e.init(key, idx)["params"]
        return lambda: check_grads(lambda p: e.apply({"params": p}, idx), (params,))

    def mlp() -> Check:  # test_nn_combinators.py
        m = nn.MLP((3, 2), activation=nn.tanh)
        x = jnp.linspace(-1, 1, 8).reshape(2, 4)
        params = m.init(key, x)["params"]
        return lambda: check_grads(lambda p, x: m.apply({"params": p}, x), (params, x))

    def batch_norm() -> Check:  # test_nn_batchnorm.py
        bn = nn.BatchNorm(use_running_average=False)
        x = normal(2, (4, 2))
        v = bn.init(key, x)
        params = jax.tree.map(lambda p: p + 0.3, v["params"])

        def f(p: Any, x: Any) -> Any:
            y, upd = bn.apply(
                {"params": p, "batch_stats": v["batch_stats"]}, x, mutable=["batch_stats"]
            )
            return y, upd["batch_stats"]

        return lambda: check_grads(f, (params, x))

    def dropout() -> Check:  # test_nn_dropout.py
        d = nn.Dropout(0.5, deterministic=False)
        x = normal(3, (2, 3))
        return lambda: check_grads(lambda x: d.apply({}, x, rngs={"dropout": key}), (x,))

    def max_pool() -> Check:  # test_nn_pooling.py
        x = normal(4, (1, 4, 4, 2))
        return lambda: check_grads(lambda x: nn.max_pool(x, (2, 2), (2, 2), "VALID"), (x,))

    def rnn(cell: str) -> Callable[[], Check]:  # test_nn_recurrent.py
        def build() -> Check:
            r = nn.RNN(getattr(nn, cell)(2), return_carry=True)
            x = normal(0, (1, 2, 2))
            variables = fake_init(r, x)
            carry = jax.tree.map(
                lambda s: normal(1, s.shape, 0.5), r.cell.initialize_carry(key, (1, 2))
            )
            return lambda: check_grads(
                lambda v, x, c: r.apply(v, x, initial_carry=c), (variables, x, carry)
            )

        return build

    return {
        "Dense": dense,
        "Embed": embed,
        "MLP": mlp,
        "Conv": lambda: layer_check(nn.Conv(2, (2, 2)), normal(0, (1, 4, 4, 2))),
        "ConvTranspose": lambda: layer_check(nn.ConvTranspose(2, (2, 3)), normal(0, (1, 3, 3, 2))),
        "LayerNorm": lambda: layer_check(nn.LayerNorm(), normal(0, (2, 3, 4)) + 0.5),
        "RMSNorm": lambda: layer_check(nn.RMSNorm(), normal(0, (2, 3, 4)) + 0.5),
        "GroupNorm": lambda: layer_check(nn.GroupNorm(num_groups=2), normal(0, (2, 3, 4)) + 0.5),
        "BatchNorm (train)": batch_norm,
        "MultiHeadDotProductAttention": lambda: layer_check(
            nn.MultiHeadDotProductAttention(num_heads=2, qkv_features=4, out_features=3),
            normal(0, (1, 4, 4)),
        ),
        "RNN(LSTMCell)": rnn("LSTMCell"),
        "RNN(GRUCell)": rnn("GRUCell"),
        "Dropout": dropout,
        "max_pool": max_pool,
    }


def run(cfg: harness.Config) -> harness.CaseResult:
    res = harness.CaseResult(
        "gradcheck", "7. Gradient checks (minijax.testing.check_grads), time per layer"
    )
    try:
        specs = layers()
    except Exception as e:
        res.notes.append(f"minijax.nn not available ({type(e).__name__}: {e})")
        return res
    from minijax.testing import check_grads

    check_grads(jnp.sin, (jnp.ones(3),))  # prime the one-time costs (x64 switch, imports)
    rounds = cfg.pick(1, 3)
    samplers: dict[str, Any] = {}
    failed: dict[str, str] = {}

    def sampler(label: str, check: Callable[[], None]) -> Callable[[], float]:
        def sample() -> float:
            if label in failed:
                return float("nan")
            try:
                return harness.time_once(check)
            except Exception as e:
                failed[label] = f"{type(e).__name__}: {str(e)[:200]}"
                return float("nan")

        return sample

    for label, build in specs.items():
        try:
            samplers[label] = sampler(label, build())
        except Exception as e:
            res.notes.append(f"{label}: not measured ({type(e).__name__}: {str(e)[:200]})")
    samples = harness.interleaved(samplers, rounds=rounds, warmup=0)
    for label, why in failed.items():
        samples.pop(label, None)
        res.notes.append(f"{label}: not measured (check_grads raised {why})")
    res.add(samples)
    if samples:
        total = sum(np.median(v) for v in samples.values())
        res.notes.append(
            f"{rounds} rounds; sum of the per-layer medians: {harness.fmt_time(float(total))}."
        )
    return res


if __name__ == "__main__":
    harness.standalone(run)
