"""Recurrent cells and the `RNN` loop (flax: `nn.recurrent`).

A cell maps ``(carry, x_t) -> (new_carry, y_t)`` for one time step; `RNN` runs it
over the time axis with `nn.scan`, the same weights at every step; `Bidirectional`
runs two RNNs, one in each direction. Cells: `LSTMCell`, `OptimizedLSTMCell`,
`GRUCell`, `SimpleCell`, `MGUCell`, `ConvLSTMCell`.

Every gate is a sum of two :class:`~minijax.nn.Dense` layers, one on the input
``x`` (names ``i*``) and one on the hidden state ``h`` (names ``h*``), exactly as
flax names and shapes them, so flax's params load unchanged::

    LSTMCell: ii if ig io  kernel (in, H), no bias
              hi hf hg ho  kernel (H, H), bias (H,)
    GRUCell:  ir iz in     kernel (in, H), bias (H,)
              hr hz        kernel (H, H), no bias
              hn           kernel (H, H), bias (H,)

Input kernels start as ``lecun_normal``, recurrent kernels as ``orthogonal``
(eigenvalues of modulus 1: the state neither explodes nor vanishes at first),
biases as zeros, as flax.
"""

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.core import FrozenDict
from minijax.nn import initializers, transforms
from minijax.nn.activation import sigmoid, tanh
from minijax.nn.conv import Conv
from minijax.nn.dtypes import promote_dtype
from minijax.nn.linear import Dense
from minijax.nn.module import Module, compact, nowrap
from minijax.typing import Array, Float, Inexact, Integer, PRNGKeyArray, Shaped, typed

__all__ = [
    "RNN",
    "Bidirectional",
    "ConvLSTMCell",
    "DenseParams",
    "GRUCell",
    "LSTMCell",
    "MGUCell",
    "OptimizedLSTMCell",
    "RNNCellBase",
    "SimpleCell",
    "flip_sequences",
    "gru_gates",
    "lstm_gates",
]

ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax
Carry = Any
LSTMCarry = tuple[Array, Array]  # (c, h)

default_kernel_init = initializers.lecun_normal()
default_recurrent_init = initializers.orthogonal()


# --- the gate math, as pure functions ---------------------------------------------------


@typed
def lstm_gates(
    c: Inexact[Array, "*batch hidden"],
    pre_i: Inexact[Array, "*batch hidden"],
    pre_f: Inexact[Array, "*batch hidden"],
    pre_g: Inexact[Array, "*batch hidden"],
    pre_o: Inexact[Array, "*batch hidden"],
    gate_fn: Callable[[Array], Array] = jax.nn.sigmoid,
    activation_fn: Callable[[Array], Array] = jnp.tanh,
) -> tuple[Inexact[Array, "*batch hidden"], Inexact[Array, "*batch hidden"]]:
    """One LSTM update from the gate pre-activations: returns ``(new_c, new_h)``.

    ::

        i = sigma(pre_i)   input gate         f = sigma(pre_f)   forget gate
        g = tanh(pre_g)    candidate memory   o = sigma(pre_o)   output gate
        c' = f * c + i * g
        h' = o * tanh(c')

    where ``pre_i = W_ii x + W_hi h + b_hi`` and likewise for f, g, o.
    """
    # >>> TASK A7.3
    i, f, o = gate_fn(pre_i), gate_fn(pre_f), gate_fn(pre_o)
    g = activation_fn(pre_g)
    new_c = f * c + i * g
    return new_c, o * activation_fn(new_c)
    # <<< TASK A7.3


