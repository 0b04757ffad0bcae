r"""Learning-rate schedules: functions from the step count to a value (optax: ``optax.schedules``).

A schedule is called with the number of updates done so far, an int32 scalar
(or an array of them: every schedule here works elementwise), so the first
update uses ``schedule(0)``. Pass one as ``learning_rate`` to any optimizer.
"""

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import jax.numpy as jnp

from minijax.optim.base import Schedule

__all__ = [
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_onecycle_schedule",
    "linear_schedule",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polynomial_schedule",
    "sgdr_schedule",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
]

_log = logging.getLogger(__name__)


def constant_schedule(value: Any) -> Schedule:
    r""":math:`\eta(c) = \eta_0` (optax: ``constant_schedule``)."""
    return lambda count: value


def polynomial_schedule(
    init_value: Any,
    end_value: Any,
    power: Any,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    r"""Polynomial interpolation from ``init_value`` to ``end_value``
    (optax: ``polynomial_schedule``):

    .. math:: s = \operatorname{clip}(c - c_0, 0, T), \qquad
              \eta(c) = (\eta_0 - \eta_1)\,(1 - s/T)^k + \eta_1

    Constant ``init_value`` when ``transition_steps <= 0``; a negative
    ``transition_begin`` counts as 0.
    """
    if transition_steps <= 0:
        _log.info("polynomial_schedule: transition_steps <= 0 gives a constant schedule.")
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)

    def schedule(count: Any) -> Any:
        count = jnp.clip(count - transition_begin, 0, transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * (frac**power) + end_value

    return schedule


def linear_schedule(
    init_value: Any, end_value: Any, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    r"""Linear interpolation: :func:`polynomial_schedule` with power 1
    (optax: ``linear_schedule``)."""
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def piecewise_constant_schedule(
    init_value: Any, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    r"""A step function (optax: ``piecewise_constant_schedule``):

    .. math:: \eta(c) = \eta_0 \prod_{b_i \le c} s_i

    The scales multiply cumulatively, each from its boundary on
    (``count >= boundary``). Scales must be non-negative.
    """
    items = sorted((boundaries_and_scales or {}).items())
    if any(scale < 0.0 for _, scale in items):
        raise ValueError("piecewise_constant_schedule expects non-negative scale factors.")

    def schedule(count: Any) -> Any:
        value = init_value
        for boundary, scale in items:
            before = jnp.maximum(0.0, jnp.sign(boundary - count))  # 1 before, 0 from boundary
            value = value * before + (1 - before) * scale * value
        return value

    return schedule


def exponential_decay(
    init_value: Any,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any = None,
) -> Schedule:
    r"""Exponential decay (optax: ``exponential_decay``):

    .. math:: \eta(c) = \begin{cases} \eta_0 & c \le c_0 \\
              \eta_0\, r^{(c - c_0)/T} & \text{otherwise} \end{cases}

    With ``staircase`` the exponent is floored. With ``end_value`` the result is
    clipped at it (from below if ``r < 1``, from above if ``r > 1``). Constant
    when ``transition_steps <= 0`` or ``decay_rate == 0``.
    """
    if transition_steps <= 0 or decay_rate == 0:
        _log.info("exponential_decay: transition_steps <= 0 or decay_rate == 0 is constant.")
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)
    clip_fn = jnp.maximum if decay_rate < 1.0 else jnp.minimum

    def schedule(count: Any) -> Any:
        # >>> TASK A3.5
        steps = count - transition_begin
        p = steps / transition_steps
        if staircase:
            p = jnp.floor(p)
        value = jnp.where(steps <= 0, init_value, init_value * jnp.power(decay_rate, p))
        if end_value is not None:
            value = clip_fn(value, end_value)
        return value
        # <<< TASK A3.5

    return schedule


def cosine_decay_schedule(
    init_value: Any, decay_steps: int, alpha: Any = 0.0, exponent: Any = 1.0
) -> Schedule:
    r"""Cosine decay from ``init_value`` to ``alpha * init_value``
    (optax: ``cosine_decay_schedule``):

    .. math:: \eta(c) = \eta_0 \Big((1-\alpha)
              \big[\tfrac12\big(1 + \cos(\pi \min(c, T)/T)\big)\big]^k + \alpha\Big)
    """
    if not decay_steps > 0:
        raise ValueError(f"cosine_decay_schedule needs decay_steps > 0, got {decay_steps}.")
    steps = float(decay_steps) if isinstance(decay_steps, int) else decay_steps

    def schedule(count: Any) -> Any:
        count = float(count) if isinstance(count, int) else count
        count = jnp.minimum(count, steps)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * count / steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    r"""Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` restarted
    from 0, and so on (optax: ``join_schedules``):
    :math:`\eta(c) = \eta_i(c - b_{i-1})` for :math:`b_{i-1} \le c < b_i`."""

    def schedule(step: Any) -> Any:
        output = schedules[0](step)
        for boundary, next_schedule in zip(boundaries, schedules[1:], strict=False):
            output = jnp.where(step < boundary, output, next_schedule(step - boundary))
        return output

    return schedule


def warmup_cosine_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: int,
    decay_steps: int,
    end_value: Any = 0.0,
    exponent: Any = 1.0,
) -> Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value`` over ``warmup_steps``,
    then cosine decay to ``end_value`` (optax: ``warmup_cosine_decay_schedule``).

    ``decay_steps`` is the *total* length, warmup included: the cosine part
    lasts ``decay_steps - warmup_steps`` steps.
    """
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def _linear_interpolate(start: Any, end: Any, pct: Any) -> Any:
    return (end - start) * pct + start


def _cosine_interpolate(start: Any, end: Any, pct: Any) -> Any:
    return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1)


def piecewise_interpolate_schedule(
    interpolate_type: str,
    init_value: Any,
    boundaries_and_scales: dict[int, float] | None = None,
) -> Schedule:
    r"""Interpolate between the values of a piecewise constant schedule
    (optax: `piecewise_interpolate_schedule`).

    The values $v_0 = \eta_0$, $v_i = v_{i-1} s_i$ are reached at the boundaries
    $b_0 = 0, b_1, \dots$; in between, with $\pi = (c - b_{i-1}) / (b_i - b_{i-1})$,

    $$\eta(c) = v_{i-1} + (v_i - v_{i-1})\,\pi \quad(\text{linear}), \qquad
      \eta(c) = v_i + \tfrac{1}{2}(v_{i-1} - v_i)(\cos(\pi\,\pi) + 1) \quad(\text{cosine})$$

    and $v_{last}$ after the last boundary.

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.schedules.piecewise_interpolate_schedule("linear", 1.0, {10: 0.5})
        >>> [float(f(c)) for c in (0, 5, 10, 20)]
        [1.0, 0.75, 0.5, 0.5]
    """
    interpolate_fns = {"linear": _linear_interpolate, "cosine": _cosine_interpolate}
    if interpolate_type not in interpolate_fns:
        raise ValueError(
            f"piecewise_interpolate_schedule: interpolate_type must be 'linear' or 'cosine', "
            f"got {interpolate_type!r}."
        )
    interpolate_fn = interpolate_fns[interpolate_type]
    boundaries: tuple[Any, ...] = ()
    scales: tuple[Any, ...] = ()
    if boundaries_and_scales:
        boundaries, scales = zip(*sorted(boundaries_and_scales.items()), strict=True)
        if not all(s >= 0.0 for s in scales):
            raise ValueError("piecewise_interpolate_schedule expects non-negative scale factors.")

    def schedule(count: Any) -> Any:
        bounds = jnp.stack((0, *boundaries))
        values = jnp.cumprod(jnp.stack((init_value, *scales)))
        interval_sizes = jnp.maximum(bounds[1:] - bounds[:-1], 1)
        indicator = jnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
        pct = (count - bounds[:-1]) / interval_sizes
        interp_vals = interpolate_fn(values[:-1], values[1:], pct)
        return indicator.dot(interp_vals) + (bounds[-1] <= count) * values[-1]

    return schedule


def linear_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    pct_final: float = 0.85,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""The one-cycle policy with linear pieces (optax: `linear_onecycle_schedule`):
    from $\eta_{max}/d$ up to $\eta_{max}$ at `pct_start` of the steps, back down
    to $\eta_{max}/d$ at `pct_final`, then to $\eta_{max}/(d\, d_{final})$ at the end.

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.schedules.linear_onecycle_schedule(100, 1.0)
        >>> [round(float(f(c)), 4) for c in (0, 30, 85, 100)]
        [0.04, 1.0, 0.04, 0.0]
    """
    if transition_steps <= 0:
        raise ValueError(
            f"linear_onecycle_schedule needs transition_steps > 0, got {transition_steps}."
        )
    return piecewise_interpolate_schedule(
        "linear",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(pct_final * transition_steps): 1.0 / div_factor,
            transition_steps: 1.0 / final_div_factor,
        },
    )


