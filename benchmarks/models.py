"""The benchmark models and train steps, written once per framework with the same math.

Frameworks: ``minijax`` (minijax.nn + minijax.optim + minijax.train.TrainState),
``flax`` (flax.linen + optax + flax.training.train_state.TrainState), ``equinox``
(equinox + optax, ``eqx.filter_jit``) and ``jax`` (hand-written: a params dict,
hand-written layers, hand-written Adam / SGD-momentum, ``jax.jit``).

Models (float32):

* ``mlp``: Dense 784-512, relu, Dense 512-512, relu, Dense 512-10;
* ``cnn`` (the ``SingleLayerCNN`` of the slides "JAX / Flax intro", see
  examples/cnn_classifier.py, on 28x28x1 inputs): Conv 16 5x5 (SAME), relu,
  max_pool 2x2 (stride 2), flatten, Dense 1024, relu, Dense 10;
* ``deep``: 20 Dense layers of width 256 with relu between (784 inputs, 10
  outputs), for the init benchmark.

Loss: mean softmax cross entropy with integer labels. Optimizer: Adam(1e-3,
b1=0.9, b2=0.999, eps=1e-8). Each framework uses its idiomatic building
blocks: flax/equinox use optax's loss and optimizer, minijax its own (it is
what a user of minijax runs), the pure-JAX step spells everything out.

Equinox's convolution is channel-first per example (``vmap`` over the batch),
so its CNN takes NCHW inputs; flax, minijax and the pure-JAX step use NHWC.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

FRAMEWORKS = ("minijax", "flax", "equinox", "jax")
LR = 1e-3
B1, B2, EPS = 0.9, 0.999, 1e-8
MLP_SIZES = (784, 512, 512, 10)
DEEP_SIZES = (784, *([256] * 19), 10)  # 20 Dense layers
CNN_FEATURES = 16
CNN_KERNEL = (5, 5)
CNN_HIDDEN = 1024


@dataclasses.dataclass
class StepSetup:
    """A train step in one framework.

    ``make_step()`` returns a *fresh* Python step function ``(state, x, y) -> (state, loss)``
    (fresh, so that jit caches keyed on the function cannot hide tracing/compiling);
    ``jit`` turns it into a compiled one (``jax.jit`` or ``eqx.filter_jit``);
    ``state`` is the initial training state; ``x``/``y`` one batch in this framework's layout.
    """

    make_step: Callable[[], Callable[..., Any]]
    jit: Callable[[Callable[..., Any]], Any]
    state: Any
    x: Any
    y: Any


def batch(model: str, batch_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random batch (NHWC images for the CNN)."""
    rng = np.random.default_rng(seed)
    if model == "cnn":
        x = rng.random((batch_size, 28, 28, 1), dtype=np.float32)  # pixels in [0, 1)
    else:
        x = rng.standard_normal((batch_size, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=(batch_size,)).astype(np.int32)
    return x, y


# =========================================================================== pure JAX


def jax_dense_init(key: jax.Array, n_in: int, n_out: int) -> dict[str, jax.Array]:
    init = jax.nn.initializers.lecun_normal()
    return {"kernel": init(key, (n_in, n_out), jnp.float32), "bias": jnp.zeros((n_out,))}


def jax_mlp_init(key: jax.Array, sizes: tuple[int, ...] = MLP_SIZES) -> dict[str, Any]:
    keys = jax.random.split(key, len(sizes) - 1)
    return {
        f"Dense_{i}": jax_dense_init(k, a, b)
        for i, (k, a, b) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True))
    }


def jax_mlp_apply(params: dict[str, Any], x: jax.Array) -> jax.Array:
    n = len(params)
    for i in range(n):
        p = params[f"Dense_{i}"]
        x = x @ p["kernel"] + p["bias"]
        if i < n - 1:
            x = jax.nn.relu(x)
    return x


def jax_cnn_init(key: jax.Array) -> dict[str, Any]:
    k1, k2, k3 = jax.random.split(key, 3)
    init = jax.nn.initializers.lecun_normal()
    flat = 14 * 14 * CNN_FEATURES
    return {
        "Conv_0": {
            "kernel": init(k1, (*CNN_KERNEL, 1, CNN_FEATURES), jnp.float32),
            "bias": jnp.zeros((CNN_FEATURES,)),
        },
        "Dense_0": jax_dense_init(k2, flat, CNN_HIDDEN),
        "Dense_1": jax_dense_init(k3, CNN_HIDDEN, 10),
    }


