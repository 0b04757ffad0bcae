"""Linear layers `Dense`, `DenseGeneral`, `Einsum` and `Embed` (flax: `flax/linen/linear.py`).

They keep flax's parameter names, shapes and layouts, so flax-initialised params
load unchanged: Dense `kernel (in, features)` and `bias (features,)`; DenseGeneral
`kernel (*batch, *in, *features)`; Einsum `kernel` of the given `shape`; Embed
`embedding (num_embeddings, features)`.

Dense and DenseGeneral compute with `lax.dot_general` unless given another
function of its signature: `dot_general=f`, or `dot_general_cls=C` (then
`C()` is called and used, e.g. a quantized matmul that keeps state).
"""

from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import _checks, initializers
from minijax.nn.dtypes import promote_dtype
from minijax.nn.meta import AxisMetadata
from minijax.nn.module import Module, compact, merge_param
from minijax.typing import Array, Float, Inexact, Num, Shaped, typed

__all__ = [
    "Dense",
    "DenseGeneral",
    "Einsum",
    "Embed",
    "canonicalize_padding",
    "promote_dtype",
]

Dtype = Any
PaddingLike = str | int | Sequence[int | tuple[int, int]]
LaxPadding = str | Sequence[tuple[int, int]]
ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax

default_kernel_init = initializers.lecun_normal()
default_embed_init = initializers.variance_scaling(1.0, "fan_in", "normal", out_axis=0)


def _dot_general(module: Any) -> Callable[..., Array]:
    """The matmul a layer uses: `dot_general_cls()`, else `dot_general`, else lax's."""
    if module.dot_general_cls is not None:
        return module.dot_general_cls()  # type: ignore[no-any-return]
    if module.dot_general is not None:
        return module.dot_general  # type: ignore[no-any-return]
    return lax.dot_general


def canonicalize_padding(padding: PaddingLike, rank: int, layer: str = "Conv") -> LaxPadding:
    """Turn ``padding`` into what ``lax`` takes: a string or ``rank`` ``(low, high)`` pairs.

    An int ``p`` means ``(p, p)`` on every spatial axis; a sequence holds one int or
    pair per spatial axis. Strings are upper-cased and checked. The convolutions of
    `minijax.nn.conv` use it; it lives here as in flax (`flax.linen.linear`).

    >>> canonicalize_padding(1, 2), canonicalize_padding("same", 2)
    ([(1, 1), (1, 1)], 'SAME')
    """
    if isinstance(padding, str):
        name = padding.upper()
        if name not in ("SAME", "VALID", "CIRCULAR", "REFLECT", "CAUSAL"):
            raise ValueError(
                f"{layer}: unknown padding {padding!r}. Use 'SAME', 'VALID', 'CIRCULAR', "
                "'REFLECT', 'CAUSAL', an int, or one int or (low, high) pair per spatial axis."
            )
        return name
    if isinstance(padding, (int, np.integer)):
        return [(int(padding), int(padding))] * rank
    if isinstance(padding, Sequence) and len(padding) == rank:
        pads: list[tuple[int, int]] = []
        for p in padding:
            if isinstance(p, (int, np.integer)):
                pads.append((int(p), int(p)))
            elif isinstance(p, Sequence) and len(p) == 2:
                pads.append((int(p[0]), int(p[1])))
            else:
                break
        if len(pads) == rank:
            return pads
    raise ValueError(
        f"{layer}: invalid padding {padding!r} for {rank} spatial axes. Use a string, an "
        f"int, or a sequence of {rank} entries, each an int or a (low, high) pair."
    )


