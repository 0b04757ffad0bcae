"""minijax.random: named key streams, reproducible, never handing out a key twice."""

import os
import subprocess
import sys
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

import minijax.testing.strategies as mst
from minijax import random as mr
from minijax.random import KeyManager, KeyReuseError, PRNGSequence, debug_key_reuse, derive

STREAMS = ("params", "dropout", "noise")


def key_bytes(key: Any) -> bytes:
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return np.asarray(data).tobytes()


def draw_all(manager: KeyManager, order: list[str]) -> tuple[list[bytes], KeyManager]:
    out = []
    for stream in order:
        key, manager = manager.next(stream)
        out.append(key_bytes(key))
    return out, manager


@given(mst.seeds(), st.lists(st.sampled_from(STREAMS), min_size=1, max_size=8))
def test_same_seed_same_keys(seed: int, order: list[str]) -> None:
    a, _ = draw_all(KeyManager.create(seed, streams=STREAMS), order)
    b, _ = draw_all(KeyManager.create(seed, streams=STREAMS), order)
    assert a == b
    # a typed key and its int seed give the same manager
    c, _ = draw_all(KeyManager.create(jax.random.key(seed), streams=STREAMS), order)
    assert a == c


@given(mst.seeds())
def test_different_seeds_different_keys(seed: int) -> None:
    a = key_bytes(KeyManager.create(seed).peek("params"))
    b = key_bytes(KeyManager.create(seed + 1).peek("params"))
    assert a != b


@given(mst.seeds())
def test_different_streams_different_keys(seed: int) -> None:
    m = KeyManager.create(seed, streams=STREAMS)
    assert len({key_bytes(m.peek(s)) for s in STREAMS}) == len(STREAMS)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_streams_are_statistically_independent(seed: int) -> None:
    m = KeyManager.create(seed, streams=STREAMS)
    ka, m = m.next("params")
    kb, m = m.next("dropout")
    ka2, m = m.next("params")
    n = 4000
    a, b, a2 = (np.asarray(jax.random.normal(k, (n,))) for k in (ka, kb, ka2))
    # correlation of independent samples ~ N(0, 1/n): 0.1 is more than 6 standard deviations
    for x, y in ((a, b), (a, a2), (b, a2)):
        assert abs(np.corrcoef(x, y)[0, 1]) < 0.1
    for x in (a, b, a2):  # and each looks like N(0, 1)
        assert abs(x.mean()) < 0.1 and abs(x.std() - 1) < 0.1


@given(mst.seeds(), st.lists(st.sampled_from(STREAMS), min_size=10, max_size=60))
def test_no_key_is_handed_out_twice(seed: int, order: list[str]) -> None:
    m = KeyManager.create(seed, streams=STREAMS)
    seen, m = draw_all(m, order)
    keys, m = m.split("dropout", 8)
    seen += [key_bytes(k) for k in keys]
    rngs, m = m.as_rngs()
    seen += [key_bytes(k) for k in rngs.values()]
    per_step = m.fold_in(7)
    more, _ = draw_all(per_step, list(STREAMS))
    seen += more
    assert len(set(seen)) == len(seen)
    assert mr.stream_counts(m) == {s: order.count(s) + (s == "dropout") + 1 for s in STREAMS}


def three_draws(m: KeyManager) -> tuple[jax.Array, KeyManager]:
    k1, m = m.next("params")
    k2, m = m.next("dropout")
    k3, m = m.next("params")
    return jnp.stack([jax.random.key_data(k) for k in (k1, k2, k3)]), m


@given(mst.seeds())
def test_jit_equals_eager(seed: int) -> None:
    m = KeyManager.create(seed, streams=("params", "dropout"))
    eager, m_eager = three_draws(m)
    jitted, m_jit = jax.jit(three_draws)(m)
    np.testing.assert_array_equal(eager, jitted)
    assert mr.stream_counts(m_jit) == mr.stream_counts(m_eager) == {"params": 2, "dropout": 1}
    np.testing.assert_array_equal(
        jax.random.key_data(m_jit.peek("params")), jax.random.key_data(m_eager.peek("params"))
    )


def scan_body(m: KeyManager, _: None) -> tuple[KeyManager, jax.Array]:
    key, m = m.next("dropout")
    return m, jax.random.uniform(key, (3,))


# module level, so that the scan compiles once for all Hypothesis examples
scan_five = jax.jit(lambda m: jax.lax.scan(scan_body, m, None, length=5))


@given(mst.seeds())
def test_scan_carrying_a_manager_equals_the_eager_loop(seed: int) -> None:
    m0 = KeyManager.create(seed, streams=("dropout", "params"))
    m_scan, samples = scan_five(m0)
    body = scan_body
    m = m0
    eager = []
    for _ in range(5):
        m, sample = body(m, None)
        eager.append(sample)
    np.testing.assert_array_equal(samples, np.stack(eager))
    assert mr.stream_counts(m_scan) == {"dropout": 5, "params": 0}
    assert len({np.asarray(s).tobytes() for s in samples}) == 5


@given(mst.seeds(), st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=3))
def test_derive_is_stable_when_other_names_are_derived(seed: int, others: list[str]) -> None:
    root = jax.random.key(seed)
    before = key_bytes(derive(root, "params", "Dense_0"))
    for name in others:
        derive(root, "params", name)
        derive(root, name)
    after = key_bytes(derive(root, "params", "Dense_0"))
    assert before == after
    assert before != key_bytes(derive(root, "params", "Dense_1"))
    assert before != key_bytes(derive(root, "Dense_0", "params"))  # order matters


