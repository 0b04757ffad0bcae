"""Properties every minijax optimizer must have, independent of optax:
learning rate 0 changes nothing, inputs are never modified, jit equals eager,
the state keeps its structure, each optimizer minimises a convex quadratic and
the Rosenbrock function, and mismatched gradient trees fail with a clear error."""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.optim as mo

ALIASES: dict[str, Callable[[Any], mo.GradientTransformation]] = {
    "sgd": lambda lr: mo.sgd(lr),
    "sgd_momentum": lambda lr: mo.sgd(lr, momentum=0.9),
    "sgd_nesterov": lambda lr: mo.sgd(lr, momentum=0.9, nesterov=True),
    "adam": lambda lr: mo.adam(lr),
    "nadam": lambda lr: mo.nadam(lr),
    "adamw": lambda lr: mo.adamw(lr),
    "nadamw": lambda lr: mo.nadamw(lr),
    "rmsprop": lambda lr: mo.rmsprop(lr),
    "rmsprop_centered_momentum": lambda lr: mo.rmsprop(lr, centered=True, momentum=0.9),
    "adagrad": lambda lr: mo.adagrad(lr),
    "lion": lambda lr: mo.lion(lr),
}

WRAPPED: dict[str, Callable[[], mo.GradientTransformation]] = {
    "chain_clip_adam": lambda: mo.chain(mo.clip_by_global_norm(1.0), mo.adam(1e-2)),
    "masked": lambda: mo.masked(mo.adam(1e-2), {"w": True, "b": False}),
    "multi_transform": lambda: mo.multi_transform(
        {"a": mo.sgd(0.1, 0.9), "b": mo.set_to_zero()}, {"w": "a", "b": "b"}
    ),
    "multi_steps": lambda: mo.MultiSteps(
        mo.adam(1e-2), every_k_schedule=2
    ).gradient_transformation(),
    "inject_hyperparams": lambda: mo.inject_hyperparams(mo.adamw)(learning_rate=0.1),
    "apply_if_finite": lambda: mo.apply_if_finite(mo.sgd(0.1, 0.9), 3),
    "schedule_lr": lambda: mo.adam(mo.warmup_cosine_decay_schedule(0.0, 0.1, 2, 10)),
}

ALL = {**{k: (lambda make=v: make(0.05)) for k, v in ALIASES.items()}, **WRAPPED}


def params_and_grads(seed: int = 0, n: int = 5) -> tuple[Any, list[Any]]:
    rng = np.random.default_rng(seed)
    params = {"w": jnp.asarray(rng.normal(size=(3, 2)), jnp.float32), "b": jnp.zeros(2)}
    grads = [
        jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape), p.dtype), params)
        for _ in range(n)
    ]
    return params, grads


def run(tx: mo.GradientTransformation, params: Any, grads: list[Any], jit: bool) -> tuple[Any, Any]:
    update = jax.jit(tx.update) if jit else tx.update
    state = tx.init(params)
    for g in grads:
        updates, state = update(g, state, params)
        params = mo.apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("name", sorted(ALIASES))
def test_learning_rate_zero_changes_nothing(name: str) -> None:
    params, grads = params_and_grads()
    new_params, _ = run(ALIASES[name](0.0), params, grads, jit=True)
    jax.tree.map(np.testing.assert_array_equal, new_params, params)


@pytest.mark.parametrize("name", sorted(ALL))
def test_inputs_are_not_modified_and_structure_is_kept(name: str) -> None:
    """NumPy inputs (mutable) come back untouched; the state after updates has
    the tree structure, shapes and dtypes of the initial state (as lax.scan and
    a TrainState under jit require)."""
    params, grads = params_and_grads(n=3)
    np_params = jax.tree.map(np.array, params)
    np_grads = [jax.tree.map(np.array, g) for g in grads]
    saved = jax.tree.map(np.copy, (np_params, np_grads))
    tx = ALL[name]()
    state0 = tx.init(np_params)
    state = state0
    for g in np_grads:
        _, state = tx.update(g, state, np_params)
    jax.tree.map(np.testing.assert_array_equal, (np_params, np_grads), saved)
    spec = lambda s: jax.tree.map(lambda x: (jnp.shape(x), jnp.result_type(x)), s)
    assert jax.tree.structure(state) == jax.tree.structure(state0)
    assert spec(state) == spec(state0)


@pytest.mark.parametrize("name", sorted(ALL))
def test_jit_equals_eager(name: str) -> None:
    params, grads = params_and_grads(seed=3, n=3)
    eager = run(ALL[name](), params, grads, jit=False)
    jitted = run(ALL[name](), params, grads, jit=True)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7), eager, jitted)


# ----------------------------------------------------------------------------- convergence

A = jnp.array([[3.0, 0.5], [0.5, 1.0]])
B = jnp.array([1.0, -2.0])


def quadratic(p: Any) -> jax.Array:
    x = p["x"]
    return 0.5 * x @ A @ x - B @ x