def jax_cnn_apply(params: dict[str, Any], x: jax.Array) -> jax.Array:
    c = params["Conv_0"]
    x = jax.lax.conv_general_dilated(
        x, c["kernel"], (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    x = jax.nn.relu(x + c["bias"])
    x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    x = x.reshape(x.shape[0], -1)
    x = jax.nn.relu(x @ params["Dense_0"]["kernel"] + params["Dense_0"]["bias"])
    return x @ params["Dense_1"]["kernel"] + params["Dense_1"]["bias"]


def jax_xent(logits: jax.Array, labels: jax.Array) -> jax.Array:
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def jax_adam_init(params: Any) -> dict[str, Any]:
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"params": params, "mu": zeros, "nu": zeros, "count": jnp.zeros((), jnp.int32)}


def jax_adam_update(state: dict[str, Any], grads: Any) -> dict[str, Any]:
    count = state["count"] + 1
    mu = jax.tree.map(lambda m, g: B1 * m + (1 - B1) * g, state["mu"], grads)
    nu = jax.tree.map(lambda v, g: B2 * v + (1 - B2) * g * g, state["nu"], grads)
    t = count.astype(jnp.float32)
    c1, c2 = 1 - B1**t, 1 - B2**t
    params = jax.tree.map(
        lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + EPS), state["params"], mu, nu
    )
    return {"params": params, "mu": mu, "nu": nu, "count": count}


def jax_params(model: str, seed: int = 0) -> dict[str, Any]:
    """Reference parameters (flax layout: ``Dense_0/kernel`` is ``(in, out)``)."""
    if model == "cnn":
        return jax_cnn_init(jax.random.key(seed))
    return jax_mlp_init(jax.random.key(seed), MLP_SIZES if model == "mlp" else DEEP_SIZES)


def jax_setup(model: str, batch_size: int, params: Any = None) -> StepSetup:
    apply = jax_cnn_apply if model == "cnn" else jax_mlp_apply
    state = jax_adam_init(jax_params(model) if params is None else params)
    x, y = batch(model, batch_size)

    def make_step() -> Callable[..., Any]:
        def step(state: dict[str, Any], x: jax.Array, y: jax.Array) -> Any:
            def loss_fn(p: Any) -> jax.Array:
                return jax_xent(apply(p, x), y)

            loss, grads = jax.value_and_grad(loss_fn)(state["params"])
            return jax_adam_update(state, grads), loss

        return step

    return StepSetup(make_step, jax.jit, state, jnp.asarray(x), jnp.asarray(y))


# =========================================================================== flax


def flax_modules() -> dict[str, Any]:
    import flax.linen as fnn

    class MLP(fnn.Module):
        sizes: tuple[int, ...] = MLP_SIZES

        @fnn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            for i, n in enumerate(self.sizes[1:]):
                x = fnn.Dense(n)(x)
                if i < len(self.sizes) - 2:
                    x = fnn.relu(x)
            return x

    class CNN(fnn.Module):
        @fnn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            x = fnn.Conv(CNN_FEATURES, CNN_KERNEL)(x)
            x = fnn.relu(x)
            x = fnn.max_pool(x, (2, 2), strides=(2, 2))
            x = x.reshape(x.shape[0], -1)
            x = fnn.relu(fnn.Dense(CNN_HIDDEN)(x))
            return fnn.Dense(10)(x)

    return {"mlp": MLP(), "cnn": CNN(), "deep": MLP(DEEP_SIZES)}


def flax_setup(model: str, batch_size: int, params: Any = None) -> StepSetup:
    import optax
    from flax.training import train_state

    module = flax_modules()[model]
    x, y = batch(model, batch_size)
    if params is None:
        params = module.init(jax.random.key(0), x[:1])["params"]
    state = train_state.TrainState.create(
        apply_fn=module.apply, params=params, tx=optax.adam(LR, B1, B2, EPS)
    )

    def make_step() -> Callable[..., Any]:
        def step(state: Any, x: jax.Array, y: jax.Array) -> Any:
            def loss_fn(p: Any) -> jax.Array:
                logits = state.apply_fn({"params": p}, x)
                return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

            loss, grads = jax.value_and_grad(loss_fn)(state.params)
            return state.apply_gradients(grads=grads), loss

        return step

    return StepSetup(make_step, jax.jit, state, jnp.asarray(x), jnp.asarray(y))


# =========================================================================== equinox


