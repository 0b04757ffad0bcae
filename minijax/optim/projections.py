r"""Euclidean projections (optax: `optax.projections`): the closest point of a
convex set.

`projection_simplex(x)` solves $\min_p \lVert x - p\rVert^2$ subject to $p \ge 0$,
$\sum_i p_i = s$: sort $x$ in decreasing order, find the largest $k$ with
$u_k - (\sum_{i \le k} u_i - s)/k > 0$, and shift all of $x$ by that threshold,
clipping at zero (Duchi et al., 2008). The sparsemax losses use it.

>>> import jax.numpy as jnp
>>> projection_simplex(jnp.array([2.0, 0.0, -1.0]))
Array([1., 0., 0.], dtype=float32)
"""

from typing import Any

import jax
import jax.numpy as jnp
from jax import flatten_util

__all__ = ["projection_simplex"]


@jax.custom_jvp
def _projection_unit_simplex(values: jax.Array) -> jax.Array:
    n = values.shape[0]
    u = jnp.sort(values)[::-1]
    cumsum_u = jnp.cumsum(u)
    ind = jnp.arange(n) + 1
    k = jnp.count_nonzero(1 / ind + (u - cumsum_u / ind) > 0)  # the size of the support
    return jax.nn.relu(1 / k + (values - cumsum_u[k - 1] / k))


@_projection_unit_simplex.defjvp
def _projection_unit_simplex_jvp(
    primals: tuple[jax.Array], tangents: tuple[jax.Array]
) -> tuple[jax.Array, jax.Array]:
    (values,), (values_dot,) = primals, tangents
    primal_out = _projection_unit_simplex(values)
    support = primal_out > 0
    tangent_out = support * values_dot - (
        jnp.dot(support, values_dot) / jnp.count_nonzero(support)
    ) * support  # the derivative: project the tangent onto the support's hyperplane
    return primal_out, tangent_out


def projection_simplex(tree: Any, scale: jax.typing.ArrayLike = 1) -> Any:
    r"""The projection of `tree` (all leaves as one vector) onto the simplex
    $\{p \ge 0, \sum_i p_i = \text{scale}\}$ (optax: `optax.projections.projection_simplex`).

    Args:
        tree: a pytree of arrays.
        scale: what the projection sums to.

    Returns:
        A pytree of the structure of `tree`.

    >>> import jax.numpy as jnp
    >>> projection_simplex({"a": jnp.array([0.5, 0.5]), "b": jnp.array(1.0)}, scale=2.0)
    {'a': Array([0.5, 0.5], dtype=float32), 'b': Array(1., dtype=float32)}
    """
    values, unravel = flatten_util.ravel_pytree(tree)
    projected: Any = scale * _projection_unit_simplex(values / scale)
    return unravel(projected)