@typed
def gru_gates(
    h: Inexact[Array, "*batch hidden"],
    x_r: Inexact[Array, "*batch hidden"],
    x_z: Inexact[Array, "*batch hidden"],
    x_n: Inexact[Array, "*batch hidden"],
    h_r: Inexact[Array, "*batch hidden"],
    h_z: Inexact[Array, "*batch hidden"],
    h_n: Inexact[Array, "*batch hidden"],
    gate_fn: Callable[[Array], Array] = jax.nn.sigmoid,
    activation_fn: Callable[[Array], Array] = jnp.tanh,
) -> Inexact[Array, "*batch hidden"]:
    """One GRU update from the input and hidden projections: returns ``new_h``.

    ::

        r = sigma(W_ir x + b_ir + W_hr h)              reset gate
        z = sigma(W_iz x + b_iz + W_hz h)              update gate
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  candidate
        h' = (1 - z) * n + z * h

    ``x_*`` are the input projections, ``h_*`` the hidden ones (``h_n`` with its bias).
    """
    # >>> TASK A7.4
    r = gate_fn(x_r + h_r)
    z = gate_fn(x_z + h_z)
    n = activation_fn(x_n + r * h_n)
    return (1.0 - z) * n + z * h
    # <<< TASK A7.4


# --- cells -------------------------------------------------------------------------------


class RNNCellBase(Module):
    """Base class of recurrent cells (flax: ``nn.RNNCellBase``).

    A cell is called as ``(new_carry, y) = cell(carry, x)`` on one time step, and
    ``initialize_carry(rng, input_shape)`` makes the first carry for inputs of
    ``input_shape`` ``(*batch, in_features)``.
    """

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> Carry:
        """The initial carry for one time step's input of shape ``input_shape``."""
        raise NotImplementedError

    @property
    def num_feature_axes(self) -> int:
        """How many trailing axes of the input are features (1 for LSTM and GRU)."""
        raise NotImplementedError


class _GatedCell(RNNCellBase):
    """The attributes :class:`LSTMCell` and :class:`GRUCell` share, and their Dense layers.

    flax declares the same attributes on each cell; here they are written once.
    """

    features: int
    gate_fn: Callable[..., Any] = sigmoid
    activation_fn: Callable[..., Any] = tanh
    kernel_init: Any = default_kernel_init
    recurrent_kernel_init: Any = default_recurrent_init
    bias_init: Any = initializers.zeros_init()
    dtype: Any = None
    param_dtype: Any = jnp.float32
    carry_init: Any = initializers.zeros_init()

    @nowrap
    def _dense(self, name: str, use_bias: bool, hidden: int) -> Dense:
        """The ``Dense(hidden)`` called ``name`` (``i*``: on the input, ``h*``: on ``h``).

        ``hidden`` is the carry's hidden size: as in flax, a call follows the carry it
        is given, and ``features`` only sizes the carry of ``initialize_carry`` (flax's
        seq2seq example feeds its decoder cell an encoder carry of another size). Input
        kernels start from ``kernel_init``, hidden ones from ``recurrent_kernel_init``.
        """
        return Dense(
            hidden,
            use_bias=use_bias,
            kernel_init=self.kernel_init if name[0] == "i" else self.recurrent_kernel_init,
            bias_init=self.bias_init,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name=name,
        )

    @property
    def num_feature_axes(self) -> int:
        return 1


