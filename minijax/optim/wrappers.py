"""Wrappers that change *when* or *with what* an inner transformation runs:
gradient accumulation (:class:`MultiSteps`), hyperparameters kept in the state
(:func:`inject_hyperparams`), skipping non-finite steps (:func:`apply_if_finite`)
and slow and fast weights (`lookahead`).

They mirror ``optax.MultiSteps``, ``optax.inject_hyperparams`` and
``optax.apply_if_finite``, with the same state layouts.
"""

import functools
import inspect
import logging
import warnings
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from minijax.optim.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
)
from minijax.optim.combine import call_update
from minijax.optim.tree import check_tree_match, safe_increment, tree_cast_like, tree_zeros_like
from minijax.typing import Array, Bool, Int

_log = logging.getLogger(__name__)

__all__ = [
    "ApplyIfFiniteState",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "LookaheadParams",
    "LookaheadState",
    "MultiSteps",
    "MultiStepsState",
    "StatefulSchedule",
    "WrappedSchedule",
    "WrappedScheduleState",
    "apply_if_finite",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "lookahead",
    "skip_not_finite",
]


# ----------------------------------------------------------------------------- MultiSteps


class MultiStepsState(NamedTuple):
    """The state of :class:`MultiSteps` (optax: ``MultiStepsState``).

    ``mini_step`` counts the gradients accumulated since the last real update,
    ``gradient_step`` the real updates, ``acc_grads`` is the running mean (or
    sum) of the gradients, ``skip_state`` what ``should_skip_update_fn`` returned.
    """

    mini_step: Int[Array, ""]
    gradient_step: Int[Array, ""]
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


