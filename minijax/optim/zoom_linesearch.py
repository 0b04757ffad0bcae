r"""The zoom line search (optax: `scale_by_zoom_linesearch`), Nocedal and Wright's
Algorithm 3.5-3.6: a step size satisfying the strong Wolfe conditions.

Along the direction $d$, with $\phi(\eta) = f(p + \eta d)$, the step must
decrease the loss enough and flatten the slope enough:

$$\phi(\eta) \le \phi(0) + c_1 \eta \phi'(0), \qquad
  \lvert\phi'(\eta)\rvert \le c_2 \lvert\phi'(0)\rvert .$$

The search runs in two phases, one evaluation of $\phi$ and $\phi'$ per
iteration:

1. *Search an interval*: try $\eta_0$, then grow it by `increase_factor` until
   the step overshoots (too little decrease, or the loss went up) or the slope
   turns positive; the interval $[\eta_{low}, \eta_{high}]$ then holds a
   good step.
2. *Zoom*: try a point inside the interval (the minimiser of the cubic through
   the last three points if it is well inside, else of the quadratic, else the
   middle) and shrink the interval around it, until both conditions hold.

If it runs out of iterations it takes the best step that decreased the loss
enough (the "safe" step), if any. The Armijo test uses the approximate form
of Hager and Zhang near the minimum (`approx_dec_rtol`), where
$\phi(\eta) - \phi(0)$ is lost in rounding.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import GradientTransformationExtraArgs, Params, Updates
from minijax.optim.linesearch import _cast_like, _vdot
from minijax.optim.tree import safe_increment, tree_zeros_like

__all__ = ["ScaleByZoomLinesearchState", "ZoomLinesearchInfo", "scale_by_zoom_linesearch"]


class ZoomLinesearchInfo(NamedTuple):
    """How the last search went (optax: `ZoomLinesearchInfo`)."""

    num_linesearch_steps: jax.Array
    decrease_error: jax.Array
    curvature_error: jax.Array


class ScaleByZoomLinesearchState(NamedTuple):
    """The accepted step size, the loss and gradient at the new params (reusable
    at the next step), and the search's info (optax: `ScaleByZoomLinesearchState`)."""

    learning_rate: jax.Array
    value: jax.Array
    grad: Updates
    info: ZoomLinesearchInfo


class _Search(NamedTuple):
    """The search's state: the line, the current trial, the errors, the phase
    flags, the interval and the safe step (optax: `ZoomLinesearchState`)."""

    count: Any
    params: Params
    updates: Updates
    stepsize_guess: Any
    stepsize: Any
    value: Any
    grad: Updates
    slope: Any
    value_init: Any
    slope_init: Any
    decrease_error: Any
    curvature_error: Any
    error: Any
    interval_found: Any
    done: Any
    failed: Any
    low: Any
    value_low: Any
    slope_low: Any
    high: Any
    value_high: Any
    slope_high: Any
    cubic_ref: Any
    value_cubic_ref: Any
    safe_stepsize: Any
    safe_value: Any
    safe_grad: Updates


def _where(condition: Any, if_true: list[Any], if_false: list[Any]) -> Any:
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), if_true, if_false)


def _cubicmin(a: Any, fa: Any, fpa: Any, b: Any, fb: Any, c: Any, fc: Any) -> Any:
    """The minimiser of the cubic through $(a, f_a)$ with slope $f'_a$, $(b, f_b)$, $(c, f_c)$."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    d1 = jnp.array([[dc**2, -(db**2)], [-(dc**3), db**3]])
    rhs = jnp.array([fb - fa - fpa * db, fc - fa - fpa * dc])
    A, B = jnp.dot(d1, rhs, precision=jax.lax.Precision.HIGHEST) / denom
    radical = B * B - 3.0 * A * fpa
    return a + (-B + jnp.sqrt(radical)) / (3.0 * A)


def _quadmin(a: Any, fa: Any, fpa: Any, b: Any, fb: Any) -> Any:
    """The minimiser of the quadratic through $(a, f_a)$ with slope $f'_a$ and $(b, f_b)$."""
    db = b - a
    B = (fb - fa - fpa * db) / (db**2)
    return a - fpa / (2.0 * B)