class LSTMCell(_GatedCell):
    r"""Long short-term memory cell (flax: ``nn.LSTMCell``).

    With ``H = features`` and the carry ``(c, h)``::

        i = sigma(W_ii x + W_hi h + b_hi)
        f = sigma(W_if x + W_hf h + b_hf)
        g = tanh(W_ig x + W_hg h + b_hg)
        o = sigma(W_io x + W_ho h + b_ho)
        c' = f * c + i * g,    h' = o * tanh(c')

    returns ``((c', h'), h')``. Parameters: ``ii, if, ig, io`` (Dense ``(in, H)``, no
    bias) and ``hi, hf, hg, ho`` (Dense ``(H, H)`` with bias ``(H,)``).

    Attributes:
      features: the hidden size ``H`` of the carry that `initialize_carry` makes (a
        call takes ``H`` from the carry it is given, as flax does).
      gate_fn: gate nonlinearity (default sigmoid).
      activation_fn: memory / output nonlinearity (default tanh).
      kernel_init: input kernels' initializer (default lecun_normal).
      recurrent_kernel_init: hidden kernels' initializer (default orthogonal).
      bias_init: bias initializer (default zeros).
      dtype, param_dtype: as Dense.
      carry_init: initializer of ``c`` and ``h`` (default zeros).
    """

    @compact
    @typed
    def __call__(
        self,
        carry: tuple[Float[ArrayIn, "*batch hidden"], Float[ArrayIn, "*batch hidden"]],
        inputs: Inexact[ArrayIn, "*batch in_features"],
    ) -> tuple[
        tuple[Inexact[Array, "*batch hidden"], Inexact[Array, "*batch hidden"]],
        Inexact[Array, "*batch hidden"],
    ]:
        """One step: ``((c, h), x) -> ((c', h'), h')``."""
        c, h = jnp.asarray(carry[0]), jnp.asarray(carry[1])
        hidden = h.shape[-1]
        pre = {
            g: self._dense(f"i{g}", use_bias=False, hidden=hidden)(inputs)
            + self._dense(f"h{g}", use_bias=True, hidden=hidden)(h)
            for g in "ifgo"
        }
        new_c, new_h = lstm_gates(
            c, pre["i"], pre["f"], pre["g"], pre["o"], self.gate_fn, self.activation_fn
        )
        return (new_c, new_h), new_h

    @nowrap
    def initialize_carry(
        self, rng: PRNGKeyArray, input_shape: tuple[int, ...]
    ) -> tuple[Array, Array]:
        """``(c, h)``, each ``(*batch, features)`` from ``carry_init`` (zeros by default)."""
        mem_shape = (*input_shape[:-1], self.features)
        key1, key2 = jax.random.split(rng)
        return (
            self.carry_init(key1, mem_shape, self.param_dtype),
            self.carry_init(key2, mem_shape, self.param_dtype),
        )


class GRUCell(_GatedCell):
    r"""Gated recurrent unit cell (flax: ``nn.GRUCell``).

    With ``H = features`` and the carry ``h``::

        r = sigma(W_ir x + b_ir + W_hr h)
        z = sigma(W_iz x + b_iz + W_hz h)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
        h' = (1 - z) * n + z * h

    returns ``(h', h')``. Parameters: ``ir, iz, in`` (Dense ``(in, H)`` with bias),
    ``hr, hz`` (Dense ``(H, H)``, no bias) and ``hn`` (Dense ``(H, H)`` with bias).

    Attributes: as :class:`LSTMCell`.
    """

    @compact
    @typed
    def __call__(
        self,
        carry: Float[ArrayIn, "*batch hidden"],
        inputs: Inexact[ArrayIn, "*batch in_features"],
    ) -> tuple[Inexact[Array, "*batch hidden"], Inexact[Array, "*batch hidden"]]:
        """One step: ``(h, x) -> (h', h')``."""
        h = jnp.asarray(carry)
        dense = partial(self._dense, hidden=h.shape[-1])
        x_r, h_r = dense("ir", use_bias=True)(inputs), dense("hr", use_bias=False)(h)
        x_z, h_z = dense("iz", use_bias=True)(inputs), dense("hz", use_bias=False)(h)
        x_n, h_n = dense("in", use_bias=True)(inputs), dense("hn", use_bias=True)(h)
        new_h = gru_gates(h, x_r, x_z, x_n, h_r, h_z, h_n, self.gate_fn, self.activation_fn)
        return new_h, new_h

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> Array:
        """``h`` of shape ``(*batch, features)`` from ``carry_init`` (zeros by default)."""
        h: Array = self.carry_init(rng, (*input_shape[:-1], self.features), self.param_dtype)
        return h

# --- more cells: flax's OptimizedLSTMCell, SimpleCell, MGUCell, ConvLSTMCell ------------