def rosenbrock(p: Any) -> jax.Array:
    x, y = p["x"][0], p["x"][1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def minimise(tx: mo.GradientTransformation, f: Any, x0: list[float], steps: int) -> jax.Array:
    @jax.jit
    def go(params: Any) -> Any:
        def step(carry: Any, _: None) -> Any:
            p, s = carry
            u, s = tx.update(jax.grad(f)(p), s, p)
            return (mo.apply_updates(p, u), s), None

        (p, _), _ = jax.lax.scan(step, (params, tx.init(params)), None, length=steps)
        return p["x"]

    return go({"x": jnp.array(x0)})


# (quadratic optimizer, Rosenbrock optimizer): reasonable settings for each
CONVERGENCE: dict[str, tuple[Any, Any]] = {
    "sgd": (mo.sgd(0.1), mo.sgd(1e-3)),
    "sgd_momentum": (mo.sgd(0.05, momentum=0.9), mo.sgd(2e-4, momentum=0.9)),
    "sgd_nesterov": (mo.sgd(0.05, 0.9, nesterov=True), mo.sgd(2e-4, 0.9, nesterov=True)),
    "adam": (mo.adam(0.05), mo.adam(0.02)),
    "nadam": (mo.nadam(0.05), mo.nadam(0.02)),
    "adamw": (mo.adamw(0.05), mo.adamw(0.02)),
    "nadamw": (mo.nadamw(0.05), mo.nadamw(0.02)),
    "rmsprop": (mo.rmsprop(0.01), mo.rmsprop(1e-3)),
    "rmsprop_centered": (
        mo.rmsprop(0.01, centered=True, momentum=0.5),
        mo.rmsprop(3e-4, centered=True, momentum=0.9),
    ),
    "adagrad": (mo.adagrad(0.5), mo.adagrad(0.5)),
    "lion": (mo.lion(3e-3), mo.lion(1e-3)),
}


@pytest.mark.parametrize("name", sorted(CONVERGENCE))
def test_minimises_quadratic_and_rosenbrock(name: str) -> None:
    quad_tx, rosen_tx = CONVERGENCE[name]
    x = minimise(quad_tx, quadratic, [2.0, 2.0], 2000)
    np.testing.assert_allclose(x, jnp.linalg.solve(A, B), atol=2e-2)
    x = minimise(rosen_tx, rosenbrock, [-1.2, 1.0], 5000)
    assert float(rosenbrock({"x": x})) < 1e-2 < float(rosenbrock({"x": jnp.array([-1.2, 1.0])}))
    np.testing.assert_allclose(x, [1.0, 1.0], atol=0.15)


# ----------------------------------------------------------------------------- mismatches


@pytest.mark.parametrize("name", ["adam", "sgd_momentum", "rmsprop", "adagrad", "lion"])
def test_mismatched_gradient_tree_names_the_path(name: str) -> None:
    params = {"dense": {"kernel": jnp.ones((2, 2)), "bias": jnp.zeros(2)}}
    tx = ALIASES[name](0.1)
    state = tx.init(params)
    missing = {"dense": {"kernel": jnp.ones((2, 2))}}
    with pytest.raises(TypeError, match=r"\['dense'\]\['bias'\]"):
        tx.update(missing, state, params)
    renamed = {"dense": {"kernel": jnp.ones((2, 2)), "bais": jnp.zeros(2)}}
    with pytest.raises(TypeError, match=r"\['dense'\]\['bais'\]"):
        tx.update(renamed, state, params)


def test_apply_updates_mismatch_names_the_path() -> None:
    params = {"a": [jnp.ones(2), jnp.ones(3)], "b": jnp.ones(())}
    with pytest.raises(TypeError, match=r"updates\['a'\]"):
        mo.apply_updates(params, {"a": (jnp.ones(2), jnp.ones(3)), "b": jnp.ones(())})
    with pytest.raises(TypeError, match=r"updates\['a'\]\[1\].*shape"):
        mo.apply_updates(params, {"a": [jnp.ones(2), jnp.ones((2, 3))], "b": jnp.ones(())})
    with pytest.raises(TypeError, match=r"updates\['c'\]"):
        mo.apply_updates(params, {"a": [jnp.ones(2), jnp.ones(3)], "b": jnp.ones(()), "c": 1.0})


@given(
    dtype=st.sampled_from(["float32", "bfloat16", "float16"]),
    update_dtype=st.sampled_from(["float32", "bfloat16"]),
)
def test_apply_updates_keeps_param_dtype_and_none(dtype: str, update_dtype: str) -> None:
    params = {"w": jnp.ones(3, dtype), "frozen": None}
    new = mo.apply_updates(params, {"w": jnp.full(3, 0.5, update_dtype), "frozen": None})
    assert new["frozen"] is None
    assert new["w"].dtype == jnp.dtype(dtype)
    np.testing.assert_allclose(np.asarray(new["w"], np.float32), 1.5)


def test_optimizer_without_params_raises_clearly() -> None:
    tx = mo.adamw(0.1)
    params = {"w": jnp.ones(2)}
    with pytest.raises(ValueError, match="params"):
        tx.update(params, tx.init(params))
