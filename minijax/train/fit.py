"""`fit`: the training loop of the examples, with epochs, evaluation and a progress bar.

```python
state, history = fit(
    state, (x, y), train_step=make_train_step(loss_fn, has_aux=True),
    epochs=10, batch_size=64, key=0,
    eval_data=(x_test, y_test), eval_step=make_eval_step(loss_fn, has_aux=True),
)
history.plot()                      # loss and metrics per epoch (matplotlib)
```

What it does, per epoch: draw a shuffling key from a
`minijax.random.KeyManager` (stream `"shuffle"`), walk the batches
through `train_step` (or, with `fused=True`, run the whole epoch in one
`lax.scan` call), evaluate, record the metrics in a `History` and show
them on a tqdm bar (`tqdm` is optional, in the `examples` extra; without it
one plain line per epoch is printed).

Ctrl-C (`KeyboardInterrupt`) stops training and `fit` *returns* the last good
state, the one after the last completed step, with `history.interrupted`
set: a long run can be stopped and its result kept. While `fit` runs in the
main thread, the first Ctrl-C only sets a flag that is checked between steps, so
a step is never cut in half (its input state may already be donated); a second
Ctrl-C interrupts at once.

A non-finite metric (the loss turning NaN or inf) stops ``fit`` by default with a
:class:`NonFiniteLossError` naming the step, the metric and what to try;
``on_nan="warn"`` keeps going with a warning, ``on_nan="skip"`` keeps going
without counting those steps, for an optimizer that skips them
(``optim.apply_if_finite``). Metrics are checked every ``log_every`` steps and
at the end of each epoch (each check waits for the device).

It is a small convenience for examples and notebooks; the loop itself is a
dozen lines (see docs/training.md) and real projects often write their own.
"""

import math
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import jax
import numpy as np

from minijax.data.loader import Loader, iterate_batches, num_examples
from minijax.random import KeyManager, as_key
from minijax.train.loop import scan_epoch
from minijax.typing import PRNGKeyArray

__all__ = ["History", "NonFiniteLossError", "fit"]

_ON_NAN = ("raise", "warn", "skip")
_NAN_ADVICE = (
    "What to try: lower the learning rate, or clip the gradients "
    "(optim.chain(optim.clip_by_global_norm(1.0), tx)); look for NaN or inf in the data; "
    "find the first operation that makes a NaN with `with minijax.debug.debug_nans(): ...`; "
    'or pass on_nan="skip" with a tx wrapped in optim.apply_if_finite(tx, 10) to skip '
    'such steps, or on_nan="warn" to keep going.'
)


class NonFiniteLossError(FloatingPointError):
    """A training metric became NaN or infinite in :func:`fit` (``on_nan="raise"``).

    Attributes: ``step`` (counted from 0 over the run), ``epoch`` (from 0),
    ``metric``, ``value``, and ``state``, the state after that check.

    >>> e = NonFiniteLossError("fit: ...", step=3, epoch=0, metric="loss",
    ...                        value=float("nan"), state=None)
    >>> isinstance(e, FloatingPointError), e.step, e.metric
    (True, 3, 'loss')
    """

    def __init__(
        self, message: str, *, step: int, epoch: int, metric: str, value: float, state: Any
    ) -> None:
        super().__init__(message)
        self.step, self.epoch, self.metric, self.value, self.state = (
            step,
            epoch,
            metric,
            value,
            state,
        )


Step = Callable[[Any, Any], tuple[Any, dict[str, Any]]]
EvalStep = Callable[[Any, Any], dict[str, Any]]