class DenseParams(Module):
    """Only the parameters of a `Dense`: returns `(kernel, bias)` (flax: `DenseParams`).

    `OptimizedLSTMCell` concatenates the four gates' kernels into one matmul; this
    module keeps flax's per-gate parameter names.

    >>> import jax, jax.numpy as jnp
    >>> k, b = DenseParams(2).init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0]
    >>> k.shape, b.shape
    ((3, 2), (2,))
    """

    features: int
    use_bias: bool = True
    param_dtype: Any = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros_init()

    @compact
    def __call__(self, inputs: Array) -> tuple[Array, Array | None]:
        k = self.param("kernel", self.kernel_init, (inputs.shape[-1], self.features),
                       self.param_dtype)
        b = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
             if self.use_bias else None)
        return k, b


class OptimizedLSTMCell(_GatedCell):
    r"""An `LSTMCell` that computes the four gates in one matmul each for `x` and `h`.

    In flax this is `nn.OptimizedLSTMCell`: the same parameters (`ii` ... `ho`, as
    `LSTMCell`) and the same math; the kernels are concatenated to `(in, 4H)` and
    `(H, 4H)` before multiplying, so it runs faster and its outputs may differ from
    `LSTMCell`'s in the last bits.

    >>> import jax, jax.numpy as jnp
    >>> cell = OptimizedLSTMCell(4)
    >>> carry = cell.initialize_carry(jax.random.key(0), (2, 3))
    >>> (c, h), y = cell.init_with_output(jax.random.key(1), carry, jnp.ones((2, 3)))[0]
    >>> y.shape
    (2, 4)
    """

    @compact
    def __call__(self, carry: LSTMCarry, inputs: Array) -> tuple[LSTMCarry, Array]:
        """One step: `((c, h), x) -> ((c', h'), h')`."""
        c, h = carry
        hidden = h.shape[-1]

        def concat_dense(x: Array, params: dict[str, tuple[Array, Array | None]],
                         use_bias: bool) -> dict[str, Array]:
            kernels = [k for k, _ in params.values()]
            kernel = jnp.concatenate(kernels, axis=-1)
            bias = jnp.concatenate([b for _, b in params.values() if b is not None], axis=-1) \
                if use_bias else None
            x, kernel, bias = promote_dtype(x, kernel, bias, dtype=self.dtype)
            y = jnp.dot(x, kernel)
            if bias is not None:
                y += jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
            ys = jnp.split(y, np.cumsum([k.shape[-1] for k in kernels[:-1]]), axis=-1)
            return dict(zip(params, ys, strict=True))

        params_i, params_h = {}, {}
        for g in "ifgo":
            params_i[g] = DenseParams(hidden, use_bias=False, param_dtype=self.param_dtype,
                                      kernel_init=self.kernel_init, bias_init=self.bias_init,
                                      name=f"i{g}")(inputs)
            params_h[g] = DenseParams(hidden, use_bias=True, param_dtype=self.param_dtype,
                                      kernel_init=self.recurrent_kernel_init,
                                      bias_init=self.bias_init, name=f"h{g}")(h)
        dh, di = concat_dense(h, params_h, True), concat_dense(inputs, params_i, False)
        i = self.gate_fn(dh["i"] + di["i"])
        f = self.gate_fn(dh["f"] + di["f"])
        g = self.activation_fn(dh["g"] + di["g"])
        o = self.gate_fn(dh["o"] + di["o"])
        new_c = f * c + i * g
        new_h = o * self.activation_fn(new_c)
        return (new_c, new_h), new_h

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> LSTMCarry:
        """`(c, h)`, each `(*batch, features)` from `carry_init`."""
        mem_shape = (*input_shape[:-1], self.features)
        key1, key2 = jax.random.split(rng)
        return (self.carry_init(key1, mem_shape, self.param_dtype),
                self.carry_init(key2, mem_shape, self.param_dtype))


