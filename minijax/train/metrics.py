"""Metrics as pytrees: accumulate inside `jax.jit`, `lax.scan` or across devices.

A metric is a frozen `minijax.struct` dataclass of a few arrays (a sum and
a count), so it can be returned from a jitted step, carried through
`lax.scan`, stacked by `scan`'s outputs and summed across a sharded batch
by the compiler. Three operations, all pure:

* `Metric.from_values(...)`: the metric of one batch,
* `a.merge(b)`: the metric of both (associative: order does not matter),
* `m.compute()`: the value (a scalar array).

`reduce(m)` merges a metric stacked along a leading axis (what `lax.scan`
returns per step) into one. In the style of `clu.metrics` (used with flax).

```python
acc = Accuracy.from_logits(logits, labels)           # in the step
total = Accuracy.empty()
for batch in loader:
    total = total.merge(eval_step(state, batch))      # or inside a scan
print(float(total.compute()))
```
"""

from typing import Any, Self

import jax
import jax.numpy as jnp

from minijax import struct
from minijax.typing import Array, Float, Int

__all__ = [
    "Accuracy",
    "Mean",
    "Metric",
    "RunningAverage",
    "compute_all",
    "merge_all",
    "reduce",
]


class Metric(struct.PyTreeNode):
    """Base class: a pytree with `merge` and `compute`.

    A subclass is a `minijax.struct` dataclass of arrays; `clu.metrics.Metric`'s shape.

    >>> import jax.numpy as jnp
    >>> from minijax.train.metrics import Metric
    >>> class Max(Metric):
    ...     value: jnp.ndarray
    ...     def merge(self, other):
    ...         return Max(jnp.maximum(self.value, other.value))
    ...     def compute(self):
    ...         return self.value
    >>> float(Max(jnp.array(2.0)).merge(Max(jnp.array(5.0))).compute())
    5.0
    """

    def merge(self, other: Self) -> Self:
        """The metric over the examples of `self` and of `other`."""
        raise NotImplementedError

    def compute(self) -> Array:
        """The metric's value."""
        raise NotImplementedError


class Mean(Metric):
    """A weighted mean, kept as `total` (weighted sum) and `count` (sum of weights).

    `Mean.from_values(losses)` averages per-example values;
    `Mean.from_values(loss, weight=batch_size)` a batch mean that counts as
    `batch_size` examples, so merging batches of different sizes is exact.
    `compute()` of an empty mean is NaN.

    >>> from minijax.train.metrics import Mean
    >>> a = Mean.from_values([1.0, 2.0, 3.0])              # a batch of 3 examples
    >>> b = Mean.from_values(10.0, weight=1)              # a batch mean worth 1 example
    >>> float(a.merge(b).compute())                       # (1 + 2 + 3 + 10) / 4
    4.0
    >>> float(Mean.from_values([1.0, 5.0], mask=[True, False]).compute())
    1.0
    """

    total: Float[Array, ""]
    count: Float[Array, ""]

    @classmethod
    def empty(cls) -> Self:
        """No examples yet: merging with it changes nothing."""
        return cls(total=jnp.zeros((), jnp.float32), count=jnp.zeros((), jnp.float32))

    @classmethod
    def from_values(
        cls,
        values: Array | float,
        *,
        weight: Array | float | None = None,
        mask: Array | None = None,
    ) -> Self:
        """The mean of `values`; `weight` scales each value, `mask` excludes some."""
        v = jnp.asarray(values, jnp.float32)
        w = (
            jnp.ones_like(v)
            if weight is None
            else jnp.broadcast_to(jnp.asarray(weight, jnp.float32), v.shape)
        )
        if mask is not None:
            w = w * jnp.broadcast_to(jnp.asarray(mask, jnp.float32), v.shape)
        return cls(total=jnp.sum(v * w), count=jnp.sum(w))

    def merge(self, other: Self) -> Self:
        return self.replace(total=self.total + other.total, count=self.count + other.count)

    def compute(self) -> Array:
        return self.total / self.count