def eqx_mlp(key: jax.Array, sizes: tuple[int, ...] = MLP_SIZES) -> Any:
    import equinox as eqx

    class MLP(eqx.Module):
        layers: list[eqx.nn.Linear]

        def __init__(self, key: jax.Array) -> None:
            keys = jax.random.split(key, len(sizes) - 1)
            self.layers = [
                eqx.nn.Linear(a, b, key=k)
                for k, a, b in zip(keys, sizes[:-1], sizes[1:], strict=True)
            ]

        def __call__(self, x: jax.Array) -> jax.Array:  # batched: (B, in)
            for i, layer in enumerate(self.layers):
                x = x @ layer.weight.T + layer.bias
                if i < len(self.layers) - 1:
                    x = jax.nn.relu(x)
            return x

    return MLP(key)


def eqx_cnn(key: jax.Array) -> Any:
    import equinox as eqx

    class CNN(eqx.Module):
        conv: eqx.nn.Conv2d
        pool: eqx.nn.MaxPool2d
        d1: eqx.nn.Linear
        d2: eqx.nn.Linear

        def __init__(self, key: jax.Array) -> None:
            k1, k2, k3 = jax.random.split(key, 3)
            self.conv = eqx.nn.Conv2d(1, CNN_FEATURES, CNN_KERNEL, padding=2, key=k1)
            self.pool = eqx.nn.MaxPool2d(2, stride=2)
            self.d1 = eqx.nn.Linear(14 * 14 * CNN_FEATURES, CNN_HIDDEN, key=k2)
            self.d2 = eqx.nn.Linear(CNN_HIDDEN, 10, key=k3)

        def __call__(self, x: jax.Array) -> jax.Array:  # one example: (1, 28, 28)
            x = jax.nn.relu(self.conv(x))
            x = self.pool(x).reshape(-1)
            return self.d2(jax.nn.relu(self.d1(x)))

    return CNN(key)


def eqx_load(net: Any, model: str, params: dict[str, Any]) -> Any:
    """Put reference (flax-layout) parameters into an equinox model, same function."""
    import equinox as eqx

    if model == "cnn":
        c, d1, d2 = params["Conv_0"], params["Dense_0"], params["Dense_1"]
        # flax flattens (H, W, C), equinox (C, H, W): permute the rows of Dense_0.
        k1 = d1["kernel"].reshape(14, 14, CNN_FEATURES, -1).transpose(2, 0, 1, 3)
        leaves = [
            (lambda m: m.conv.weight, c["kernel"].transpose(3, 2, 0, 1)),
            (lambda m: m.conv.bias, c["bias"].reshape(-1, 1, 1)),
            (lambda m: m.d1.weight, k1.reshape(-1, k1.shape[-1]).T),
            (lambda m: m.d1.bias, d1["bias"]),
            (lambda m: m.d2.weight, d2["kernel"].T),
            (lambda m: m.d2.bias, d2["bias"]),
        ]
    else:
        leaves = []
        for i in range(len(net.layers)):
            p = params[f"Dense_{i}"]
            leaves.append((lambda m, i=i: m.layers[i].weight, p["kernel"].T))
            leaves.append((lambda m, i=i: m.layers[i].bias, p["bias"]))
    for where, value in leaves:
        net = eqx.tree_at(where, net, value)
    return net


def eqx_setup(model: str, batch_size: int, params: Any = None) -> StepSetup:
    import equinox as eqx
    import optax

    x, y = batch(model, batch_size)
    if model == "cnn":
        net = eqx_cnn(jax.random.key(0))
        x = np.transpose(x, (0, 3, 1, 2))  # NCHW, one example is (C, H, W)

        def forward(m: Any, xb: jax.Array) -> jax.Array:
            return jax.vmap(m)(xb)
    else:
        net = eqx_mlp(jax.random.key(0), MLP_SIZES if model == "mlp" else DEEP_SIZES)

        def forward(m: Any, xb: jax.Array) -> jax.Array:
            return m(xb)

    if params is not None:
        net = eqx_load(net, model, params)
    tx = optax.adam(LR, B1, B2, EPS)
    state = (net, tx.init(eqx.filter(net, eqx.is_array)))

    def make_step() -> Callable[..., Any]:
        def step(state: Any, x: jax.Array, y: jax.Array) -> Any:
            m, opt_state = state

            def loss_fn(m: Any) -> jax.Array:
                return optax.softmax_cross_entropy_with_integer_labels(forward(m, x), y).mean()

            loss, grads = eqx.filter_value_and_grad(loss_fn)(m)
            updates, opt_state = tx.update(grads, opt_state, eqx.filter(m, eqx.is_array))
            return (eqx.apply_updates(m, updates), opt_state), loss

        return step

    return StepSetup(make_step, eqx.filter_jit, state, jnp.asarray(x), jnp.asarray(y))


# =========================================================================== minijax


