"""A0 hidden tests."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax import random, struct

CALLS: list[int] = []


@struct.dataclass
class Checked:
    value: Any
    tag: str = struct.field(pytree_node=False, default="t")

    def __post_init__(self) -> None:
        CALLS.append(1)


class Node(struct.PyTreeNode):
    a: Any
    b: Any = 0.0


def test_a0_1_unflatten_does_not_call_init() -> None:
    c = Checked(jnp.ones(2))
    before = len(CALLS)
    out = jax.jit(lambda t: jax.tree.map(lambda v: v + 1, t))(c)
    assert len(CALLS) == before, "unflatten ran __init__ (and __post_init__)"
    np.testing.assert_array_equal(out.value, 2 * np.ones(2), err_msg="value after jit")
    assert out.tag == "t", "the static field was lost"


def test_a0_1_static_fields_are_in_the_treedef() -> None:
    t1 = jax.tree.structure(Checked(1.0, "a"))
    t2 = jax.tree.structure(Checked(1.0, "b"))
    assert str(t1) != str(t2), "two objects with different static fields have the same treedef"
    assert jax.tree.leaves(Checked(3.0, "a")) == [3.0], "a static field became a leaf"


def test_a0_2_replace_on_a_pytree_node() -> None:
    n = Node(1.0, 2.0)
    r = n.replace(b=7.0)
    assert (r.a, r.b) == (1.0, 7.0) and (n.a, n.b) == (1.0, 2.0), f"replace gave {r}"
    assert type(r) is Node, f"replace returned a {type(r).__name__}"


def test_a0_3_derive_without_parts_and_distinct_paths() -> None:
    k = jax.random.key(3)
    np.testing.assert_array_equal(jax.random.key_data(random.derive(k)),
                                  jax.random.key_data(k), err_msg="derive(k) with no parts")
    a = jax.random.key_data(random.derive(k, "x", 1))
    b = jax.random.key_data(random.derive(k, "x", 2))
    assert not np.array_equal(a, b), "derive(k, 'x', 1) == derive(k, 'x', 2)"


def test_a0_4_next_under_jit_and_peek() -> None:
    m = random.KeyManager.create(1)
    peeked = jax.random.key_data(m.peek("params"))
    key, m2 = jax.jit(lambda mm: mm.next("params"))(m)
    np.testing.assert_array_equal(jax.random.key_data(key), peeked,
                                  err_msg="next returns the key that peek shows")
    assert int(m2.counts["params"]) == 1 and int(m.counts["params"]) == 0, "counts"
