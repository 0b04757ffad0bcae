"""Wrappers that normalize the weights of the layer they wrap: `WeightNorm`, `SpectralNorm`.

Both are `map_variables` views (flax: same names, in `flax.linen.normalization`): the
wrapped layer stores its variables as usual, and each call it sees them normalized,

* `WeightNorm`: $\\bar w = w / \\lVert w \\rVert_2 \\cdot g$, the norm over every axis
  but the feature axes, with a learned scale $g$ per feature;
* `SpectralNorm`: $\\bar W = W / \\sigma(W)$, $\\sigma$ the largest singular value,
  estimated by power iteration from a vector `u` kept in `batch_stats`.

Gradients flow through the normalization into the stored weights.
"""

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from minijax.nn import initializers
from minijax.nn._checks import canonicalize_axes
from minijax.nn.module import Module, compact
from minijax.nn.transforms import map_variables

__all__ = ["SpectralNorm", "WeightNorm", "l2_normalize"]


def l2_normalize(x: Any, axis: Any = None, eps: float = 1e-12) -> Any:
    """$x / \\sqrt{\\sum x^2 + \\epsilon}$, the sum over `axis` (all axes if None), kept.

    flax: `flax.linen.normalization._l2_normalize`.

    >>> import jax.numpy as jnp
    >>> l2_normalize(jnp.array([[3.0, 4.0], [0.0, 2.0]]), axis=1)
    Array([[0.6, 0.8],
           [0. , 1. ]], dtype=float32)
    """
    return x * lax.rsqrt((x * x).sum(axis=axis, keepdims=True) + eps)


def _result_dtype(*arrays: Any, dtype: Any) -> Any:
    """`dtype`, or the promoted type of `arrays` (at least float32), as flax's dtypes."""
    if dtype is not None:
        return dtype
    result = jnp.result_type(*(jnp.asarray(a) for a in arrays))
    return result if jnp.issubdtype(result, jnp.inexact) else jnp.promote_types(jnp.float32, result)


def _variable_path(layer: Module, path: Any) -> str:
    """`'Dense_1/kernel'`: the wrapped layer's name, then the key path below the collection."""
    return f"{layer.name}/" + jax.tree_util.keystr(tuple(path[1:]), simple=True, separator="/")


