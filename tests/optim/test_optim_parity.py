"""Parity of minijax.optim with optax: every transformation, alias and wrapper.

Hypothesis draws the hyperparameters and a seed for a sequence of random
gradient pytrees (with zero gradients, zero first steps and huge or tiny
scales among the draws). Both libraries then run ``STEPS`` updates inside one
jitted ``lax.scan`` each, and every step's updates, the final state and the
final params must agree: to rtol 1e-6 in float32 and 1e-12 in float64 (in
practice they are bitwise equal).

Hyperparameters are passed as traced arrays, so one compilation serves every
draw; only the Python-level options (nesterov, centered, ...) are static.
``test_alias_defaults_parity`` covers the path with Python-float hyperparameters.
"""

import functools
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

STEPS = 200

LAYOUTS = {
    "nested": {"dense": {"kernel": (3, 2), "bias": (2,)}, "scale": ()},
    "list": [(4,), (2, 1, 2)],
}


# ----------------------------------------------------------------------------- utilities


def named_structure(tree: Any) -> Any:
    """The tree with NamedTuples as (class name, fields) and leaves as (shape, dtype):
    equal for a minijax and an optax state exactly when their layouts agree."""
    if isinstance(tuple, type) and isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return (type(tree).__name__, {f: named_structure(getattr(tree, f)) for f in tree._fields})
    if isinstance(tree, (tuple, list)):
        return (type(tree).__name__, [named_structure(v) for v in tree])
    if isinstance(tree, dict):
        return {k: named_structure(v) for k, v in tree.items()}
    if tree is None:
        return None
    return (jnp.shape(tree), str(jnp.asarray(tree).dtype))


def assert_trees_close(actual: Any, expected: Any, dtype: Any) -> None:
    assert named_structure(actual) == named_structure(expected)
    rtol = {"float64": 1e-12, "bfloat16": 1e-2}.get(str(jnp.dtype(dtype)), 1e-6)
    paths = jax.tree_util.tree_flatten_with_path(expected)[0]
    for (path, e), a in zip(paths, jax.tree.leaves(actual), strict=True):
        a64, e64 = np.asarray(a, np.float64), np.asarray(e, np.float64)
        floor = rtol * 1e-3 * max(1.0, float(np.max(np.abs(e64[np.isfinite(e64)]), initial=0.0)))
        np.testing.assert_allclose(
            a64, e64, rtol=rtol, atol=floor, err_msg=jax.tree_util.keystr(path)
        )


def make_params(layout: str, dtype: Any, seed: int = 1) -> Any:
    rng = np.random.default_rng(seed)
    return jax.tree.map(
        lambda shape: jnp.asarray(rng.normal(size=shape), dtype),
        LAYOUTS[layout],
        is_leaf=lambda x: isinstance(x, tuple) and all(isinstance(i, int) for i in x),
    )


class Grads(NamedTuple):
    layout: str
    seed: int
    scale: float
    zero_frac: float
    zero_first: int
    nan_frac: float


@st.composite
def grad_draws(draw: Any, layout: str, allow_nan: bool = False) -> Grads:
    return Grads(
        layout=layout,
        seed=draw(st.integers(0, 2**31 - 1)),
        scale=draw(st.sampled_from([1e-3, 1.0, 1e3])),
        zero_frac=draw(st.sampled_from([0.0, 0.0, 0.5])),
        zero_first=draw(st.integers(0, 3)),
        nan_frac=draw(st.sampled_from([0.0, 0.05, 0.3])) if allow_nan else 0.0,
    )


def make_grads(g: Grads, dtype: Any, steps: int = STEPS) -> Any:
    """``steps`` stacked gradient trees: normal * scale, some entries zero, the
    first ``zero_first`` steps all zero (the eps traps), some steps NaN."""
    rng = np.random.default_rng(g.seed)

    def leaf(shape: tuple[int, ...]) -> jax.Array:
        x = rng.normal(size=(steps, *shape)) * g.scale
        x[rng.random(x.shape) < g.zero_frac] = 0.0
        x[: g.zero_first] = 0.0
        x[rng.random(steps) < g.nan_frac] = np.nan
        return jnp.asarray(x, dtype)

    return jax.tree.map(
        leaf,
        LAYOUTS[g.layout],
        is_leaf=lambda x: isinstance(x, tuple) and all(isinstance(i, int) for i in x),
    )


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


# ----------------------------------------------------------------------------- cases

probability = st.floats(0.0, 0.99)
lr = st.floats(1e-4, 1.0)
eps = st.sampled_from([1e-8, 1e-6, 1e-3])
b2 = st.floats(0.5, 0.9999)
boolean = st.booleans()


