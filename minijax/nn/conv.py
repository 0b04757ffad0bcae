"""Convolutions ``Conv`` (1-D, 2-D, 3-D) and ``ConvTranspose`` (flax: the same names).

A convolution slides a learned kernel over the spatial axes of a channels-last
input ``x`` of shape ``(*batch, *spatial, in_features)``. In 2-D, with stride
``s``, kernel dilation ``r`` and ``low`` padding::

    y[b, i, j, o] = bias[o] + sum_{p, q, c} x[b, s*i + r*p - low, s*j + r*q - low, c]
                                            * kernel[p, q, c, o]

(out-of-range input positions read as 0). The kernel has shape
``(*kernel_size, in_features // feature_group_count, features)``, as flax's.

* ``feature_group_count = G`` splits the input channels into ``G`` groups and the
  output channels into ``G`` groups; group ``g`` of the output only sees group
  ``g`` of the input (``G = in_features``: a depthwise convolution).
* ``input_dilation = d`` inserts ``d - 1`` zeros between input elements (a
  "fractionally strided" convolution, the same as a transposed conv of stride d).
* ``kernel_dilation = r`` spreads the kernel taps ``r`` apart ("atrous").

Everything is one ``lax.conv_general_dilated`` call with dimension numbers that
say "batch first, features last" for the input (``NHWC``) and "spatial first,
then in, then out" for the kernel (``HWIO``).

Padding:

* ``'SAME'``: output size ``ceil(n / stride)``, the padding split with the extra
  element at the end (``lax``'s rule);
* ``'VALID'``: none, ``out = (n - r*(k-1) - 1) // s + 1``;
* ``'CIRCULAR'``/``'REFLECT'``: pad ``((K-1)//2, K//2)`` with ``K = r*(k-1) + 1``,
  wrapping around (periodic) or mirroring, then ``'VALID'``;
* ``'CAUSAL'`` (1-D only): pad ``r*(k-1)`` on the left: ``y[t]`` only sees ``x[<= t]``;
* an int ``p`` (``(p, p)`` on every axis) or a sequence with one int or
  ``(low, high)`` pair per spatial axis.
"""

import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from minijax.nn import initializers
from minijax.nn.dtypes import promote_dtype
from minijax.nn.linear import LaxPadding, PaddingLike, canonicalize_padding
from minijax.nn.module import Module, compact, nowrap
from minijax.typing import Array, Inexact, Num, typed

__all__ = [
    "Conv",
    "ConvLocal",
    "ConvTranspose",
    "conv_dimension_numbers",
]

ArrayIn = Array | np.ndarray  # eager callers may pass NumPy arrays, as with flax

default_kernel_init = initializers.lecun_normal()


# --- pure helpers -------------------------------------------------------------------


def conv_dimension_numbers(ndim: int) -> lax.ConvDimensionNumbers:
    """Dimension numbers for channels-last input and ``(*window, in, out)`` kernels.

    For an input of ``ndim`` axes ``(N, *spatial, C)``: the input and output specs
    list (batch axis, feature axis, spatial axes...) = ``(0, ndim-1, 1, ..., ndim-2)``;
    the kernel spec lists (out axis, in axis, spatial axes...) =
    ``(ndim-1, ndim-2, 0, ..., ndim-3)``. That is ``('NHWC', 'HWIO', 'NHWC')`` in 2-D.
    """
    lhs_spec = (0, ndim - 1, *range(1, ndim - 1))
    rhs_spec = (ndim - 1, ndim - 2, *range(ndim - 2))
    return lax.ConvDimensionNumbers(lhs_spec, rhs_spec, lhs_spec)


def _tuple(name: str, layer: str, value: int | Sequence[int] | None, n: int) -> tuple[int, ...]:
    """Broadcast an int (or ``None``, meaning 1) to ``n`` spatial axes and check the length."""
    if value is None:
        value = 1
    if isinstance(value, (int, np.integer)):
        return (int(value),) * n
    out = tuple(int(v) for v in value)
    if len(out) != n:
        raise ValueError(
            f"{layer}: {name}={value!r} has {len(out)} entries but kernel_size has {n} "
            f"spatial axes; pass one int for all axes or {n} ints."
        )
    return out