def skip_not_finite(
    updates: Updates, gradient_step: jax.Array, params: Params | None
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """A ``should_skip_update_fn`` for :class:`MultiSteps`: skip a gradient with a
    NaN or infinity in it (optax: ``skip_not_finite``)."""
    del gradient_step, params
    counts = [jnp.sum(jnp.logical_not(jnp.isfinite(p))) for p in jax.tree.leaves(updates)]
    num_not_finite = jnp.sum(jnp.array(counts))
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def _never_skip(*args: Any, **kwargs: Any) -> tuple[jax.Array, tuple[()]]:
    return jnp.array(False, dtype=jnp.bool_), ()


class MultiSteps:
    r"""Accumulate ``k`` gradients, then run ``opt`` once on their mean
    (optax: ``MultiSteps``).

    .. math::
        a \leftarrow a + \frac{g - a}{n + 1} \quad (n = \text{mini\_step}),
        \qquad u = \begin{cases} f(a) & n = k - 1 \text{ (emit; then } a \leftarrow 0) \\
        0 & \text{otherwise} \end{cases}

    With ``use_grad_mean=False`` the gradients are summed instead. The inner
    state only changes on emitting steps. ``every_k_schedule`` is an int or a
    function of ``gradient_step``. Use ``MultiSteps(...).gradient_transformation()``
    (or the object itself: it has ``init`` and ``update``) as the optimizer.
    """

    def __init__(
        self,
        opt: GradientTransformation,
        every_k_schedule: int | Callable[[jax.Array], Any],
        use_grad_mean: bool = True,
        should_skip_update_fn: Callable[..., tuple[jax.Array, Any]] | None = None,
        accumulator_dtype: Any = jnp.float32,
    ) -> None:
        self._opt = opt
        if isinstance(every_k_schedule, int):
            k = every_k_schedule
            if k < 1:
                raise ValueError(
                    f"MultiSteps: every_k_schedule={k}, but it is the number of gradients "
                    "accumulated per update and must be at least 1. Fix: e.g. "
                    "MultiSteps(tx, every_k_schedule=4); 1 updates every step."
                )
            self._every_k_schedule: Callable[[jax.Array], Any] = lambda step: k
        else:
            self._every_k_schedule = every_k_schedule
        self._use_grad_mean = use_grad_mean
        self._should_skip_update_fn = should_skip_update_fn or _never_skip
        self._accumulator_dtype = jax.dtypes.canonicalize_dtype(accumulator_dtype)

    @property
    def inner_opt(self) -> GradientTransformation:
        """The wrapped transformation."""
        return self._opt

    def _accumulate(self, grad: Any, acc: Any, n: jax.Array) -> Any:
        if self._use_grad_mean:
            return acc + (grad - acc) / (n + 1)
        return grad + acc

    def init(self, params: Params) -> MultiStepsState:
        """The initial state: zero accumulator, zero counts, ``opt.init(params)``."""
        gradient_step = jnp.zeros([], dtype=jnp.int32)
        _, skip_state = self._should_skip_update_fn(tree_zeros_like(params), gradient_step, params)
        return MultiStepsState(
            mini_step=jnp.zeros([], dtype=jnp.int32),
            gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=tree_zeros_like(params, dtype=self._accumulator_dtype),
            skip_state=skip_state,
        )

    def update(
        self,
        updates: Updates,
        state: MultiStepsState,
        params: Params | None = None,
        **extra_args: Any,
    ) -> tuple[Updates, MultiStepsState]:
        """Accumulate ``updates``; every ``k``-th call, also run the inner update."""
        check_tree_match(state.acc_grads, updates, "params given to init", "updates")
        k = self._every_k_schedule(state.gradient_step)
        should_skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        if (should_skip.dtype, should_skip.shape) != (jnp.bool_, ()):
            raise ValueError(
                "should_skip_update_fn must return a boolean scalar array, got "
                f"dtype {should_skip.dtype} and shape {should_skip.shape}."
            )

        def do_update(updates: Updates, state: MultiStepsState, params: Params | None) -> Any:
            acc_grads = jax.tree.map(
                lambda g, a: self._accumulate(g, a, state.mini_step), updates, state.acc_grads
            )
            acc_as_updates = tree_cast_like(acc_grads, updates)
            inner_updates, inner_state = call_update(
                self._opt, acc_as_updates, state.inner_opt_state, params, extra_args
            )
            emit = state.mini_step == (k - 1)
            new_state = MultiStepsState(
                mini_step=safe_increment(state.mini_step) % k,
                gradient_step=emit * safe_increment(state.gradient_step)
                + (1 - emit) * state.gradient_step,
                inner_opt_state=jax.tree.map(
                    lambda old, new: jnp.astype(jnp.where(emit, new, old), old.dtype),
                    state.inner_opt_state,
                    inner_state,
                ),
                acc_grads=jax.tree.map(
                    lambda a: jnp.astype((1 - emit) * a, self._accumulator_dtype), acc_grads
                ),
                skip_state=skip_state,
            )
            return jax.tree.map(lambda u: emit * u, inner_updates), new_state

        def skip_update(updates: Updates, state: MultiStepsState, params: Params | None) -> Any:
            acc_as_updates = tree_cast_like(state.acc_grads, updates)
            shapes, _ = jax.eval_shape(
                lambda a, s, p: call_update(self._opt, a, s, p, extra_args),
                acc_as_updates,
                state.inner_opt_state,
                params,
            )
            return tree_zeros_like(shapes), state._replace(skip_state=skip_state)

        new_updates, new_state = jax.lax.cond(
            should_skip, skip_update, do_update, updates, state, params
        )
        return new_updates, new_state

    def has_updated(self, state: MultiStepsState) -> jax.Array:
        """Whether the last call emitted a real update."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> GradientTransformationExtraArgs:
        """This wrapper as a plain ``GradientTransformation(init, update)``."""
        return GradientTransformationExtraArgs(init=self.init, update=self.update)


# ----------------------------------------------------------------------------- inject_hyperparams


class InjectHyperparamsState(NamedTuple):
    """Hyperparameters kept in the state (optax: ``InjectHyperparamsState``)."""

    count: Int[Array, ""]  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    hyperparams: dict[str, Any]
    inner_state: Any


class InjectStatefulHyperparamsState(NamedTuple):
    """The state :func:`inject_hyperparams` returns, as in optax 0.2.8
    (optax: ``InjectStatefulHyperparamsState``): ``hyperparams_states`` holds
    each scheduled hyperparameter's own step count."""

    count: Int[Array, ""]  # type: ignore[assignment]  # optax\'s name; shadows tuple.count
    hyperparams: dict[str, Any]
    hyperparams_states: dict[str, Any]
    inner_state: Any


class StatefulSchedule(Protocol):
    """A schedule with a state of its own (optax: `StatefulSchedule`): `init()`
    gives the state, `update(state, **extra_args)` the next one, and
    `__call__(state, **extra_args)` the value. `inject_hyperparams` accepts one
    wherever it accepts a schedule."""

    def init(self) -> Any:
        """The initial state."""

    def update(self, state: Any, **extra_args: Any) -> Any:
        """The state after one step."""

    def __call__(self, state: Any, **extra_args: Any) -> Any:
        """The value of the schedule at `state`."""


class WrappedScheduleState(NamedTuple):
    """The step count of a schedule given to :func:`inject_hyperparams`."""

    count: Int[Array, ""]  # type: ignore[assignment]  # optax\'s name; shadows tuple.count


class WrappedSchedule:
    """A schedule ``f(count)`` with its own count (optax: ``WrappedSchedule``):
    a `StatefulSchedule` whose state is the number of steps taken.

    Examples:
        >>> import minijax.optim as optax
        >>> f = optax.WrappedSchedule(lambda count: 2 * count)
        >>> state = f.update(f.init())
        >>> int(f(state))
        2
    """

    def __init__(self, schedule_fn: Callable[[jax.Array], Any]) -> None:
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        """A zero count."""
        return WrappedScheduleState(count=jnp.zeros([], jnp.int32))

    def update(self, state: WrappedScheduleState, **extra_args: Any) -> WrappedScheduleState:
        """The count plus one."""
        return WrappedScheduleState(count=safe_increment(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args: Any) -> Any:
        """The wrapped schedule at the count."""
        return self.schedule_fn(state.count)


def _is_stateful_schedule(value: Any) -> bool:
    return all(callable(getattr(value, name, None)) for name in ("init", "update", "__call__"))


def _convert_floats(x: Any, dtype: Any) -> Any:
    """Floats (Python or weakly typed) become arrays of ``dtype``; others are kept."""
    if isinstance(x, jax.Array) and not getattr(x, "weak_type", False):
        return x
    current = x.dtype if hasattr(x, "dtype") else type(x)
    if jnp.issubdtype(current, jnp.floating):
        return jnp.asarray(x, dtype=dtype)
    return x


def _highest_dtype(tree: Any) -> Any:
    """The widest dtype of the leaves (the default float dtype for no leaves)."""
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.asarray(leaves).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]

    def higher(a: Any, b: Any) -> Any:
        return b if jnp.promote_types(a, b) == b else a

    return functools.reduce(higher, dtypes)


def inject_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformationExtraArgs]:
    """Move numeric hyperparameters into the optimizer state, where they can be read
    and changed between steps (optax: ``inject_hyperparams``)::

        tx = inject_hyperparams(adam)(learning_rate=1e-3)
        state = tx.init(params)
        state.hyperparams["learning_rate"] = 1e-4   # takes effect at the next step

    Numbers become arrays in ``state.hyperparams`` (floats in ``hyperparam_dtype``,
    default the params' widest dtype). A schedule is evaluated at each step from
    its own count in ``state.hyperparams_states`` and its current value is stored
    in ``state.hyperparams``. Booleans, ``None``, strings and ``static_args`` stay
    Python values. The inner transformation is rebuilt at every step from the
    current values.
    """
    static = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    if not static.issubset(signature.parameters):
        raise ValueError(
            f"static_args {sorted(static)} must be parameters of {inner_factory.__name__}: "
            f"{sorted(signature.parameters)}."
        )

    @functools.wraps(inner_factory)
    def wrapped(*args: Any, **kwargs: Any) -> GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        schedules: dict[str, Any] = {}
        numeric: dict[str, Any] = {}
        other: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in static or isinstance(value, bool):
                other[name] = value
            elif _is_stateful_schedule(value):
                schedules[name] = value
            elif callable(value):
                schedules[name] = WrappedSchedule(value)
            elif isinstance(value, (int, float, jax.Array, np.ndarray)):
                numeric[name] = value
            else:
                other[name] = value

        def init_fn(params: Params) -> InjectStatefulHyperparamsState:
            dtype = _highest_dtype(params) if hyperparam_dtype is None else hyperparam_dtype
            hparams = {k: jnp.asarray(_convert_floats(v, dtype)) for k, v in numeric.items()}
            sched_states = {k: f.init() for k, f in schedules.items()}
            hparams.update(
                {k: _convert_floats(f(sched_states[k]), dtype) for k, f in schedules.items()}
            )
            return InjectStatefulHyperparamsState(
                count=jnp.zeros([], jnp.int32),
                hyperparams=hparams,
                hyperparams_states=sched_states,
                inner_state=inner_factory(**other, **hparams).init(params),
            )

        def update_fn(
            updates: Updates,
            state: InjectStatefulHyperparamsState,
            params: Params | None = None,
            **extra_args: Any,
        ) -> tuple[Updates, InjectStatefulHyperparamsState]:
            dtype = _highest_dtype(params) if hyperparam_dtype is None else hyperparam_dtype
            hparams = {k: _convert_floats(v, dtype) for k, v in state.hyperparams.items()}
            hparams.update(
                {
                    k: _convert_floats(f(state.hyperparams_states[k], **extra_args), dtype)
                    for k, f in schedules.items()
                }
            )
            sched_states = {
                k: f.update(state.hyperparams_states[k], **extra_args) for k, f in schedules.items()
            }
            inner = inner_factory(**other, **hparams)
            updates, inner_state = call_update(
                inner, updates, state.inner_state, params, extra_args
            )
            return updates, InjectStatefulHyperparamsState(
                count=safe_increment(state.count),
                hyperparams=hparams,
                hyperparams_states=sched_states,
                inner_state=inner_state,
            )

        return GradientTransformationExtraArgs(init_fn, update_fn)

    return wrapped


