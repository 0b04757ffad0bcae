r"""The clipping family beyond `clip` and `clip_by_global_norm`
(optax: `optax.transforms._clipping`): per-block RMS clipping, adaptive
gradient clipping (AGC, from NFNets) and per-example clipping for
differentially private SGD.
"""

from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    NO_PARAMS_MSG,
    EmptyState,
    GradientTransformation,
    OptState,
    Params,
    Updates,
    init_empty_state,
)
from minijax.optim.numerics import abs_sq
from minijax.optim.tree import global_norm

__all__ = [
    "AdaptiveGradClipState",
    "ClipByGlobalNormState",
    "ClipState",
    "adaptive_grad_clip",
    "clip_by_block_rms",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "unitwise_clip",
    "unitwise_norm",
]


ClipState = EmptyState
"""The (empty) state of `clip` (optax: `ClipState`)."""
ClipByGlobalNormState = EmptyState
"""The (empty) state of `clip_by_global_norm` (optax: `ClipByGlobalNormState`)."""
AdaptiveGradClipState = EmptyState
"""The (empty) state of `adaptive_grad_clip` (optax: `AdaptiveGradClipState`)."""


def clip_by_block_rms(threshold: Any) -> GradientTransformation:
    r"""Shrink each leaf whose root mean square exceeds `threshold`
    (optax: `clip_by_block_rms`):

    $$u_\ell = \frac{g_\ell}{\max\big(1, \operatorname{rms}(g_\ell) / \tau\big)}$$

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> u, _ = optax.clip_by_block_rms(1.0).update({"w": jnp.array([4.0, -4.0])}, ())
        >>> u["w"]
        Array([ 1., -1.], dtype=float32)
    """

    def clip_leaf(u: jax.Array) -> jax.Array:
        return u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(abs_sq(u))) / threshold)

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(clip_leaf, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def unitwise_norm(x: jax.Array, axis: int | tuple[int, ...] | None = None) -> jax.Array:
    r"""The norm of each *unit* of `x`, broadcast to `x`'s shape
    (optax: `unitwise_norm`).

    A unit is an output neuron: the whole array for a scalar or a vector, a
    column ($\sum$ over axis 0) for a dense kernel `(in, out)` or `(h, in, out)`,
    one output channel ($\sum$ over axes 0-2 or 0-3) for a conv kernel `HWIO` or
    `DHWIO`. `axis` overrides the choice.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> optax.unitwise_norm(jnp.array([[3.0, 0.0], [4.0, 1.0]]))
        Array([[5., 1.],
               [5., 1.]], dtype=float32)
    """
    if axis is not None:
        squared = jnp.sum(x * x, axis=axis, keepdims=True)
    elif jnp.squeeze(x).ndim <= 1:
        squared = jnp.sum(x * x, keepdims=True)
    elif x.ndim in (2, 3):
        squared = jnp.sum(x * x, axis=0, keepdims=True)
    elif x.ndim == 4:
        squared = jnp.sum(x * x, axis=(0, 1, 2), keepdims=True)
    elif x.ndim == 5:
        squared = jnp.sum(x * x, axis=(0, 1, 2, 3), keepdims=True)
    else:
        raise ValueError(
            f"unitwise_norm: no default units for an array of shape {x.shape} (ndim 1 to 5 "
            "have one); pass `axis=` to name the axes to reduce over."
        )
    return jnp.broadcast_to(jnp.sqrt(squared), x.shape)


def unitwise_clip(g_norm: Any, max_norm: Any, grad: Any, div_eps: Any = 1e-6) -> jax.Array:
    r"""$g$ where $\lVert g\rVert < c$, else $g\, c / \max(\lVert g\rVert, \epsilon)$,
    elementwise on arrays of one shape (optax: `unitwise_clip`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> g = jnp.array([3.0, 0.5])
        >>> optax.unitwise_clip(jnp.abs(g), jnp.ones(2), g)
        Array([1. , 0.5], dtype=float32)
    """
    shapes = {jnp.shape(g_norm), jnp.shape(max_norm), jnp.shape(grad)}
    if len(shapes) != 1:
        raise ValueError(
            f"unitwise_clip: g_norm, max_norm and grad must have one shape, got "
            f"{jnp.shape(g_norm)}, {jnp.shape(max_norm)} and {jnp.shape(grad)}."
        )
    clipped = grad * (max_norm / jnp.maximum(g_norm, div_eps))
    return jnp.where(g_norm < max_norm, grad, clipped)


def adaptive_grad_clip(
    clipping: Any, eps: Any = 1e-3, axis: int | tuple[int, ...] | None = None
) -> GradientTransformation:
    r"""Adaptive gradient clipping, unit by unit (optax: `adaptive_grad_clip`):

    $$u = \begin{cases} g & \lVert g\rVert < \lambda \max(\lVert p\rVert, \epsilon) \\
          g\, \lambda \max(\lVert p\rVert, \epsilon) / \lVert g\rVert & \text{otherwise}
          \end{cases}$$

    with the norms of `unitwise_norm`. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.array([1.0, 0.0])}
        >>> tx = optax.adaptive_grad_clip(0.1)
        >>> u, _ = tx.update({"w": jnp.array([1.0, 0.0])}, tx.init(params), params)
        >>> u["w"]
        Array([0.1, 0. ], dtype=float32)
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        g_norm, p_norm = jax.tree.map(lambda x: unitwise_norm(x, axis=axis), (updates, params))
        max_norm = jax.tree.map(lambda x: clipping * jnp.maximum(x, eps), p_norm)
        return jax.tree.map(unitwise_clip, g_norm, max_norm, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def _check_batch_dim(grads: Any, name: str) -> None:
    leaves = jax.tree.leaves(grads)
    batch = leaves[0].shape[0] if leaves and leaves[0].ndim >= 1 else None
    if batch is None or any(g.ndim < 1 or g.shape[0] != batch for g in leaves):
        raise ValueError(
            f"{name} expects per-example gradients: every leaf with the same batch size "
            f"in axis 0; got shapes {jax.tree.map(jnp.shape, grads)}."
        )


def per_example_global_norm_clip(grads: Any, l2_norm_clip: Any) -> tuple[Any, jax.Array]:
    r"""Clip each example's gradient to global norm $C$, then sum over the batch
    (optax: `per_example_global_norm_clip`):

    $$u = \sum_i g_i \min\big(1, C / \lVert g_i\rVert\big)$$

    Returns the sum and the number of examples clipped.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> grads = {"w": jnp.array([[3.0, 4.0], [0.3, 0.4]])}  # two examples
        >>> total, n = optax.per_example_global_norm_clip(grads, 1.0)
        >>> total["w"], n
        (Array([0.9, 1.2], dtype=float32), Array(1, dtype=int32))
    """
    _check_batch_dim(grads, "per_example_global_norm_clip")
    norms = jax.vmap(global_norm)(grads)
    multipliers = jnp.nan_to_num(jnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)
    clipped_sum = jax.tree.map(lambda g: jnp.tensordot(multipliers, g, axes=1), grads)
    return clipped_sum, jnp.sum(multipliers < 1.0)


def per_example_layer_norm_clip(
    grads: Any, global_l2_norm_clip: Any, uniform: bool = True
) -> tuple[Any, Any]:
    r"""Clip each example's gradient leaf by leaf, then sum over the batch
    (optax: `per_example_layer_norm_clip`).

    Leaf $\ell$ of $L$ gets the clip norm $C/\sqrt L$ (`uniform`) or
    $C\sqrt{n_\ell / n}$ (its share of the $n$ parameters), so the clipped
    per-example gradient has global norm at most $C$. Returns the tree of sums
    and the tree of clipped counts.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> grads = {"a": jnp.array([[3.0, 4.0]]), "b": jnp.array([[0.1]])}
        >>> total, n = optax.per_example_layer_norm_clip(grads, 2**0.5)
        >>> total["a"], n["b"]
        (Array([0.6, 0.8], dtype=float32), Array(0, dtype=int32))
    """
    _check_batch_dim(grads, "per_example_layer_norm_clip")
    if uniform:
        num_layers = len(jax.tree.leaves(grads))
        clip_norms = jax.tree.map(lambda _: global_l2_norm_clip * (1.0 / num_layers) ** 0.5, grads)
    else:
        total = jax.tree.reduce(lambda acc, g: acc + g[0].size, grads, 0)
        clip_norms = jax.tree.map(lambda g: global_l2_norm_clip * (g[0].size / total) ** 0.5, grads)
    result = jax.tree.map(per_example_global_norm_clip, grads, clip_norms)
    return jax.tree.transpose(  # type: ignore[no-any-return]
        outer_treedef=jax.tree.structure(grads),
        inner_treedef=jax.tree.structure((0, 0)),
        pytree_to_transpose=result,
    )