def hps(**strategies: Any) -> Any:
    return st.fixed_dictionaries(strategies)


def _sched(i: int, lib: Any) -> Any:
    """A few schedules with boundaries inside the run (static, built per library)."""
    return [
        lib.warmup_cosine_decay_schedule(0.0, 0.1, 20, 150, 1e-3),
        lib.piecewise_constant_schedule(0.1, {30: 0.5, 90: 0.1}),
        lib.exponential_decay(0.1, 25, 0.5, transition_begin=10, staircase=True, end_value=1e-3),
        lib.linear_schedule(0.1, 0.0, 120, 40),
    ][i]


class Case(NamedTuple):
    build: Builder
    hp: Any  # strategy of a dict of floats, passed traced
    statics: tuple[tuple[Any, ...], ...] = ((),)  # Python-level options, one compile each
    allow_nan: bool = False
    float64: bool = False  # also run in float64


T, F = True, False

CASES: dict[str, Case] = {
    "identity": Case(lambda L, s, h: L.identity(), hps()),
    "set_to_zero": Case(lambda L, s, h: L.set_to_zero(), hps()),
    "scale": Case(lambda L, s, h: L.scale(h["step"]), hps(step=st.floats(-2.0, 2.0))),
    "scale_by_learning_rate": Case(
        lambda L, s, h: L.scale_by_learning_rate(h["lr"], flip_sign=s[0]), hps(lr=lr), ((T,), (F,))
    ),
    "scale_by_learning_rate_schedule": Case(
        lambda L, s, h: L.scale_by_learning_rate(_sched(s[0], L)), hps(), ((0,), (1,), (2,), (3,))
    ),
    "scale_by_schedule": Case(
        lambda L, s, h: L.scale_by_schedule(_sched(s[0], L)), hps(), ((2,), (3,))
    ),
    "trace": Case(
        lambda L, s, h: L.trace(h["decay"], nesterov=s[0]),
        hps(decay=probability),
        ((F,), (T,)),
        float64=True,
    ),
    "scale_by_adam": Case(
        lambda L, s, h: L.scale_by_adam(h["b1"], h["b2"], h["eps"], h["eps_root"], nesterov=s[0]),
        hps(b1=probability, b2=b2, eps=eps, eps_root=st.sampled_from([0.0, 1e-8])),
        ((F,), (T,)),
        float64=True,
    ),
    "scale_by_rms": Case(
        lambda L, s, h: L.scale_by_rms(h["decay"], h["eps"], h["init"], s[0], s[1]),
        hps(decay=probability, eps=eps, init=st.sampled_from([0.0, 1.0])),
        ((T, F), (F, T)),
        float64=True,
    ),
    "scale_by_stddev": Case(
        lambda L, s, h: L.scale_by_stddev(h["decay"], h["eps"], h["init"], s[0], s[1]),
        hps(decay=probability, eps=eps, init=st.sampled_from([0.0, 1.0])),
        ((T, F), (F, T)),
        float64=True,
    ),
    "scale_by_rss": Case(
        lambda L, s, h: L.scale_by_rss(h["init"], h["eps"]),
        hps(init=st.sampled_from([0.0, 0.1, 1.0]), eps=eps),
        float64=True,
    ),
    "scale_by_lion": Case(
        lambda L, s, h: L.scale_by_lion(h["b1"], h["b2"]),
        hps(b1=probability, b2=b2),
        float64=True,
    ),
    "add_decayed_weights": Case(
        lambda L, s, h: L.add_decayed_weights(h["wd"]), hps(wd=st.floats(0.0, 0.5))
    ),
    "add_decayed_weights_masked": Case(
        lambda L, s, h: L.add_decayed_weights(
            h["wd"], lambda p: jax.tree.map(lambda x: x.ndim >= 2, p)
        ),
        hps(wd=st.floats(0.0, 0.5)),
    ),
    "clip": Case(lambda L, s, h: L.clip(h["delta"]), hps(delta=st.floats(1e-3, 3.0))),
    "clip_by_global_norm": Case(
        lambda L, s, h: L.clip_by_global_norm(h["norm"]),
        hps(norm=st.floats(1e-3, 10.0)),
        float64=True,
    ),
    "chain_seed_004": Case(
        lambda L, s, h: L.chain(
            L.clip_by_global_norm(1.0), L.scale_by_adam(eps=1e-4), L.scale(-h["lr"])
        ),
        hps(lr=lr),
    ),
    "masked": Case(
        lambda L, s, h: L.masked(
            L.scale_by_adam(h["b1"]), lambda p: jax.tree.map(lambda x: x.ndim == 1, p)
        ),
        hps(b1=probability),
    ),
    "multi_transform": Case(
        lambda L, s, h: L.multi_transform(
            {"adam": L.adam(h["lr"]), "sgd": L.sgd(h["lr"], 0.9), "frozen": L.set_to_zero()},
            lambda p: jax.tree.map(lambda x: ["frozen", "sgd", "adam", "adam"][x.ndim], p),
        ),
        hps(lr=lr),
    ),
    "multi_steps": Case(
        lambda L, s, h: L.MultiSteps(L.adam(h["lr"]), every_k_schedule=s[0], use_grad_mean=s[1]),
        hps(lr=lr),
        ((1, T), (3, T), (2, F)),
    ),
    "multi_steps_skip_not_finite": Case(
        lambda L, s, h: L.MultiSteps(
            L.sgd(h["lr"], momentum=0.5),
            every_k_schedule=3,
            should_skip_update_fn=L.skip_not_finite,
        ),
        hps(lr=lr),
        allow_nan=True,
    ),
    "inject_hyperparams": Case(
        lambda L, s, h: L.inject_hyperparams(L.adam)(learning_rate=h["lr"], b1=h["b1"]),
        hps(lr=lr, b1=probability),
    ),
    "inject_hyperparams_schedule": Case(
        lambda L, s, h: L.inject_hyperparams(L.sgd)(learning_rate=_sched(s[0], L), momentum=h["m"]),
        hps(m=probability),
        ((0,), (1,)),
    ),
    "apply_if_finite": Case(
        lambda L, s, h: L.apply_if_finite(L.adam(h["lr"]), max_consecutive_errors=2),
        hps(lr=lr),
        allow_nan=True,
    ),
    # the aliases
    "sgd": Case(
        lambda L, s, h: L.sgd(h["lr"], momentum=None if s[0] else h["m"], nesterov=s[1]),
        hps(lr=lr, m=probability),
        ((T, F), (F, F), (F, T)),
        float64=True,
    ),
    "adam": Case(
        lambda L, s, h: L.adam(h["lr"], h["b1"], h["b2"], h["eps"]),
        hps(lr=lr, b1=probability, b2=b2, eps=eps),
        float64=True,
    ),
    "nadam": Case(
        lambda L, s, h: L.nadam(h["lr"], h["b1"], h["b2"], h["eps"]),
        hps(lr=lr, b1=probability, b2=b2, eps=eps),
    ),
    "adamw": Case(
        lambda L, s, h: L.adamw(
            h["lr"], h["b1"], h["b2"], h["eps"], weight_decay=h["wd"], nesterov=s[0]
        ),
        hps(lr=lr, b1=probability, b2=b2, eps=eps, wd=st.floats(0.0, 0.1)),
        ((F,), (T,)),
    ),
    "rmsprop": Case(
        lambda L, s, h: L.rmsprop(
            h["lr"],
            h["decay"],
            h["eps"],
            h["init"],
            eps_in_sqrt=s[0],
            centered=s[1],
            momentum=None if s[2] else h["m"],
            nesterov=s[3],
            bias_correction=s[4],
        ),
        hps(lr=lr, decay=probability, eps=eps, init=st.sampled_from([0.0, 1.0]), m=probability),
        ((T, F, T, F, F), (F, T, F, T, T), (T, T, F, F, F)),
        float64=True,
    ),
    "adagrad": Case(
        lambda L, s, h: L.adagrad(h["lr"], h["init"], h["eps"]),
        hps(lr=lr, init=st.sampled_from([0.0, 0.1]), eps=eps),
    ),
    "lion": Case(
        lambda L, s, h: L.lion(h["lr"], h["b1"], h["b2"], weight_decay=h["wd"]),
        hps(lr=st.floats(1e-4, 0.1), b1=probability, b2=b2, wd=st.floats(0.0, 0.1)),
    ),
    "adam_schedule": Case(
        lambda L, s, h: L.adam(_sched(s[0], L), h["b1"]), hps(b1=probability), ((0,), (1,))
    ),
}