def _kernel_size(layer: str, kernel_size: int | Sequence[int]) -> tuple[int, ...]:
    """``kernel_size`` as a tuple (an int is 1-D), checked to be positive."""
    if isinstance(kernel_size, (int, np.integer)):
        size: tuple[int, ...] = (int(kernel_size),)
    else:
        size = tuple(int(k) for k in kernel_size)
    if not size or any(k < 1 for k in size):
        raise ValueError(
            f"{layer}: kernel_size={kernel_size!r} must be a positive int or a non-empty "
            "sequence of positive ints, one per spatial axis (e.g. (3, 3) for 2-D)."
        )
    return size


def _flatten_batch(
    layer: str, inputs: Array, kernel_size: tuple[int, ...]
) -> tuple[Array, tuple[int, ...] | None]:
    """Reshape ``(*batch, *spatial, C)`` to ``(B, *spatial, C)``; return the batch shape."""
    n = len(kernel_size)
    if inputs.ndim < n + 1:
        raise ValueError(
            f"{layer}: the input has shape {inputs.shape} ({inputs.ndim} axes) but "
            f"kernel_size={kernel_size} is {n}-D, which needs (*batch, {n} spatial axes, "
            f"features): at least {n + 1} axes, channels last. Add the missing axes "
            "(a feature axis: x[..., None])"
            + (f" or use a kernel_size with {inputs.ndim - 1} entries." if inputs.ndim > 1 else ".")
        )
    num_batch = inputs.ndim - (n + 1)
    if num_batch == 1:
        return inputs, None
    batch_shape = inputs.shape[:num_batch]
    return jnp.reshape(inputs, (-1, *inputs.shape[num_batch:])), batch_shape


