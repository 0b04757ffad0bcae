r"""L-BFGS's preconditioner (optax: `scale_by_lbfgs`).

Newton's method steps by $-H^{-1} g$. BFGS builds an approximation of $H^{-1}$
from the last steps $s_i = p_{i+1} - p_i$ and gradient changes
$y_i = g_{i+1} - g_i$, each of which says how the gradient bends along one
direction. L-BFGS keeps only the last $m$ pairs and applies the approximation
to $g$ without ever forming a matrix, by the *two-loop recursion*: with
$\rho_i = 1 / \langle y_i, s_i\rangle$, newest pair first,

$$\alpha_i = \rho_i \langle s_i, q\rangle, \quad q \leftarrow q - \alpha_i y_i;
  \qquad q \leftarrow \gamma q; \qquad
  \text{oldest first: } \beta_i = \rho_i \langle y_i, q\rangle, \quad
  q \leftarrow q + (\alpha_i - \beta_i) s_i,$$

starting from $q = g$ and with the initial scale
$\gamma = \langle y, s\rangle / \lVert y\rVert^2$ of the newest pair. The result
$q \approx H^{-1} g$ is a direction, not a step: chain it with a line search
(`minijax.optim.linesearch`) or a learning rate.
"""

import operator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import NO_PARAMS_MSG, GradientTransformation, Params, Updates
from minijax.optim.tree import safe_increment

__all__ = ["ScaleByLBFGSState", "scale_by_lbfgs"]


class ScaleByLBFGSState(NamedTuple):
    """L-BFGS's memory (optax: `ScaleByLBFGSState`): the last params and
    gradient, and a ring buffer of the `memory_size` last differences
    $s_i$ (`diff_params_memory`), $y_i$ (`diff_updates_memory`) and weights
    $\\rho_i$ (`weights_memory`), each leaf stacked along a new first axis."""

    count: jax.Array  # type: ignore[assignment]  # optax's name; shadows tuple.count
    params: Params
    updates: Params
    diff_params_memory: Any
    diff_updates_memory: Any
    weights_memory: jax.Array


def _vdot(x: Any, y: Any) -> Any:
    r"""$\langle x, y\rangle = \sum_\ell \sum_i \bar x_{\ell i} y_{\ell i}$ over two trees."""

    def leaf(a: Any, b: Any) -> jax.Array:
        a, b = jnp.asarray(a), jnp.asarray(b)
        if jnp.iscomplexobj(a):
            a = jnp.conj(a)
        return jnp.tensordot(a, b, a.ndim, precision=jax.lax.Precision.HIGHEST)

    return jax.tree.reduce(operator.add, jax.tree.map(leaf, x, y), initializer=0)


def _squared_norm(tree: Any) -> jax.Array:
    sums = jax.tree.map(lambda x: jnp.sum(jnp.square(x.real) + jnp.square(x.imag)), tree)
    return jnp.array(jax.tree.reduce(operator.add, sums, initializer=0))


def _add_scale(x: Any, scalar: Any, y: Any) -> Any:
    """$x + a y$, cast back to the dtypes of $x$."""
    scalar = jnp.asarray(scalar)
    return jax.tree.map(lambda a, b: (a + scalar * b).astype(a.dtype), x, y)


def _two_loop(
    updates: Updates, s: Any, y: Any, rhos: jax.Array, gamma: Any, memory_idx: jax.Array
) -> Updates:
    """The two-loop recursion: $q \\approx H^{-1} g$ from the pairs in memory."""
    memory_size = rhos.shape[0]
    indices = (memory_idx + jnp.arange(memory_size)) % memory_size

    def pair(idx: jax.Array) -> Any:
        return jax.tree.map(lambda x: x[idx], (s, y))

    def newest_first(q: Any, idx: jax.Array) -> tuple[Any, jax.Array]:
        s_i, y_i = pair(idx)
        alpha = rhos[idx] * jnp.real(_vdot(s_i, q))
        return _add_scale(q, -alpha, y_i), alpha

    q, alphas = jax.lax.scan(newest_first, updates, indices, reverse=True)
    q = jax.tree.map(lambda x: gamma * x, q)

    def oldest_first(q: Any, idx_alpha: tuple[jax.Array, jax.Array]) -> tuple[Any, jax.Array]:
        idx, alpha = idx_alpha
        s_i, y_i = pair(idx)
        beta = rhos[idx] * jnp.real(_vdot(y_i, q))
        return _add_scale(q, alpha - beta, s_i), beta

    q, _ = jax.lax.scan(oldest_first, q, (indices, alphas))
    return q


