"""A0 public tests: pytrees with struct, replace, derive and the key manager."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax import random, struct


@struct.dataclass
class Point:
    x: Any
    y: Any
    name: str = struct.field(pytree_node=False, default="p")


def test_a0_1_leaves_are_the_data_fields() -> None:
    p = Point(1.0, 2.0, "q")
    assert jax.tree.leaves(p) == [1.0, 2.0], f"leaves are {jax.tree.leaves(p)}, want [1.0, 2.0]"
    doubled = jax.tree.map(lambda v: v * 2, p)
    assert isinstance(doubled, Point), f"tree.map returned a {type(doubled).__name__}"
    assert (doubled.x, doubled.y, doubled.name) == (2.0, 4.0, "q"), f"got {doubled}"


def test_a0_1_paths_name_the_fields() -> None:
    paths = [p for p, _ in jax.tree_util.tree_flatten_with_path(Point(1.0, 2.0))[0]]
    want = [(jax.tree_util.GetAttrKey("x"),), (jax.tree_util.GetAttrKey("y"),)]
    assert paths == want, f"paths are {paths}, want {want}"


def test_a0_2_replace_changes_one_field() -> None:
    p = Point(1.0, 2.0, "q")
    r = p.replace(x=5.0)  # type: ignore[attr-defined]
    assert (r.x, r.y, r.name) == (5.0, 2.0, "q"), f"replace(x=5.0) gave {r}"
    assert p.x == 1.0, "replace changed the original object"


def test_a0_3_derive_folds_in_the_static_hash() -> None:
    k = jax.random.key(0)
    got = jax.random.key_data(random.derive(k, "Dense_0", 1))
    want = jax.random.key_data(jax.random.fold_in(k, random.static_hash("Dense_0", 1)))
    np.testing.assert_array_equal(got, want, err_msg="derive(k, 'Dense_0', 1)")


def test_a0_4_next_advances_only_its_stream() -> None:
    m = random.KeyManager.create(0, streams=("params", "dropout"))
    k1, m = m.next("dropout")
    k2, m = m.next("dropout")
    assert int(m.counts["dropout"]) == 2, f"dropout count {m.counts['dropout']} after 2 draws"
    assert int(m.counts["params"]) == 0, "next('dropout') advanced the params stream"
    d1, d2 = jax.random.key_data(k1), jax.random.key_data(k2)
    assert not jnp.array_equal(d1, d2), "two draws gave the same key"
    want = jax.random.key_data(jax.random.fold_in(random.derive(m.root, "dropout"), 0))
    np.testing.assert_array_equal(d1, want, err_msg="the first key of a stream")
