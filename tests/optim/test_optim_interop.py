"""minijax.optim and optax are interchangeable both ways: a minijax transformation
inside ``optax.chain`` and flax's ``TrainState``, an optax one inside minijax's
``chain`` and ``masked``; and code written for optax (the article's linear
regression, reading the momentum from ``opt_state[0][0]``) runs unchanged."""

from typing import Any

import flax.linen as flax_nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.training.train_state import TrainState

import minijax.optim as mo

pytestmark = pytest.mark.parity


def tree_equal(a: Any, b: Any) -> None:
    assert jax.tree.structure(a) == jax.tree.structure(b)
    jax.tree.map(np.testing.assert_array_equal, a, b)


def steps(tx: Any, n: int = 4) -> tuple[Any, Any]:
    params = {"w": jnp.arange(6.0).reshape(3, 2), "b": jnp.ones(2)}
    state = tx.init(params)
    updates = None
    for i in range(n):
        grads = jax.tree.map(lambda p, i=i: jnp.sin(p + i), params)
        updates, state = tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
    return params, state


def test_minijax_inside_optax_chain() -> None:
    ours = optax.chain(mo.clip_by_global_norm(1.0), mo.scale_by_adam(eps=1e-4), optax.scale(-0.1))
    theirs = optax.chain(
        optax.clip_by_global_norm(1.0), optax.scale_by_adam(eps=1e-4), optax.scale(-0.1)
    )
    (p1, s1), (p2, s2) = steps(ours), steps(theirs)
    tree_equal(p1, p2)
    jax.tree.map(np.testing.assert_array_equal, jax.tree.leaves(s1), jax.tree.leaves(s2))


def test_optax_inside_minijax_chain_and_masked() -> None:
    ours = mo.chain(optax.clip(0.5), mo.masked(optax.adam(0.1), {"w": True, "b": False}))
    theirs = optax.chain(optax.clip(0.5), optax.masked(optax.adam(0.1), {"w": True, "b": False}))
    (p1, s1), (p2, s2) = steps(ours), steps(theirs)
    tree_equal(p1, p2)
    jax.tree.map(np.testing.assert_array_equal, jax.tree.leaves(s1), jax.tree.leaves(s2))


def test_minijax_inside_optax_masked_and_multi_transform() -> None:
    labels = {"w": "adam", "b": "zero"}
    ours = optax.multi_transform({"adam": mo.adam(0.1), "zero": mo.set_to_zero()}, labels)
    theirs = mo.multi_transform({"adam": optax.adam(0.1), "zero": optax.set_to_zero()}, labels)
    (p1, _), (p2, _) = steps(ours), steps(theirs)
    tree_equal(p1, p2)
    np.testing.assert_array_equal(p1["b"], jnp.ones(2))  # frozen


def test_extra_args_reach_optax_transformations() -> None:
    """``chain`` forwards keyword arguments to transformations that take them."""
    seen = {}

    def update(updates: Any, state: Any, params: Any = None, **extra: Any) -> Any:
        seen.update(extra)
        return updates, state

    tx = mo.chain(mo.scale(2.0), optax.GradientTransformationExtraArgs(lambda p: (), update))
    tx.update({"w": jnp.ones(1)}, tx.init({"w": jnp.ones(1)}), value=3.0)
    assert seen == {"value": 3.0}


class Linear(flax_nn.Module):
    def setup(self) -> None:
        self.dense = flax_nn.Dense(1)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.dense(x)


def article_regression(lib: Any, steps: int = 30) -> tuple[Any, list[float]]:
    """The linear regression of "jax/flax and object orientation", ``lib`` as ``optax``."""
    x = jnp.arange(-1, 1, 0.01).reshape(200, 1)
    ds = {"input": x, "output": 3 * x + 1}
    model = Linear()
    variables = model.init(jax.random.PRNGKey(0), jnp.ones([1, 1]))
    state = TrainState.create(
        apply_fn=model.apply,
        params=variables["params"],
        tx=lib.sgd(learning_rate=0.1, momentum=0.9),
    )

    @jax.jit
    def train_step(state: TrainState, batch: Any) -> tuple[jax.Array, TrainState]:
        def loss_fn(params: Any) -> jax.Array:
            pred_y = state.apply_fn({"params": params}, batch["input"])
            return lib.l2_loss(pred_y, batch["output"]).mean()

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return loss, state.apply_gradients(grads=grads)

    momentum = []
    for _ in range(steps):
        _, state = train_step(state, ds)
        momentum.append(float(state.opt_state[0][0]["dense"]["kernel"][0, 0]))
    return state, momentum


def test_seed_002_linear_regression_in_flax_train_state() -> None:
    ours, ours_momentum = article_regression(mo)
    theirs, theirs_momentum = article_regression(optax)
    tree_equal(ours.params, theirs.params)
    assert ours_momentum == theirs_momentum
    assert type(ours.opt_state[0]).__name__ == "TraceState"
    assert ours.opt_state[0].trace is ours.opt_state[0][0]
    assert ours.step == 30


def test_state_layouts_match_optax() -> None:
    params = {"w": jnp.ones((2, 2))}
    for name, make in {
        "sgd": lambda L: L.sgd(0.1, momentum=0.9),
        "adam": lambda L: L.adam(0.1),
        "adamw": lambda L: L.adamw(0.1),
        "rmsprop": lambda L: L.rmsprop(0.1, centered=True),
        "adagrad": lambda L: L.adagrad(0.1),
        "lion": lambda L: L.lion(0.1),
        "multi_steps": lambda L: L.MultiSteps(L.adam(0.1), 2).gradient_transformation(),
        "inject": lambda L: L.inject_hyperparams(L.adam)(learning_rate=0.1),
        "finite": lambda L: L.apply_if_finite(L.sgd(0.1), 2),
        "masked": lambda L: L.masked(L.adam(0.1), {"w": False}),
    }.items():
        ours, theirs = make(mo).init(params), make(optax).init(params)
        assert _layout(ours) == _layout(theirs), name


def _layout(tree: Any) -> Any:
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree).__name__, {f: _layout(getattr(tree, f)) for f in tree._fields}
    if isinstance(tree, (list, tuple)):
        return [_layout(t) for t in tree]
    if isinstance(tree, dict):
        return {k: _layout(v) for k, v in tree.items()}
    return jnp.shape(tree), str(jnp.asarray(tree).dtype)


def test_inject_hyperparams_can_be_changed_between_steps() -> None:
    params = {"w": jnp.ones(2)}
    for lib in (mo, optax):
        tx = lib.inject_hyperparams(lib.sgd)(learning_rate=0.1)
        state = tx.init(params)
        state.hyperparams["learning_rate"] = jnp.asarray(0.5)
        u, state = tx.update({"w": jnp.ones(2)}, state, params)
        np.testing.assert_allclose(u["w"], -0.5)
