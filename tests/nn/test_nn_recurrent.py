"""LSTMCell, GRUCell and RNN: the gate math, the scan, gradients and errors.

Parity with flax.linen is in test_nn_parity_layers.py.
"""

from typing import Any

import flax.linen as fnn
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _layers import KEY, fake_init, few, normal
from hypothesis import given

import minijax.nn as nn
from minijax.nn.recurrent import flip_sequences
from minijax.testing import check_grads, on_device

X = normal(0, (2, 4, 3))  # (batch, time, features)
CELLS = {"lstm": nn.LSTMCell, "gru": nn.GRUCell}


def test_lstm_cell_params_and_gate_math() -> None:
    cell = nn.LSTMCell(features=5)
    carry = cell.initialize_carry(KEY, X[:, 0].shape)
    assert jax.tree.map(jnp.shape, carry) == ((2, 5), (2, 5))
    variables = fake_init(cell, carry, X[:, 0])
    p = variables["params"]
    assert jax.tree.map(jnp.shape, p) == {
        **{f"i{g}": {"kernel": (3, 5)} for g in "ifgo"},
        **{f"h{g}": {"kernel": (5, 5), "bias": (5,)} for g in "ifgo"},
    }
    c, h = normal(1, (2, 5)), normal(2, (2, 5))
    x = X[:, 0]

    def pre(g: str):  # type: ignore[no-untyped-def]
        return x @ p[f"i{g}"]["kernel"] + h @ p[f"h{g}"]["kernel"] + p[f"h{g}"]["bias"]

    sig = jax.nn.sigmoid
    new_c = sig(pre("f")) * c + sig(pre("i")) * jnp.tanh(pre("g"))
    new_h = sig(pre("o")) * jnp.tanh(new_c)
    (c2, h2), y = cell.apply(variables, (c, h), x)
    np.testing.assert_allclose(c2, new_c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h2, new_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, h2)


def test_gru_cell_params_and_gate_math() -> None:
    cell = nn.GRUCell(features=5)
    h = cell.initialize_carry(KEY, X[:, 0].shape)
    assert h.shape == (2, 5)
    variables = fake_init(cell, h, X[:, 0])
    p = variables["params"]
    assert jax.tree.map(jnp.shape, p) == {
        "ir": {"kernel": (3, 5), "bias": (5,)},
        "iz": {"kernel": (3, 5), "bias": (5,)},
        "in": {"kernel": (3, 5), "bias": (5,)},
        "hr": {"kernel": (5, 5)},
        "hz": {"kernel": (5, 5)},
        "hn": {"kernel": (5, 5), "bias": (5,)},
    }
    h, x = normal(1, (2, 5)), X[:, 0]

    def lin(name: str, v):  # type: ignore[no-untyped-def]
        return v @ p[name]["kernel"] + p[name].get("bias", 0.0)

    r = jax.nn.sigmoid(lin("ir", x) + lin("hr", h))
    z = jax.nn.sigmoid(lin("iz", x) + lin("hz", h))
    n = jnp.tanh(lin("in", x) + r * lin("hn", h))
    h2, y = cell.apply(variables, h, x)
    np.testing.assert_allclose(h2, (1 - z) * n + z * h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y, h2)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_rnn_is_the_cell_in_a_loop(kind: str) -> None:
    """RNN = the cell applied step by step with the params under "cell"."""
    rnn = nn.RNN(CELLS[kind](4), return_carry=True)
    variables = fake_init(rnn, X)
    assert list(variables["params"]) == ["cell"]
    carry, ys = rnn.apply(variables, X)
    assert ys.shape == (2, 4, 4)
    cell = CELLS[kind](4)
    c = cell.initialize_carry(KEY, X[:, 0].shape)
    cell_vars = {"params": variables["params"]["cell"]}
    for t in range(X.shape[1]):
        c, y = cell.apply(cell_vars, c, X[:, t])
        np.testing.assert_allclose(ys[:, t], y, rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), carry, c)
    # time-major layout gives the same numbers, transposed
    ys_tm = nn.RNN(CELLS[kind](4), time_major=True).apply(variables, X.swapaxes(0, 1))
    np.testing.assert_allclose(ys_tm.swapaxes(0, 1), ys, rtol=1e-6)


