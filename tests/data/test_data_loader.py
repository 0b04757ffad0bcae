"""Loader properties: every example once per epoch, reproducible shuffles, scan form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minijax import data


def _ids(batches):
    return np.concatenate([np.asarray(b["id"]) for b in batches])


@given(n=st.sampled_from([1, 7, 40]), batch_size=st.integers(1, 12), seed=st.integers(0, 3))
def test_every_example_exactly_once_per_epoch(n, batch_size, seed):
    d = {"id": np.arange(n), "x": np.arange(n, dtype=np.float32)[:, None] * 2}
    loader = data.Loader(d, batch_size, shuffle=True, key=seed)
    batches = list(loader)
    ids = _ids(batches)
    assert sorted(ids.tolist()) == list(range(n))
    assert len(batches) == len(loader) == -(-n // batch_size)
    assert all(len(b["id"]) == batch_size for b in batches[:-1])
    for b in batches:  # leaves stay aligned
        np.testing.assert_array_equal(b["x"][:, 0], np.asarray(b["id"]) * 2)


def test_drop_last():
    d = {"id": np.arange(10)}
    batches = list(data.Loader(d, 3, drop_last=True))
    assert [len(b["id"]) for b in batches] == [3, 3, 3]
    assert len(data.Loader(d, 3, drop_last=True)) == 3
    assert [len(b["id"]) for b in data.Loader(d, 3)] == [3, 3, 3, 1]
    np.testing.assert_array_equal(_ids(data.Loader(d, 4)), np.arange(10))  # no shuffle: in order


def test_shuffles_differ_across_epochs_and_repeat_per_key():
    d = {"id": jnp.arange(50)}
    a = data.Loader(d, 10, shuffle=True, key=0)
    b = data.Loader(d, 10, shuffle=True, key=jax.random.key(0))
    c = data.Loader(d, 10, shuffle=True, key=1)
    a0, a1 = _ids(a), _ids(a)
    b0, b1 = _ids(b), _ids(b)
    assert not np.array_equal(a0, a1)  # epoch 0 != epoch 1
    np.testing.assert_array_equal(a0, b0)  # int seed == its key
    np.testing.assert_array_equal(a1, b1)
    assert not np.array_equal(a0, _ids(c))  # another key, another order
    np.testing.assert_array_equal(_ids(a.epoch(1)), a1)  # any epoch on demand
    assert a.next_epoch == 2


def test_epoch_batches_for_scan():
    x = jnp.arange(23.0)[:, None]
    y = jnp.arange(23)
    bx, by = data.epoch_batches((x, y), 5, jax.random.key(0))
    assert bx.shape == (4, 5, 1) and by.shape == (4, 5) and by.dtype == y.dtype
    np.testing.assert_array_equal(bx[..., 0], by)
    assert len(set(np.asarray(by).ravel().tolist())) == 20
    # same order as the Python iterator (minus the ragged last batch)
    it = list(data.iterate_batches((x, y), 5, key=jax.random.key(0)))
    np.testing.assert_array_equal(np.stack([b[1] for b in it[:4]]), by)
    # inside jit with a traced key
    f = jax.jit(lambda k: data.epoch_batches((x, y), 5, k)[1])
    np.testing.assert_array_equal(f(jax.random.key(0)), by)
    ordered = data.epoch_batches(y, 5)
    np.testing.assert_array_equal(ordered.ravel(), np.arange(20))
    loader = data.Loader((x, y), 5, shuffle=True, key=3)
    np.testing.assert_array_equal(
        loader.stacked(2)[1], np.stack([b[1] for b in list(loader.epoch(2))[:4]])
    )


def test_loader_errors():
    with pytest.raises(ValueError, match="different numbers of examples"):
        data.Loader({"a": np.zeros(3), "b": np.zeros(4)}, 2)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.Loader(np.zeros(3), 0)
    with pytest.raises(ValueError, match="needs a key"):
        data.Loader(np.zeros(3), 2, shuffle=True)
    with pytest.raises(ValueError, match="larger than the 3 examples"):
        data.epoch_batches(np.zeros(3), 4)
    with pytest.raises(ValueError, match="remainder 1"):
        data.epoch_batches(np.zeros(7), 3, drop_last=False)
    with pytest.raises(ValueError, match="scalar"):
        data.num_examples({"a": np.float32(1)})
    with pytest.raises(TypeError, match="not a KeyManager"):
        from minijax.random import KeyManager

        data.epoch_permutation(KeyManager.create(0), 3)


def test_numpy_leaves_stay_numpy():
    batch = next(iter(data.Loader((np.arange(6), jnp.arange(6)), 4, shuffle=True, key=0)))
    assert isinstance(batch[0], np.ndarray) and isinstance(batch[1], jax.Array)
    np.testing.assert_array_equal(batch[0], batch[1])
