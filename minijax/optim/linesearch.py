r"""Line searches: choose the step size along a direction by evaluating the loss
(optax: `scale_by_backtracking_linesearch`).

Given a direction $d$ (the incoming update, a descent direction such as $-g$ or
L-BFGS's $-H^{-1} g$), a line search looks for a step size $\eta$ that makes
$f(p + \eta d)$ decrease *enough*. The Armijo condition asks for a decrease
proportional to the slope $\langle d, \nabla f(p)\rangle < 0$:

$$f(p + \eta d) \le (1 + \text{rtol})\, f(p) + c\, \eta\, \langle d, \nabla f(p)\rangle
  + \text{atol}$$

Backtracking starts from a guess and multiplies $\eta$ by `decrease_factor`
until the condition holds. The transformation needs the loss, its gradient and
the loss function: `update(d, state, params, value=f(p), grad=g, value_fn=f)`.
"""

import functools
import inspect
import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import GradientTransformationExtraArgs, Params, Updates
from minijax.optim.tree import tree_zeros_like

__all__ = [
    "BacktrackingLinesearchInfo",
    "ScaleByBacktrackingLinesearchState",
    "scale_by_backtracking_linesearch",
]


class BacktrackingLinesearchInfo(NamedTuple):
    """How the last search went (optax: `BacktrackingLinesearchInfo`)."""

    num_linesearch_steps: jax.Array
    decrease_error: jax.Array


class ScaleByBacktrackingLinesearchState(NamedTuple):
    """The last accepted step size, the loss (and gradient, with `store_grad`) at
    the new params, and the search's info (optax: `ScaleByBacktrackingLinesearchState`)."""

    learning_rate: jax.Array
    value: jax.Array
    grad: Updates | None
    info: BacktrackingLinesearchInfo


class _Search(NamedTuple):
    learning_rate: Any
    new_value: Any
    new_grad: Any
    decrease_error: Any
    iter_num: Any


def _cast_like(tree: Any, like: Any) -> Any:
    return jax.tree.map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, like)


def _vdot(x: Any, y: Any) -> Any:
    def leaf(a: Any, b: Any) -> jax.Array:
        a, b = jnp.asarray(a), jnp.asarray(b)
        if jnp.iscomplexobj(a):
            a = jnp.conj(a)
        return jnp.tensordot(a, b, a.ndim, precision=jax.lax.Precision.HIGHEST)

    return jax.tree.reduce(operator.add, jax.tree.map(leaf, x, y), initializer=0)