def scale_by_zoom_linesearch(
    max_linesearch_steps: int,
    max_learning_rate: Any = None,
    tol: Any = 0.0,
    increase_factor: Any = 2.0,
    slope_rtol: Any = 1e-4,
    curv_rtol: Any = 0.9,
    approx_dec_rtol: Any = 1e-6,
    stepsize_precision: Any = 1e-5,
    initial_guess_strategy: str = "keep",
    verbose: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Scale the direction by a step size satisfying the strong Wolfe conditions
    (optax: `scale_by_zoom_linesearch`); see the module docstring.

    $c_1$ is `slope_rtol`, $c_2$ `curv_rtol`; the conditions hold when their
    errors are at most `tol`. The first trial is $1$
    (`initial_guess_strategy="one"`) or the last accepted step (`"keep"`), the
    steps are capped at `max_learning_rate`, and the zoom stops when the
    interval is shorter than `stepsize_precision`. Call
    `update(d, state, params, value=f(p), grad=g, value_fn=f)`; further keyword
    arguments go to `value_fn`. (`verbose` is accepted for optax's signature and
    prints nothing.)

    Examples:
        >>> import jax, jax.numpy as jnp, minijax.optim as optax
        >>> f = lambda p: jnp.sum((p - 3.0) ** 2)
        >>> params = jnp.array([0.0])
        >>> tx = optax.chain(optax.sgd(1.0), optax.scale_by_zoom_linesearch(10))
        >>> value, grad = jax.value_and_grad(f)(params)
        >>> u, state = tx.update(grad, tx.init(params), params, value=value, grad=grad, value_fn=f)
        >>> u, state[1].learning_rate  # the exact minimiser along -g: 3 = 0.5 * 6
        (Array([3.], dtype=float32), Array(0.5, dtype=float32))
    """
    del verbose
    if initial_guess_strategy not in ("one", "keep"):
        raise ValueError(
            f"scale_by_zoom_linesearch: initial_guess_strategy must be 'one' or 'keep', "
            f"got {initial_guess_strategy!r}."
        )

    def on_line(vg_fn: Callable[..., Any], s: _Search, stepsize: Any, kw: dict[str, Any]) -> Any:
        """$\\phi(\\eta)$, $\\nabla f(p + \\eta d)$ and $\\phi'(\\eta)$."""
        scalar = jnp.asarray(stepsize)
        step = jax.tree.map(lambda p, d: p + scalar * d, s.params, s.updates)
        value, grad = vg_fn(step, **kw)
        slope = jnp.real(_vdot(jax.tree.map(jnp.conj, grad), s.updates))
        return value, grad, slope

    def decrease_error(stepsize: Any, value: Any, slope: Any, s: _Search) -> Any:
        error = value - s.value_init - slope_rtol * stepsize * s.slope_init
        if approx_dec_rtol is not None:
            approx = slope - (2 * slope_rtol - 1.0) * s.slope_init
            delta_values = value - s.value_init - approx_dec_rtol * jnp.abs(s.value_init)
            error = jnp.minimum(jnp.maximum(approx, delta_values), error)
        error = jnp.maximum(error, 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def curvature_error(slope: Any, s: _Search) -> Any:
        error = jnp.maximum(jnp.abs(slope) - curv_rtol * jnp.abs(s.slope_init), 0.0)
        return jnp.where(jnp.isnan(error), jnp.inf, error)

    def search_interval(s: _Search, vg_fn: Callable[..., Any], kw: dict[str, Any]) -> _Search:
        """Phase 1: grow the step until an interval holding a good one is found."""
        new_stepsize = jnp.where(s.count == 0, s.stepsize_guess, increase_factor * s.stepsize)
        if max_learning_rate is not None:
            max_reached = new_stepsize >= max_learning_rate
            new_stepsize = jnp.minimum(new_stepsize, max_learning_rate)
        else:
            max_reached = jnp.asarray(False)
        value, grad, slope = on_line(vg_fn, s, new_stepsize, kw)
        dec_error = decrease_error(new_stepsize, value, slope, s)
        curv_error = curvature_error(slope, s)
        error = jnp.maximum(dec_error, curv_error)
        safe_stepsize, safe_value, safe_grad = _where(
            dec_error <= tol,
            [new_stepsize, value, grad],
            [s.safe_stepsize, s.safe_value, s.safe_grad],
        )
        high_is_new = (dec_error > 0.0) | ((value >= s.value) & (s.count > 0))
        low_is_new = (slope >= 0.0) & (~high_is_new)
        low, value_low, slope_low, high, value_high, slope_high = _where(
            low_is_new,
            [new_stepsize, value, slope, s.stepsize, s.value, s.slope],
            [s.stepsize, s.value, s.slope, new_stepsize, value, slope],
        )
        interval_found = high_is_new | low_is_new | (error <= tol)
        done = (error <= tol) | (max_reached & ~interval_found)
        failed = (s.count + 1 >= max_linesearch_steps) & (~done)
        new = _Search(
            safe_increment(s.count), s.params, s.updates, s.stepsize_guess,
            new_stepsize, value, grad, slope, s.value_init, s.slope_init,
            dec_error, curv_error, error,
            jnp.asarray(interval_found), jnp.asarray(done), jnp.asarray(failed),
            low, value_low, slope_low, high, value_high, slope_high,
            low, value_low, safe_stepsize, safe_value, safe_grad,
        )  # fmt: skip
        return _cast_like(new, s)  # type: ignore[no-any-return]

    def zoom(s: _Search, vg_fn: Callable[..., Any], kw: dict[str, Any]) -> _Search:
        """Phase 2: try a point inside the interval and shrink the interval to it."""
        delta = jnp.abs(s.high - s.low)
        left, right = jnp.minimum(s.high, s.low), jnp.maximum(s.high, s.low)
        too_small = delta <= stepsize_precision
        cubic = _cubicmin(
            s.low, s.value_low, s.slope_low, s.high, s.value_high, s.cubic_ref, s.value_cubic_ref
        )
        use_cubic = (cubic > left + 0.2 * delta) & (cubic < right - 0.2 * delta)
        quad = _quadmin(s.low, s.value_low, s.slope_low, s.high, s.value_high)
        use_quad = (~use_cubic) & (quad > left + 0.1 * delta) & (quad < right - 0.1 * delta)
        use_bisection = (~use_cubic) & (~use_quad)
        middle = jnp.where(use_cubic, cubic, s.cubic_ref)
        middle = jnp.where(use_quad, quad, middle)
        middle = jnp.where(use_bisection, (s.low + s.high) / 2.0, middle)

        value, grad, slope = on_line(vg_fn, s, middle, kw)
        dec_error = decrease_error(middle, value, slope, s)
        curv_error = curvature_error(slope, s)
        error = jnp.maximum(dec_error, curv_error)
        safe_stepsize, safe_value, safe_grad = _where(
            (dec_error <= tol) & (value < s.safe_value),
            [middle, value, grad],
            [s.safe_stepsize, s.safe_value, s.safe_grad],
        )
        done = error <= tol
        high_to_middle = (dec_error > 0.0) | (value >= s.value_low)
        high_to_low = (slope * (s.high - s.low) >= 0.0) & (~high_to_middle)
        low_to_middle = ~high_to_middle
        high = _where(high_to_middle, [middle, value, slope], [s.high, s.value_high, s.slope_high])
        high = _where(high_to_low, [s.low, s.value_low, s.slope_low], high)
        low = _where(low_to_middle, [middle, value, slope], [s.low, s.value_low, s.slope_low])
        cubic_ref, value_cubic_ref = _where(
            high_to_middle | high_to_low, [s.high, s.value_high], [s.low, s.value_low]
        )
        (low, value_low, slope_low), (high, value_high, slope_high) = low, high
        max_iter = (s.count + 1) >= max_linesearch_steps
        failed = (jnp.asarray(max_iter) | (too_small & (safe_stepsize > 0.0))) & ~done
        new = _Search(
            safe_increment(s.count), s.params, s.updates, s.stepsize_guess,
            middle, value, grad, slope, s.value_init, s.slope_init,
            dec_error, curv_error, error, s.interval_found, done, failed,
            low, value_low, slope_low, high, value_high, slope_high,
            cubic_ref, value_cubic_ref, safe_stepsize, safe_value, safe_grad,
        )  # fmt: skip
        return _cast_like(new, s)  # type: ignore[no-any-return]

    def try_safe_step(s: _Search) -> _Search:
        """Out of iterations: take the safe step if there is one (or no finite loss)."""
        stepsize, value, grad = _where(
            (s.safe_stepsize > 0.0) | jnp.isinf(s.decrease_error),
            [s.safe_stepsize, s.safe_value, s.safe_grad],
            [s.stepsize, s.value, s.grad],
        )
        return _cast_like(s._replace(stepsize=stepsize, grad=grad, value=value), s)  # type: ignore[no-any-return]

    def step(s: _Search, vg_fn: Callable[..., Any], kw: dict[str, Any]) -> _Search:
        new = jax.lax.cond(
            s.interval_found,
            functools.partial(zoom, vg_fn=vg_fn, kw=kw),
            functools.partial(search_interval, vg_fn=vg_fn, kw=kw),
            s,
        )
        new = jax.lax.cond(new.failed, try_safe_step, lambda x: x, new)
        return _cast_like(new, s)  # type: ignore[no-any-return]

    def start(
        updates: Updates, params: Params, value: Any, grad: Updates, prev_stepsize: Any
    ) -> _Search:
        guess = jnp.asarray(1.0) if initial_guess_strategy == "one" else prev_stepsize
        val_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
        slope = jnp.real(_vdot(updates, grad))
        inf = jnp.asarray(jnp.inf)
        zero = jnp.asarray(0.0)
        return _Search(
            jnp.asarray(0), params, updates, guess,
            jnp.asarray(0.0, dtype=val_dtype), jnp.array(value, dtype=val_dtype), grad, slope,
            value, slope, inf, inf, inf,
            jnp.asarray(False), jnp.asarray(False), jnp.asarray(False),
            zero, value, slope, zero, value, slope, zero, value, zero, value, grad,
        )  # fmt: skip

    def init_fn(params: Params) -> ScaleByZoomLinesearchState:
        val_dtype = jnp.real(jnp.empty((), jax.tree.leaves(params)[0].dtype)).dtype
        inf = jnp.asarray(jnp.inf)
        return ScaleByZoomLinesearchState(
            learning_rate=jnp.asarray(1.0, dtype=val_dtype),
            value=jnp.asarray(jnp.inf, dtype=val_dtype),
            grad=tree_zeros_like(params),
            info=ZoomLinesearchInfo(jnp.asarray(0), inf, inf),
        )

    def update_fn(
        updates: Updates,
        state: ScaleByZoomLinesearchState,
        params: Params | None = None,
        *,
        value: Any = None,
        grad: Updates = None,
        value_fn: Callable[..., Any] | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, ScaleByZoomLinesearchState]:
        if params is None or value is None or grad is None or value_fn is None:
            raise TypeError(
                "scale_by_zoom_linesearch needs the loss: call "
                "update(updates, state, params, value=f(params), grad=g, value_fn=f)."
            )
        names = inspect.signature(value_fn).parameters
        unused = sorted(k for k in extra_args if k not in names)
        if unused:
            raise TypeError(
                f"scale_by_zoom_linesearch: value_fn takes none of the keyword arguments "
                f"{unused}; pass only those it accepts."
            )
        kw = {k: v for k, v in extra_args.items() if k in names}
        vg_fn = jax.value_and_grad(value_fn)
        final = jax.lax.while_loop(
            lambda s: ~(s.done | s.failed),
            functools.partial(step, vg_fn=vg_fn, kw=kw),
            start(updates, params, value, grad, state.learning_rate),
        )
        eta = final.stepsize
        new_state = ScaleByZoomLinesearchState(
            learning_rate=eta,
            value=final.value,
            grad=final.grad,
            info=ZoomLinesearchInfo(final.count, final.decrease_error, final.curvature_error),
        )
        return jax.tree.map(lambda d: eta * d, updates), _cast_like(new_state, state)

    return GradientTransformationExtraArgs(init_fn, update_fn)