DERIVE_SCRIPT = """
import jax, numpy as np
from minijax.random import KeyManager, derive
root = jax.random.key(0)
keys = [derive(root, "params", "Dense_0"), derive(root, "dropout"), derive(root, "é✓")]
keys.append(KeyManager.create(42, streams=("params", "dropout")).next("dropout")[0])
print(",".join(np.asarray(jax.random.key_data(k)).tobytes().hex() for k in keys))
"""


@pytest.mark.subprocess
def test_derive_is_equal_across_processes() -> None:
    root = jax.random.key(0)
    keys = [derive(root, "params", "Dense_0"), derive(root, "dropout"), derive(root, "é✓")]
    keys.append(KeyManager.create(42, streams=("params", "dropout")).next("dropout")[0])
    here = ",".join(key_bytes(k).hex() for k in keys)
    # A fixed PYTHONHASHSEED there, a random one here: Python's hash() would differ.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", DERIVE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == here


def test_stable_hash_is_crc32() -> None:
    import zlib

    assert mr.stable_hash("params") == zlib.crc32(b"params")
    assert 0 <= mr.stable_hash("dropout") < 2**32
    assert mr.stable_hash("params") >= 2**31  # uint32 values above int32 work in fold_in
    derive(jax.random.key(0), "params")


def test_debug_key_reuse_raises_when_an_old_manager_is_reused() -> None:
    m = KeyManager.create(0, streams=("params", "dropout"))
    with debug_key_reuse():
        assert mr.key_reuse_checking()
        _, m1 = m.next("dropout")
        with pytest.raises(KeyReuseError, match=r"draw 0 of stream 'dropout' twice") as info:
            m.next("dropout")  # the old manager again
        assert "returns a new manager" in str(info.value)
        m1.next("dropout")
        with pytest.raises(KeyReuseError):
            m1.split("dropout", 4)  # split draws too
    assert not mr.key_reuse_checking()


def test_debug_key_reuse_is_silent_for_correct_use() -> None:
    m = KeyManager.create(0, streams=("params", "dropout"))
    with debug_key_reuse():
        _, m = draw_all(m, ["params", "dropout", "params", "params"])
        _, m = m.split("params", 3)
        rngs, m = m.as_rngs("params", "dropout")
        _, _ = m.fold_in(1).next("params")  # a new root: a new stream of draws
        x = jax.random.normal(rngs["dropout"], (2,))
        out, m = jax.jit(three_draws)(m)  # counters are traced: nothing recorded
    assert x.shape == (2,) and out.shape == (3, 2)


def test_reuse_is_not_an_error_outside_debug_mode() -> None:
    m = KeyManager.create(0)
    k1, _ = m.next("params")
    k2, _ = m.next("params")  # silently the same key: what debug mode is for
    assert key_bytes(k1) == key_bytes(k2)
    with debug_key_reuse():
        m.next("params")
    m.next("params")  # off again, and the record was cleared


def test_nested_debug_key_reuse_keeps_the_outer_record() -> None:
    m = KeyManager.create(0)
    with debug_key_reuse():
        m.next("params")
        with debug_key_reuse():
            pass
        with pytest.raises(KeyReuseError):
            m.next("params")


def test_prng_sequence_gives_distinct_keys() -> None:
    seq = PRNGSequence(0)
    keys = [next(seq) for _ in range(50)] + list(seq.take(10))
    assert len({key_bytes(k) for k in keys}) == 60
    again = PRNGSequence(0)
    assert key_bytes(next(again)) == key_bytes(keys[0])  # reproducible
    assert key_bytes(next(PRNGSequence(jax.random.key(0)))) == key_bytes(keys[0])


def test_prng_sequence_made_inside_jit_raises() -> None:
    def f(x: jax.Array) -> jax.Array:
        seq = PRNGSequence(0)
        return x + jax.random.normal(next(seq))

    with pytest.raises(TypeError, match="KeyManager"):
        jax.jit(f)(1.0)


def test_prng_sequence_used_inside_jit_raises() -> None:
    seq = PRNGSequence(0)

    @jax.jit
    def f(x: jax.Array) -> jax.Array:
        return x + jax.random.normal(next(seq))

    with pytest.raises(TypeError, match="KeyManager"):
        f(0.0)
    next(seq)  # and the sequence still works eagerly afterwards


@pytest.mark.parity
@given(mst.seeds(), st.lists(st.one_of(st.text(max_size=6), st.integers(0, 2**40)), max_size=4))
def test_derive_is_flax_fold_in_static(seed: int, parts: list[str | int]) -> None:
    from flax.core.scope import _fold_in_static

    root = jax.random.key(seed)
    assert key_bytes(derive(root, *parts)) == key_bytes(_fold_in_static(root, parts))


@pytest.mark.parity
@given(mst.seeds(), st.lists(st.sampled_from(["Dense_0", "a", "b"]), max_size=3),
       st.integers(1, 5))
def test_lazy_rng_is_flaxs(seed: int, path: list[str], n: int) -> None:
    from flax.core.scope import LazyRng as FlaxLazyRng

    key = jax.random.key(seed)
    mine = mr.LazyRng.create(mr.LazyRng.create(key, *path), n)
    theirs = FlaxLazyRng.create(FlaxLazyRng.create(key, *path), n)
    assert mine.suffix == theirs.suffix == (*path, n)
    np.testing.assert_array_equal(jax.random.key_data(mine.as_jax_rng()),
                                  jax.random.key_data(theirs.as_jax_rng()))
    assert mine.clear_suffix().suffix == () and mine.clear_suffix().rng is key
    leaves, treedef = jax.tree.flatten(mine)  # the suffix is static: one leaf, the key
    assert len(leaves) == 1 and jax.tree.unflatten(treedef, leaves).suffix == mine.suffix
