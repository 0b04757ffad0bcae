"""Metrics are pytrees: merge inside jit and scan, reduce stacked metrics."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from minijax.train.metrics import Accuracy, Mean, RunningAverage, compute_all, merge_all, reduce


def test_mean_merges_exactly_across_batch_sizes():
    values = jnp.arange(10.0)
    a = Mean.from_values(values[:3])
    b = Mean.from_values(values[3:])
    assert float(a.merge(b).compute()) == pytest.approx(4.5)
    # a batch mean weighted by its batch size
    c = Mean.from_values(values[:3].mean(), weight=3).merge(
        Mean.from_values(values[3:].mean(), weight=7)
    )
    assert float(c.compute()) == pytest.approx(4.5)
    assert float(Mean.empty().merge(a).compute()) == pytest.approx(1.0)
    assert np.isnan(float(Mean.empty().compute()))
    masked = Mean.from_values(values, mask=values < 4)
    assert float(masked.compute()) == pytest.approx(1.5)


def test_accuracy():
    logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0], [0.0, 5.0]])
    labels = jnp.array([0, 1, 1, 0])
    acc = Accuracy.from_logits(logits, labels)
    assert isinstance(acc, Accuracy) and float(acc.compute()) == 0.5
    assert float(Accuracy.from_predictions(jnp.array([1, 2]), jnp.array([1, 3])).compute()) == 0.5
    assert float(
        acc.merge(Accuracy.from_logits(logits[:1], labels[:1])).compute()
    ) == pytest.approx(0.6)


def test_metrics_inside_jit_and_scan():
    xs = jax.random.normal(jax.random.key(0), (6, 8))

    @jax.jit
    def run(xs):
        def body(m, x):
            batch = Mean.from_values(x)
            return m.merge(batch), batch

        return jax.lax.scan(body, Mean.empty(), xs)

    total, per_batch = run(xs)
    assert per_batch.total.shape == (6,)
    np.testing.assert_allclose(total.compute(), xs.mean(), rtol=1e-6)
    np.testing.assert_allclose(reduce(per_batch).compute(), xs.mean(), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(reduce)(per_batch).compute(), xs.mean(), rtol=1e-6)


def test_running_average_debiased_and_mergeable():
    avg = RunningAverage.empty(decay=0.5)
    assert np.isnan(float(avg.compute()))
    avg = avg.update(4.0)
    assert float(avg.compute()) == pytest.approx(4.0)  # debiased: no pull towards 0
    avg = jax.jit(lambda a, x: a.update(x))(avg, 2.0)
    # 0.5*(0.5*4) + 0.5*2 = 2.0 raw, / (1 - 0.25) = 2.666...
    assert float(avg.compute()) == pytest.approx(8 / 3)
    rest = RunningAverage.empty(decay=0.5).update(1.0)
    assert float(avg.merge(rest).compute()) == pytest.approx(float(avg.update(1.0).compute()))
    with pytest.raises(ValueError, match="decays"):
        avg.merge(RunningAverage.empty(decay=0.9))


def test_dict_helpers():
    a = {
        "loss": Mean.from_values(jnp.array([1.0, 3.0])),
        "acc": Accuracy.from_predictions(jnp.array([1]), jnp.array([1])),
    }
    b = {
        "loss": Mean.from_values(jnp.array([5.0])),
        "acc": Accuracy.from_predictions(jnp.array([0]), jnp.array([1])),
    }
    merged = merge_all(a, b)
    assert compute_all(merged) == pytest.approx({"loss": 3.0, "acc": 0.5})
    assert compute_all({"plain": jnp.float32(2.0)}) == {"plain": 2.0}
    with pytest.raises(ValueError, match="different keys"):
        merge_all(a, {"loss": b["loss"]})
