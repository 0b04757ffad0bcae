"""Bitwise parity of the optimizer zoo with optax: every further optimizer,
scale_by_* transformation and wrapper.

Hypothesis draws the hyperparameters and a seed for a run of random gradient
pytrees (zero gradients, all-zero first steps and huge or tiny scales among the
draws). Both libraries run ``STEPS`` updates in one jitted ``lax.scan`` each;
every step's updates, the final state and the final params must be *bitwise*
equal (``assert_array_equal``; NaN matches NaN), in float32 and float64, and
for the cases marked so in bfloat16. Hyperparameters are traced, so one
compilation serves every draw; Python-level options are static.
"""

import functools
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.optim as mo

pytestmark = pytest.mark.parity

STEPS = 100

LAYOUTS = {
    "nested": {"dense": {"kernel": (3, 2), "bias": (2,)}, "scale": ()},
    "list": [(4,), (2, 1, 2)],
}


def _is_shape(x: Any) -> bool:
    return isinstance(x, tuple) and all(isinstance(i, int) for i in x)


def make_params(layout: str, dtype: Any, seed: int = 1) -> Any:
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda s: jnp.asarray(rng.normal(size=s), dtype), LAYOUTS[layout], is_leaf=_is_shape
    )


class Grads(NamedTuple):
    seed: int
    scale: float
    zero_frac: float
    zero_first: int
    nan_frac: float


@st.composite
def grad_draws(draw: Any, allow_nan: bool) -> Grads:
    return Grads(
        seed=draw(st.integers(0, 2**31 - 1)),
        scale=draw(st.sampled_from([1e-3, 1.0, 1e3])),
        zero_frac=draw(st.sampled_from([0.0, 0.0, 0.5])),
        zero_first=draw(st.integers(0, 3)),
        nan_frac=draw(st.sampled_from([0.0, 0.1])) if allow_nan else 0.0,
    )


def make_grads(g: Grads, layout: str, dtype: Any, steps: int = STEPS) -> Any:
    rng = np.random.default_rng(g.seed)

    def leaf(shape: tuple[int, ...]) -> jax.Array:
        x = rng.normal(size=(steps, *shape)) * g.scale
        x[rng.random(x.shape) < g.zero_frac] = 0.0
        x[: g.zero_first] = 0.0
        x[rng.random(steps) < g.nan_frac] = np.nan
        return jnp.asarray(x, dtype)

    return jax.tree.map(leaf, LAYOUTS[layout], is_leaf=_is_shape)


Builder = Callable[[Any, tuple[Any, ...], dict[str, Any]], Any]


@functools.partial(jax.jit, static_argnums=(0, 1))
def run_both(build: Builder, static: tuple[Any, ...], hp: dict[str, Any], params: Any, grads: Any):
    """Run minijax and optax side by side for all the steps in ``grads``."""
    results = []
    for lib in (mo, optax):
        tx = build(lib, static, hp)

        def step(carry: Any, g: Any, tx: Any = tx, lib: Any = lib) -> Any:
            state, p = carry
            u, state = tx.update(g, state, p)
            return (state, lib.apply_updates(p, u)), u

        (state, p), updates = jax.lax.scan(step, (tx.init(params), params), grads)
        results.append((updates, state, p))
    return results


def layout_of(tree: Any) -> Any:
    """NamedTuples as (class name, fields), leaves as (shape, dtype)."""
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return (type(tree).__name__, {f: layout_of(getattr(tree, f)) for f in tree._fields})
    if isinstance(tree, (tuple, list)):
        return (type(tree).__name__, [layout_of(v) for v in tree])
    if isinstance(tree, dict):
        return (type(tree).__name__, {k: layout_of(v) for k, v in tree.items()})
    if tree is None:
        return None
    return (jnp.shape(tree), str(jnp.asarray(tree).dtype))