def inject_stateful_hyperparams(
    inner_factory: Callable[..., GradientTransformation],
    static_args: str | Iterable[str] = (),
    hyperparam_dtype: Any = None,
) -> Callable[..., GradientTransformationExtraArgs]:
    """optax's deprecated name for `inject_hyperparams`, which accepts stateful
    schedules itself (optax: `inject_stateful_hyperparams`).

    Examples:
        >>> import warnings, minijax.optim as optax
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     tx = optax.inject_stateful_hyperparams(optax.sgd)(learning_rate=0.1)
        >>> list(tx.init({}).hyperparams)
        ['learning_rate']
    """
    warnings.warn(
        "inject_stateful_hyperparams is deprecated: use inject_hyperparams.",
        DeprecationWarning,
        stacklevel=2,
    )
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)


# ----------------------------------------------------------------------------- apply_if_finite


class ApplyIfFiniteState(NamedTuple):
    """The state of :func:`apply_if_finite` (optax: ``ApplyIfFiniteState``):
    consecutive and total counts of non-finite steps, and whether the last was finite."""

    notfinite_count: Int[Array, ""]
    last_finite: Bool[Array, ""]
    total_notfinite: Int[Array, ""]
    inner_state: Any


def apply_if_finite(
    inner: GradientTransformation, max_consecutive_errors: int
) -> GradientTransformationExtraArgs:
    """Skip steps whose updates contain a NaN or an infinity (optax: ``apply_if_finite``).

    A skipped step returns zero updates and leaves the inner state as it was.
    After more than ``max_consecutive_errors`` bad steps in a row the inner
    update runs anyway (so the NaNs show up rather than training silently stalling).
    """

    def init_fn(params: Params) -> ApplyIfFiniteState:
        return ApplyIfFiniteState(
            notfinite_count=jnp.zeros([], jnp.int32),
            last_finite=jnp.array(True, jnp.bool_),
            total_notfinite=jnp.zeros([], jnp.int32),
            inner_state=inner.init(params),
        )

    def update_fn(
        updates: Updates, state: ApplyIfFiniteState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, ApplyIfFiniteState]:
        leaves = jax.tree.leaves(updates)
        is_finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(p)) for p in leaves]))
        notfinite_count = jnp.where(
            is_finite, jnp.zeros([], jnp.int32), safe_increment(state.notfinite_count)
        )

        def do_update(_: None) -> tuple[Updates, OptState]:
            return call_update(inner, updates, state.inner_state, params, extra_args)

        def reject_update(_: None) -> tuple[Updates, OptState]:
            return tree_zeros_like(updates), state.inner_state

        new_updates, inner_state = jax.lax.cond(
            jnp.logical_or(is_finite, notfinite_count > max_consecutive_errors),
            do_update,
            reject_update,
            operand=None,
        )
        return new_updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count,
            last_finite=is_finite,
            total_notfinite=jnp.where(
                is_finite, state.total_notfinite, safe_increment(state.total_notfinite)
            ),
            inner_state=inner_state,
        )

    return GradientTransformationExtraArgs(init_fn, update_fn)


