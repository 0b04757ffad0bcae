r"""The Polyak step size (optax: `scale_by_polyak`): the step that would reach
the optimal value $f^*$ if the loss were linear,

$$u = \min\Big(\frac{f(x) - f^*}{\lVert g\rVert^2 + \epsilon},\ \eta_{max}\Big)\, g$$

It needs the current loss: call `update(grads, state, params, value=loss)`.
"""

import operator
from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    EmptyState,
    GradientTransformationExtraArgs,
    Params,
    Updates,
    init_empty_state,
)

__all__ = ["scale_by_polyak"]


def _squared_norm(tree: Any) -> jax.Array:
    r"""$\lVert g\rVert^2 = \sum_\ell \sum_i \lvert g_{\ell i}\rvert^2$, over all leaves."""
    sums = jax.tree.map(lambda x: jnp.sum(jnp.square(x.real) + jnp.square(x.imag)), tree)
    return jnp.array(jax.tree.reduce(operator.add, sums, initializer=0))


def scale_by_polyak(
    f_min: Any = 0.0, max_learning_rate: Any = 1.0, eps: Any = 0.0, variant: str = "sps"
) -> GradientTransformationExtraArgs:
    r"""Scale by the Polyak step size (optax: `scale_by_polyak`).

    $$\gamma = \begin{cases} 0 & \lVert g\rVert^2 + \epsilon \le \epsilon_{mach} \\
      \min\big((f - f^*) / (\lVert g\rVert^2 + \epsilon),\ \eta_{max}\big) & \text{otherwise}
      \end{cases}, \qquad u = \gamma g$$

    `variant="sps+"` clips the gap $f - f^*$ at zero. The loss is the keyword
    argument `value` of `update`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_polyak(max_learning_rate=10.0)
        >>> u, _ = tx.update({"w": jnp.array([2.0])}, tx.init({}), value=jnp.array(2.0))
        >>> u["w"]  # gap 2 / |g|^2 4 = 0.5
        Array([1.], dtype=float32)
    """
    if variant not in ("sps", "sps+"):
        raise ValueError(f"scale_by_polyak: variant must be 'sps' or 'sps+', got {variant!r}.")

    def update_fn(
        updates: Updates,
        state: EmptyState,
        params: Params | None = None,
        *,
        value: Any = None,
        **extra_args: Any,
    ) -> tuple[Updates, EmptyState]:
        del params, extra_args
        if value is None:
            raise TypeError(
                "scale_by_polyak needs the loss: call update(updates, state, params, value=loss)."
            )
        grad_sq_norm = _squared_norm(updates)
        gap = jnp.array(value - f_min).astype(grad_sq_norm.dtype)
        if variant == "sps+":
            gap = jax.nn.relu(gap)
        step = jnp.where(
            grad_sq_norm + eps <= jnp.finfo(float).eps,  # type: ignore[no-untyped-call]
            jnp.array(0.0),
            jnp.minimum(gap / (grad_sq_norm + eps), max_learning_rate),
        )
        return jax.tree.map(lambda g: step * g, updates), state

    return GradientTransformationExtraArgs(init_empty_state, update_fn)