def scale_by_lbfgs(
    memory_size: int = 10, scale_init_precond: bool = True
) -> GradientTransformation:
    r"""Precondition the gradient by L-BFGS's inverse-Hessian estimate
    (optax: `scale_by_lbfgs`), see the module docstring for the recursion.

    At each call the pair $(s, y) = (p - p_{prev}, g - g_{prev})$ enters the
    memory (a zero pair, ignored, at the first call). `scale_init_precond`
    scales the initial estimate by $\gamma = \langle y, s\rangle / \lVert y\rVert^2$
    (and the first step by $\min(1, 1/\lVert g\rVert)$); otherwise $\gamma = 1$.
    Needs `params`; the output points *along* the gradient.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_lbfgs(memory_size=3)
        >>> params = {"w": jnp.zeros(2)}
        >>> u, state = tx.update({"w": jnp.array([0.3, 0.4])}, tx.init(params), params)
        >>> u["w"], state.diff_params_memory["w"].shape  # g / max(1, |g|), g = 0.5
        (Array([0.3, 0.4], dtype=float32), (3, 2))
    """
    if memory_size < 1:
        raise ValueError(f"scale_by_lbfgs: memory_size must be >= 1, got {memory_size}.")

    def init_fn(params: Params) -> ScaleByLBFGSState:
        stacked = jax.tree.map(lambda p: jnp.zeros((memory_size, *p.shape), p.dtype), params)
        return ScaleByLBFGSState(
            count=jnp.asarray(0, dtype=jnp.int32),
            params=jax.tree.map(jnp.zeros_like, params),
            updates=jax.tree.map(jnp.zeros_like, params),
            diff_params_memory=stacked,
            diff_updates_memory=stacked,
            weights_memory=jnp.zeros(memory_size),
        )

    def update_fn(
        updates: Updates, state: ScaleByLBFGSState, params: Params | None = None
    ) -> tuple[Updates, ScaleByLBFGSState]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        memory_idx = state.count % memory_size
        prev_memory_idx = (state.count - 1) % memory_size
        s = jax.tree.map(lambda p, q: p - q, params, state.params)
        y = jax.tree.map(lambda g, h: g - h, updates, state.updates)
        y_dot_s = jnp.real(_vdot(y, s))
        rho = jnp.where(y_dot_s == 0.0, 0.0, 1.0 / y_dot_s)
        s, y, rho = jax.tree.map(
            lambda x: jnp.where(state.count > 0, x, jnp.zeros_like(x)), (s, y, rho)
        )
        s_memory, y_memory, rho_memory = jax.tree.map(
            lambda buffer, new: buffer.at[prev_memory_idx].set(new),
            (state.diff_params_memory, state.diff_updates_memory, state.weights_memory),
            (s, y, rho),
        )
        gamma: Any = 1.0
        if scale_init_precond:
            numerator = jnp.real(_vdot(y, s))
            denominator = _squared_norm(y)
            gamma = jnp.where(denominator > 0.0, numerator / denominator, 1.0)
            update_norm = jnp.sqrt(_squared_norm(jax.lax.stop_gradient(updates)))
            first_scale = jnp.minimum(1.0, 1.0 / update_norm)
            gamma = jnp.where(state.count > 0, gamma, first_scale)
        direction = _two_loop(updates, s_memory, y_memory, rho_memory, gamma, memory_idx)
        return direction, ScaleByLBFGSState(
            count=safe_increment(state.count),
            params=params,
            updates=updates,
            diff_params_memory=s_memory,
            diff_updates_memory=y_memory,
            weights_memory=rho_memory,
        )

    return GradientTransformation(init_fn, update_fn)
