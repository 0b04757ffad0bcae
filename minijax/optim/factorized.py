r"""Adafactor's factored second moments (optax: `scale_by_factored_rms`).

Adam keeps one second moment per parameter. For a matrix $G \in \mathbb{R}^{n
\times m}$ Adafactor keeps only its row means $r \in \mathbb{R}^n$ and column
means $c \in \mathbb{R}^m$ and rebuilds the full matrix as the rank-1 outer
product $r c^\top / \operatorname{mean}(r)$: memory $n + m$ instead of $nm$.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from minijax.optim.base import NO_PARAMS_MSG, GradientTransformation, Params, Updates
from minijax.optim.numerics import abs_sq
from minijax.optim.transform import Count, _zero_count
from minijax.optim.tree import safe_increment

__all__ = ["FactoredState", "scale_by_factored_rms"]


class FactoredState(NamedTuple):
    """Adafactor's step count and moments (optax: `FactoredState`): `v_row`, `v_col`
    for factored leaves, `v` for the others (a `(1,)` placeholder where unused)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    v_row: Any
    v_col: Any
    v: Any


def _decay_rate_pow(i: Any, exponent: Any = 0.8) -> Any:
    r"""Adafactor's default decay $\hat\beta_2(i) = 1 - (i + 1)^{-k}$."""
    t = jnp.array(i + 1, jnp.float32)
    return 1.0 - t ** (-exponent)


def _factored_dims(
    shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int
) -> tuple[int, int] | None:
    """The two largest axes (second largest first) if both are large enough."""
    if not factored or len(shape) < 2:
        return None
    sorted_dims = np.argsort(shape)
    if shape[sorted_dims[-2]] < min_dim_size_to_factor:
        return None
    return int(sorted_dims[-2]), int(sorted_dims[-1])


def scale_by_factored_rms(
    factored: bool = True,
    decay_rate: Any = 0.8,
    step_offset: Any = 0,
    min_dim_size_to_factor: int = 128,
    epsilon: Any = 1e-30,
    decay_rate_fn: Callable[[Any, Any], Any] = _decay_rate_pow,
) -> GradientTransformation:
    r"""Divide by a factored estimate of the root mean square (optax:
    `scale_by_factored_rms`).

    With $\beta = $ `decay_rate_fn(step - step_offset, decay_rate)` and
    $G = g^2 + \epsilon$, a leaf whose second largest axis $a$ is at least
    `min_dim_size_to_factor` long (its largest is $b$) keeps two means,

    $$r \leftarrow \beta r + (1-\beta)\operatorname{mean}_b G, \quad
      c \leftarrow \beta c + (1-\beta)\operatorname{mean}_a G, \quad
      u = g \cdot \Big(\frac{r}{\operatorname{mean}(r)}\Big)^{-1/2} c^{-1/2}$$

    ($r$ is `v_row`, $c$ is `v_col`, each broadcast back over the axis it
    lacks); any other leaf keeps the full $v \leftarrow \beta v + (1-\beta) G$
    and gets $u = g\, v^{-1/2}$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.zeros((4, 3))}
        >>> tx = optax.scale_by_factored_rms(min_dim_size_to_factor=2)
        >>> state = tx.init(params)
        >>> state.v_row["w"].shape, state.v_col["w"].shape
        ((3,), (4,))
    """

    def init_leaf(p: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        placeholder = jnp.zeros((1,), dtype=p.dtype)
        dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
        if dims is None:
            return placeholder, placeholder, jnp.zeros_like(p)
        d1, d0 = dims
        v_row = jnp.zeros(tuple(np.delete(p.shape, d0)), p.dtype)
        v_col = jnp.zeros(tuple(np.delete(p.shape, d1)), p.dtype)
        return v_row, v_col, placeholder

    def update_leaf(
        g: jax.Array, v_row: jax.Array, v_col: jax.Array, v: jax.Array, p: jax.Array, step: Any
    ) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
        dtype = p.dtype
        beta = decay_rate_fn(step - step_offset, decay_rate)
        placeholder = jnp.zeros((1,), dtype=dtype)
        grad_sqr = abs_sq(g) + epsilon
        dims = _factored_dims(p.shape, factored, min_dim_size_to_factor)
        if dims is None:
            new_v = (beta * v + (1.0 - beta) * grad_sqr).astype(dtype)
            return g * new_v**-0.5, placeholder, placeholder, new_v
        d1, d0 = dims
        new_row = (beta * v_row + (1.0 - beta) * jnp.mean(grad_sqr, axis=d0)).astype(dtype)
        new_col = (beta * v_col + (1.0 - beta) * jnp.mean(grad_sqr, axis=d1)).astype(dtype)
        reduced_d1 = d1 - 1 if d1 > d0 else d1
        row_factor = (new_row / jnp.mean(new_row, axis=reduced_d1, keepdims=True)) ** -0.5
        col_factor = new_col**-0.5
        u = g * jnp.expand_dims(row_factor, axis=d0) * jnp.expand_dims(col_factor, axis=d1)
        return u, new_row, new_col, placeholder

    def split(tree_of_tuples: Any, params: Params, i: int) -> Any:
        return jax.tree.map(lambda _, out: out[i], params, tree_of_tuples)

    def init_fn(params: Params) -> FactoredState:
        out = jax.tree.map(init_leaf, params)
        return FactoredState(
            _zero_count(), split(out, params, 0), split(out, params, 1), split(out, params, 2)
        )

    def update_fn(
        updates: Updates, state: FactoredState, params: Params | None = None
    ) -> tuple[Updates, FactoredState]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        out = jax.tree.map(
            lambda g, r, c, v, p: update_leaf(g, r, c, v, p, state.count),
            updates,
            state.v_row,
            state.v_col,
            state.v,
            params,
        )
        parts = [split(out, params, i) for i in range(4)]
        return parts[0], FactoredState(safe_increment(state.count), *parts[1:])

    return GradientTransformation(init_fn, update_fn)