# ----------------------------------------------------------------------------- lookahead
# Lookahead (optax: `lookahead`): a fast optimizer explores for `k` steps, then
# a slow copy of the weights moves part of the way towards where it got.


class LookaheadState(NamedTuple):
    """The fast optimizer's state and the steps since the last synchronisation
    (optax: `LookaheadState`)."""

    fast_state: OptState
    steps_since_sync: jax.Array


class LookaheadParams(NamedTuple):
    """The fast and the slow copy of the parameters (optax: `LookaheadParams`)."""

    fast: Params
    slow: Params

    @classmethod
    def init_synced(cls, params: Params) -> "LookaheadParams":
        """Both copies equal to `params`."""
        return cls(slow=params, fast=params)


def lookahead(
    fast_optimizer: GradientTransformation,
    sync_period: int,
    slow_step_size: Any,
    reset_state: bool = False,
) -> GradientTransformation:
    r"""Wrap `fast_optimizer` in Lookahead (optax: `lookahead`).

    At a synchronisation step (every `sync_period`-th), with $\theta$ the fast
    weights after the fast update and $\phi$ the slow ones,
    $\phi \leftarrow \phi + \alpha(\theta - \phi)$ and the fast weights jump to
    the new $\phi$. `reset_state=True` also re-initialises the fast optimizer's
    state there.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.lookahead(optax.sgd(1.0), sync_period=2, slow_step_size=0.5)
        >>> params = optax.LookaheadParams.init_synced({"w": jnp.zeros(1)})
        >>> state = tx.init(params)
        >>> for _ in range(2):
        ...     u, state = tx.update({"w": jnp.ones(1)}, state, params)
        ...     params = optax.apply_updates(params, u)
        >>> params.fast["w"], params.slow["w"]  # fast went to -2, slow half way
        (Array([-1.], dtype=float32), Array([-1.], dtype=float32))
    """
    if sync_period < 1:
        raise ValueError(f"lookahead: sync_period must be >= 1, got {sync_period}.")

    def init_fn(params: Any) -> LookaheadState:
        fast_params = getattr(params, "fast", None)
        if fast_params is None:
            _log.warning(
                "lookahead: params have no `fast` field; taking them as the fast params. "
                "Pass LookaheadParams.init_synced(params)."
            )
            fast_params = params
        return LookaheadState(
            fast_state=fast_optimizer.init(fast_params),
            steps_since_sync=jnp.zeros(shape=(), dtype=jnp.int32),
        )

    def update_fn(
        updates: Updates, state: LookaheadState, params: Any = None
    ) -> tuple[LookaheadParams, LookaheadState]:
        if not isinstance(params, LookaheadParams):
            raise ValueError("lookahead's update needs params=LookaheadParams(fast, slow).")
        updates, fast_state = fast_optimizer.update(updates, state.fast_state, params.fast)
        sync_next = state.steps_since_sync == (sync_period - 1)
        diff = jax.tree.map(lambda f, u, s: f + u - s, params.fast, updates, params.slow)
        slow_updates = jax.tree.map(lambda d: slow_step_size * sync_next * d, diff)
        fast_updates = jax.tree.map(
            lambda u, d: u - sync_next * (1 - slow_step_size) * d, updates, diff
        )
        if reset_state:
            initial = fast_optimizer.init(params.fast)
            fast_state = jax.tree.map(
                lambda now, start: (1 - sync_next) * now + sync_next * start, fast_state, initial
            )
        steps_since_sync = (state.steps_since_sync + 1) % sync_period
        new_params = LookaheadParams(fast=fast_updates, slow=slow_updates)
        return new_params, LookaheadState(fast_state, steps_since_sync)

    return GradientTransformation(init_fn, update_fn)