class SimpleCell(RNNCellBase):
    r"""The Elman cell, $h' = \tanh(W_i x + b + W_h h)$ (flax: `nn.SimpleCell`).

    Parameters `i` (Dense with bias) and `h` (Dense, no bias); with `residual=True`,
    $h' = \tanh(W_i x + b + W_h h + h)$. Returns `(h', h')`.

    >>> import jax, jax.numpy as jnp
    >>> cell = SimpleCell(4)
    >>> h = cell.initialize_carry(jax.random.key(0), (2, 3))
    >>> sorted(cell.init(jax.random.key(1), h, jnp.ones((2, 3)))["params"])
    ['h', 'i']
    """

    features: int
    activation_fn: Callable[..., Any] = tanh
    kernel_init: Any = default_kernel_init
    recurrent_kernel_init: Any = default_recurrent_init
    bias_init: Any = initializers.zeros_init()
    dtype: Any = None
    param_dtype: Any = jnp.float32
    carry_init: Any = initializers.zeros_init()
    residual: bool = False

    @compact
    def __call__(self, carry: Array, inputs: Array) -> tuple[Array, Array]:
        """One step: `(h, x) -> (h', h')`."""
        hidden = carry.shape[-1]
        new = Dense(hidden, use_bias=True, dtype=self.dtype, param_dtype=self.param_dtype,
                    kernel_init=self.kernel_init, bias_init=self.bias_init, name="i")(inputs)
        new = new + Dense(hidden, use_bias=False, dtype=self.dtype,
                          param_dtype=self.param_dtype,
                          kernel_init=self.recurrent_kernel_init, name="h")(carry)
        if self.residual:
            new += carry
        new = self.activation_fn(new)
        return new, new

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> Array:
        """`h` of shape `(*batch, features)` from `carry_init`."""
        h: Array = self.carry_init(rng, (*input_shape[:-1], self.features), self.param_dtype)
        return h

    @property
    def num_feature_axes(self) -> int:
        return 1


class MGUCell(RNNCellBase):
    r"""The minimal gated unit: one forget gate (flax: `nn.MGUCell`).

    $f = \sigma(W_{if} x + b_f + W_{hf} h)$,
    $n = \tanh(W_{in} x + b_n + f \odot (W_{hn} h + b_{hn}))$,
    $h' = (1 - f) n + f h$; returns `(h', h')`. Without `reset_gate`, the
    $f \odot$ and $b_{hn}$ go away. The forget bias starts at ones.

    >>> import jax, jax.numpy as jnp
    >>> cell = MGUCell(4)
    >>> h = cell.initialize_carry(jax.random.key(0), (2, 3))
    >>> sorted(cell.init(jax.random.key(1), h, jnp.ones((2, 3)))["params"])
    ['hf', 'hn', 'if', 'in']
    """

    features: int
    gate_fn: Callable[..., Any] = sigmoid
    activation_fn: Callable[..., Any] = tanh
    kernel_init: Any = default_kernel_init
    recurrent_kernel_init: Any = default_recurrent_init
    forget_bias_init: Any = initializers.ones_init()
    activation_bias_init: Any = initializers.zeros_init()
    dtype: Any = None
    param_dtype: Any = jnp.float32
    carry_init: Any = initializers.zeros_init()
    reset_gate: bool = True

    @compact
    def __call__(self, carry: Array, inputs: Array) -> tuple[Array, Array]:
        """One step: `(h, x) -> (h', h')`."""
        h = carry
        hidden = h.shape[-1]

        def dense_h(name: str, use_bias: bool = False) -> Dense:
            return Dense(hidden, use_bias=use_bias, dtype=self.dtype,
                         param_dtype=self.param_dtype, kernel_init=self.recurrent_kernel_init,
                         bias_init=self.activation_bias_init, name=name)

        def dense_i(name: str, bias_init: Any) -> Dense:
            return Dense(hidden, use_bias=True, dtype=self.dtype, param_dtype=self.param_dtype,
                         kernel_init=self.kernel_init, bias_init=bias_init, name=name)

        f = self.gate_fn(dense_i("if", self.forget_bias_init)(inputs) + dense_h("hf")(h))
        x = dense_h("hn", use_bias=self.reset_gate)(h)
        if self.reset_gate:
            x *= f
        n = self.activation_fn(dense_i("in", self.activation_bias_init)(inputs) + x)
        new_h = (1.0 - f) * n + f * h
        return new_h, new_h

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> Array:
        """`h` of shape `(*batch, features)` from `carry_init`."""
        h: Array = self.carry_init(rng, (*input_shape[:-1], self.features), self.param_dtype)
        return h

    @property
    def num_feature_axes(self) -> int:
        return 1