@dataclass
class History:
    """What happened during `fit`, as plain Python floats, ready to plot.

    Attributes:
        step: per training step, `{"loss": [...], "accuracy": [...]}`.
        epoch: per epoch, the mean over that epoch's steps of each training metric.
        eval: per epoch, each evaluation metric (averaged over examples), if any.
        epochs_completed: how many epochs ran to the end.
        interrupted: whether training stopped on `KeyboardInterrupt`.
        seconds: wall-clock time of each completed epoch.
        non_finite_steps: the steps (counted from 0) with a NaN or infinite metric
            (`on_nan="warn"` or `"skip"`; with `"skip"` they are left out of
            `step` and `epoch`).

    >>> from minijax.train import History
    >>> history = History(epoch={"loss": [0.9, 0.4]}, eval={"loss": [1.0, 0.5]}, epochs_completed=2)
    >>> history.as_dict()["epoch"], history.interrupted
    ({'loss': [0.9, 0.4]}, False)
    >>> ax = history.plot()            # two curves, "train loss" and "eval loss"
    >>> [line.get_label() for line in ax.get_lines()], ax.get_xlabel()
    (['train loss', 'eval loss'], 'epoch')
    """

    step: dict[str, list[float]] = field(default_factory=dict)
    epoch: dict[str, list[float]] = field(default_factory=dict)
    eval: dict[str, list[float]] = field(default_factory=dict)
    epochs_completed: int = 0
    interrupted: bool = False
    seconds: list[float] = field(default_factory=list)
    non_finite_steps: list[int] = field(default_factory=list)

    def _add(self, table: dict[str, list[float]], values: dict[str, float]) -> None:
        for k, v in values.items():
            table.setdefault(k, []).append(v)

    def as_dict(self) -> dict[str, Any]:
        """Everything as nested dicts and lists (JSON-serializable)."""
        return {
            "step": self.step,
            "epoch": self.epoch,
            "eval": self.eval,
            "epochs_completed": self.epochs_completed,
            "interrupted": self.interrupted,
            "seconds": self.seconds,
            "non_finite_steps": self.non_finite_steps,
        }

    def plot(
        self, keys: Iterable[str] | None = None, *, ax: Any = None, per_step: bool = False
    ) -> Any:
        """Plot training (and evaluation) metrics against the epoch (needs matplotlib).

        Args:
            keys: which metrics (default: all). Train curves are labelled
                `train <name>`, evaluation curves `eval <name>`.
            ax: a matplotlib `Axes` to draw on (default: a new figure).
            per_step: plot the per-step training values instead of epoch means.

        Returns the `Axes`.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError(
                "History.plot needs matplotlib: `pip install 'minijax[examples]'`."
            ) from e
        if ax is None:
            _, ax = plt.subplots()
        train = self.step if per_step else self.epoch
        wanted = set(keys) if keys is not None else set(train) | set(self.eval)
        for name, values in train.items():
            if name in wanted:
                xs = np.arange(len(values)) if per_step else np.arange(1, len(values) + 1)
                ax.plot(xs, values, label=f"train {name}")
        if not per_step:
            for name, values in self.eval.items():
                if name in wanted:
                    ax.plot(np.arange(1, len(values) + 1), values, "--", label=f"eval {name}")
        ax.set_xlabel("step" if per_step else "epoch")
        ax.legend()
        return ax


class _DeferInterrupt:
    """Turn the first SIGINT into a flag checked between steps (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:  # second Ctrl-C: interrupt now
            raise KeyboardInterrupt
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def __enter__(self) -> "_DeferInterrupt":
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous is signal.default_int_handler:
                self._previous = previous
                signal.signal(signal.SIGINT, self._handler)
                self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


def _progress_bar(total: int | None, desc: str, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=True, dynamic_ncols=True)


def _fmt(values: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.4g}" for k, v in values.items())


def _is_deleted(tree: Any) -> bool:
    return any(isinstance(x, jax.Array) and x.is_deleted() for x in jax.tree.leaves(tree))


def _to_floats(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(np.asarray(v)) for k, v in metrics.items()}


def _evaluate(
    state: Any,
    eval_step: EvalStep,
    eval_data: Any,
    eval_batch_size: int | None,
) -> dict[str, float]:
    if isinstance(eval_data, Loader) or not _is_array_tree(eval_data):
        batches: Iterable[Any] = eval_data
    else:
        n = num_examples(eval_data)
        batches = iterate_batches(eval_data, eval_batch_size or n)
    totals: dict[str, Any] = {}
    count = 0
    for batch in batches:
        m = eval_step(state, batch)
        w = num_examples(batch)
        for k, v in m.items():
            totals[k] = totals.get(k, 0.0) + np.asarray(v, np.float64) * w
        count += w
    return {k: float(v / count) for k, v in totals.items()} if count else {}


def _first_non_finite(values: dict[str, float]) -> tuple[str, float] | None:
    for k, v in values.items():
        if not math.isfinite(v):
            return k, v
    return None


def _params_finite(state: Any) -> bool:
    params = getattr(state, "params", state)
    leaves = [x for x in jax.tree.leaves(params) if hasattr(x, "dtype")]
    return all(
        bool(np.all(np.isfinite(np.asarray(x))))
        for x in leaves
        if np.issubdtype(np.asarray(x).dtype, np.inexact)
    )


class _NanGuard:
    """What ``fit`` does with steps whose metrics are not finite (``on_nan``)."""

    def __init__(self, on_nan: str, history: "History") -> None:
        if on_nan not in _ON_NAN:
            raise ValueError(f"fit: on_nan must be one of {_ON_NAN}, got {on_nan!r}.")
        self.on_nan, self.history = on_nan, history

    def check(
        self, rows: list[dict[str, float]], first: int, epoch: int, state: Any
    ) -> list[dict[str, float]]:
        """``rows`` are the metrics of steps ``first, first + 1, ...``; returns those to keep."""
        bad = [(first + i, f) for i, r in enumerate(rows) if (f := _first_non_finite(r))]
        if not bad:
            return rows
        step, (metric, value) = bad[0]
        where = f"the training metric {metric!r} is {value} at step {step} (epoch {epoch})"
        if self.on_nan == "raise":
            raise NonFiniteLossError(
                f"fit: {where}; training stopped. {_NAN_ADVICE}",
                step=step,
                epoch=epoch,
                metric=metric,
                value=value,
                state=state,
            )
        self.history.non_finite_steps += [s for s, _ in bad]
        if self.on_nan == "warn":
            warnings.warn(
                f"fit: {where} ({len(bad)} such steps in this check); going on "
                f'(on_nan="warn"). {_NAN_ADVICE}',
                RuntimeWarning,
                stacklevel=3,
            )
            return rows
        if not _params_finite(state):
            raise NonFiniteLossError(
                f'fit: {where}, and with on_nan="skip" the parameters are no longer finite: '
                'the optimizer applied that step. on_nan="skip" needs a tx that skips '
                "non-finite updates: optim.apply_if_finite(tx, max_consecutive_errors=10) "
                "(or optim.MultiSteps(tx, 1, should_skip_update_fn=optim.skip_not_finite)).",
                step=step,
                epoch=epoch,
                metric=metric,
                value=value,
                state=state,
            )
        skipped = {s for s, _ in bad}
        return [r for i, r in enumerate(rows) if first + i not in skipped]


def _is_array_tree(data: Any) -> bool:
    """An array, or a tuple/dict of arrays: data to batch (a list is a list of batches)."""
    if not isinstance(data, jax.Array | np.ndarray | tuple | dict):
        return False
    leaves = jax.tree.leaves(data)
    return bool(leaves) and all(isinstance(x, jax.Array | np.ndarray) for x in leaves)


def fit(
    state: Any,
    train_data: Any,
    *,
    train_step: Step,
    epochs: int = 1,
    batch_size: int | None = None,
    key: KeyManager | PRNGKeyArray | int | None = 0,
    shuffle: bool = True,
    drop_last: bool = False,
    fused: bool = False,
    eval_data: Any = None,
    eval_step: EvalStep | None = None,
    eval_batch_size: int | None = None,
    on_step: Callable[[int, Any, dict[str, Any]], Any] | None = None,
    on_epoch: Callable[[int, Any, dict[str, float]], Any] | None = None,
    progress: bool = True,
    log_every: int = 10,
    print_fn: Callable[[str], Any] = print,
    on_nan: str = "raise",
) -> tuple[Any, History]:
    """Train `state` for `epochs` epochs; return the final state and a `History`.

    Args:
        state: the `minijax.train.TrainState` (or any state `train_step` takes).
            With a donating step it is consumed: use the returned state.
        train_data: with `batch_size`, a pytree of arrays with a leading example
            axis (`(x, y)`, `{"x": x, "y": y}`), batched and shuffled here.
            Without `batch_size`: a `minijax.data.Loader`, a callable
            `epoch -> iterable of batches`, or an iterable of batches iterated
            once per epoch (a list; not a one-shot generator).
        train_step: `step(state, batch) -> (state, metrics)` with scalar metrics,
            e.g. `minijax.train.make_train_step`.
        epochs: number of passes over the data.
        batch_size: examples per batch, for array data.
        key: shuffling randomness: a `KeyManager` (its `"shuffle"` stream is
            used), a jax key or an int seed. Each epoch draws a fresh key.
        shuffle: shuffle array data each epoch.
        drop_last: drop the last partial batch (array data). Always dropped with
            `fused=True`.
        fused: run each epoch in one compiled `lax.scan` call
            (`minijax.train.scan_epoch`); `train_step` must be traceable.
            `on_step` is not called, and Ctrl-C takes effect between epochs.
        eval_data: data to evaluate on after each epoch (same forms as
            `train_data`; array data uses `eval_batch_size`, default all at once).
        eval_step: `eval_step(state, batch) -> metrics`,
            e.g. `minijax.train.make_eval_step`; metrics are averaged over
            examples.
        on_step: `on_step(step, state, metrics)` after each step (`step` counts
            from 0 over the whole run; `metrics` are device arrays).
        on_epoch: `on_epoch(epoch, state, logs)` after each epoch, `logs` the
            epoch's train means and `eval_`-prefixed eval metrics; return `True`
            to stop training early.
        progress: show a tqdm bar (or print one line per epoch without tqdm);
            `False` prints nothing.
        log_every: refresh the bar's metrics every this many steps (each refresh
            waits for the device).
        print_fn: where the plain lines go.
        on_nan: what a NaN or infinite training metric does (checked every
            ``log_every`` steps and at each epoch's end): ``"raise"`` (default) a
            :class:`NonFiniteLossError` with the step, the metric and what to try;
            ``"warn"`` a ``RuntimeWarning``, training goes on; ``"skip"`` leaves those
            steps out of the history and goes on, for an optimizer that skips
            non-finite updates (``optim.apply_if_finite``): if the parameters have
            become non-finite anyway, it raises. Either way the steps are listed in
            ``history.non_finite_steps``.

    Returns:
        `(state, history)`. On `KeyboardInterrupt` (Ctrl-C, or raised by a
        callback or the data iterator) the state after the last completed step,
        with `history.interrupted = True`.

    >>> import jax.numpy as jnp, minijax.optim as optim
    >>> from minijax.train import TrainState, fit, make_eval_step, make_train_step
    >>> def loss_fn(params, state, batch):          # fit y = w x
    ...     x, y = batch
    ...     return jnp.mean((params["w"] * x - y) ** 2)
    >>> state = TrainState.create(apply_fn=None, params={"w": jnp.zeros(())}, tx=optim.sgd(0.1))
    >>> x = jnp.linspace(-1.0, 1.0, 32)
    >>> state, history = fit(
    ...     state, (x, 2 * x), train_step=make_train_step(loss_fn), epochs=5, batch_size=8,
    ...     eval_data=(x, 2 * x), eval_step=make_eval_step(loss_fn), progress=False)
    >>> int(state.step), history.epochs_completed, len(history.step["loss"])   # 4 steps an epoch
    (20, 5, 20)
    >>> history.eval["loss"][-1] < history.eval["loss"][0]
    True
    """
    if eval_data is not None and eval_step is None:
        raise ValueError("eval_data needs an eval_step (see minijax.train.make_eval_step).")
    array_data = batch_size is not None
    if fused and not array_data:
        raise ValueError("fused=True needs array train_data and a batch_size.")
    if array_data:
        n = num_examples(train_data)
        steps_per_epoch: int | None = (
            n // batch_size if (drop_last or fused) else math.ceil(n / batch_size)  # type: ignore[operator]
        )
    elif isinstance(train_data, Loader):
        steps_per_epoch = len(train_data)
    else:
        steps_per_epoch = len(train_data) if hasattr(train_data, "__len__") else None

    rngs = key if isinstance(key, KeyManager) else None
    if rngs is None and key is not None:
        rngs = KeyManager.create(as_key(key), streams=("shuffle",))  # type: ignore[arg-type]
    if array_data and shuffle and rngs is None:
        raise ValueError("fit(shuffle=True) needs a key (an int seed, a jax key or a KeyManager).")

    fused_run = scan_epoch(train_step, batch_size) if fused else None  # type: ignore[arg-type]
    history = History()
    nan_guard = _NanGuard(on_nan, history)
    global_step = 0
    bar = None
    step_metrics: list[dict[str, Any]] = []

    def epoch_batches(epoch: int, epoch_key: PRNGKeyArray | None) -> Iterator[Any]:
        if array_data:
            return iterate_batches(train_data, batch_size, key=epoch_key, drop_last=drop_last)  # type: ignore[arg-type]
        if callable(train_data) and not isinstance(train_data, Loader):
            return iter(train_data(epoch))
        return iter(train_data)

    with _DeferInterrupt() as guard:
        try:
            for epoch in range(epochs):
                start = time.perf_counter()
                epoch_key = None
                if array_data and shuffle:
                    epoch_key, rngs = rngs.next("shuffle")  # type: ignore[union-attr]
                desc = f"epoch {epoch + 1}/{epochs}"
                bar = _progress_bar(steps_per_epoch, desc, progress)
                step_metrics = []
                if fused_run is not None:
                    new_state, stacked = fused_run(state, train_data, epoch_key)
                    state = new_state
                    host = jax.device_get(stacked)
                    per_step = [
                        {k: float(v[i]) for k, v in host.items()}
                        for i in range(len(next(iter(host.values()), [])))
                    ]
                    n_steps = len(per_step)
                    per_step = nan_guard.check(per_step, global_step, epoch, state)
                    global_step += n_steps
                    if bar is not None:
                        bar.update(len(per_step))
                    guard.check()
                else:
                    first_step, kept, checked = global_step, [], 0
                    for batch in epoch_batches(epoch, epoch_key):
                        new_state, metrics = train_step(state, batch)
                        state = new_state
                        step_metrics.append(metrics)
                        if on_step is not None:
                            on_step(global_step, state, metrics)
                        global_step += 1
                        if len(step_metrics) % max(1, log_every) == 0:
                            rows = [_to_floats(m) for m in jax.device_get(step_metrics[checked:])]
                            kept += nan_guard.check(rows, first_step + checked, epoch, state)
                            checked = len(step_metrics)
                            if bar is not None:
                                bar.set_postfix(rows[-1], refresh=False)
                        if bar is not None:
                            bar.update(1)
                        guard.check()
                    rows = [_to_floats(m) for m in jax.device_get(step_metrics[checked:])]
                    per_step = kept + nan_guard.check(rows, first_step + checked, epoch, state)
                    step_metrics = []
                for m in per_step:
                    history._add(history.step, m)
                means = {
                    k: float(np.mean([m[k] for m in per_step]))
                    for k in (per_step[0] if per_step else {})
                }
                logs = dict(means)
                if eval_step is not None and eval_data is not None:
                    ev = _evaluate(state, eval_step, eval_data, eval_batch_size)
                    history._add(history.eval, ev)
                    logs.update({f"eval_{k}": v for k, v in ev.items()})
                history._add(history.epoch, means)
                history.epochs_completed += 1
                history.seconds.append(time.perf_counter() - start)
                if bar is not None:
                    bar.set_postfix(logs, refresh=True)
                    bar.close()
                    bar = None
                elif progress:
                    print_fn(f"{desc}: {_fmt(logs)} ({history.seconds[-1]:.1f}s)")
                stop = on_epoch(epoch, state, logs) if on_epoch is not None else None
                guard.check()
                if stop is True:
                    break
        except KeyboardInterrupt:
            if bar is not None:
                bar.close()
            history.interrupted = True
            if step_metrics:  # the steps of the unfinished epoch
                for m in jax.device_get(step_metrics):
                    history._add(history.step, _to_floats(m))
            if _is_deleted(state):
                raise KeyboardInterrupt(
                    "fit was interrupted inside a donating train_step: the last state's "
                    "buffers were already given to that step, so there is no state to return."
                ) from None
            if progress:
                print_fn(
                    f"interrupted after {global_step} steps "
                    f"({history.epochs_completed} full epochs); returning the last state."
                )
    return state, history
