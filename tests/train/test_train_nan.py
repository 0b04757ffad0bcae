"""Non-finite losses: fit's on_nan modes, and minijax.debug (debug_nans, debug_checks)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

import minijax.nn as nn
from minijax import debug, optim
from minijax.train import NonFiniteLossError, TrainState, fit, make_train_step


def apply_fn(variables, x):
    return x @ variables["params"]["w"]


def make_state(tx=None):
    params = {"w": jnp.zeros((2, 1))}
    return TrainState.create(apply_fn=apply_fn, params=params, tx=tx or optim.sgd(0.1))


def loss_fn(params, state, batch):
    x, y = batch
    return jnp.mean((state.apply_fn({"params": params}, x) - y) ** 2)


def data_with_a_nan(row=13):
    x = np.ones((32, 2), np.float32)
    x[row, 0] = np.nan  # in the fourth batch of 4 (no shuffling)
    return x, np.ones((32, 1), np.float32)


STEP = make_train_step(loss_fn, donate=False)


def test_on_nan_raise_is_the_default_and_names_step_metric_and_fix():
    with pytest.raises(NonFiniteLossError) as e:
        fit(
            make_state(),
            data_with_a_nan(),
            train_step=STEP,
            batch_size=4,
            shuffle=False,
            key=None,
            progress=False,
            log_every=2,
        )
    msg = str(e.value)
    assert "'loss' is nan at step 3 (epoch 0)" in msg
    assert "clip_by_global_norm" in msg and "debug_nans" in msg and 'on_nan="skip"' in msg
    assert (e.value.step, e.value.metric, e.value.epoch) == (3, "loss", 0)
    assert int(e.value.state.step) == 4  # stopped at the check after step 3


def test_on_nan_warn_keeps_going_and_lists_the_steps():
    with pytest.warns(RuntimeWarning, match=r"'loss' is nan at step 3 .*on_nan=\"warn\""):
        state, history = fit(
            make_state(),
            data_with_a_nan(),
            train_step=STEP,
            batch_size=4,
            shuffle=False,
            key=None,
            progress=False,
            on_nan="warn",
        )
    assert int(state.step) == 8 and history.non_finite_steps == [3, 4, 5, 6, 7]


def test_on_nan_skip_with_apply_if_finite_trains_on():
    tx = optim.apply_if_finite(optim.sgd(0.1), max_consecutive_errors=10)
    state, history = fit(
        make_state(tx),
        data_with_a_nan(),
        train_step=STEP,
        batch_size=4,
        shuffle=False,
        key=None,
        progress=False,
        on_nan="skip",
        epochs=2,
    )
    assert history.non_finite_steps == [3, 11]
    assert len(history.step["loss"]) == 14 and np.all(np.isfinite(history.step["loss"]))
    assert np.all(np.isfinite(np.asarray(state.params["w"])))


def test_on_nan_skip_without_a_skipping_optimizer_is_an_error():
    with pytest.raises(NonFiniteLossError, match=r"no longer finite.*apply_if_finite"):
        fit(
            make_state(),
            data_with_a_nan(),
            train_step=STEP,
            batch_size=4,
            shuffle=False,
            key=None,
            progress=False,
            on_nan="skip",
        )


def test_on_nan_fused_and_bad_value():
    with pytest.raises(NonFiniteLossError, match="step 3"):
        fit(
            make_state(),
            data_with_a_nan(),
            train_step=STEP,
            batch_size=4,
            shuffle=False,
            key=None,
            progress=False,
            fused=True,
        )
    with pytest.raises(ValueError, match=r"on_nan must be one of \('raise', 'warn', 'skip'\)"):
        fit(
            make_state(),
            data_with_a_nan(),
            train_step=STEP,
            batch_size=4,
            key=0,
            progress=False,
            on_nan="ignore",
        )


class Net(nn.Module):
    @nn.compact
    def __call__(self, x):
        h = nn.Dense(3, name="encoder")(x)
        return jnp.log(h - 100.0)  # NaN: log of a negative number


def test_debug_nans_names_the_module_the_line_and_watched_params():
    x = jnp.ones((2, 4))
    variables = Net().init(jax.random.key(0), x)
    bad = jax.tree.map(lambda a: a.at[0].set(jnp.nan), variables)
    with pytest.raises(FloatingPointError, match="log") as e, debug.debug_nans(bad["params"]):
        jax.jit(Net().apply)(variables, x)
    note = e.value.__notes__[-1]
    assert "module: <root>, Net.__call__" in note
    assert "test_train_nan.py:" in note
    assert "['encoder']['bias']: 1 NaN, 0 inf of 3" in note
    assert "['encoder']['kernel']: 3 NaN" in note


def test_debug_checks_catches_an_embed_id_out_of_range_inside_jit():
    embed = nn.Embed(10, 3)
    variables = embed.init(jax.random.key(0), jnp.arange(2))
    ids = jnp.array([1, 12])
    filled = jax.jit(embed.apply)(variables, ids)  # plain jax: a row of NaN, no error
    assert np.all(np.isnan(np.asarray(filled[1])))
    with pytest.raises(checkify.JaxRuntimeError, match=r"index 12 is out of bounds.*size 10"):
        debug.debug_checks(jax.jit(embed.apply))(variables, ids)
    out = debug.debug_checks(embed.apply)(variables, jnp.array([1, 2]))
    np.testing.assert_array_equal(out, embed.apply(variables, jnp.array([1, 2])))


def test_debug_key_reuse():
    key = jax.random.key(0)
    with debug.debug_key_reuse():
        jax.random.normal(key)
        with pytest.raises(jax.errors.KeyReuseError):
            jax.random.normal(key)