def cosine_onecycle_schedule(
    transition_steps: int,
    peak_value: Any,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""The one-cycle policy with cosine pieces (optax: `cosine_onecycle_schedule`):
    from $\eta_{max}/d$ up to $\eta_{max}$ at `pct_start` of the steps, then down
    to $\eta_{max}/(d\, d_{final})$ at the end.

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.schedules.cosine_onecycle_schedule(100, 1.0)
        >>> [round(float(f(c)), 4) for c in (0, 15, 30, 100)]
        [0.04, 0.52, 1.0, 0.0]
    """
    if transition_steps <= 0:
        raise ValueError(
            f"cosine_onecycle_schedule needs transition_steps > 0, got {transition_steps}."
        )
    return piecewise_interpolate_schedule(
        "cosine",
        peak_value / div_factor,
        {
            int(pct_start * transition_steps): div_factor,
            int(transition_steps): 1.0 / (div_factor * final_div_factor),
        },
    )


def warmup_constant_schedule(init_value: Any, peak_value: Any, warmup_steps: int) -> Schedule:
    r"""Linear warmup to `peak_value`, then constant (optax: `warmup_constant_schedule`).

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.schedules.warmup_constant_schedule(0.0, 1.0, 10)
        >>> [float(f(c)) for c in (0, 5, 50)]
        [0.0, 0.5, 1.0]
    """
    return linear_schedule(init_value, peak_value, warmup_steps)


def warmup_exponential_decay_schedule(
    init_value: Any,
    peak_value: Any,
    warmup_steps: int,
    transition_steps: int,
    decay_rate: Any,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: Any = None,
) -> Schedule:
    r"""Linear warmup to `peak_value`, then `exponential_decay` from it, restarted
    at step `warmup_steps` (optax: `warmup_exponential_decay_schedule`).

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.schedules.warmup_exponential_decay_schedule(0.0, 1.0, 10, 10, 0.5)
        >>> [float(f(c)) for c in (0, 5, 10, 20)]
        [0.0, 0.5, 1.0, 0.5]
    """
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            exponential_decay(
                peak_value, transition_steps, decay_rate, transition_begin, staircase, end_value
            ),
        ],
        [warmup_steps],
    )


def sgdr_schedule(cosine_kwargs: Iterable[dict[str, Any]]) -> Schedule:
    r"""Stochastic gradient descent with warm restarts (optax: `sgdr_schedule`):
    one `warmup_cosine_decay_schedule(**kwargs)` after the other, each lasting
    its `decay_steps`.

    Examples:
        >>> import minijax.optim as optax
        >>> cycle = dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=10)
        >>> f = optax.schedules.sgdr_schedule([cycle, cycle])
        >>> [float(f(c)) for c in (0, 2, 10, 12)]
        [0.0, 1.0, 0.0, 1.0]
    """
    boundaries: list[int] = []
    schedules: list[Schedule] = []
    step = 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])