class Dense(Module):
    """$y = x W + b$ over the last axis (flax: `nn.Dense`).

    $y_{\\ldots j} = \\sum_i x_{\\ldots i} W_{ij} + b_j$, computed by `lax.dot_general`
    (or `dot_general` / `dot_general_cls()`); parameters `kernel (in, features)`
    and `bias (features,)`.

    Attributes:
        features: output size.
        use_bias: add `bias` (zeros at init).
        dtype: the computation dtype (default: promote inputs and params).
        param_dtype: the dtype params are created in (float32).
        precision: passed to the matmul.
        kernel_init: default `lecun_normal()`, i.e. variance `1 / in`.
        bias_init: default `zeros`.
        promote_dtype: `f(inputs, kernel, bias, dtype=)` casting them to the
            computation dtype (default `promote_dtype`).
        dot_general: the matmul, with `lax.dot_general`'s signature (default lax's).
        dot_general_cls: a class whose instances are that matmul (wins over
            `dot_general`).

    >>> import jax, jax.numpy as jnp
    >>> layer = Dense(2)
    >>> variables = layer.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> variables["params"]["kernel"].shape, layer.apply(variables, jnp.ones((4, 3))).shape
    ((3, 2), (4, 2))
    """

    features: int
    use_bias: bool = True
    dtype: Dtype | None = None
    param_dtype: Dtype = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros
    promote_dtype: Any = promote_dtype
    dot_general: Any = None
    dot_general_cls: Any = None

    @compact
    @typed
    def __call__(self, inputs: Num[ArrayIn, "*batch in"]) -> Inexact[Array, "*batch features"]:
        """Apply the affine map to the last axis of `inputs`."""
        _checks.positive_int("Dense", "features", self.features, "the output size")
        # >>> TASK A4.3
        kernel = self.param(
            "kernel", self.kernel_init, (jnp.shape(inputs)[-1], self.features), self.param_dtype
        )
        bias = (
            self.param("bias", self.bias_init, (self.features,), self.param_dtype)
            if self.use_bias
            else None
        )
        inputs, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = _dot_general(self)(
            inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())), precision=self.precision
        )
        if bias is not None:
            y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        return y
        # <<< TASK A4.3


def _as_tuple(x: int | Sequence[int]) -> tuple[int, ...]:
    return (int(x),) if isinstance(x, int | np.integer) else tuple(int(v) for v in x)