def test_rnn_seq_lengths_and_reverse() -> None:
    rnn = nn.RNN(nn.GRUCell(3), return_carry=True)
    variables = fake_init(rnn, X)
    lengths = jnp.array([2, 4])
    carry, ys = rnn.apply(variables, X, seq_lengths=lengths)
    np.testing.assert_allclose(carry[0], ys[0, 1], rtol=1e-6)  # the last valid step
    np.testing.assert_allclose(carry[1], ys[1, 3], rtol=1e-6)
    # reverse + keep_order on sequence 0 (length 2) = forward run on its flipped prefix
    _, back = rnn.apply(variables, X, seq_lengths=lengths, reverse=True, keep_order=True)
    _, fwd = rnn.apply(variables, X[:1, 1::-1])
    np.testing.assert_allclose(back[0, :2], fwd[0, ::-1], rtol=1e-5, atol=1e-6)
    padded = jnp.array([[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    flipped = flip_sequences(padded, jnp.array([1, 2, 3]), num_batch_dims=1, time_major=False)
    np.testing.assert_array_equal(flipped, [[1, 0, 0], [3, 2, 0], [6, 5, 4]])


def test_rnn_inside_a_model_under_jit_and_grad() -> None:
    class Model(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Dense(1)(nn.RNN(nn.LSTMCell(4))(x)[:, -1])

    model = Model()
    variables = fake_init(model, X)
    assert sorted(variables["params"]) == ["Dense_0", "LSTMCell_0"]  # as flax names them
    loss = jax.jit(jax.grad(lambda v: model.apply(v, X).sum()))
    grads = loss(variables)
    assert jax.tree.map(jnp.shape, grads) == jax.tree.map(jnp.shape, variables)
    assert all(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads))


@few(0.4)
@given(st.sampled_from(sorted(CELLS)), st.integers(1, 3), st.booleans(), st.integers(0, 3))
def test_gradients(device, kind, steps, reverse, seed) -> None:  # type: ignore[no-untyped-def]
    """d RNN / d (inputs, every cell parameter, the initial carry) over a few steps."""
    rnn = nn.RNN(CELLS[kind](2), return_carry=True, reverse=reverse)
    x = normal(seed, (1, steps, 2))
    variables = fake_init(rnn, x, seed=seed)
    carry = jax.tree.map(
        lambda s: normal(seed + 1, s.shape, 0.5), rnn.cell.initialize_carry(KEY, (1, 2))
    )

    def f(variables, x, carry):  # type: ignore[no-untyped-def]
        return rnn.apply(variables, x, initial_carry=carry)

    with on_device(device):
        check_grads(f, (variables, x, carry))


def test_errors() -> None:
    with pytest.raises(ValueError, match="needs a time axis"):
        nn.RNN(nn.LSTMCell(4)).init(KEY, jnp.zeros((3,)))


@pytest.mark.parametrize(("cell", "carry"), [
    ("LSTMCell", (normal(7, (2, 3)), normal(8, (2, 3)))),
    ("GRUCell", normal(9, (2, 5))),
])
def test_call_follows_the_carry_hidden_size_as_flax(cell: str, carry: Any) -> None:
    """``features`` sizes only ``initialize_carry``: a call takes the hidden size from
    the carry it is given (flax's seq2seq example feeds its decoder cell an encoder
    carry of another size). The same parameters and outputs as flax, bitwise."""
    theirs, mine = getattr(fnn, cell)(4), getattr(nn, cell)(4)
    v_theirs = theirs.init(KEY, carry, X[:, 0])
    v_mine = mine.init(KEY, carry, X[:, 0])
    hidden = jax.tree.leaves(carry)[0].shape[-1]
    assert v_mine["params"]["hz" if cell == "GRUCell" else "hi"]["kernel"].shape == (
        hidden, hidden)
    _assert_bitwise(v_mine, v_theirs)
    _assert_bitwise(mine.apply(v_mine, carry, X[:, 0]), theirs.apply(v_theirs, carry, X[:, 0]))


# --- every cell, RNN's options and Bidirectional: bitwise equal to flax ------------------


SEQ_X = jnp.asarray(np.random.default_rng(5).standard_normal((2, 5, 3)), jnp.float32)
LENGTHS = jnp.array([3, 5])


def _assert_bitwise(mine: Any, theirs: Any) -> None:
    assert jax.tree.structure(mine) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(a, b)


def _rnn_parity(build: Any, x: Any, **call: Any) -> Any:
    theirs, mine = build(fnn), build(nn)
    for seed in (0, 4):
        v_theirs = theirs.init(jax.random.key(seed), x, **call)
        v_mine = mine.init(jax.random.key(seed), x, **call)
        _assert_bitwise(v_mine, v_theirs)
        _assert_bitwise(mine.apply(v_mine, x, **call), theirs.apply(v_theirs, x, **call))
    return v_mine


@pytest.mark.parametrize(
    "cell", ["LSTMCell", "OptimizedLSTMCell", "GRUCell", "SimpleCell", "MGUCell"])
@pytest.mark.parametrize("options", [
    {},
    {"return_carry": True, "reverse": True, "keep_order": True},
    {"time_major": True, "unroll": 2},
])
def test_rnn_cells_equal_flax(cell: str, options: dict[str, Any]) -> None:
    x = SEQ_X.swapaxes(0, 1) if options.get("time_major") else SEQ_X
    call = {} if options.get("time_major") else {"seq_lengths": LENGTHS}
    variables = _rnn_parity(lambda lib: lib.RNN(getattr(lib, cell)(4), **options), x, **call)
    assert set(variables["params"]) == {"cell"}


def test_conv_lstm_cell_over_frames_equals_flax() -> None:
    frames = jnp.asarray(np.random.default_rng(6).standard_normal((1, 3, 5, 5, 2)), jnp.float32)
    variables = _rnn_parity(lambda lib: lib.RNN(lib.ConvLSTMCell(2, kernel_size=(3, 3))), frames)
    assert variables["params"]["cell"]["ih"]["kernel"].shape == (3, 3, 2, 8)


def test_bidirectional_with_lengths_equals_flax() -> None:
    def build(lib: Any) -> Any:
        return lib.Bidirectional(lib.RNN(lib.GRUCell(3)), lib.RNN(lib.LSTMCell(3)),
                                 return_carry=True)

    _rnn_parity(build, SEQ_X, seq_lengths=LENGTHS, init_key=jax.random.key(9))


def test_rnn_split_rngs_gives_each_step_its_own_dropout_mask() -> None:
    def build(lib: Any) -> Any:
        class DropCell(lib.GRUCell):
            @lib.compact
            def __call__(self, carry, inputs):
                inputs = lib.Dropout(0.5, deterministic=False)(inputs)
                return super().__call__(carry, inputs)

        class Net(lib.Module):
            @lib.compact
            def __call__(self, x):
                return lib.RNN(DropCell(3), split_rngs={"params": False, "dropout": True})(x)
        return Net()

    theirs, mine = build(fnn), build(nn)
    rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
    v = mine.init(rngs, SEQ_X)
    _assert_bitwise(v, theirs.init(rngs, SEQ_X))
    drop = {"dropout": jax.random.key(2)}
    _assert_bitwise(mine.apply(v, SEQ_X, rngs=drop), theirs.apply(v, SEQ_X, rngs=drop))
