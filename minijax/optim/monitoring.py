"""Recording statistics of the updates in the optimizer state
(optax: `snapshot`, `monitor`, `measure_with_ema`). The updates pass through
unchanged."""

from collections.abc import Callable
from typing import Any, NamedTuple

from minijax.optim.accumulation import ema
from minijax.optim.base import (
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    Updates,
    stateless,
    with_extra_args_support,
)
from minijax.optim.combine import chain

__all__ = ["MonitorState", "SnapshotState", "measure_with_ema", "monitor", "snapshot"]


class SnapshotState(NamedTuple):
    """The last measurement of `snapshot`, under its name (optax: `SnapshotState`)."""

    measurement: dict[str, Any]


def snapshot(measure_name: str, measure: Callable[[Updates], Any]) -> GradientTransformation:
    """Keep `measure(updates)` of the last updates in the state (optax: `snapshot`).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.chain(optax.snapshot("norm", optax.global_norm), optax.sgd(0.1))
        >>> g = {"w": jnp.array([3.0, 4.0])}
        >>> _, state = tx.update(g, tx.init(g))
        >>> state[0].measurement["norm"]
        Array(5., dtype=float32)
    """

    def init_fn(params: Params) -> SnapshotState:
        return SnapshotState({measure_name: measure(params)})

    def update_fn(
        updates: Updates, state: SnapshotState, params: Params | None = None
    ) -> tuple[Updates, SnapshotState]:
        del params, state
        return updates, SnapshotState({measure_name: measure(updates)})

    return GradientTransformation(init_fn, update_fn)


class MonitorState(NamedTuple):
    """The last measurements and the measures' own states (optax: `MonitorState`)."""

    measurements: dict[str, Any]
    measure_states: tuple[OptState, ...]


def monitor(measures: dict[str, Any]) -> GradientTransformationExtraArgs:
    """Record several measures of the updates (optax: `monitor`): each is a
    function of the updates or a transformation whose *output* is the
    measurement (`measure_with_ema`, for a smoothed one).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.monitor({"norm": optax.global_norm})
        >>> g = {"w": jnp.array([3.0, 4.0])}
        >>> u, state = tx.update(g, tx.init(g))
        >>> state.measurements["norm"], u["w"]
        (Array(5., dtype=float32), Array([3., 4.], dtype=float32))
    """
    def as_transformation(m: Any) -> GradientTransformationExtraArgs:
        if isinstance(m, GradientTransformation):
            return with_extra_args_support(m)
        return with_extra_args_support(stateless(lambda u, _: m(u)))

    txs = {name: as_transformation(m) for name, m in measures.items()}

    def init_fn(params: Params) -> MonitorState:
        return MonitorState({}, tuple(tx.init(params) for tx in txs.values()))

    def update_fn(
        updates: Updates, state: MonitorState, params: Params | None = None, **extra_args: Any
    ) -> tuple[Updates, MonitorState]:
        measurements, new_states = {}, []
        for (name, tx), inner in zip(txs.items(), state.measure_states, strict=True):
            measurements[name], inner = tx.update(updates, inner, params, **extra_args)
            new_states.append(inner)
        return updates, MonitorState(measurements, tuple(new_states))

    return GradientTransformationExtraArgs(init_fn, update_fn)


def measure_with_ema(
    measure: Callable[[Updates], Any],
    decay: Any,
    debias: bool = True,
    accumulator_dtype: Any = None,
) -> GradientTransformationExtraArgs:
    """A measure smoothed by `ema`, for `monitor` (optax: `measure_with_ema`): its
    output is the moving average of `measure(updates)`, not the updates.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.measure_with_ema(optax.global_norm, decay=0.5)
        >>> g = {"w": jnp.array([3.0, 4.0])}
        >>> tx.update(g, tx.init(g))[0]
        Array(5., dtype=float32)
    """
    base_ema = ema(decay, debias, accumulator_dtype)
    measurement_ema = base_ema._replace(init=lambda params: base_ema.init(measure(params)))
    return chain(stateless(lambda updates, _: measure(updates)), measurement_ema)