def minijax_modules() -> dict[str, Any]:
    import minijax.nn as mnn

    class MLP(mnn.Module):
        sizes: tuple[int, ...] = MLP_SIZES

        @mnn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            for i, n in enumerate(self.sizes[1:]):
                x = mnn.Dense(n)(x)
                if i < len(self.sizes) - 2:
                    x = mnn.relu(x)
            return x

    class CNN(mnn.Module):
        @mnn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            x = mnn.Conv(CNN_FEATURES, CNN_KERNEL)(x)
            x = mnn.relu(x)
            x = mnn.max_pool(x, (2, 2), strides=(2, 2))
            x = x.reshape(x.shape[0], -1)
            x = mnn.relu(mnn.Dense(CNN_HIDDEN)(x))
            return mnn.Dense(10)(x)

    return {"mlp": MLP(), "cnn": CNN(), "deep": MLP(DEEP_SIZES)}


def minijax_xent() -> Callable[[jax.Array, jax.Array], jax.Array]:
    """minijax's own softmax cross entropy (integer labels), mean over the batch."""
    import minijax.optim as mopt

    fn = getattr(mopt, "softmax_cross_entropy_with_integer_labels", None)
    if fn is None:  # pragma: no cover - depends on where minijax puts its losses
        import minijax.losses as mlosses

        fn = mlosses.softmax_cross_entropy_with_integer_labels
    return lambda logits, y: fn(logits, y).mean()


def minijax_setup(model: str, batch_size: int, params: Any = None) -> StepSetup:
    import minijax.optim as mopt
    from minijax.train import TrainState

    module = minijax_modules()[model]
    x, y = batch(model, batch_size)
    if params is None:
        params = module.init(jax.random.key(0), x[:1])["params"]
    state = TrainState.create(apply_fn=module.apply, params=params, tx=mopt.adam(LR, B1, B2, EPS))
    xent = minijax_xent()

    def make_step() -> Callable[..., Any]:
        def step(state: Any, x: jax.Array, y: jax.Array) -> Any:
            def loss_fn(p: Any) -> jax.Array:
                return xent(state.apply_fn({"params": p}, x), y)

            loss, grads = jax.value_and_grad(loss_fn)(state.params)
            return state.apply_gradients(grads=grads), loss

        return step

    return StepSetup(make_step, jax.jit, state, jnp.asarray(x), jnp.asarray(y))


SETUPS: dict[str, Callable[..., StepSetup]] = {
    "minijax": minijax_setup,
    "flax": flax_setup,
    "equinox": eqx_setup,
    "jax": jax_setup,
}


def setups(
    model: str, batch_size: int, notes: list[str], params: Any = None
) -> dict[str, StepSetup]:
    """One StepSetup per framework that builds; a failure becomes a note, not a crash.

    With ``params`` (reference layout, see :func:`jax_params`) every framework starts
    from the same weights, so their losses can be compared step by step.
    """
    out: dict[str, StepSetup] = {}
    for fw, make in SETUPS.items():
        try:
            out[fw] = make(model, batch_size, params)
        except Exception as e:
            notes.append(f"{fw}: not measured ({type(e).__name__}: {e})")
    return out


def check_same_math(model: str, batch_size: int, steps: int = 3) -> list[str]:
    """Run ``steps`` steps in every framework from the same weights; report loss mismatches.

    Returns notes: one line with the losses, and one per framework that disagrees
    with the pure-JAX step by more than 1e-4 (relative).
    """
    notes: list[str] = []
    params = jax_params(model)
    runs = setups(model, batch_size, notes, params)
    losses: dict[str, list[float]] = {}
    for fw, s in runs.items():
        try:
            step = s.jit(s.make_step())
            state, out = s.state, []
            for _ in range(steps):
                state, loss = step(state, s.x, s.y)
                out.append(float(loss))
            losses[fw] = out
        except Exception as e:
            notes.append(f"{fw}: same-math check failed to run ({type(e).__name__}: {e})")
    ref = losses.get("jax")
    if ref is None:
        return notes
    bad = [
        fw
        for fw, ls in losses.items()
        if any(abs(a - b) > 1e-4 * max(1.0, abs(b)) for a, b in zip(ls, ref, strict=True))
    ]
    shown = ", ".join(f"{fw} {ls[-1]:.6f}" for fw, ls in losses.items())
    verdict = "agree" if not bad else f"DISAGREE: {', '.join(bad)}"
    notes.append(
        f"Same math: from identical weights, the losses after {steps} Adam steps {verdict} "
        f"({shown})."
    )
    return notes


@functools.cache
def param_count(model: str) -> int:
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(jax_params(model)))