class ConvLSTMCell(RNNCellBase):
    r"""An LSTM whose gates are convolutions: for frames of images (flax: `nn.ConvLSTMCell`).

    `ih` and `hh` are `Conv(4 * features)`; the gates `i, g, f, o` are the four
    quarters of their sum, with the forget gate's bias shifted by one:
    $c' = \sigma(f + 1) c + \sigma(i) \tanh(g)$, $h' = \sigma(o) \tanh(c')$.

    >>> import jax, jax.numpy as jnp
    >>> cell = ConvLSTMCell(2, kernel_size=(3, 3))
    >>> carry = cell.initialize_carry(jax.random.key(0), (1, 5, 5, 3))
    >>> carry[0].shape
    (1, 5, 5, 2)
    """

    features: int
    kernel_size: Sequence[int]
    strides: Sequence[int] | None = None
    padding: Any = "SAME"
    use_bias: bool = True
    dtype: Any = None
    param_dtype: Any = jnp.float32
    carry_init: Any = initializers.zeros_init()

    @compact
    def __call__(self, carry: LSTMCarry, inputs: Array) -> tuple[LSTMCarry, Array]:
        """One step: `((c, h), x) -> ((c', h'), h')`."""
        c, h = carry

        def conv(name: str) -> Conv:
            return Conv(4 * self.features, kernel_size=self.kernel_size, strides=self.strides,
                        padding=self.padding, use_bias=self.use_bias, dtype=self.dtype,
                        param_dtype=self.param_dtype, name=name)

        gates = conv("ih")(inputs) + conv("hh")(h)
        i, g, f, o = jnp.split(gates, indices_or_sections=4, axis=-1)
        f = sigmoid(f + 1)
        new_c = f * c + sigmoid(i) * jnp.tanh(g)
        new_h = sigmoid(o) * jnp.tanh(new_c)
        return (new_c, new_h), new_h

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> LSTMCarry:
        """`(c, h)`, each `(*batch, *spatial, features)` from `carry_init`."""
        signal = input_shape[-self.num_feature_axes:-1]
        batch = input_shape[:-self.num_feature_axes]
        key1, key2 = jax.random.split(rng)
        mem_shape = (*batch, *signal, self.features)
        return (self.carry_init(key1, mem_shape, self.param_dtype),
                self.carry_init(key2, mem_shape, self.param_dtype))

    @property
    def num_feature_axes(self) -> int:
        return len(self.kernel_size) + 1


# --- the loop --------------------------------------------------------------------------


