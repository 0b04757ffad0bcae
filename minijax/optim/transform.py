r"""The gradient transformations: one small function each, mirroring optax.

Notation in the docstrings: :math:`g` is the incoming update (the gradient, or
the output of the previous transformation in a chain), :math:`u` the outgoing
update, :math:`t` the step count *after* this update (1 at the first step),
:math:`p` the parameters. Moving averages start at zero.

Every stateful transformation checks that the updates it gets have the
structure of the params it was initialised with, and raises a ``TypeError``
naming the first differing path otherwise.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import (
    NO_PARAMS_MSG,
    EmptyState,
    GradientTransformation,
    OptState,
    Params,
    ScalarOrSchedule,
    Schedule,
    Updates,
    identity,
    init_empty_state,
)
from minijax.optim.combine import masked
from minijax.optim.numerics import abs_sq
from minijax.optim.tree import (
    bias_correction as debias,
)
from minijax.optim.tree import (
    check_tree_match,
    global_norm,
    safe_increment,
    tree_cast,
    tree_cast_like,
    tree_full_like,
    tree_zeros_like,
    update_moment,
    update_moment_per_elem_norm,
)
from minijax.typing import Array, Int

__all__ = [
    "AddDecayedWeightsState",
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "ScaleState",
    "TraceState",
    "WeightDecaySchedule",
    "add_decayed_weights",
    "clip",
    "clip_by_global_norm",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "trace",
]

_FROM_INIT = "params given to init"

Count = Int[Array, ""]
"""A step counter: an int32 scalar, incremented with :func:`safe_increment`."""


def _zero_count() -> jax.Array:
    return jnp.zeros([], jnp.int32)


def _canonical_dtype(dtype: Any) -> Any:
    return None if dtype is None else jax.dtypes.canonicalize_dtype(dtype)


# ----------------------------------------------------------------------------- scaling

ScaleState = EmptyState


def scale(step_size: Any) -> GradientTransformation:
    r"""Multiply by a constant: :math:`u = \alpha g` (optax: ``scale``)."""

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(lambda g: step_size * g, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def _scalar_schedule_value(value: Any, what: str) -> Any:
    """``value`` if it is a scalar; a schedule returning an array would scale per element."""
    shape = jnp.shape(value)
    if shape != ():
        raise ValueError(
            f"The {what} schedule returned a value of shape {shape}; a schedule must return "
            "one number per step (a scalar); an array would broadcast against each parameter "
            "and scale its entries differently. Fix: make the schedule return a scalar, e.g. "
            "optim.schedules.cosine_decay_schedule(...), or index it (sched(count)[0])."
        )
    return value


class ScaleByScheduleState(NamedTuple):
    """The step count read by the schedule (optax: ``ScaleByScheduleState``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    r"""Multiply by a scheduled value: :math:`u = \alpha(c)\, g` where :math:`c` is the
    number of earlier updates, so the first update uses :math:`\alpha(0)`
    (optax: ``scale_by_schedule``). The value is cast to each leaf's dtype."""

    def init_fn(params: Params) -> ScaleByScheduleState:
        del params
        return ScaleByScheduleState(count=_zero_count())

    def update_fn(
        updates: Updates, state: ScaleByScheduleState, params: Params | None = None
    ) -> tuple[Updates, ScaleByScheduleState]:
        del params
        step_size = _scalar_schedule_value(step_size_fn(state.count), "learning-rate (step size)")
        updates = jax.tree.map(lambda g: jnp.array(step_size, dtype=g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=safe_increment(state.count))

    return GradientTransformation(init_fn, update_fn)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule | None, *, flip_sign: bool = True
) -> GradientTransformation:
    r"""Multiply by minus the learning rate: :math:`u = -\eta g`
    (optax: ``scale_by_learning_rate``).

    A number gives :func:`scale` (no state); a schedule gives
    :func:`scale_by_schedule` (state ``ScaleByScheduleState(count)``); ``None``
    gives :func:`~minijax.optim.identity`. ``flip_sign=False`` drops the minus.
    """
    if learning_rate is None:
        return identity()
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        schedule = learning_rate
        return scale_by_schedule(lambda count: sign * schedule(count))
    return scale(sign * learning_rate)


# ----------------------------------------------------------------------------- momentum


class TraceState(NamedTuple):
    """The momentum buffer (optax: ``TraceState``)."""

    trace: Params


def trace(
    decay: Any, nesterov: bool = False, accumulator_dtype: Any = None
) -> GradientTransformation:
    r"""Momentum (optax: ``trace``):

    .. math:: m \leftarrow g + \beta m, \qquad u = m
              \quad\text{or, with nesterov,}\quad u = g + \beta m

    (the nesterov form uses the *new* :math:`m`). The buffer is stored in
    ``accumulator_dtype`` (default: the params' dtype).
    """
    accumulator_dtype = _canonical_dtype(accumulator_dtype)

    def init_fn(params: Params) -> TraceState:
        return TraceState(trace=tree_zeros_like(params, dtype=accumulator_dtype))

    def update_fn(
        updates: Updates, state: TraceState, params: Params | None = None
    ) -> tuple[Updates, TraceState]:
        del params
        check_tree_match(state.trace, updates, _FROM_INIT, "updates", none_is_leaf=True)

        # >>> TASK A3.2
        def step(g: Any, t: Any) -> Any:
            return g + decay * t

        new_trace = jax.tree.map(
            lambda g, t: None if g is None else step(g, t),
            updates,
            state.trace,
            is_leaf=lambda g: g is None,
        )
        updates = jax.tree.map(step, updates, new_trace) if nesterov else new_trace
        return updates, TraceState(trace=tree_cast(new_trace, accumulator_dtype))
        # <<< TASK A3.2

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- Adam


class ScaleByAdamState(NamedTuple):
    """Adam's step count and moments (optax: ``ScaleByAdamState``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    mu: Updates
    nu: Updates


def scale_by_adam(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Adam's rescaling (optax: ``scale_by_adam``):

    .. math::
        m &\leftarrow (1-\beta_1)\, g + \beta_1 m, \qquad
        v \leftarrow (1-\beta_2)\, g^2 + \beta_2 v, \\
        \hat m &= \frac{m}{1-\beta_1^t}, \qquad
        \hat v = \frac{v}{1-\beta_2^t}, \qquad
        u = \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}

    with :math:`t = 1` at the first step. With ``nesterov=True`` (NAdam)
    :math:`\hat m = \beta_1 m / (1-\beta_1^{t+1}) + (1-\beta_1)\, g / (1-\beta_1^t)`.
    ``mu`` is stored in ``mu_dtype`` (default: the params' dtype).
    """
    mu_dtype = _canonical_dtype(mu_dtype)

    def init_fn(params: Params) -> ScaleByAdamState:
        mu = tree_zeros_like(params, dtype=mu_dtype)
        nu = tree_zeros_like(params)
        return ScaleByAdamState(count=_zero_count(), mu=mu, nu=nu)

    def update_fn(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdamState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        # >>> TASK A3.3
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: b1 * m + (1 - b1) * g,
                debias(mu, b1, safe_increment(count)),
                debias(updates, b1, count),
            )
        else:
            mu_hat = debias(mu, b1, count)
        nu_hat = debias(nu, b2, count)
        updates = jax.tree.map(
            lambda m, v: None if m is None else m / (jnp.sqrt(v + eps_root) + eps),
            mu_hat,
            nu_hat,
            is_leaf=lambda x: x is None,
        )
        mu = tree_cast(mu, mu_dtype)
        nu = tree_cast_like(nu, state.nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)
        # <<< TASK A3.3

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- RMSProp


class ScaleByRmsState(NamedTuple):
    """RMSProp's mean square (optax: ``ScaleByRmsState``)."""

    nu: Updates


class ScaleByRmsWithCountState(NamedTuple):
    """RMSProp's mean square with a count for bias correction
    (optax: ``ScaleByRmsWithCountState``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    nu: Updates


def _inverse_root(eps: Any, eps_in_sqrt: bool) -> Callable[[Any], Any]:
    if eps_in_sqrt:
        return lambda n: jax.lax.rsqrt(n + eps)
    return lambda n: 1 / (jnp.sqrt(n) + eps)


def scale_by_rms(
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Divide by the root mean square of past gradients (optax: ``scale_by_rms``):

    .. math::
        v \leftarrow (1-\rho)\, g^2 + \rho v, \qquad
        u = \frac{g}{\sqrt{v + \epsilon}}
        \quad\text{or, with eps\_in\_sqrt=False,}\quad
        u = \frac{g}{\sqrt{v} + \epsilon}

    :math:`v` starts at ``initial_scale``. With ``bias_correction=True``,
    :math:`v` is replaced by :math:`v / (1 - \rho^t)` and the state carries a count.
    """
    use_bias_correction = bias_correction
    inverse_root = _inverse_root(eps, eps_in_sqrt)

    def init_fn(params: Params) -> ScaleByRmsState | ScaleByRmsWithCountState:
        nu = tree_full_like(params, initial_scale)
        if use_bias_correction:
            return ScaleByRmsWithCountState(count=_zero_count(), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update_fn(
        updates: Updates, state: Any, params: Params | None = None
    ) -> tuple[Updates, ScaleByRmsState | ScaleByRmsWithCountState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        nu = update_moment_per_elem_norm(updates, state.nu, decay, 2)
        nu_hat = nu
        if use_bias_correction:
            count = safe_increment(state.count)
            nu_hat = debias(nu, decay, count)
        scaling = jax.tree.map(inverse_root, nu_hat)
        updates = jax.tree.map(lambda s, g: s * g, scaling, updates)
        if use_bias_correction:
            return updates, ScaleByRmsWithCountState(count=count, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    return GradientTransformation(init_fn, update_fn)


class ScaleByRStdDevState(NamedTuple):
    """Centered RMSProp's mean and mean square (optax: ``ScaleByRStdDevState``)."""

    mu: Updates
    nu: Updates


class ScaleByRStdDevWithCountState(NamedTuple):
    """Centered RMSProp's moments with a count (optax: ``ScaleByRStdDevWithCountState``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    mu: Updates
    nu: Updates


def scale_by_stddev(
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    bias_correction: bool = False,
) -> GradientTransformation:
    r"""Divide by the standard deviation of past gradients: centered RMSProp
    (optax: ``scale_by_stddev``):

    .. math::
        m \leftarrow (1-\rho)\, g + \rho m, \qquad
        v \leftarrow (1-\rho)\, g^2 + \rho v, \qquad
        u = \frac{g}{\sqrt{v - m^2 + \epsilon}}

    (``eps_in_sqrt=False``: :math:`u = g / (\sqrt{v - m^2} + \epsilon)`;
    ``bias_correction=True`` divides both moments by :math:`1 - \rho^t`).
    """
    use_bias_correction = bias_correction
    inverse_root = _inverse_root(eps, eps_in_sqrt)

    def init_fn(params: Params) -> ScaleByRStdDevState | ScaleByRStdDevWithCountState:
        mu = tree_zeros_like(params)
        nu = tree_full_like(params, initial_scale)
        if use_bias_correction:
            return ScaleByRStdDevWithCountState(count=_zero_count(), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update_fn(
        updates: Updates, state: Any, params: Params | None = None
    ) -> tuple[Updates, ScaleByRStdDevState | ScaleByRStdDevWithCountState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        mu = update_moment(updates, state.mu, decay, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, decay, 2)
        mu_hat, nu_hat = mu, nu
        if use_bias_correction:
            count = safe_increment(state.count)
            mu_hat = debias(mu, decay, count)
            nu_hat = debias(nu, decay, count)
        scaling = jax.tree.map(lambda m, n: inverse_root(n - abs_sq(m)), mu_hat, nu_hat)
        updates = jax.tree.map(lambda s, g: s * g, scaling, updates)
        if use_bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- AdaGrad


class ScaleByRssState(NamedTuple):
    """AdaGrad's running sum of squared gradients (optax: ``ScaleByRssState``)."""

    sum_of_squares: Updates


def scale_by_rss(initial_accumulator_value: Any = 0.1, eps: Any = 1e-7) -> GradientTransformation:
    r"""Divide by the root of the sum of all past squared gradients: AdaGrad
    (optax: ``scale_by_rss``):

    .. math::
        s \leftarrow s + g^2, \qquad
        u = \begin{cases} g / \sqrt{s + \epsilon} & s > 0 \\ 0 & s = 0 \end{cases}

    :math:`s` starts at ``initial_accumulator_value``.
    """

    def init_fn(params: Params) -> ScaleByRssState:
        return ScaleByRssState(sum_of_squares=tree_full_like(params, initial_accumulator_value))

    def update_fn(
        updates: Updates, state: ScaleByRssState, params: Params | None = None
    ) -> tuple[Updates, ScaleByRssState]:
        del params
        check_tree_match(state.sum_of_squares, updates, _FROM_INIT, "updates", none_is_leaf=True)
        sum_of_squares = jax.tree.map(lambda g, s: abs_sq(g) + s, updates, state.sum_of_squares)
        inverse_root = jax.tree.map(
            lambda s: jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0.0), sum_of_squares
        )
        updates = jax.tree.map(lambda r, g: r * g, inverse_root, updates)
        return updates, ScaleByRssState(sum_of_squares=sum_of_squares)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- Lion


class ScaleByLionState(NamedTuple):
    """Lion's step count and momentum (optax: ``ScaleByLionState``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    mu: Updates


def scale_by_lion(
    b1: Any = 0.9,
    b2: Any = 0.99,
    mu_dtype: Any = None,
    *,
    mode: str = "hard",
    smooth_beta: float = 1.0,
) -> GradientTransformation:
    r"""Lion's sign update (optax: ``scale_by_lion``):

    .. math::
        x = (1-\beta_1)\, g + \beta_1 m, \qquad
        u = \operatorname{sign}(x), \qquad
        m \leftarrow (1-\beta_2)\, g + \beta_2 m

    (the update uses the *old* momentum; ``mu`` is stored in ``mu_dtype``).
    ``mode="smooth"`` takes :math:`u = \tanh(\beta_s x)` instead of the sign,
    ``mode="refined"`` keeps :math:`x` where :math:`|x| < 1` and its sign elsewhere.
    """
    mu_dtype = _canonical_dtype(mu_dtype)
    signs: dict[str, Callable[[Any], Any]] = {
        "hard": jnp.sign,
        "smooth": lambda x: jnp.tanh(smooth_beta * x),
        "refined": lambda x: jnp.where(jnp.abs(x) < 1.0, x, jnp.sign(x)),
    }
    if mode not in signs:
        raise ValueError(f"Unknown lion mode {mode!r}: use one of {sorted(signs)}.")
    sign = signs[mode]

    def init_fn(params: Params) -> ScaleByLionState:
        return ScaleByLionState(count=_zero_count(), mu=tree_zeros_like(params, dtype=mu_dtype))

    def update_fn(
        updates: Updates, state: ScaleByLionState, params: Params | None = None
    ) -> tuple[Updates, ScaleByLionState]:
        del params
        check_tree_match(state.mu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        new_updates = jax.tree.map(lambda g, m: sign((1.0 - b1) * g + b1 * m), updates, state.mu)
        mu = tree_cast(update_moment(updates, state.mu, b2, 1), mu_dtype)
        return new_updates, ScaleByLionState(count=safe_increment(state.count), mu=mu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- weight decay


class WeightDecaySchedule(NamedTuple):
    """The step count of a scheduled weight decay (optax: ``WeightDecaySchedule``)."""

    count: Count  # type: ignore[assignment]  # optax\'s name; shadows tuple.count


AddDecayedWeightsState = EmptyState
"""The state of a constant weight decay (optax: ``AddDecayedWeightsState``)."""


def add_decayed_weights(
    weight_decay: ScalarOrSchedule = 0.0, mask: Any = None
) -> GradientTransformation:
    r"""Add decoupled weight decay: :math:`u = g + \lambda p`
    (optax: ``add_decayed_weights``).

    Needs ``params``. A schedule :math:`\lambda(c)` gets a count in the state.
    ``mask`` (a tree of bools, or a function of the params returning one)
    restricts the decay to the leaves marked ``True`` (see :func:`masked`).
    """

    def init_fn(params: Params) -> EmptyState | WeightDecaySchedule:
        del params
        if callable(weight_decay):
            return WeightDecaySchedule(count=_zero_count())
        return EmptyState()

    def update_fn(
        updates: Updates, state: Any, params: Params | None = None
    ) -> tuple[Updates, Any]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        check_tree_match(params, updates, "params", "updates", none_is_leaf=True)
        new_state = state
        if callable(weight_decay):
            new_state = WeightDecaySchedule(safe_increment(state.count))
        if isinstance(weight_decay, (int, float)) and weight_decay == 0.0:
            return updates, new_state
        decay = (
            _scalar_schedule_value(weight_decay(state.count), "weight decay")
            if callable(weight_decay)
            else weight_decay
        )
        updates = jax.tree.map(
            lambda g, p: None if g is None else g + decay * p,
            updates,
            params,
            is_leaf=lambda x: x is None,
        )
        return updates, new_state

    transformation = GradientTransformation(init_fn, update_fn)
    return transformation if mask is None else masked(transformation, mask)


# ----------------------------------------------------------------------------- clipping


def clip(max_delta: Any) -> GradientTransformation:
    r"""Clip every element to :math:`[-\delta, \delta]` (optax: ``clip``)."""

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        return jax.tree.map(lambda g: jnp.clip(g, -max_delta, max_delta), updates), state

    return GradientTransformation(init_empty_state, update_fn)


def clip_by_global_norm(max_norm: Any) -> GradientTransformation:
    r"""Rescale all updates together so their global norm is at most ``max_norm``
    (optax: ``clip_by_global_norm``):

    .. math:: n = \sqrt{\textstyle\sum_i g_i^2}, \qquad
              u = \begin{cases} g & n < c \\ g\, c / n & \text{otherwise} \end{cases}
    """

    def update_fn(
        updates: Updates, state: OptState, params: Params | None = None
    ) -> tuple[Updates, OptState]:
        del params
        norm = global_norm(updates)
        keep = jnp.squeeze(norm < max_norm)
        updates = jax.tree.map(
            lambda g: jax.lax.select(keep, g, (g / norm.astype(g.dtype)) * max_norm), updates
        )
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)