def assert_bitwise(actual: Any, expected: Any) -> None:
    assert layout_of(actual) == layout_of(expected)
    paths = jax.tree_util.tree_flatten_with_path(expected)[0]
    for (path, e), a in zip(paths, jax.tree.leaves(actual), strict=True):
        if jnp.issubdtype(jnp.asarray(e).dtype, jax.dtypes.prng_key):
            a, e = jax.random.key_data(a), jax.random.key_data(e)
        np.testing.assert_array_equal(
            np.asarray(a), np.asarray(e), err_msg=jax.tree_util.keystr(path)
        )


# ----------------------------------------------------------------------------- cases

unit = st.floats(0.0, 0.99)
b2s = st.floats(0.5, 0.9999)
lr = st.floats(1e-4, 1.0)
eps = st.sampled_from([1e-8, 1e-6, 1e-3])
eps_root = st.sampled_from([0.0, 1e-8])
wd = st.floats(0.0, 0.1)
T, F = True, False


def hps(**strategies: Any) -> Any:
    return st.fixed_dictionaries(strategies)


class Case(NamedTuple):
    build: Builder
    hp: Any
    statics: tuple[tuple[Any, ...], ...] = ((),)
    layout: str | None = None  # None: alternate between the layouts
    allow_nan: bool = False
    dtypes: tuple[str, ...] = ("float32", "float64")


MASK = {"dense": {"kernel": True, "bias": False}, "scale": True}


def _sched(L: Any) -> Any:
    return L.warmup_cosine_decay_schedule(0.0, 0.1, 20, 80, 1e-3)