class WeightNorm(Module):
    """L2 weight normalization, https://arxiv.org/abs/1602.07868 (flax: `nn.WeightNorm`).

    Wraps `layer_instance`; its variables whose path (`'Dense_0/kernel'`) contains one
    of the strings in `variable_filter` are replaced, in each call, by
    $w / \\sqrt{\\sum w^2 + \\epsilon} \\cdot \\mathrm{scale}$: the sum runs over every
    axis but `feature_axes`, and `scale` (one entry per feature) is a parameter of the
    `WeightNorm` itself, named `'<layer>/<path>/scale'`.

    Attributes:
      layer_instance: the wrapped module.
      epsilon: added to the squared norm (default 1e-12).
      dtype: dtype of the normalized variables (default: promoted from them and the scale).
      param_dtype: dtype of `scale` (default float32).
      use_scale: learn the scale $g$ (default True); without it the norm is 1.
      scale_init: its initializer (default ones).
      feature_axes: the axes with a norm of their own (default -1, e.g. a Dense
        kernel's output features); None: one norm over the whole variable.
      variable_filter: the substrings of the paths to normalize (default `{'kernel'}`,
        as a frozenset, so that the module hashes); None or empty: every variable.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> layer = nn.WeightNorm(nn.Dense(2))
    >>> variables = layer.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> jax.tree.map(jnp.shape, variables["params"])
    {'layer_instance': {'bias': (2,), 'kernel': (3, 2)}, 'layer_instance/kernel/scale': (2,)}
    """

    layer_instance: Module
    epsilon: float = 1e-12
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_scale: bool = True
    scale_init: Any = initializers.ones
    feature_axes: int | Iterable[int] | None = -1
    variable_filter: Iterable[str] | None = frozenset({"kernel"})  # frozen: the module hashes

    @compact
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call `layer_instance(*args, **kwargs)` with its variables l2-normalized."""
        return map_variables(
            lambda layer: layer(*args, **kwargs),
            trans_in_fn=lambda vs: jax.tree_util.tree_map_with_path(self._normalize, vs),
            init=self.is_initializing(),
        )(self.layer_instance)

    def _normalize(self, path: Any, leaf: Any) -> Any:
        value = jnp.asarray(leaf)
        name = _variable_path(self.layer_instance, path)
        if self.variable_filter and not any(f in name for f in self.variable_filter):
            return value
        if self.feature_axes is None:
            feature_axes: tuple[int, ...] = ()
        else:
            where = f"WeightNorm(feature_axes={self.feature_axes!r}) on {name} {value.shape}"
            feature_axes = canonicalize_axes(value.ndim, self.feature_axes, where)
        reduction_axes = tuple(i for i in range(value.ndim) if i not in feature_axes)
        feature_shape = [1] * value.ndim
        for ax in feature_axes:
            feature_shape[ax] = value.shape[ax]
        normalized = l2_normalize(value, axis=reduction_axes, eps=self.epsilon)
        dtype_args = [leaf]
        if self.use_scale:
            scale_shape = [value.shape[ax] for ax in feature_axes]
            scale = self.param(f"{name}/scale", self.scale_init, scale_shape, self.param_dtype)
            scale = scale.reshape(feature_shape)
            normalized = normalized * scale
            dtype_args.append(scale)
        return jnp.asarray(normalized, _result_dtype(*dtype_args, dtype=self.dtype))


class SpectralNorm(Module):
    """Spectral normalization, https://arxiv.org/abs/1802.05957 (flax: `nn.SpectralNorm`).

    Wraps `layer_instance`; in each call every matrix $W$ among its variables is
    replaced by $W / \\sigma$, $\\sigma \\approx$ its largest singular value, found by
    `n_steps` steps of power iteration from a stored row vector $u$:
    $v \\leftarrow u W^\\top / \\lVert u W^\\top \\rVert$,
    $u \\leftarrow v W / \\lVert v W \\rVert$, then $\\sigma = v W u^\\top$ (no gradient
    flows through $u$ and $v$). Scalars and vectors are left as they are; a variable
    with more axes is flattened to `(-1, last axis)`, unless `error_on_non_matrix`.

    $u$ (shape `(1, last axis)`, drawn normal from the `params` stream) and $\\sigma$
    live in `collection_name` (default `batch_stats`) under `'<layer>/<path>/u'` and
    `'<layer>/<path>/sigma'`. Call with `update_stats=True` and that collection
    mutable to store the new $u$ and $\\sigma$ (training); with `update_stats=False`
    the stored $u$ is the start each time (evaluation, deterministic).

    Attributes:
      layer_instance: the wrapped module.
      n_steps: power-iteration steps per call (default 1); 0 leaves the weights as they are.
      epsilon: added to the squared norms (default 1e-12).
      dtype: dtype of the normalized variables (default: promoted).
      param_dtype: dtype of `u` and `sigma` (default float32).
      error_on_non_matrix: raise for a variable with more than 2 axes (default False).
      collection_name: the collection of `u` and `sigma` (default `'batch_stats'`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> layer = nn.SpectralNorm(nn.Dense(2, use_bias=False), n_steps=20)
    >>> x = jnp.ones((1, 3))
    >>> variables = layer.init(jax.random.key(0), x, update_stats=False)
    >>> jax.tree.map(jnp.shape, variables["batch_stats"])
    {'layer_instance/kernel/sigma': (), 'layer_instance/kernel/u': (1, 2)}
    >>> _, updates = layer.apply(variables, x, update_stats=True, mutable=["batch_stats"])
    >>> kernel = variables["params"]["layer_instance"]["kernel"]
    >>> sigma = updates["batch_stats"]["layer_instance/kernel/sigma"]
    >>> bool(jnp.allclose(sigma, jnp.linalg.norm(kernel, ord=2)))
    True
    """

    layer_instance: Module
    n_steps: int = 1
    epsilon: float = 1e-12
    dtype: Any = None
    param_dtype: Any = jnp.float32
    error_on_non_matrix: bool = False
    collection_name: str = "batch_stats"

    @compact
    def __call__(self, *args: Any, update_stats: bool, **kwargs: Any) -> Any:
        """Call `layer_instance(*args, **kwargs)` with its matrices divided by $\\sigma$."""

        def normalize(path: Any, leaf: Any) -> Any:
            return self._normalize(path, leaf, update_stats)

        return map_variables(
            lambda layer: layer(*args, **kwargs),
            trans_in_fn=lambda vs: jax.tree_util.tree_map_with_path(normalize, vs),
            init=self.is_initializing(),
            mutable=True,
        )(self.layer_instance)

    def _normalize(self, path: Any, leaf: Any, update_stats: bool) -> Any:
        value = jnp.asarray(leaf)
        if value.ndim <= 1 or self.n_steps < 1:
            return value
        name = _variable_path(self.layer_instance, path)
        matrix = value
        if value.ndim > 2:
            if self.error_on_non_matrix:
                raise ValueError(
                    f"Input is {value.ndim}D but error_on_non_matrix is True: SpectralNorm "
                    f"normalizes matrices, and {name} has shape {value.shape}. Pass "
                    f"error_on_non_matrix=False to normalize it as a "
                    f"{value.size // value.shape[-1]}x{value.shape[-1]} matrix (all axes but "
                    "the last flattened), or wrap a layer whose weights are matrices."
                )
            matrix = value.reshape(-1, value.shape[-1])
        col = self.collection_name
        u_name, sigma_name = f"{name}/u", f"{name}/sigma"
        key = None if self.has_variable(col, u_name) else self.make_rng("params")
        u_var = self.variable(
            col, u_name, jax.random.normal, key, (1, matrix.shape[-1]), self.param_dtype
        )
        sigma_var = self.variable(col, sigma_name, jnp.ones, (), self.param_dtype)
        u = u_var.value
        v = u
        for _ in range(self.n_steps):
            v = l2_normalize(jnp.matmul(u, matrix.T), eps=self.epsilon)
            u = l2_normalize(jnp.matmul(v, matrix), eps=self.epsilon)
        u, v = lax.stop_gradient(u), lax.stop_gradient(v)
        sigma = jnp.matmul(jnp.matmul(v, matrix), u.T)[0, 0]
        normalized = (matrix / jnp.where(sigma != 0, sigma, 1)).reshape(value.shape)
        if update_stats:
            u_var.value = u
            sigma_var.value = sigma
        return jnp.asarray(normalized, _result_dtype(leaf, u, v, sigma, dtype=self.dtype))