def _parity_params() -> list[Any]:
    """One pytest case per (transformation, static options, dtype); the gradient
    layout alternates between the cases so both are covered."""
    out = []
    for name, case in sorted(CASES.items()):
        for static in case.statics:
            for dtype in ("float32", "float64") if case.float64 else ("float32",):
                layout = sorted(LAYOUTS)[len(out) % len(LAYOUTS)]
                out.append(pytest.param(name, static, dtype, layout, id=f"{name}-{static}-{dtype}"))
    return out


@pytest.mark.parametrize(("name", "static", "dtype", "layout"), _parity_params())
@given(data=st.data())
def test_transformation_parity(name: str, static: Any, dtype: str, layout: str, data: Any) -> None:
    case = CASES[name]
    hp = data.draw(case.hp, label="hyperparameters")
    g = data.draw(grad_draws(layout, case.allow_nan), label="grads")
    with jax.enable_x64(dtype == "float64"):
        params = make_params(g.layout, dtype)
        grads = make_grads(g, dtype)
        (mu, ms, mp), (ou, os, op) = run_both(case.build, static, hp, params, grads)
        assert_trees_close(mu, ou, dtype)
        assert_trees_close(ms, os, dtype)
        assert_trees_close(mp, op, dtype)


ALIASES: dict[str, Callable[[Any], Any]] = {
    "sgd": lambda L: L.sgd(0.1),
    "sgd_momentum": lambda L: L.sgd(0.1, momentum=0.9),
    "sgd_nesterov": lambda L: L.sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda L: L.adam(1e-3),
    "nadam": lambda L: L.nadam(1e-3),
    "adamw": lambda L: L.adamw(1e-3),
    "nadamw": lambda L: L.nadamw(1e-3),
    "rmsprop": lambda L: L.rmsprop(1e-3),
    "rmsprop_centered_momentum": lambda L: L.rmsprop(1e-3, centered=True, momentum=0.9),
    "adagrad": lambda L: L.adagrad(0.1),
    "lion": lambda L: L.lion(1e-4),
    "adam_mu_bf16": lambda L: L.adam(1e-3, mu_dtype=jnp.bfloat16),
    "sgd_accumulator_bf16": lambda L: L.sgd(0.1, momentum=0.9, accumulator_dtype=jnp.bfloat16),
}