CASES: dict[str, Case] = {
    # moments
    "scale_by_amsgrad": Case(
        lambda L, s, h: L.scale_by_amsgrad(
            h["b1"],
            h["b2"],
            h["eps"],
            h["eps_root"],
            bias_correction_mu=s[0],
            bias_correction_nu=s[1],
        ),
        hps(b1=unit, b2=b2s, eps=eps, eps_root=eps_root),
        ((T, T), (F, T), (T, F)),
    ),
    "scale_by_adamax": Case(
        lambda L, s, h: L.scale_by_adamax(h["b1"], h["b2"], h["eps"]),
        hps(b1=unit, b2=b2s, eps=eps),
    ),
    "scale_by_belief": Case(
        lambda L, s, h: L.scale_by_belief(h["b1"], h["b2"], h["eps"], h["eps_root"], nesterov=s[0]),
        hps(
            b1=unit,
            b2=b2s,
            eps=st.sampled_from([1e-16, 1e-8]),
            eps_root=st.sampled_from([1e-16, 0.0]),
        ),
        ((F,), (T,)),
    ),
    "scale_by_yogi": Case(
        lambda L, s, h: L.scale_by_yogi(h["b1"], h["b2"], h["eps"], h["eps_root"], h["init"]),
        hps(b1=unit, b2=b2s, eps=eps, eps_root=eps_root, init=st.sampled_from([1e-6, 0.1])),
    ),
    "scale_by_radam": Case(
        lambda L, s, h: L.scale_by_radam(
            h["b1"], h["b2"], h["eps"], h["eps_root"], h["threshold"], nesterov=s[0]
        ),
        hps(b1=unit, b2=b2s, eps=eps, eps_root=eps_root, threshold=st.floats(3.0, 6.0)),
        ((F,), (T,)),
    ),
    "scale_by_adan": Case(
        lambda L, s, h: L.scale_by_adan(h["b1"], h["b2"], h["b3"], h["eps"], h["eps_root"]),
        hps(b1=unit, b2=unit, b3=b2s, eps=eps, eps_root=eps_root),
    ),
    "scale_by_novograd": Case(
        lambda L, s, h: L.scale_by_novograd(h["b1"], h["b2"], h["eps"], h["eps_root"], h["wd"]),
        hps(b1=unit, b2=unit, eps=eps, eps_root=eps_root, wd=wd),
    ),
    "scale_by_adadelta": Case(
        lambda L, s, h: L.scale_by_adadelta(h["rho"], h["eps"]), hps(rho=unit, eps=eps)
    ),
    "scale_by_sm3": Case(
        lambda L, s, h: L.scale_by_sm3(h["b1"], s[0], h["eps"]),
        hps(b1=unit, eps=eps),
        ((1.0,), (0.9,)),
        layout="list",  # optax's SM3 cannot take scalar leaves
    ),
    # sign, trust ratio, factored
    "scale_by_sign": Case(lambda L, s, h: L.scale_by_sign(), hps(), dtypes=("float32",)),
    "scale_by_rprop": Case(
        lambda L, s, h: L.scale_by_rprop(h["lr"], h["em"], h["ep"], h["min"], h["max"]),
        hps(
            lr=lr, em=st.floats(0.1, 0.9), ep=st.floats(1.0, 2.0), min=eps, max=st.floats(1.0, 50.0)
        ),
    ),
    "scale_by_trust_ratio": Case(
        lambda L, s, h: L.scale_by_trust_ratio(h["min_norm"], h["coef"], h["eps"]),
        hps(
            min_norm=st.sampled_from([0.0, 1e-3]),
            coef=st.floats(1e-3, 1.0),
            eps=st.sampled_from([0.0, 1e-6]),
        ),
    ),
    "scale_by_param_block_norm": Case(
        lambda L, s, h: L.scale_by_param_block_norm(h["m"]), hps(m=st.floats(1e-4, 1.0))
    ),
    "scale_by_param_block_rms": Case(
        lambda L, s, h: L.scale_by_param_block_rms(h["m"]), hps(m=st.floats(1e-4, 1.0))
    ),
    "scale_by_factored_rms": Case(
        lambda L, s, h: L.scale_by_factored_rms(s[0], h["decay"], 0, s[1], h["eps"]),
        hps(decay=st.floats(0.5, 0.9), eps=st.sampled_from([1e-30, 1e-8])),
        ((T, 2), (T, 128), (F, 2)),
    ),
    # clipping, noise, accumulation, optimistic, lion modes
    "clip_by_block_rms": Case(
        lambda L, s, h: L.clip_by_block_rms(h["t"]), hps(t=st.floats(1e-3, 3.0))
    ),
    "adaptive_grad_clip": Case(
        lambda L, s, h: L.adaptive_grad_clip(h["c"], h["eps"]),
        hps(c=st.floats(1e-3, 1.0), eps=st.sampled_from([1e-3, 1e-6])),
    ),
    "add_noise": Case(
        lambda L, s, h: L.add_noise(h["eta"], h["gamma"], key=s[0]),
        hps(eta=st.floats(0.0, 1.0), gamma=st.floats(0.0, 1.0)),
        ((0,), (7,)),
    ),
    "ema": Case(lambda L, s, h: L.ema(h["decay"], debias=s[0]), hps(decay=unit), ((T,), (F,))),
    "apply_every": Case(lambda L, s, h: L.apply_every(s[0]), hps(), ((1,), (3,))),
    "scale_by_optimistic_gradient": Case(
        lambda L, s, h: L.scale_by_optimistic_gradient(h["a"], h["b"]),
        hps(a=st.floats(0.0, 2.0), b=st.floats(0.0, 2.0)),
    ),
    "scale_by_lion_modes": Case(
        lambda L, s, h: L.scale_by_lion(h["b1"], h["b2"], mode=s[0], smooth_beta=s[1]),
        hps(b1=unit, b2=b2s),
        (("hard", 1.0), ("smooth", 1.0), ("smooth", 3.0), ("refined", 1.0)),
    ),
    # wrappers and combinators
    "zero_nans": Case(
        lambda L, s, h: L.chain(L.zero_nans(), L.scale_by_adam(h["b1"])),
        hps(b1=unit),
        allow_nan=True,
    ),
    "conditionally_mask": Case(
        lambda L, s, h: L.conditionally_mask(L.adam(h["lr"]), lambda step: step % 3 != 1),
        hps(lr=lr),
    ),
    "conditionally_transform": Case(
        lambda L, s, h: L.conditionally_transform(L.scale_by_adam(), lambda step: step >= 10),
        hps(),
    ),
    "named_chain": Case(
        lambda L, s, h: L.named_chain(
            ("clip", L.clip_by_global_norm(1.0)), ("adam", L.adam(h["lr"]))
        ),
        hps(lr=lr),
    ),
    "flatten": Case(
        lambda L, s, h: L.flatten(L.chain(L.scale_by_adam(h["b1"]), L.scale(-h["lr"]))),
        hps(b1=unit, lr=lr),
    ),
    "masked_tree": Case(
        lambda L, s, h: L.masked(L.adam(h["lr"]), MASK), hps(lr=lr), layout="nested"
    ),
    "freeze": Case(
        lambda L, s, h: L.chain(L.adam(h["lr"]), L.freeze(MASK)), hps(lr=lr), layout="nested"
    ),
    "selective_transform": Case(
        lambda L, s, h: L.selective_transform(L.adam(h["lr"]), freeze_mask=MASK),
        hps(lr=lr),
        layout="nested",
    ),
    "snapshot": Case(
        lambda L, s, h: L.chain(
            L.snapshot("first", lambda u: jax.tree.leaves(u)[0]), L.sgd(h["lr"])
        ),
        hps(lr=lr),
        dtypes=("float32",),
    ),
    "keep_params_nonnegative": Case(
        lambda L, s, h: L.chain(L.sgd(h["lr"]), L.keep_params_nonnegative()), hps(lr=lr)
    ),
    "scale_by_lbfgs": Case(
        lambda L, s, h: L.chain(L.scale_by_lbfgs(s[0], s[1]), L.scale(-h["lr"])),
        hps(lr=st.floats(1e-3, 0.1)),
        ((1, T), (4, T), (4, F)),
    ),
    "stateless_with_tree_map": Case(
        lambda L, s, h: L.stateless_with_tree_map(lambda g, p: g * h["a"] + p),
        hps(a=st.floats(-1.0, 1.0)),
    ),
    # the aliases
    "adabelief": Case(
        lambda L, s, h: L.adabelief(h["lr"], h["b1"], h["b2"], nesterov=s[0]),
        hps(lr=lr, b1=unit, b2=b2s),
        ((F,), (T,)),
    ),
    "adadelta": Case(
        lambda L, s, h: L.adadelta(
            None if s[0] else h["lr"], h["rho"], h["eps"], weight_decay=h["wd"]
        ),
        hps(lr=lr, rho=unit, eps=eps, wd=wd),
        ((F,), (T,)),
    ),
    "adafactor": Case(
        lambda L, s, h: L.adafactor(
            h["lr"],
            min_dim_size_to_factor=2,
            decay_rate=h["decay"],
            multiply_by_parameter_scale=s[0],
            clipping_threshold=s[1],
            momentum=s[2],
            weight_decay_rate=s[3],
            factored=s[4],
        ),
        hps(lr=lr, decay=st.floats(0.5, 0.9)),
        ((T, 1.0, None, None, T), (F, None, 0.9, 1e-3, T), (T, 0.5, 0.5, None, F)),
    ),
    "adamax": Case(
        lambda L, s, h: L.adamax(h["lr"], h["b1"], h["b2"], h["eps"]),
        hps(lr=lr, b1=unit, b2=b2s, eps=eps),
    ),
    "adamaxw": Case(
        lambda L, s, h: L.adamaxw(h["lr"], h["b1"], h["b2"], h["eps"], h["wd"]),
        hps(lr=lr, b1=unit, b2=b2s, eps=eps, wd=wd),
    ),
    "adan": Case(
        lambda L, s, h: L.adan(h["lr"], h["b1"], h["b2"], h["b3"], weight_decay=h["wd"]),
        hps(lr=lr, b1=unit, b2=unit, b3=b2s, wd=wd),
    ),
    "amsgrad": Case(
        lambda L, s, h: L.amsgrad(h["lr"], h["b1"], h["b2"], h["eps"]),
        hps(lr=lr, b1=unit, b2=b2s, eps=eps),
    ),
    "fromage": Case(
        lambda L, s, h: L.fromage(_sched(L) if s[0] else h["lr"], h["min_norm"]),
        hps(lr=st.floats(1e-3, 0.5), min_norm=st.sampled_from([1e-6, 1e-3])),
        ((F,), (T,)),
    ),
    "lars": Case(
        lambda L, s, h: L.lars(
            h["lr"],
            h["wd"],
            trust_coefficient=h["tc"],
            momentum=h["m"],
            nesterov=s[0],
            weight_decay_mask=s[1],
            trust_ratio_mask=s[1],
        ),
        hps(lr=lr, wd=wd, tc=st.floats(1e-3, 1.0), m=unit),
        ((F, True), (T, lambda p: jax.tree.map(lambda x: x.ndim > 1, p))),
    ),
    "lamb": Case(
        lambda L, s, h: L.lamb(h["lr"], h["b1"], h["b2"], h["eps"], weight_decay=h["wd"]),
        hps(lr=lr, b1=unit, b2=b2s, eps=eps, wd=wd),
    ),
    "noisy_sgd": Case(
        lambda L, s, h: L.noisy_sgd(h["lr"], h["eta"], h["gamma"], key=3),
        hps(lr=lr, eta=st.floats(0.0, 0.1), gamma=st.floats(0.0, 1.0)),
    ),
    "novograd": Case(
        lambda L, s, h: L.novograd(h["lr"], h["b1"], h["b2"], weight_decay=h["wd"]),
        hps(lr=lr, b1=unit, b2=unit, wd=wd),
    ),
    "optimistic_gradient_descent": Case(
        lambda L, s, h: L.optimistic_gradient_descent(h["lr"], h["a"], h["b"]),
        hps(lr=lr, a=st.floats(0.0, 2.0), b=st.floats(0.0, 2.0)),
    ),
    "optimistic_adam_v2": Case(
        lambda L, s, h: L.optimistic_adam_v2(
            h["lr"], alpha=h["a"], beta=h["b"], b1=h["b1"], nesterov=s[0]
        ),
        hps(lr=lr, a=st.floats(0.0, 2.0), b=st.floats(0.0, 2.0), b1=unit),
        ((T,), (F,)),
    ),
    "radam": Case(
        lambda L, s, h: L.radam(h["lr"], h["b1"], h["b2"], threshold=h["t"], nesterov=s[0]),
        hps(lr=lr, b1=unit, b2=b2s, t=st.floats(3.0, 6.0)),
        ((F,), (T,)),
    ),
    "rprop": Case(
        lambda L, s, h: L.rprop(h["lr"], h["em"], h["ep"]),
        hps(lr=lr, em=st.floats(0.1, 0.9), ep=st.floats(1.0, 2.0)),
    ),
    "sign_sgd": Case(lambda L, s, h: L.sign_sgd(h["lr"]), hps(lr=lr)),
    "signum": Case(lambda L, s, h: L.signum(h["lr"], h["beta"]), hps(lr=lr, beta=unit)),
    "sm3": Case(lambda L, s, h: L.sm3(h["lr"], h["m"]), hps(lr=lr, m=unit), layout="list"),
    "yogi": Case(
        lambda L, s, h: L.yogi(h["lr"], h["b1"], h["b2"], h["eps"]),
        hps(lr=lr, b1=unit, b2=b2s, eps=eps),
    ),
    "lion_schedule": Case(
        lambda L, s, h: L.lion(_sched(L), h["b1"], h["b2"], weight_decay=h["wd"]),
        hps(b1=unit, b2=b2s, wd=wd),
    ),
}


