"""Case 3: a toy experiment, linear regression on 200 points, 1,000 SGD-momentum steps.

Per-step time of a Python loop of jitted steps in each framework (flax, equinox,
pure JAX, minijax) against minijax's fused loop (``minijax.train.scan_repeat``:
all steps in one compiled ``lax.scan`` call); a hand-written ``lax.scan`` of the
pure-JAX step is shown as the ceiling of what a fused loop can do.

Model ``y = x W + b`` (1 feature, 1 output), mean squared error, full batch,
SGD lr 0.1 with momentum 0.9 (optax's ``sgd``; the pure-JAX step spells it out).
Target: the fused loop at least 10x faster per step than flax's Python loop.
"""

from typing import Any

import harness
import jax
import jax.numpy as jnp
import numpy as np

TARGET = 10.0
N_POINTS = 200
LR, MOMENTUM = 0.1, 0.9


def data() -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(N_POINTS, 1)).astype(np.float32)
    y = (3.0 * x - 2.0 + 0.1 * rng.standard_normal((N_POINTS, 1))).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y)


def mse(pred: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((pred - y) ** 2)


# Each builder returns (run, state): ``run(state, num_steps) -> state`` runs the steps.


def flax_loop(x: jax.Array, y: jax.Array) -> tuple[Any, Any]:
    import flax.linen as fnn
    import optax
    from flax.training import train_state

    model = fnn.Dense(1)
    params = model.init(jax.random.key(0), x)["params"]
    state = train_state.TrainState.create(
        apply_fn=model.apply, params=params, tx=optax.sgd(LR, momentum=MOMENTUM)
    )

    @jax.jit
    def step(state: Any, x: jax.Array, y: jax.Array) -> Any:
        def loss_fn(p: Any) -> jax.Array:
            return mse(state.apply_fn({"params": p}, x), y)

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    def run(state: Any, n: int) -> Any:
        for _ in range(n):
            state, _loss = step(state, x, y)
        return state

    return run, state


def eqx_loop(x: jax.Array, y: jax.Array) -> tuple[Any, Any]:
    import equinox as eqx
    import optax

    model = eqx.nn.Linear(1, 1, key=jax.random.key(0))
    tx = optax.sgd(LR, momentum=MOMENTUM)

    @eqx.filter_jit
    def step(model: Any, opt_state: Any, x: jax.Array, y: jax.Array) -> Any:
        def loss_fn(m: Any) -> jax.Array:
            return mse(jax.vmap(m)(x), y)

        loss, grads = eqx.filter_value_and_grad(loss_fn)(model)
        updates, opt_state = tx.update(grads, opt_state)
        return eqx.apply_updates(model, updates), opt_state, loss

    def run(state: Any, n: int) -> Any:
        model, opt_state = state
        for _ in range(n):
            model, opt_state, _loss = step(model, opt_state, x, y)
        return model, opt_state

    return run, (model, tx.init(eqx.filter(model, eqx.is_array)))


def jax_step(state: dict[str, Any], x: jax.Array, y: jax.Array) -> tuple[Any, jax.Array]:
    def loss_fn(p: Any) -> jax.Array:
        return mse(x @ p["kernel"] + p["bias"], y)

    loss, grads = jax.value_and_grad(loss_fn)(state["params"])
    trace = jax.tree.map(lambda t, g: g + MOMENTUM * t, state["trace"], grads)
    params = jax.tree.map(lambda p, t: p - LR * t, state["params"], trace)
    return {"params": params, "trace": trace}, loss


def jax_state() -> dict[str, Any]:
    params = {"kernel": jnp.full((1, 1), 0.5), "bias": jnp.zeros((1,))}
    return {"params": params, "trace": jax.tree.map(jnp.zeros_like, params)}


def jax_loop(x: jax.Array, y: jax.Array) -> tuple[Any, Any]:
    step = jax.jit(jax_step)

    def run(state: Any, n: int) -> Any:
        for _ in range(n):
            state, _loss = step(state, x, y)
        return state

    return run, jax_state()


def jax_scan(x: jax.Array, y: jax.Array, num_steps: int) -> tuple[Any, Any]:
    @jax.jit
    def scanned(state: Any) -> Any:
        return jax.lax.scan(lambda s, _: jax_step(s, x, y), state, None, length=num_steps)

    def run(state: Any, n: int) -> Any:
        assert n == num_steps
        return scanned(state)[0]

    return run, jax_state()


def _minijax_parts(x: jax.Array) -> tuple[Any, Any, Any]:
    import minijax.nn as mnn
    import minijax.optim as mopt
    from minijax.train import TrainState

    model = mnn.Dense(1)
    params = model.init(jax.random.key(0), x)["params"]
    state = TrainState.create(
        apply_fn=model.apply, params=params, tx=mopt.sgd(LR, momentum=MOMENTUM)
    )

    def loss_fn(p: Any, state: Any, batch: Any) -> jax.Array:
        return mse(state.apply_fn({"params": p}, batch[0]), batch[1])

    return model, state, loss_fn


def minijax_loop(x: jax.Array, y: jax.Array) -> tuple[Any, Any]:
    """What a minijax user writes: ``make_train_step`` (jitted, donating) in a Python loop."""
    from minijax.train import make_train_step

    _, state, loss_fn = _minijax_parts(x)
    step = make_train_step(loss_fn)
    batch = (x, y)

    def run(state: Any, n: int) -> Any:
        for _ in range(n):
            state, _metrics = step(state, batch)
        return state

    return run, state


def minijax_fused(x: jax.Array, y: jax.Array, num_steps: int) -> tuple[Any, Any]:
    """minijax's fused loop: ``scan_repeat(train_step_fn(loss_fn), num_steps)``."""
    from minijax.train import scan_repeat, train_step_fn

    _, state, loss_fn = _minijax_parts(x)
    run_fused = scan_repeat(train_step_fn(loss_fn), num_steps)
    batch = (x, y)

    def run(state: Any, n: int) -> Any:
        assert n == num_steps
        return run_fused(state, batch)[0]

    return run, state


def run(cfg: harness.Config) -> harness.CaseResult:
    res = harness.CaseResult(
        "toy_loop",
        "3. Toy experiment: linear regression, 200 points, SGD-momentum steps",
        metric="time per step",
    )
    num_steps = cfg.pick(200, 1000)
    rounds = cfg.pick(3, 11)
    x, y = data()
    builders = {
        "flax loop": lambda: flax_loop(x, y),
        "equinox loop": lambda: eqx_loop(x, y),
        "jax loop": lambda: jax_loop(x, y),
        "minijax loop": lambda: minijax_loop(x, y),
        "minijax fused (scan_repeat)": lambda: minijax_fused(x, y, num_steps),
        "jax lax.scan (hand-written)": lambda: jax_scan(x, y, num_steps),
    }
    samplers: dict[str, Any] = {}
    finals: dict[str, Any] = {}
    for name, build in builders.items():
        try:
            runner, state0 = build()
            holder = [runner(state0, num_steps)]  # compile, and check it runs
            finals[name] = holder[0]
        except Exception as e:
            res.notes.append(f"{name}: not measured ({type(e).__name__}: {e})")
            continue

        def sampler(runner: Any = runner, holder: list[Any] = holder) -> float:
            def once() -> Any:
                holder[0] = runner(holder[0], num_steps)
                return holder[0]

            return harness.time_once(once) / num_steps

        samplers[name] = sampler
    samples = harness.interleaved(samplers, rounds=rounds)
    res.add(samples)
    res.notes.append(
        f"{rounds} rounds; each sample is one run of {num_steps} steps (state carried over "
        "from the previous run), divided by the number of steps. Python loops block only "
        "after the last step (asynchronous dispatch, as in a real loop that does not read "
        "the loss)."
    )
    fused = "minijax fused (scan_repeat)"
    if fused in samples and "flax loop" in samples:
        res.comparisons.append(
            harness.compare(
                "speed-up of minijax fused over flax loop (per step)",
                samples,
                fused,
                "flax loop",
                target=TARGET,
                target_op=">=",
                target_text=">= 10",
                invert=True,
            )
        )
    for other in ("jax loop", "equinox loop", "minijax loop"):
        if fused in samples and other in samples:
            res.comparisons.append(
                harness.compare(
                    f"speed-up of minijax fused over {other}", samples, fused, other, invert=True
                )
            )
    if "minijax loop" in samples and "flax loop" in samples:
        res.comparisons.append(
            harness.compare(
                "minijax loop / flax loop (per step)", samples, "minijax loop", "flax loop"
            )
        )
    if fused in samples and "jax lax.scan (hand-written)" in samples:
        res.comparisons.append(
            harness.compare(
                "minijax fused / hand-written lax.scan (per step)",
                samples,
                fused,
                "jax lax.scan (hand-written)",
            )
        )
    return res


if __name__ == "__main__":
    harness.standalone(run)