class Accuracy(Mean):
    """The fraction of correct predictions (a `Mean` of 0/1 hits).

    >>> import jax.numpy as jnp
    >>> from minijax.train.metrics import Accuracy
    >>> logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]])
    >>> acc = Accuracy.from_logits(logits, jnp.array([0, 1, 1]))   # 2 of 3 right
    >>> round(float(acc.compute()), 4)
    0.6667
    >>> total = Accuracy.empty().merge(acc).merge(Accuracy.from_predictions([1], [1]))
    >>> float(total.compute()), float(total.count)
    (0.75, 4.0)
    """

    @classmethod
    def from_logits(
        cls,
        logits: Float[Array, "*batch classes"],
        labels: Int[Array, "*batch"],
        *,
        mask: Array | None = None,
    ) -> Self:
        """Accuracy of `argmax(logits, -1)` against integer `labels`."""
        hits = (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
        return cls.from_values(hits, mask=mask)

    @classmethod
    def from_predictions(
        cls, predictions: Array, labels: Array, *, mask: Array | None = None
    ) -> Self:
        """Accuracy of predicted class indices (or booleans) against `labels`."""
        hits = (jnp.asarray(predictions) == jnp.asarray(labels)).astype(jnp.float32)
        return cls.from_values(hits, mask=mask)


class RunningAverage(Metric):
    """An exponential moving average, debiased (what a progress bar shows as "loss").

    `avg = avg.update(loss)` gives `value = decay * value + (1 - decay) * loss`;
    `compute` divides by `1 - decay**count` so the first values are not
    pulled towards the zero it starts from (Adam's bias correction).
    `decay` is static. `merge` applies `other`'s updates after `self`'s
    (exact when `other` started empty with the same `decay`): it is ordered,
    not symmetric.

    >>> from minijax.train.metrics import RunningAverage
    >>> avg = RunningAverage.empty(decay=0.5).update(4.0)
    >>> float(avg.value), float(avg.compute())   # debiased: the first value itself
    (2.0, 4.0)
    >>> round(float(avg.update(2.0).compute()), 4)   # (0.5 * 2 + 0.5 * 2) / (1 - 0.25)
    2.6667
    """

    value: Float[Array, ""]
    count: Int[Array, ""]
    decay: float = struct.field(pytree_node=False, default=0.9)

    @classmethod
    def empty(cls, decay: float = 0.9) -> Self:
        return cls(value=jnp.zeros((), jnp.float32), count=jnp.zeros((), jnp.int32), decay=decay)

    def update(self, x: Array | float) -> Self:
        """Fold in one more value."""
        x = jnp.asarray(x, jnp.float32)
        return self.replace(
            value=self.decay * self.value + (1.0 - self.decay) * x, count=self.count + 1
        )

    def merge(self, other: Self) -> Self:
        if other.decay != self.decay:
            raise ValueError(f"Cannot merge RunningAverages of decays {self.decay}, {other.decay}.")
        scale = jnp.asarray(self.decay, jnp.float32) ** other.count.astype(jnp.float32)
        return self.replace(value=scale * self.value + other.value, count=self.count + other.count)

    def compute(self) -> Array:
        correction = 1.0 - jnp.asarray(self.decay, jnp.float32) ** self.count.astype(jnp.float32)
        return jnp.where(self.count > 0, self.value / correction, jnp.nan)


def reduce(metric: Metric) -> Metric:
    """Merge a metric stacked along its leading axis (`lax.scan`'s per-step output).

    Works for any `Metric` with array fields: it folds `merge` over the
    axis with `lax.scan`, so it is jit-friendly.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.train.metrics import Mean, reduce
    >>> per_step = jax.vmap(Mean.from_values)(jnp.array([[1.0, 2.0], [3.0, 6.0]]))
    >>> per_step.total.shape                     # one Mean per step, stacked
    (2,)
    >>> float(reduce(per_step).compute())        # (1 + 2 + 3 + 6) / 4
    3.0
    """
    leaves = jax.tree.leaves(metric)
    if not leaves:
        return metric
    first = jax.tree.map(lambda x: x[0], metric)
    rest = jax.tree.map(lambda x: x[1:], metric)
    out: Metric = jax.lax.scan(lambda acc, m: (acc.merge(m), None), first, rest)[0]
    return out


def merge_all(a: dict[str, Metric], b: dict[str, Metric]) -> dict[str, Metric]:
    """Merge two dicts of metrics key by key (the keys must agree).

    >>> from minijax.train.metrics import Mean, compute_all, merge_all
    >>> a = {"loss": Mean.from_values([1.0, 3.0])}
    >>> compute_all(merge_all(a, {"loss": Mean.from_values([5.0])}))
    {'loss': 3.0}
    >>> merge_all(a, {"acc": Mean.from_values([1.0])})
    Traceback (most recent call last):
    ValueError: Metric dicts have different keys: ['loss'] vs ['acc'].
    """
    if set(a) != set(b):
        raise ValueError(f"Metric dicts have different keys: {sorted(a)} vs {sorted(b)}.")
    return {k: a[k].merge(b[k]) for k in a}


def compute_all(metrics: dict[str, Any]) -> dict[str, float]:
    """`{name: float(value)}`: computes `Metric` values, converts plain scalars.

    >>> import jax.numpy as jnp
    >>> from minijax.train.metrics import Mean, compute_all
    >>> compute_all({"loss": Mean.from_values([1.0, 2.0]), "lr": jnp.array(0.5)})
    {'loss': 1.5, 'lr': 0.5}
    """
    out: dict[str, float] = {}
    for k, v in metrics.items():
        out[k] = float(v.compute()) if isinstance(v, Metric) else float(jnp.asarray(v))
    return out