def _static_id(static: Any) -> str:
    """A test id for `static` that is the same in every process (no object addresses)."""
    return re.sub(r" at 0x[0-9a-f]+", "", str(static))


def _params() -> list[Any]:
    out = []
    for name, case in sorted(CASES.items()):
        for static in case.statics:
            for dtype in case.dtypes:
                layout = case.layout or sorted(LAYOUTS)[len(out) % len(LAYOUTS)]
                case_id = f"{name}-{_static_id(static)}-{dtype}"
                out.append(pytest.param(name, static, dtype, layout, id=case_id))
    return out


@pytest.mark.parametrize(("name", "static", "dtype", "layout"), _params())
@given(data=st.data())
def test_zoo_parity(name: str, static: Any, dtype: str, layout: str, data: Any) -> None:
    case = CASES[name]
    hp = data.draw(case.hp, label="hyperparameters")
    g = data.draw(grad_draws(case.allow_nan), label="grads")
    with jax.enable_x64(dtype == "float64"):
        params = make_params(layout, dtype)
        grads = make_grads(g, layout, dtype)
        (mu, ms, mp), (ou, os, op) = run_both(case.build, static, hp, params, grads)
        assert_bitwise(mu, ou)
        assert_bitwise(ms, os)
        assert_bitwise(mp, op)