def _alias_params() -> list[Any]:
    out = [pytest.param(name, "float32", id=f"{name}-float32") for name in sorted(ALIASES)]
    for name in ("sgd_nesterov", "adamw", "lion", "rmsprop_centered_momentum"):
        out += [pytest.param(name, d, id=f"{name}-{d}") for d in ("float64", "bfloat16")]
    return out


@pytest.mark.parametrize(("name", "dtype"), _alias_params())
def test_alias_defaults_parity(name: str, dtype: str) -> None:
    """Python-float hyperparameters (optax's defaults), float32/float64/bf16 params."""
    make = ALIASES[name]
    with jax.enable_x64(dtype == "float64"):
        params = make_params("nested", dtype)
        grads = make_grads(Grads("nested", 7, 1.0, 0.2, 1, 0.0), dtype, steps=50)
        (mu, ms, mp), (ou, os, op) = run_both(lambda L, s, h: make(L), (name,), {}, params, grads)
        assert_trees_close(mu, ou, dtype)
        assert_trees_close(ms, os, dtype)
        assert_trees_close(mp, op, dtype)
        assert jax.tree.map(lambda x: x.dtype, mp) == jax.tree.map(lambda x: x.dtype, params)


def test_first_step_bias_correction() -> None:
    """At step 1 Adam's bias correction makes the update g / (|g| + eps) exactly."""
    g = {"w": jnp.array([0.5, -2.0, 0.0])}
    results = []
    for lib in (mo, optax):
        tx = lib.scale_by_adam(b1=0.9, b2=0.999, eps=1e-8)
        u, state = tx.update(g, tx.init(g))
        # 1 - 0.999 is not exact in float32: the correction is only ~1e-5 accurate
        np.testing.assert_allclose(u["w"], g["w"] / (jnp.abs(g["w"]) + 1e-8), rtol=1e-4)
        assert state.count == 1 and state.count.dtype == jnp.int32
        results.append(u["w"])
    np.testing.assert_array_equal(results[0], results[1])


def test_multi_steps_emits_every_k() -> None:
    k = 3
    params = {"w": jnp.ones(2)}
    for lib in (mo, optax):
        tx = lib.MultiSteps(lib.sgd(1.0), every_k_schedule=k)
        state = tx.init(params)
        update = jax.jit(tx.update)
        emitted = []
        for i in range(7):
            u, state = update({"w": jnp.full(2, float(i + 1))}, state, params)
            emitted.append(float(u["w"][0]))
            assert bool(tx.has_updated(state)) == ((i + 1) % k == 0)
        # mean of 1,2,3 and of 4,5,6, times -lr; zero elsewhere
        assert emitted == [0.0, 0.0, -2.0, 0.0, 0.0, -5.0, 0.0]


def test_count_saturates() -> None:
    top = jnp.array(np.iinfo(np.int32).max, jnp.int32)
    assert mo.safe_increment(top) == top
    assert mo.safe_increment(jnp.array(41, jnp.int32)) == 42
    tx = mo.scale_by_adam()
    state = tx.init({"w": jnp.ones(1)})._replace(count=top)
    _, state = tx.update({"w": jnp.ones(1)}, state)
    assert state.count == top and state.count.dtype == jnp.int32
