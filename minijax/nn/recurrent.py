"""Recurrent cells ``LSTMCell``, ``GRUCell`` and the ``RNN`` loop (flax: ``nn.recurrent``).

A cell maps ``(carry, x_t) -> (new_carry, y_t)`` for one time step; :class:`RNN`
runs it over the time axis with ``lax.scan``, the same weights at every step.

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

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import initializers
from minijax.nn.activation import sigmoid, tanh
from minijax.nn.linear import Dense
from minijax.nn.module import Module, compact, nowrap
from minijax.typing import Array, Float, Inexact, Integer, PRNGKeyArray, Shaped, typed

__all__ = ["RNN", "GRUCell", "LSTMCell", "RNNCellBase", "gru_gates", "lstm_gates"]

ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax
Carry = Any

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
    def _dense(self, name: str, use_bias: bool) -> Dense:
        """The ``Dense(features)`` called ``name`` (``i*``: on the input, ``h*``: on ``h``).

        Input kernels start from ``kernel_init``, hidden ones from
        ``recurrent_kernel_init``.
        """
        return Dense(
            self.features,
            use_bias=use_bias,
            kernel_init=self.kernel_init if name[0] == "i" else self.recurrent_kernel_init,
            bias_init=self.bias_init,
            dtype=self.dtype,
            param_dtype=self.param_dtype,
            name=name,
        )

    @nowrap
    def _check_carry(self, h: Array) -> None:
        if h.shape[-1] != self.features:
            raise ValueError(
                f"{type(self).__name__}: the carry has hidden size {h.shape[-1]} but "
                f"features={self.features}. Make the carry with "
                "cell.initialize_carry(rng, x.shape) for this same cell."
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
      features: the hidden size ``H``.
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
        self._check_carry(h)
        pre = {
            g: self._dense(f"i{g}", use_bias=False)(inputs)
            + self._dense(f"h{g}", use_bias=True)(h)
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
        self._check_carry(h)
        x_r, h_r = self._dense("ir", use_bias=True)(inputs), self._dense("hr", use_bias=False)(h)
        x_z, h_z = self._dense("iz", use_bias=True)(inputs), self._dense("hz", use_bias=False)(h)
        x_n, h_n = self._dense("in", use_bias=True)(inputs), self._dense("hn", use_bias=True)(h)
        new_h = gru_gates(h, x_r, x_z, x_n, h_r, h_z, h_n, self.gate_fn, self.activation_fn)
        return new_h, new_h

    @nowrap
    def initialize_carry(self, rng: PRNGKeyArray, input_shape: tuple[int, ...]) -> Array:
        """``h`` of shape ``(*batch, features)`` from ``carry_init`` (zeros by default)."""
        h: Array = self.carry_init(rng, (*input_shape[:-1], self.features), self.param_dtype)
        return h

# --- the loop --------------------------------------------------------------------------


class RNN(Module):
    """Run a cell over the time axis with ``lax.scan`` (flax: ``nn.RNN``).

    ::

        carry_0 = initial_carry or cell.initialize_carry(init_key, x[:, 0].shape)
        carry_t, y_t = cell(carry_{t-1}, x_t)        for t = 1..T
        returns y = stack(y_1..y_T) on the time axis   (or (carry_T, y))

    Inputs are ``(*batch, time, features)``, or ``(time, *batch, features)`` with
    ``time_major=True``; the output has the same layout with the cell's output
    features. The cell's params are shared by all steps and live under the cell's
    name, ``cell`` for a top-level ``RNN`` (``{"params": {"cell": {...}}}``), the
    same tree as flax's. (As in flax, a cell constructed inside a parent's
    ``@compact`` method belongs to that parent: ``LSTMCell_0`` next to ``RNN_0``.)

    How it differs from flax inside: flax lifts the cell through ``nn.scan``. Here
    the cell's variables are read once (at ``init``, created by one call on the
    first time step outside the loop) and the loop scans the pure function
    ``step(carry, x_t) = cell.apply(variables, carry, x_t)``. So a cell must not
    write variables or draw rngs inside the loop (LSTM and GRU do neither).

    ``seq_lengths`` (``(*batch,)`` ints): with ``return_carry`` the returned carry
    is the one after each sequence's last valid step; outputs past the length are
    not zeroed (as flax). ``reverse`` runs right to left (padding stays at the end)
    and ``keep_order`` flips the outputs back.

    Attributes:
      cell: the :class:`RNNCellBase` instance to run.
      time_major: time axis first (default False: after the batch axes).
      return_carry: return ``(carry, outputs)`` (default: outputs only).
      reverse, keep_order: process right to left; restore the order of outputs.
      unroll: steps per scan iteration (passed to ``lax.scan``).
    """

    cell: RNNCellBase
    time_major: bool = False
    return_carry: bool = False
    reverse: bool = False
    keep_order: bool = False
    unroll: int = 1

    @typed
    def __call__(
        self,
        inputs: Inexact[ArrayIn, "..."],
        *,
        initial_carry: Carry | None = None,
        init_key: PRNGKeyArray | None = None,
        seq_lengths: Integer[ArrayIn, "*batch"] | None = None,
        return_carry: bool | None = None,
        time_major: bool | None = None,
        reverse: bool | None = None,
        keep_order: bool | None = None,
    ) -> Any:
        """Run the cell over ``inputs``; the arguments override the attributes of the same name."""
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
            step_shape = inputs.shape[:time_axis] + inputs.shape[time_axis + 1 :]
            carry = self.cell.initialize_carry(key, step_shape)
        else:
            carry = initial_carry

        xs = jnp.moveaxis(inputs, time_axis, 0)  # scan runs over the leading axis
        variables = self._cell_variables(carry, xs[0])
        unbound = self.cell.clone(parent=None)

        def step(c: Carry, x: Array) -> tuple[Carry, Any]:
            new_c, y = unbound.apply(variables, c, x)
            return new_c, ((new_c, y) if seq_lengths is not None and return_carry else y)

        carry, ys = lax.scan(step, carry, xs, unroll=self.unroll)
        if seq_lengths is not None and return_carry:
            carries, ys = ys
            carry = jax.tree.map(
                lambda a: a[jnp.asarray(seq_lengths) - 1, jnp.arange(a.shape[1])], carries
            )
        outputs = jax.tree.map(lambda a: jnp.moveaxis(a, 0, time_axis), ys)
        if reverse and keep_order:
            outputs = jax.tree.map(
                lambda a: flip_sequences(a, seq_lengths, num_batch, time_major), outputs
            )
        return (carry, outputs) if return_carry else outputs

    def _cell_variables(self, carry: Carry, x0: Array) -> dict[str, Any]:
        """The cell's variables, created at ``init`` by one call on the first step."""
        if self.is_initializing():
            self.cell(carry, x0)  # type: ignore[operator]  # cells define __call__
        return self.cell.variables


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