# ----------------------------------------------------------------------------- defaults, bf16

ALIASES: dict[str, Callable[[Any], Any]] = {
    "adabelief": lambda L: L.adabelief(1e-3),
    "adadelta": lambda L: L.adadelta(),
    "adafactor": lambda L: L.adafactor(),
    "adafactor_lr": lambda L: L.adafactor(1e-2, min_dim_size_to_factor=2, momentum=0.9),
    "adamax": lambda L: L.adamax(1e-3),
    "adamaxw": lambda L: L.adamaxw(1e-3),
    "adan": lambda L: L.adan(1e-3),
    "amsgrad": lambda L: L.amsgrad(1e-3),
    "fromage": lambda L: L.fromage(1e-2),
    "lamb": lambda L: L.lamb(1e-3),
    "lars": lambda L: L.lars(1e-2),
    "noisy_sgd": lambda L: L.noisy_sgd(1e-2, key=0),
    "novograd": lambda L: L.novograd(1e-3),
    "optimistic_gradient_descent": lambda L: L.optimistic_gradient_descent(1e-2),
    "optimistic_adam_v2": lambda L: L.optimistic_adam_v2(1e-3),
    "optimistic_adam": lambda L: L.optimistic_adam(1e-3, optimism=0.5),
    "radam": lambda L: L.radam(1e-3),
    "rprop": lambda L: L.rprop(1e-3),
    "sign_sgd": lambda L: L.sign_sgd(1e-3),
    "signum": lambda L: L.signum(1e-3),
    "sm3": lambda L: L.sm3(1e-2),
    "yogi": lambda L: L.yogi(1e-3),
}


