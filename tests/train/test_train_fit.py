"""fit: epochs, shuffling, evaluation, history, progress output, Ctrl-C."""

import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from minijax import data
from minijax.random import KeyManager
from minijax.train import (
    TrainState,
    fit,
    make_eval_step,
    make_train_step,
    train_step_fn,
)


def apply_fn(variables, x):
    p = variables["params"]
    return x @ p["w"] + p["b"]


def make_state():
    params = {"w": jnp.zeros((1, 1)), "b": jnp.zeros(1)}
    return TrainState.create(apply_fn=apply_fn, params=params, tx=optax.adam(0.1))


def loss_fn(params, state, batch):
    x, y = batch
    pred = state.apply_fn({"params": params}, x)
    return jnp.mean((pred - y) ** 2), {"mae": jnp.mean(jnp.abs(pred - y))}


TRAIN = data.linear(0, 96)
TEST = data.linear(1, 40)
STEP = make_train_step(loss_fn, has_aux=True)
EVAL = make_eval_step(loss_fn, has_aux=True)


def test_fit_trains_and_records_history(capsys):
    state, history = fit(
        make_state(),
        TRAIN,
        train_step=STEP,
        epochs=3,
        batch_size=32,
        key=0,
        eval_data=TEST,
        eval_step=EVAL,
        progress=False,
    )
    assert int(state.step) == 9 and history.epochs_completed == 3
    assert not history.interrupted
    assert len(history.step["loss"]) == 9 and len(history.epoch["mae"]) == 3
    assert len(history.eval["loss"]) == 3
    assert history.epoch["loss"][-1] < history.epoch["loss"][0]
    np.testing.assert_allclose(history.epoch["loss"][0], np.mean(history.step["loss"][:3]))
    assert capsys.readouterr().out == ""  # progress=False prints nothing
    assert set(history.as_dict()) >= {"step", "epoch", "eval", "interrupted"}


def test_fit_is_reproducible_and_key_dependent():
    def run(key):
        state, hist = fit(
            make_state(), TRAIN, train_step=STEP, epochs=2, batch_size=32, key=key, progress=False
        )
        return np.asarray(state.params["w"]).tobytes(), hist.step["loss"]

    a, b, c = run(0), run(0), run(KeyManager.create(5, streams=("shuffle",)))
    assert a == b
    assert a[1] != c[1]


def test_fit_fused_equals_python_loop():
    kwargs = dict(epochs=2, batch_size=32, key=3, progress=False, drop_last=True)
    fused, hist_f = fit(
        make_state(), TRAIN, train_step=train_step_fn(loss_fn, has_aux=True), fused=True, **kwargs
    )
    plain, hist_p = fit(make_state(), TRAIN, train_step=STEP, **kwargs)
    for a, b in zip(jax.tree.leaves(fused), jax.tree.leaves(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hist_f.step["loss"], hist_p.step["loss"], rtol=1e-5)


def test_fit_prints_plain_lines_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    lines = []
    fit(
        make_state(),
        TRAIN,
        train_step=STEP,
        epochs=2,
        batch_size=48,
        key=0,
        eval_data=TEST,
        eval_step=EVAL,
        print_fn=lines.append,
    )
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2: loss ") and "eval_loss" in lines[1]


def test_fit_with_tqdm_shows_a_bar(capsys):
    pytest.importorskip("tqdm")
    fit(make_state(), TRAIN, train_step=STEP, epochs=1, batch_size=32, key=0)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "loss=" in err


def test_keyboard_interrupt_from_callback_returns_last_good_state():
    seen = []

    def on_step(step, state, metrics):
        seen.append(np.asarray(state.params["w"]).copy())
        if step == 4:
            raise KeyboardInterrupt

    state, history = fit(
        make_state(),
        TRAIN,
        train_step=STEP,
        epochs=5,
        batch_size=32,
        key=0,
        on_step=on_step,
        progress=False,
    )
    assert history.interrupted and history.epochs_completed == 1
    assert int(state.step) == 5 and len(history.step["loss"]) == 5
    np.testing.assert_array_equal(state.params["w"], seen[-1])
    # the returned state is usable: train on from it
    state, _ = STEP(state, TRAIN)
    assert int(state.step) == 6


def test_keyboard_interrupt_from_data_iterator():
    batches = list(data.iterate_batches(TRAIN, 16))

    def epoch_data(epoch):
        for i, b in enumerate(batches):
            if epoch == 1 and i == 2:
                raise KeyboardInterrupt
            yield b

    state, history = fit(
        make_state(), epoch_data, train_step=STEP, epochs=3, progress=True, print_fn=lambda s: None
    )
    assert history.interrupted and history.epochs_completed == 1
    assert int(state.step) == len(batches) + 2
    assert not any(x.is_deleted() for x in jax.tree.leaves(state))


def test_on_epoch_can_stop_and_loader_input():
    loader = data.Loader(TRAIN, 32, shuffle=True, key=0)
    calls = []

    def on_epoch(epoch, state, logs):
        calls.append((epoch, set(logs)))
        return epoch == 1

    state, history = fit(
        make_state(),
        loader,
        train_step=STEP,
        epochs=10,
        on_epoch=on_epoch,
        eval_data=data.Loader(TEST, 16),
        eval_step=EVAL,
        progress=False,
    )
    assert history.epochs_completed == 2 and int(state.step) == 6
    assert calls[0][1] == {"loss", "mae", "eval_loss", "eval_mae"}


def test_eval_is_example_weighted():
    state = make_state()
    _, history = fit(
        state,
        TRAIN,
        train_step=make_train_step(loss_fn, has_aux=True, donate=False),
        epochs=1,
        batch_size=96,
        shuffle=False,
        eval_data=TEST,
        eval_step=EVAL,
        eval_batch_size=16,
        progress=False,
    )
    # 40 examples in batches 16, 16, 8: the mean over examples equals one big batch
    trained, _ = make_train_step(loss_fn, has_aux=True, donate=False)(state, TRAIN)
    full = EVAL(trained, TEST)
    np.testing.assert_allclose(history.eval["loss"][0], float(full["loss"]), rtol=1e-5)


def test_history_plot(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    import matplotlib

    matplotlib.use("Agg")
    _, history = fit(
        make_state(),
        TRAIN,
        train_step=STEP,
        epochs=2,
        batch_size=32,
        key=0,
        eval_data=TEST,
        eval_step=EVAL,
        progress=False,
    )
    ax = history.plot()
    labels = {line.get_label() for line in ax.get_lines()}
    assert {"train loss", "eval loss", "train mae"} <= labels
    ax.figure.savefig(tmp_path / "h.png")
    plt.close("all")


def test_fit_argument_errors():
    with pytest.raises(ValueError, match="eval_step"):
        fit(make_state(), TRAIN, train_step=STEP, batch_size=32, eval_data=TEST)
    with pytest.raises(ValueError, match="fused=True"):
        fit(make_state(), [TRAIN], train_step=STEP, fused=True)
    with pytest.raises(ValueError, match="needs a key"):
        fit(make_state(), TRAIN, train_step=STEP, batch_size=32, key=None)


def test_ctrl_c_is_deferred_until_the_running_step_ends():
    import os
    import signal

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has a custom handler here")
    batches = list(data.iterate_batches(TRAIN, 16))

    def epoch_data(epoch):
        for i, b in enumerate(batches):
            if i == 3:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while fetching batch 3
            yield b

    state, history = fit(make_state(), epoch_data, train_step=STEP, epochs=2, progress=False)
    # the batch being fetched still gets its step; training stops right after it
    assert history.interrupted and int(state.step) == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