class DenseGeneral(Module):
    """A linear map contracting several input axes into several output axes (flax: same name).

    For `axis=(-2, -1)` and `features=(f1, f2)`:
    $y_{\\ldots f_1 f_2} = \\sum_{a_1 a_2} x_{\\ldots a_1 a_2} W_{a_1 a_2 f_1 f_2} + b_{f_1 f_2}$.
    With `batch_dims` (leading axes `0, 1, ...`) each batch index has its own
    kernel and bias: $y_{n \\ldots f} = \\sum_a x_{n \\ldots a} W_{n a f} + b_{n f}$.
    Parameters:

        kernel: (*x.shape[batch_dims], *x.shape[axis], *features)
        bias:   (*x.shape[batch_dims], *features)       (when use_bias)

    The initializers see the flattened 2-D shape `(prod(batch) * prod(in),
    prod(features))` (and the bias `(prod(batch) * prod(features),)`), then the
    draw is reshaped, as flax, so `lecun_normal` uses the true fan-in.

    Attributes:
        features: int or tuple, the output axes' sizes.
        axis: the input axes contracted (default -1).
        batch_dims: leading input axes with a kernel each (default none).
        use_bias: as `Dense` (and likewise `dtype`, `param_dtype`, `kernel_init`,
            `bias_init`, `precision`, `promote_dtype`, `dot_general`, `dot_general_cls`).

    >>> import jax, jax.numpy as jnp
    >>> layer = DenseGeneral(features=(2, 3), axis=(-2, -1))
    >>> y, variables = layer.init_with_output(jax.random.key(0), jnp.ones((5, 4, 6)))
    >>> y.shape, variables["params"]["kernel"].shape
    ((5, 2, 3), (4, 6, 2, 3))
    """

    features: int | Sequence[int]
    axis: int | Sequence[int] = -1
    batch_dims: Sequence[int] = ()
    use_bias: bool = True
    dtype: Any = None
    param_dtype: Any = jnp.float32
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros_init()
    precision: Any = None
    promote_dtype: Any = promote_dtype
    dot_general: Any = None
    dot_general_cls: Any = None

    @compact
    @typed
    def __call__(self, inputs: Inexact[ArrayIn, "..."]) -> Inexact[Array, "..."]:
        """Contract `inputs` on `axis` with the kernel; see the class docstring."""
        layer = type(self).__name__
        features = _as_tuple(self.features)
        ndim = inputs.ndim

        def normalized(name: str, axes: tuple[int, ...]) -> tuple[int, ...]:
            for a in axes:
                if not -ndim <= a < ndim:
                    raise ValueError(
                        f"{layer}: {name} {a} is out of range for an input of shape "
                        f"{inputs.shape}; use axes in [-{ndim}, {ndim - 1}]."
                    )
            return tuple(sorted({a % ndim for a in axes}))

        axis = normalized("axis", _as_tuple(self.axis))
        batch_dims = normalized("batch_dims", _as_tuple(self.batch_dims))
        if batch_dims != tuple(range(len(batch_dims))):
            raise ValueError(
                f"{layer}: batch_dims={tuple(self.batch_dims)} must be the leading axes "
                f"0, 1, ... of the input (shape {inputs.shape}); move the batch axes first "
                "(jnp.moveaxis) or use batch_dims=(0,), (0, 1), ..."
            )
        if set(axis) & set(batch_dims):
            raise ValueError(
                f"{layer}: axis={self.axis!r} and batch_dims={tuple(self.batch_dims)} share "
                "an axis; an axis is either contracted or batched, not both."
            )
        n_batch, n_axis, n_features = len(batch_dims), len(axis), len(features)
        kernel_init, bias_init = self.kernel_init, self.bias_init

        def kernel_init_flat(rng: Any, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Any:
            flat = (int(np.prod(shape[: n_batch + n_axis])), int(np.prod(shape[-n_features:])))
            return _reshape_boxed(kernel_init(rng, flat, dtype), shape)

        def bias_init_flat(rng: Any, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Any:
            return _reshape_boxed(bias_init(rng, (int(np.prod(shape)),), dtype), shape)

        batch_shape = tuple(inputs.shape[a] for a in batch_dims)
        kernel_shape = batch_shape + tuple(inputs.shape[a] for a in axis) + features
        kernel = self.param("kernel", kernel_init_flat, kernel_shape, self.param_dtype)
        bias = (
            self.param("bias", bias_init_flat, batch_shape + features, self.param_dtype)
            if self.use_bias
            else None
        )
        inputs, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        contract = (axis, tuple(range(n_batch, n_batch + n_axis)))
        batch = (batch_dims, tuple(range(n_batch)))
        y = _dot_general(self)(inputs, kernel, (contract, batch), precision=self.precision)
        if bias is None:
            return y
        # The output's axes: the batch axes, the kept input axes, then the features.
        kept = tuple(
            inputs.shape[a] if a in batch_dims else 1 for a in range(ndim) if a not in axis
        )
        return y + jnp.reshape(bias, kept + features)


def _reshape_boxed(value: Any, shape: tuple[int, ...]) -> Any:
    """``value`` reshaped to ``shape``, inside its box when an initializer returned one
    (``nn.with_logical_partitioning(init, names)`` names the axes of the full shape)."""
    if isinstance(value, AxisMetadata):
        return value.replace_boxed(jnp.reshape(value.unbox(), shape))
    return jnp.reshape(value, shape)


class Einsum(Module):
    """A linear map written as an einsum of the input and a kernel (flax: `nn.Einsum`).

    `y = einsum(einsum_str, x, kernel) + bias`, with `kernel` of the given `shape`.
    The bias has one entry per output axis that comes from the kernel: for
    `"btd,dnh->btnh"` and `shape=(d, n, h)`, `bias (n, h)`.

    Attributes:
        shape: the kernel's shape.
        einsum_str: the equation, with two operands and an explicit `->`; may be
            given to `__call__` instead (exactly one of the two).
        use_bias: as `Dense` (and likewise `dtype`, `param_dtype`, `precision`,
            `kernel_init`, `bias_init`, `promote_dtype`).
        preferred_element_type: the accumulation dtype, passed to `jnp.einsum`.

    >>> import jax, jax.numpy as jnp
    >>> layer = Einsum((4, 2, 3), "btd,dnh->btnh")
    >>> y, variables = layer.init_with_output(jax.random.key(0), jnp.ones((5, 7, 4)))
    >>> y.shape, variables["params"]["bias"].shape
    ((5, 7, 2, 3), (2, 3))
    """

    shape: Sequence[int]
    einsum_str: str | None = None
    use_bias: bool = True
    dtype: Dtype | None = None
    param_dtype: Dtype = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros_init()
    promote_dtype: Any = promote_dtype
    preferred_element_type: Dtype | None = None

    @compact
    def __call__(self, inputs: Array, einsum_str: str | None = None) -> Array:
        """`einsum(einsum_str, inputs, kernel) + bias`."""
        layer = type(self).__name__
        equation = merge_param("einsum_str", self.einsum_str, einsum_str).replace(" ", "")
        if "->" not in equation:
            raise ValueError(
                f'{layer}: `einsum_str` equation must be explicit and include "->". Got '
                f"{equation!r}; write the output axes too, e.g. 'btd,dnh->btnh'."
            )
        operands, result = equation.split("->")
        if operands.count(",") != 1:
            raise ValueError(
                f"{layer}: `einsum_str` equation must have exactly two operands and therefore, "
                f"exactly one comma character, instead of {operands.count(',')} (in "
                f"{equation!r}); write 'input_axes,kernel_axes->output_axes'."
            )
        lhs, rhs = operands.split(",")
        kernel_axes, out_axes = self._axes(lhs, rhs, result, jnp.ndim(inputs), layer, equation)
        kernel = self.param("kernel", self.kernel_init, tuple(self.shape), self.param_dtype)
        bias = None
        if self.use_bias:
            # one bias entry per output axis that comes from the kernel
            size = dict(zip(kernel_axes, self.shape, strict=True))
            bias_shape = tuple(size[a] for a in out_axes if a in size)
            broadcast = tuple(size.get(a, 1) for a in out_axes)
            bias = self.param("bias", self.bias_init, bias_shape, self.param_dtype)
        inputs, kernel, bias = self.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = jnp.einsum(
            equation,
            inputs,
            kernel,
            precision=self.precision,
            preferred_element_type=self.preferred_element_type,
        )
        if bias is not None:
            y = y + jnp.reshape(bias, broadcast)
        return y

    def _axes(
        self, lhs: str, rhs: str, result: str, ndim: int, layer: str, equation: str
    ) -> tuple[list[str], list[str]]:
        """The kernel's and the output's axes as lists of names, `...` spelled out.

        As in `jnp.einsum`, one `...` is shared by the operands, aligned on the right:
        the input's `...` (`ndim - named` axes) and the kernel's (`len(shape) - named`)
        broadcast together, and the output's `...` has the longer of the two.
        """

        def spans(part: str, rank: int) -> int:
            return rank - len(part.replace("...", "")) if "..." in part else 0

        n_lhs, n_rhs = spans(lhs, ndim), spans(rhs, len(self.shape))
        ellipsis = [f"...{i}" for i in range(max(n_lhs, n_rhs))]

        def expand(part: str, n: int) -> list[str]:
            head, _, tail = part.partition("...")
            dots = ellipsis[len(ellipsis) - n :] if "..." in part else []
            return [*head, *dots, *tail]

        kernel_axes = expand(rhs, n_rhs)
        if len(kernel_axes) != len(self.shape):
            raise ValueError(
                f"{layer}: the kernel's part {rhs!r} of einsum_str {equation!r} names "
                f"{len(kernel_axes)} axes, but shape={tuple(self.shape)} has {len(self.shape)}; "
                "give one letter per kernel axis."
            )
        return kernel_axes, expand(result, len(ellipsis))


class Embed(Module):
    """A lookup table of vectors, one row per integer id (flax: ``nn.Embed``).

    ``y[..., :] = embedding[ids[...], :]``: ids ``(*batch,)`` give vectors
    ``(*batch, features)``.

    ``attend(query)`` reuses the table as an output layer: ``query @ embedding.T``
    gives one logit per id (weight tying in language models).

    Attributes:
        num_embeddings: the number of ids (rows).
        features: the vector size (columns).
        embedding_init: default ``variance_scaling(1, "fan_in", "normal", out_axis=0)``
            as flax: with in and out both on axis 0, fan_in = ``features``, so entries
            have variance ``1 / features`` and each row has unit expected squared norm.

    >>> import jax, jax.numpy as jnp
    >>> layer = Embed(num_embeddings=10, features=4)
    >>> variables = layer.init(jax.random.key(0), jnp.array([1, 2]))
    >>> layer.apply(variables, jnp.array([[1, 2, 9]])).shape
    (1, 3, 4)
    >>> layer.apply(variables, jnp.ones((5, 4)), method="attend").shape
    (5, 10)
    """

    num_embeddings: int
    features: int
    dtype: Dtype | None = None
    param_dtype: Dtype = jnp.float32
    embedding_init: Any = default_embed_init

    def setup(self) -> None:
        self.embedding = self.param(
            "embedding",
            self.embedding_init,
            (self.num_embeddings, self.features),
            self.param_dtype,
        )

    @typed
    def __call__(self, inputs: Shaped[ArrayIn, "*batch"]) -> Shaped[Array, "*batch features"]:
        """The rows of the table for the integer ids ``inputs``."""
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            raise ValueError(
                f"Embed takes integer ids, got dtype {inputs.dtype}: cast with "
                "x.astype(jnp.int32) (or use Dense for real-valued inputs)."
            )
        # >>> TASK A5.6
        (embedding,) = promote_dtype(self.embedding, dtype=self.dtype, inexact=False)
        if self.num_embeddings == 1:
            return jnp.broadcast_to(embedding, (*inputs.shape, self.features))
        return jnp.take(embedding, inputs, axis=0)
        # <<< TASK A5.6

    @typed
    def attend(
        self, query: Float[ArrayIn, "*batch features"]
    ) -> Inexact[Array, "*batch num_embeddings"]:
        """``query @ embedding.T``: one logit per id (flax: ``Embed.attend``)."""
        query, embedding = promote_dtype(query, self.embedding, dtype=self.dtype)
        return jnp.dot(query, embedding.T)