def _alias_params() -> list[Any]:
    out = []
    for name in sorted(ALIASES):
        for dtype in ("float32", "float64", "bfloat16"):
            out.append(pytest.param(name, dtype, id=f"{name}-{dtype}"))
    return out


@pytest.mark.parametrize(("name", "dtype"), _alias_params())
def test_zoo_alias_defaults(name: str, dtype: str) -> None:
    """Python-float hyperparameters (optax's defaults), float32/float64/bf16 params."""
    make = ALIASES[name]
    layout = "list" if name == "sm3" else "nested"
    with jax.enable_x64(dtype == "float64"):
        params = make_params(layout, dtype)
        grads = make_grads(Grads(7, 1.0, 0.2, 1, 0.0), layout, dtype, steps=STEPS)
        (mu, ms, mp), (ou, os, op) = run_both(lambda L, s, h: make(L), (name,), {}, params, grads)
        assert_bitwise(mu, ou)
        assert_bitwise(ms, os)
        assert_bitwise(mp, op)
        assert jax.tree.map(lambda x: x.dtype, mp) == jax.tree.map(lambda x: x.dtype, params)


# ----------------------------------------------------------------------------- callable masks


@jax.tree_util.register_pytree_node_class
class Model:
    """A callable pytree, as an equinox module is: its fields are the leaves."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __call__(self, x: Any) -> Any:
        raise AssertionError("masked must not call a mask that is a tree")

    def tree_flatten(self) -> tuple[tuple[Any], None]:
        return (self.fields,), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: tuple[Any]) -> "Model":
        return cls(children[0])


def test_masked_with_a_callable_mask_tree() -> None:
    """A mask that is a callable pytree is the mask tree itself, as in optax."""
    params = Model({"w": jnp.arange(3.0), "b": jnp.ones(2)})
    mask = Model({"w": True, "b": False})
    grads = make_grads(Grads(3, 1.0, 0.0, 0, 0.0), "list", "float32", steps=20)[0][:, :2]
    results = []
    for lib in (mo, optax):
        tx = lib.masked(lib.adam(0.1), mask)
        state, p = tx.init(params), params
        for g in grads:
            g_tree = Model({"w": jnp.full(3, g[0]), "b": jnp.full(2, g[1])})
            u, state = tx.update(g_tree, state)
            np.testing.assert_array_equal(u.fields["b"], g_tree.fields["b"])  # passed through
            p = lib.apply_updates(p, u)
        results.append((p, state))
    assert_bitwise(results[0][0].fields, results[1][0].fields)
    mu = results[0][1].inner_state[0].mu  # adam keeps moments for the unmasked leaf only
    assert [x.shape for x in jax.tree.leaves(mu)] == [(3,)]


# ----------------------------------------------------------------------------- losses in the loop


def rosenbrock(p: Any) -> jax.Array:
    x, y = p["xy"][0], p["xy"][1]
    return (1.0 - x) ** 2 + 100.0 * (y - x**2) ** 2 + jnp.sum(p["w"] ** 2)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def run_on_loss(build: Builder, static: tuple[Any, ...], steps: int, hp: dict[str, Any], p0: Any):
    """Minimise ``rosenbrock`` with both libraries, passing the loss to ``update``."""
    results = []
    for lib in (mo, optax):
        tx = build(lib, static, hp)

        def step(carry: Any, _: Any, tx: Any = tx, lib: Any = lib) -> Any:
            state, p = carry
            value, grad = jax.value_and_grad(rosenbrock)(p)
            u, state = tx.update(grad, state, p, value=value, grad=grad, value_fn=rosenbrock)
            return (state, lib.apply_updates(p, u)), value

        (state, p), values = jax.lax.scan(step, (tx.init(p0), p0), None, length=steps)
        results.append((values, state, p))
    return results


LOSS_CASES: dict[str, Case] = {
    "lbfgs_backtracking": Case(
        lambda L, s, h: L.chain(
            L.scale_by_lbfgs(memory_size=s[0], scale_init_precond=s[1]),
            L.scale(-1.0),
            L.scale_by_backtracking_linesearch(
                15, slope_rtol=h["c"], decrease_factor=h["dec"], store_grad=s[2]
            ),
        ),
        hps(c=st.sampled_from([1e-4, 0.1]), dec=st.floats(0.3, 0.9)),
        ((3, T, F), (10, F, T)),
    ),
    "sgd_backtracking": Case(
        lambda L, s, h: L.chain(
            L.sgd(1.0), L.scale_by_backtracking_linesearch(10, increase_factor=h["inc"])
        ),
        hps(inc=st.floats(1.0, 2.0)),
    ),
    "lbfgs": Case(
        lambda L, s, h: L.lbfgs(memory_size=s[0], scale_init_precond=s[1]), hps(), ((10, T), (3, F))
    ),
    "lbfgs_zoom_options": Case(
        lambda L, s, h: L.lbfgs(
            learning_rate=h["lr"],
            linesearch=L.scale_by_zoom_linesearch(
                15,
                max_learning_rate=s[0],
                curv_rtol=h["c2"],
                slope_rtol=h["c1"],
                approx_dec_rtol=s[1],
                initial_guess_strategy=s[2],
            ),
        ),
        hps(lr=st.floats(0.5, 1.0), c1=st.sampled_from([1e-4, 1e-2]), c2=st.floats(0.1, 0.9)),
        ((None, 1e-6, "keep"), (2.0, None, "one")),
    ),
    "sgd_zoom": Case(
        lambda L, s, h: L.chain(
            L.sgd(1.0), L.scale_by_zoom_linesearch(10, increase_factor=h["inc"], tol=h["tol"])
        ),
        hps(inc=st.floats(1.5, 3.0), tol=st.sampled_from([0.0, 1e-3])),
    ),
    "polyak_sgd": Case(
        lambda L, s, h: L.polyak_sgd(h["max_lr"], f_min=h["f_min"], variant=s[0]),
        hps(max_lr=st.floats(1e-3, 1.0), f_min=st.floats(-1.0, 0.0)),
        (("sps",), ("sps+",)),
    ),
}


def _loss_params() -> list[Any]:
    return [
        pytest.param(name, static, dtype, id=f"{name}-{_static_id(static)}-{dtype}")
        for name, case in sorted(LOSS_CASES.items())
        for static in case.statics
        for dtype in case.dtypes
    ]


@pytest.mark.parametrize(("name", "static", "dtype"), _loss_params())
@given(data=st.data())
def test_zoo_parity_with_loss(name: str, static: Any, dtype: str, data: Any) -> None:
    """Transformations that read the loss: 40 steps on the Rosenbrock function."""
    hp = data.draw(LOSS_CASES[name].hp, label="hyperparameters")
    start = data.draw(st.sampled_from([(-1.2, 1.0), (0.5, -0.5), (2.0, 2.0)]), label="start")
    with jax.enable_x64(dtype == "float64"):
        p0 = {"xy": jnp.asarray(start, dtype), "w": jnp.asarray([0.5, -1.0], dtype)}
        (mv, ms, mp), (ov, os, op) = run_on_loss(LOSS_CASES[name].build, static, 40, hp, p0)
        assert_bitwise(mv, ov)
        assert_bitwise(ms, os)
        assert_bitwise(mp, op)
        if name.startswith("lbfgs") and static and static[1] is True:  # it descends
            assert float(mv[-1]) < float(mv[0])


def test_lookahead_parity() -> None:
    """Lookahead over (fast, slow) params, with and without resetting the fast state."""
    grads = make_grads(Grads(5, 1.0, 0.0, 0, 0.0), "nested", "float32", steps=STEPS)
    for reset in (False, True):
        results = []
        for lib in (mo, optax):
            tx = lib.lookahead(lib.adam(0.1), sync_period=3, slow_step_size=0.5, reset_state=reset)
            params = lib.LookaheadParams.init_synced(make_params("nested", "float32"))

            def step(carry: Any, g: Any, tx: Any = tx, lib: Any = lib) -> Any:
                state, p = carry
                u, state = tx.update(g, state, p)
                return (state, lib.apply_updates(p, u)), u

            results.append(
                jax.jit(lambda p, gs, tx=tx, step=step: jax.lax.scan(step, (tx.init(p), p), gs))(
                    params, grads
                )
            )
        (m_carry, m_u), (o_carry, o_u) = results
        assert_bitwise(m_u.fast, o_u.fast)
        assert_bitwise(m_u.slow, o_u.slow)
        assert_bitwise(m_carry[1].fast, o_carry[1].fast)
        assert_bitwise(m_carry[1].slow, o_carry[1].slow)
        assert_bitwise(m_carry[0].fast_state, o_carry[0].fast_state)


def test_monitor_parity() -> None:
    """monitor's measurements (its init state holds none, so no scan here)."""
    grads = make_grads(Grads(9, 1.0, 0.0, 0, 0.0), "nested", "float32", steps=5)
    params = make_params("nested", "float32")
    states = []
    for lib in (mo, optax):
        tx = lib.monitor(
            {"norm": lib.global_norm, "ema": lib.measure_with_ema(lib.global_norm, 0.9)}
        )
        state = tx.init(params)
        for i in range(5):
            _, state = tx.update(jax.tree.map(lambda g, i=i: g[i], grads), state, params)
        states.append(state)
    assert_bitwise(states[0], states[1])
    assert sorted(states[0].measurements) == ["ema", "norm"]