def _pad_for_mode(
    layer: str,
    inputs: Array,
    padding: LaxPadding,
    kernel_size: tuple[int, ...],
    kernel_dilation: tuple[int, ...],
) -> tuple[Array, LaxPadding]:
    """Apply CIRCULAR / REFLECT / CAUSAL padding with ``jnp.pad``; return what lax gets."""
    if padding in ("CIRCULAR", "REFLECT"):
        dilated = [(k - 1) * d + 1 for k, d in zip(kernel_size, kernel_dilation, strict=True)]
        pads = [(0, 0)] + [((k - 1) // 2, k // 2) for k in dilated] + [(0, 0)]
        mode = "wrap" if padding == "CIRCULAR" else "reflect"
        return jnp.pad(inputs, pads, mode=mode), "VALID"
    if padding == "CAUSAL":
        if len(kernel_size) != 1:
            raise ValueError(
                f"{layer}: padding='CAUSAL' is only defined for 1-D convolutions, but "
                f"kernel_size={kernel_size} is {len(kernel_size)}-D. Pad explicitly, e.g. "
                "padding=((k - 1, 0), (0, 0)) to be causal along the first axis."
            )
        left = kernel_dilation[0] * (kernel_size[0] - 1)
        return jnp.pad(inputs, [(0, 0), (left, 0), (0, 0)]), "VALID"
    return inputs, padding


def _explicit_padding(
    padding: str,
    spatial: Sequence[int],
    kernel_size: Sequence[int],
    strides: Sequence[int],
    input_dilation: Sequence[int],
    kernel_dilation: Sequence[int],
) -> list[tuple[int, int]]:
    """'SAME'/'VALID' as explicit pairs, for input dilation (which lax takes no string for).

    'VALID' is no padding; 'SAME' pads the dilated input ``(n - 1) * d + 1`` so
    that the output has ``ceil(dilated / stride)`` positions (flax raises here).
    """
    if padding == "VALID":
        return [(0, 0)] * len(spatial)
    dilated_in = [(n - 1) * d + 1 for n, d in zip(spatial, input_dilation, strict=True)]
    dilated_k = [(k - 1) * r + 1 for k, r in zip(kernel_size, kernel_dilation, strict=True)]
    return list(lax.padtype_to_pads(dilated_in, dilated_k, strides, padding))


def _kernel_and_bias(
    module: "Conv | ConvTranspose",
    layer: str,
    inputs: Array,
    kernel_shape: tuple[int, ...],
    bias_shape: tuple[int, ...] | None = None,
) -> tuple[Array, Array, Array | None]:
    """Create `kernel` (times `mask`) and `bias`; promote them with `inputs`.

    Returns `(inputs, kernel, bias)` in `module.dtype` (or their common dtype, by
    `module.promote_dtype`), `bias` None without `use_bias`. `bias_shape` defaults
    to `(features,)`. Runs inside the module's compact method.
    """
    mask = module.mask
    if mask is not None and tuple(mask.shape) != kernel_shape:
        raise ValueError(
            f"{layer}: mask has shape {tuple(mask.shape)} but the kernel has shape "
            f"{kernel_shape}; pass a mask of the kernel's shape (*kernel_size, in, out)."
        )
    # >>> TASK A5.1
    kernel = module.param("kernel", module.kernel_init, kernel_shape, module.param_dtype)
    if mask is not None:
        kernel = kernel * mask
    bias_shape = (module.features,) if bias_shape is None else bias_shape
    bias = (
        module.param("bias", module.bias_init, bias_shape, module.param_dtype)
        if module.use_bias
        else None
    )
    lhs, kernel, bias = module.promote_dtype(inputs, kernel, bias, dtype=module.dtype)
    assert lhs is not None and kernel is not None
    return lhs, kernel, bias
    # <<< TASK A5.1


def _add_bias_and_unflatten(
    y: Array, bias: Array | None, batch_shape: tuple[int, ...] | None
) -> Array:
    """``y + bias``, with the batch axes that ``_flatten_batch`` merged split again."""
    if bias is not None:
        y = y + bias
    if batch_shape is not None:
        y = jnp.reshape(y, (*batch_shape, *y.shape[1:]))
    return y


# --- layers ---------------------------------------------------------------------------


class Conv(Module):
    """An N-D convolution over channels-last inputs (flax: ``nn.Conv``).

    ``y = conv(x, kernel) + bias`` computed by ``lax.conv_general_dilated`` (see the
    module docstring for the formula and the padding modes). Inputs are
    ``(*batch, *spatial, in_features)`` with ``len(kernel_size)`` spatial axes; any
    number of batch axes (including none) is allowed. Parameters::

        kernel: (*kernel_size, in_features // feature_group_count, features)
        bias:   (features,)            (when use_bias)

    Attributes:
      features: number of output channels.
      kernel_size: window size per spatial axis; an int means 1-D.
      strides: int or one int per spatial axis (default 1).
      padding: 'SAME' (default), 'VALID', 'CIRCULAR', 'REFLECT', 'CAUSAL' (1-D),
        an int, or one int / ``(low, high)`` pair per spatial axis.
      input_dilation: int or per-axis dilation of the input (default 1).
      kernel_dilation: int or per-axis dilation of the kernel (default 1).
      feature_group_count: number of channel groups; must divide both
        ``in_features`` and ``features`` (default 1).
      use_bias: add a learned bias (default True).
      mask: optional array of the kernel's shape multiplied into the kernel.
      dtype: computation dtype (default: promote inputs and params).
      param_dtype: dtype of the parameters (default float32).
      precision: ``lax.Precision`` of the convolution.
      kernel_init: initializer of the kernel (default ``lecun_normal()``).
      bias_init: initializer of the bias (default zeros).
      promote_dtype: as `Dense`'s.
      conv_general_dilated: the convolution, with `lax.conv_general_dilated`'s
        signature (default lax's); `conv_general_dilated_cls`: a class whose
        instances are that function (wins over `conv_general_dilated`).

    >>> import jax, jax.numpy as jnp
    >>> layer = Conv(features=4, kernel_size=(3, 3), strides=2)
    >>> y, variables = layer.init_with_output(jax.random.key(0), jnp.ones((1, 8, 8, 3)))
    >>> y.shape, variables["params"]["kernel"].shape
    ((1, 4, 4, 4), (3, 3, 3, 4))
    """

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] | None = 1
    padding: PaddingLike = "SAME"
    input_dilation: int | Sequence[int] | None = 1
    kernel_dilation: int | Sequence[int] | None = 1
    feature_group_count: int = 1
    use_bias: bool = True
    mask: Array | None = None
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros_init()
    promote_dtype: Any = promote_dtype
    conv_general_dilated: Any = None
    conv_general_dilated_cls: Any = None

    @property
    def shared_weights(self) -> bool:
        """True: one kernel for every position (`ConvLocal`: one per output position)."""
        return True

    @nowrap  # a plain helper: no module state, and no row of its own in `tabulate`
    def _conv_fn(self) -> Any:
        if self.conv_general_dilated_cls is not None:
            return self.conv_general_dilated_cls()
        if self.conv_general_dilated is not None:
            return self.conv_general_dilated
        return lax.conv_general_dilated

    @compact
    @typed
    def __call__(
        self, inputs: Num[ArrayIn, "*batch_spatial in_features"]
    ) -> Inexact[Array, "*out_batch_spatial features"]:
        """Convolve ``inputs`` ``(*batch, *spatial, in_features)``; see the class docstring."""
        layer = type(self).__name__
        inputs = jnp.asarray(inputs)
        kernel_size = _kernel_size(layer, self.kernel_size)
        n = len(kernel_size)
        inputs, batch_shape = _flatten_batch(layer, inputs, kernel_size)
        strides = _tuple("strides", layer, self.strides, n)
        input_dilation = _tuple("input_dilation", layer, self.input_dilation, n)
        kernel_dilation = _tuple("kernel_dilation", layer, self.kernel_dilation, n)
        padding = canonicalize_padding(self.padding, n, layer)
        inputs, padding = _pad_for_mode(layer, inputs, padding, kernel_size, kernel_dilation)

        in_features = inputs.shape[-1]
        groups = self.feature_group_count
        if groups < 1 or in_features % groups != 0:
            raise ValueError(
                f"{layer}: the input has {in_features} channels, which feature_group_count="
                f"{groups} does not divide. Use a feature_group_count that divides "
                f"{in_features} (e.g. 1, or {in_features} for a depthwise convolution)."
            )
        if self.features % groups != 0:
            raise ValueError(
                f"{layer}: features={self.features} is not divisible by feature_group_count="
                f"{groups}; each group needs the same number of output channels. Use "
                f"features that is a multiple of {groups}."
            )
        if isinstance(padding, str) and any(d != 1 for d in input_dilation):
            padding = _explicit_padding(
                padding, inputs.shape[1:-1], kernel_size, strides, input_dilation,
                kernel_dilation,
            )  # fmt: skip
        dimension_numbers = conv_dimension_numbers(inputs.ndim)
        if not self.shared_weights:
            return self._local(
                layer, inputs, batch_shape, kernel_size, strides, padding, input_dilation,
                kernel_dilation, dimension_numbers,
            )  # fmt: skip
        kernel_shape = (*kernel_size, in_features // groups, self.features)
        lhs, kernel, bias = _kernel_and_bias(self, layer, inputs, kernel_shape)
        y = self._conv_fn()(
            lhs,
            kernel,
            strides,
            padding,
            lhs_dilation=input_dilation,
            rhs_dilation=kernel_dilation,
            dimension_numbers=dimension_numbers,
            feature_group_count=groups,
            precision=self.precision,
        )
        return _add_bias_and_unflatten(y, bias, batch_shape)

    def _local(
        self,
        layer: str,
        inputs: Array,
        batch_shape: tuple[int, ...] | None,
        kernel_size: tuple[int, ...],
        strides: tuple[int, ...],
        padding: LaxPadding,
        input_dilation: tuple[int, ...],
        kernel_dilation: tuple[int, ...],
        dimension_numbers: lax.ConvDimensionNumbers,
    ) -> Array:
        """The locally connected layer: a kernel (and a bias) per output position."""
        if self.feature_group_count != 1:
            raise NotImplementedError(
                f"{layer}: feature_group_count={self.feature_group_count} is not supported "
                "(lax.conv_general_dilated_local has no groups, as in flax); use 1."
            )
        in_features = inputs.shape[-1]
        def conv(lhs: Array, rhs: Array) -> Array:
            return self._conv_fn()(  # type: ignore[no-any-return]
                lhs, rhs, strides, padding, lhs_dilation=input_dilation,
                rhs_dilation=kernel_dilation, dimension_numbers=dimension_numbers,
            )  # fmt: skip

        kernel_spec = jax.ShapeDtypeStruct(  # type: ignore[no-untyped-call]
            (*kernel_size, in_features, self.features), inputs.dtype
        )
        out_shape = jax.eval_shape(conv, inputs, kernel_spec).shape
        kernel_shape = (*out_shape[1:-1], math.prod(kernel_size) * in_features, self.features)
        lhs, kernel, bias = _kernel_and_bias(
            self, layer, inputs, kernel_shape, bias_shape=tuple(out_shape[1:])
        )
        y = lax.conv_general_dilated_local(
            lhs=lhs,
            rhs=kernel,
            window_strides=strides,
            padding=padding,
            filter_shape=kernel_size,
            lhs_dilation=input_dilation,
            rhs_dilation=kernel_dilation,
            dimension_numbers=dimension_numbers,
            precision=self.precision,
        )
        return _add_bias_and_unflatten(y, bias, batch_shape)


class ConvLocal(Conv):
    """A locally connected layer: `Conv` with separate weights at every output position.

    flax: `nn.ConvLocal`. The windows are those of `Conv` (same strides, padding
    and dilations), but the output position $p$ has its own kernel $W_p$:
    $y_{p,o} = b_{p,o} + \\sum_{\\text{tap } t, c} x_{p+t, c} \\, W_{p, (t, c), o}$,
    computed by `lax.conv_general_dilated_local`. Parameters:

        kernel: (*out_spatial, prod(kernel_size) * in_features, features)
        bias:   (*out_spatial, features)                   (when use_bias)

    No `feature_group_count` (it must be 1). The attributes are `Conv`'s.

    >>> import jax, jax.numpy as jnp
    >>> layer = ConvLocal(features=2, kernel_size=(3,), padding="VALID")
    >>> y, variables = layer.init_with_output(jax.random.key(0), jnp.ones((1, 5, 4)))
    >>> y.shape, variables["params"]["kernel"].shape, variables["params"]["bias"].shape
    ((1, 3, 2), (3, 12, 2), (3, 2))
    """

    @property
    def shared_weights(self) -> bool:
        """False: a kernel per output position."""
        return False


class ConvTranspose(Module):
    """A transposed ("fractionally strided") convolution (flax: ``nn.ConvTranspose``).

    Computed by ``lax.conv_transpose``: the input is dilated by ``strides`` (``s - 1``
    zeros between elements) and convolved with stride 1, so every spatial size
    grows about ``s`` times: ``'SAME'`` gives ``n * s``, ``'VALID'`` gives
    ``n * s + max(K - s, 0)`` with ``K = r * (k - 1) + 1``. ``'CIRCULAR'`` gives
    ``n * s`` with the overhang wrapped around periodically.

    Kernel layout (as flax)::

        transpose_kernel=False (default): kernel (*kernel_size, in_features, features)
        transpose_kernel=True:            kernel (*kernel_size, features, in_features)

    With ``transpose_kernel=True`` the kernel is flipped spatially and its two
    channel axes swapped before use, so the layer is the exact gradient
    (transpose) of a ``Conv`` with the same kernel, strides and padding.
    There is no ``feature_group_count`` and no ``input_dilation`` (flax has none).

    Attributes:
      features: number of output channels.
      kernel_size: window per spatial axis; an int means 1-D.
      strides: int or per-axis stride (default 1).
      padding: 'SAME' (default), 'VALID', 'CIRCULAR', an int or per-axis pairs.
      kernel_dilation: int or per-axis kernel dilation (default 1).
      use_bias, mask, dtype, param_dtype, precision, kernel_init, bias_init: as Conv.
      transpose_kernel: flip and swap the kernel (default False, as flax).
      promote_dtype: as `Dense`'s.
      preferred_element_type: the accumulation dtype, passed to `lax.conv_transpose`.

    >>> import jax, jax.numpy as jnp
    >>> layer = ConvTranspose(features=2, kernel_size=(3, 3), strides=(2, 2))
    >>> layer.init_with_output(jax.random.key(0), jnp.ones((1, 4, 4, 3)))[0].shape
    (1, 8, 8, 2)
    """

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] | None = None
    padding: PaddingLike = "SAME"
    kernel_dilation: int | Sequence[int] | None = None
    use_bias: bool = True
    mask: Array | None = None
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    kernel_init: Any = default_kernel_init
    bias_init: Any = initializers.zeros_init()
    transpose_kernel: bool = False
    promote_dtype: Any = promote_dtype
    preferred_element_type: Any = None

    @compact
    @typed
    def __call__(
        self, inputs: Num[ArrayIn, "*batch_spatial in_features"]
    ) -> Inexact[Array, "*out_batch_spatial features"]:
        """Apply the transposed convolution to ``(*batch, *spatial, in_features)``."""
        layer = type(self).__name__
        inputs = jnp.asarray(inputs)
        kernel_size = _kernel_size(layer, self.kernel_size)
        n = len(kernel_size)
        inputs, batch_shape = _flatten_batch(layer, inputs, kernel_size)
        strides = _tuple("strides", layer, self.strides, n)
        kernel_dilation = _tuple("kernel_dilation", layer, self.kernel_dilation, n)
        padding = canonicalize_padding(self.padding, n, layer)
        if padding in ("REFLECT", "CAUSAL"):
            raise ValueError(
                f"{layer}: padding={padding!r} is not supported by ConvTranspose (as in "
                "flax); use 'SAME', 'VALID', 'CIRCULAR' or explicit (low, high) pairs."
            )
        circular = padding == "CIRCULAR"
        lax_padding: LaxPadding = "VALID" if circular else padding

        in_features = inputs.shape[-1]
        if self.transpose_kernel:
            kernel_shape = (*kernel_size, self.features, in_features)
        else:
            kernel_shape = (*kernel_size, in_features, self.features)
        lhs, kernel, bias = _kernel_and_bias(self, layer, inputs, kernel_shape)
        y = lax.conv_transpose(
            lhs,
            kernel,
            strides,
            lax_padding,
            rhs_dilation=kernel_dilation,
            transpose_kernel=self.transpose_kernel,
            precision=self.precision,
            preferred_element_type=self.preferred_element_type,
        )
        if circular:
            y = _wrap_circular(y, lhs.shape[1:-1], strides, self.transpose_kernel)
        return _add_bias_and_unflatten(y, bias, batch_shape)


def _wrap_circular(
    y: Array, in_spatial: Sequence[int], strides: Sequence[int], transpose_kernel: bool
) -> Array:
    """Fold a 'VALID' transposed convolution onto a period of ``n * stride`` per axis.

    The output is padded to a whole number of periods (the extra element on the
    left, or on the right when ``transpose_kernel``, as flax) and the periods are
    summed: what spills over one edge re-enters at the other.
    """
    periods = [n * s for n, s in zip(in_spatial, strides, strict=True)]
    diffs = [-(m - p) % (2 * p) for m, p in zip(y.shape[1:-1], periods, strict=True)]
    if transpose_kernel:
        pads = [(d // 2, (d + 1) // 2) for d in diffs]
    else:
        pads = [((d + 1) // 2, d // 2) for d in diffs]
    y = jnp.pad(y, [(0, 0), *pads, (0, 0)])
    for i in range(1, y.ndim - 1):
        y = y.reshape((*y.shape[:i], -1, periods[i - 1], *y.shape[i + 1 :]))
        y = y.sum(axis=i)
    return y