class RNN(Module):
    """Run a cell over the time axis with `nn.scan` (flax: `nn.RNN`).

    ::

        carry_0 = initial_carry or cell.initialize_carry(init_key, x[:, 0].shape)
        carry_t, y_t = cell(carry_{t-1}, x_t)        for t = 1..T
        returns y = stack(y_1..y_T) on the time axis   (or (carry_T, y))

    Inputs are `(*batch, time, *features)`, or `(time, *batch, *features)` with
    `time_major=True`. The loop is `nn.scan` over a function of the cell, with the
    cell's params broadcast to every step (`variable_broadcast="params"`,
    `split_rngs={"params": False}`): one set of weights, under the cell's name
    (`cell` for a top-level `RNN`, as in flax). `variable_axes`, `variable_carry`
    and `split_rngs` go to `nn.scan` (e.g. `split_rngs={"params": False,
    "dropout": True}` for a fresh dropout mask at every step).

    `seq_lengths` (`(*batch,)` ints): with `return_carry` the returned carry is
    the one after each sequence's last valid step; outputs past the length are not
    zeroed (as flax). `reverse` runs right to left (padding stays at the end) and
    `keep_order` flips the outputs back.

    Attributes:
      cell: the `RNNCellBase` instance to run.
      time_major: time axis first (default False: after the batch axes).
      return_carry: return `(carry, outputs)` (default: outputs only).
      reverse, keep_order: process right to left; restore the order of outputs.
      unroll: steps per scan iteration (passed to `lax.scan`).
      variable_axes, variable_broadcast, variable_carry, split_rngs: for `nn.scan`.

    >>> import jax, jax.numpy as jnp
    >>> rnn = RNN(LSTMCell(4))
    >>> variables = rnn.init(jax.random.key(0), jnp.ones((2, 5, 3)))
    >>> rnn.apply(variables, jnp.ones((2, 5, 3))).shape
    (2, 5, 4)
    """

    cell: RNNCellBase
    time_major: bool = False
    return_carry: bool = False
    reverse: bool = False
    keep_order: bool = False
    unroll: int = 1
    variable_axes: Mapping[Any, Any] = FrozenDict()
    variable_broadcast: Any = "params"
    variable_carry: Any = False
    split_rngs: Mapping[Any, bool] = FrozenDict({"params": False})

    def __call__(
        self,
        inputs: ArrayIn,
        *,
        initial_carry: Carry | None = None,
        init_key: PRNGKeyArray | None = None,
        seq_lengths: ArrayIn | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
    ) -> Any:
        """Run the cell over `inputs`; the arguments override the attributes of the same name."""
        return_carry = self.return_carry if return_carry is None else return_carry
        time_major = self.time_major if time_major is None else time_major
        reverse = self.reverse if reverse is None else reverse
        keep_order = self.keep_order if keep_order is None else keep_order
        inputs = jnp.asarray(inputs)

        num_feature_axes = self.cell.num_feature_axes
        if inputs.ndim < num_feature_axes + 1:
            raise ValueError(
                f"RNN: the input has shape {inputs.shape}, but needs a time axis and "
                f"{num_feature_axes} feature axis: (*batch, time, features), or (time, "
                "*batch, features) with time_major=True."
            )
        time_axis = 0 if time_major else inputs.ndim - (num_feature_axes + 1)
        num_batch = inputs.ndim - num_feature_axes - 1
        if reverse:
            inputs = flip_sequences(inputs, seq_lengths, num_batch, time_major)

        if initial_carry is None:
            key = jax.random.key(0) if init_key is None else init_key
            step_shape = inputs.shape[:time_axis] + inputs.shape[time_axis + 1:]
            carry = self.cell.initialize_carry(key, step_shape)
        else:
            carry = initial_carry

        slice_carry = seq_lengths is not None and return_carry

        def scan_fn(cell: Any, carry: Carry, x: Array) -> tuple[Carry, Any]:
            carry, y = cell(carry, x)
            return carry, ((carry, y) if slice_carry else y)

        scan = transforms.scan(
            scan_fn, in_axes=time_axis,
            out_axes=(0, time_axis) if slice_carry else time_axis, unroll=self.unroll,
            variable_axes=self.variable_axes, variable_broadcast=self.variable_broadcast,
            variable_carry=self.variable_carry, split_rngs=self.split_rngs)
        carry, outputs = scan(self.cell, carry, inputs)
        if slice_carry:
            carries, outputs = outputs
            last = jnp.asarray(seq_lengths) - 1
            carry = jax.tree.map(lambda a: a[last, jnp.arange(a.shape[1])], carries)
        if reverse and keep_order:
            outputs = jax.tree.map(
                lambda a: flip_sequences(a, seq_lengths, num_batch, time_major), outputs)
        return (carry, outputs) if return_carry else outputs