def _kwargs_for(
    fn: Callable[..., Any], extra_args: dict[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The keyword arguments `fn` takes, and the names of those it does not."""
    names = inspect.signature(fn).parameters
    return {k: v for k, v in extra_args.items() if k in names}, [
        k for k in extra_args if k not in names
    ]


def scale_by_backtracking_linesearch(
    max_backtracking_steps: int,
    slope_rtol: Any = 1e-4,
    decrease_factor: Any = 0.8,
    increase_factor: Any = 1.5,
    max_learning_rate: Any = 1.0,
    atol: Any = 0.0,
    rtol: Any = 0.0,
    store_grad: bool = False,
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Scale the direction $d$ by a step size found by backtracking
    (optax: `scale_by_backtracking_linesearch`).

    The first guess is $\min(\gamma_{inc}\, \eta_{prev}, \eta_{max})$; while the
    decrease error
    $\max\big(0, f(p + \eta d) - (1+\text{rtol}) f(p) - c\, \eta \langle d, g\rangle\big)$
    exceeds `atol` (at most `max_backtracking_steps` times),
    $\eta \leftarrow \gamma_{dec}\, \eta$. A NaN loss counts as an infinite error;
    if no finite loss was found the step is $0$. Returns $u = \eta d$.

    Call `update(d, state, params, value=f(p), grad=g, value_fn=f)`; further
    keyword arguments go to `value_fn` if it takes them. With `store_grad` the
    state also holds $\nabla f$ at the accepted params, to reuse at the next
    step. (`verbose` is accepted for optax's signature and prints nothing.)

    Examples:
        >>> import jax, jax.numpy as jnp, minijax.optim as optax
        >>> f = lambda p: jnp.sum(p["w"] ** 2)
        >>> params = {"w": jnp.array([1.0])}
        >>> tx = optax.chain(optax.sgd(1.0), optax.scale_by_backtracking_linesearch(20))
        >>> value, grad = jax.value_and_grad(f)(params)
        >>> u, state = tx.update(grad, tx.init(params), params, value=value, grad=grad, value_fn=f)
        >>> u["w"], state[1].learning_rate  # 1.0 overshoots to 1 - 2 = -1; 0.8 is accepted
        (Array([-1.6], dtype=float32), Array(0.8, dtype=float32))
    """
    del verbose

    def init_fn(params: Params) -> ScaleByBacktrackingLinesearchState:
        dtype = jnp.real(jnp.empty((), dtype=jax.tree.leaves(params)[0].dtype)).dtype
        return ScaleByBacktrackingLinesearchState(
            learning_rate=jnp.array(1.0, dtype=dtype),
            value=jnp.array(jnp.inf, dtype=dtype),
            grad=tree_zeros_like(params) if store_grad else None,
            info=BacktrackingLinesearchInfo(
                num_linesearch_steps=jnp.asarray(0), decrease_error=jnp.array(jnp.inf, dtype=dtype)
            ),
        )

    def decrease_error(stepsize: Any, slope: Any, value: Any, new_value: Any) -> Any:
        error = new_value - (1.0 + rtol) * value - stepsize * slope_rtol * slope
        return jnp.maximum(jnp.where(jnp.isnan(error), jnp.inf, error), 0.0)

    def update_fn(
        updates: Updates,
        state: ScaleByBacktrackingLinesearchState,
        params: Params | None = None,
        *,
        value: Any = None,
        grad: Updates = None,
        value_fn: Callable[..., Any] | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ScaleByBacktrackingLinesearchState]:
        if params is None or value is None or grad is None or value_fn is None:
            raise TypeError(
                "scale_by_backtracking_linesearch needs the loss: call "
                "update(updates, state, params, value=f(params), grad=g, value_fn=f)."
            )
        fn_kwargs, unused = _kwargs_for(value_fn, extra_args)
        if unused:
            raise TypeError(
                f"scale_by_backtracking_linesearch: value_fn takes none of the keyword "
                f"arguments {sorted(unused)}; pass only those it accepts."
            )
        f = functools.partial(value_fn, **fn_kwargs)
        slope = jnp.real(_vdot(updates, jax.tree.map(jnp.conj, grad)))

        def cond_fn(search: _Search) -> Any:
            return (~(search.decrease_error <= atol)) & (search.iter_num <= max_backtracking_steps)

        def body_fn(search: _Search) -> _Search:
            eta = jnp.where(
                search.iter_num > 0, decrease_factor * search.learning_rate, search.learning_rate
            )
            scalar = jnp.asarray(eta)
            new_params = jax.tree.map(lambda p, d: p + scalar * d, params, updates)
            new_grad = search.new_grad
            if store_grad:
                new_value, jvp_fn = jax.linearize(f, new_params)
                error = decrease_error(eta, slope, value, new_value)
                new_grad = jax.lax.cond(
                    (error <= atol) | (search.iter_num == max_backtracking_steps),
                    lambda p: jax.linear_transpose(jvp_fn, p)(1.0)[0],
                    lambda *_: search.new_grad,
                    new_params,
                )
            else:
                new_value = f(new_params)
                error = decrease_error(eta, slope, value, new_value)
            new = _Search(eta, new_value, new_grad, error, search.iter_num + 1)
            return _cast_like(new, search)  # type: ignore[no-any-return]

        start = _Search(
            learning_rate=jnp.minimum(increase_factor * state.learning_rate, max_learning_rate),
            new_value=value,
            new_grad=tree_zeros_like(params),
            decrease_error=jnp.array(jnp.inf),
            iter_num=0,
        )
        search = jax.lax.while_loop(cond_fn, body_fn, start)
        eta = jnp.where(jnp.isinf(search.decrease_error), 0.0, search.learning_rate)
        new_state = ScaleByBacktrackingLinesearchState(
            learning_rate=eta,
            value=search.new_value,
            grad=search.new_grad if store_grad else None,
            info=BacktrackingLinesearchInfo(search.iter_num, search.decrease_error),
        )
        return jax.tree.map(lambda d: eta * d, updates), _cast_like(new_state, state)

    return GradientTransformationExtraArgs(init_fn, update_fn)