def _concatenate(a: Array, b: Array) -> Array:
    return jnp.concatenate([a, b], axis=-1)


class Bidirectional(Module):
    """Run one RNN forward and one backward, and merge their outputs (flax: `nn.Bidirectional`).

    The backward RNN runs with `reverse=True, keep_order=True`, so both outputs are in
    time order; `merge_fn` (default: concatenate features) combines them. The carry
    is `(forward carry, backward carry)`; `init_key` is split between the two.

    >>> import jax, jax.numpy as jnp
    >>> bi = Bidirectional(RNN(GRUCell(3)), RNN(GRUCell(3)))
    >>> variables = bi.init(jax.random.key(0), jnp.ones((2, 5, 4)))
    >>> bi.apply(variables, jnp.ones((2, 5, 4))).shape
    (2, 5, 6)
    """

    forward_rnn: Any
    backward_rnn: Any
    merge_fn: Callable[[Array, Array], Array] = _concatenate
    time_major: bool = False
    return_carry: bool = False

    def __call__(
        self,
        inputs: ArrayIn,
        *,
        initial_carry: Carry | None = None,
        init_key: PRNGKeyArray | None = None,
        seq_lengths: ArrayIn | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
    ) -> Any:
        """Both directions over `inputs`; `reverse` and `keep_order` are ignored, as in flax."""
        time_major = self.time_major if time_major is None else time_major
        return_carry = self.return_carry if return_carry is None else return_carry
        key_f = key_b = None
        if init_key is not None:
            key_f, key_b = jax.random.split(init_key)
        carry_f = carry_b = None
        if initial_carry is not None:
            carry_f, carry_b = initial_carry
        carry_f, out_f = self.forward_rnn(
            inputs, initial_carry=carry_f, init_key=key_f, seq_lengths=seq_lengths,
            return_carry=True, time_major=time_major, reverse=False)
        carry_b, out_b = self.backward_rnn(
            inputs, initial_carry=carry_b, init_key=key_b, seq_lengths=seq_lengths,
            return_carry=True, time_major=time_major, reverse=True, keep_order=True)
        outputs = jax.tree.map(self.merge_fn, out_f, out_b)
        return ((carry_f, carry_b), outputs) if return_carry else outputs


@typed
def flip_sequences(
    inputs: Shaped[Array, "..."],
    seq_lengths: Integer[ArrayIn, "*batch"] | None,
    num_batch_dims: int,
    time_major: bool,
) -> Shaped[Array, "..."]:
    """Reverse each sequence along the time axis, keeping padding at the end (flax: same).

    ``[[1, 0, 0], [2, 3, 0], [4, 5, 6]]`` with lengths ``[1, 2, 3]`` becomes
    ``[[1, 0, 0], [3, 2, 0], [6, 5, 4]]``: element ``t < L`` moves to ``L - 1 - t``.
    """
    time_axis = 0 if time_major else num_batch_dims
    steps = inputs.shape[time_axis]
    if seq_lengths is None:
        return jnp.flip(inputs, axis=time_axis)
    lengths = jnp.expand_dims(jnp.asarray(seq_lengths), axis=time_axis)
    idxs = jnp.arange(steps - 1, -1, -1)
    if time_major:
        idxs = jnp.reshape(idxs, [steps] + [1] * num_batch_dims)
    else:
        idxs = jnp.reshape(idxs, [1] * num_batch_dims + [steps])
    idxs = (idxs + lengths) % steps
    idxs = jnp.reshape(idxs, idxs.shape + (1,) * (inputs.ndim - idxs.ndim))
    return jnp.take_along_axis(inputs, idxs, axis=time_axis)
