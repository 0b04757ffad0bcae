"""minijax.traverse_util: flatten/unflatten round trips, flax parity, optimizer masks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minijax.nn as nn
import minijax.optim as optax
from minijax import traverse_util as tu

keys = st.sampled_from(["a", "b", "kernel", "Dense_0"])
nested = st.recursive(
    st.integers(0, 9),
    lambda children: st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(keys, nested, max_size=3))
def test_flatten_unflatten_round_trip(tree):
    kept = tu.flatten_dict(tree, keep_empty_nodes=True)
    assert tu.unflatten_dict(kept) == tree
    assert tu.unflatten_dict(tu.flatten_dict(tree, sep="/"), sep="/") == tu.unflatten_dict(
        tu.flatten_dict(tree)
    )
    assert all(not isinstance(v, dict) for v in kept.values())


@pytest.mark.parity
def test_same_results_as_flax():
    from flax import traverse_util as ftu

    tree = {"foo": 1, "bar": {"a": 2, "b": {}, "c": {"d": 3}}}
    for kw in [{}, {"keep_empty_nodes": True}, {"sep": "/"},
               {"is_leaf": lambda path, node: path == ("bar", "c")}]:
        ours, theirs = tu.flatten_dict(tree, **kw), ftu.flatten_dict(tree, **kw)
        assert list(ours) == list(theirs)
        assert [v is tu.empty_node for v in ours.values()] == [
            v is ftu.empty_node for v in theirs.values()]
    assert tu.unflatten_dict({("a", "b"): 1, ("c",): 2}) == ftu.unflatten_dict(
        {("a", "b"): 1, ("c",): 2})
    f = lambda path, x: x + 5 if "a" in path else -x
    assert tu.path_aware_map(f, tree) == ftu.path_aware_map(f, tree)


def test_empty_nodes_and_is_leaf():
    tree = {"a": {}, "b": {"c": 1}}
    assert tu.flatten_dict(tree) == {("b", "c"): 1}
    assert tu.flatten_dict(tree, keep_empty_nodes=True) == {("a",): tu.empty_node,
                                                             ("b", "c"): 1}
    assert tu.flatten_dict({}, keep_empty_nodes=True) == {}
    assert jax.tree.leaves(tu.empty_node) == []  # a pytree without leaves
    assert repr(tu.empty_node) == "empty_node"
    assert tu.flatten_dict(tree, is_leaf=lambda p, n: "c" in n) == {("b",): {"c": 1}}
    assert tu.flatten_dict(tree, is_leaf=lambda p, n: p == ()) == {(): tree}
    assert tu.path_aware_map(lambda p, x: x * 10, tree) == {"a": {}, "b": {"c": 10}}


def test_errors_name_the_problem():
    with pytest.raises(TypeError, match="takes a nested dict, got a list"):
        tu.flatten_dict([1, 2])
    with pytest.raises(TypeError, match=r"the path \('layers', 0\) has the key 0 of type int"):
        tu.flatten_dict({"layers": {0: 1}}, sep="/")
    with pytest.raises(ValueError, match=r"runs through \('a',\), which is a leaf"):
        tu.unflatten_dict({("a",): 1, ("a", "b"): 2})
    with pytest.raises(ValueError, match="is a leaf but also the prefix"):
        tu.unflatten_dict({("a", "b"): 1, ("a",): 2})
    with pytest.raises(TypeError, match="takes a flat dict"):
        tu.unflatten_dict([(("a",), 1)])


def test_masks_and_labels_for_optimizers():
    model = nn.MLP([3, 2])
    params = model.init(jax.random.key(0), jnp.ones((1, 4)))["params"]
    grads = jax.tree.map(jnp.ones_like, params)

    # Weight decay on kernels only: a mask built from the paths.
    decay_mask = tu.path_aware_map(lambda path, _: path[-1] == "kernel", params)
    assert decay_mask == {"Dense_0": {"kernel": True, "bias": False},
                          "Dense_1": {"kernel": True, "bias": False}}
    tx = optax.adamw(0.1, weight_decay=0.5, mask=decay_mask)
    updates, _ = tx.update(grads, tx.init(params), params)
    plain, _ = optax.adam(0.1).update(grads, optax.adam(0.1).init(params), params)
    np.testing.assert_array_equal(updates["Dense_0"]["bias"], plain["Dense_0"]["bias"])
    assert not np.allclose(updates["Dense_0"]["kernel"], plain["Dense_0"]["kernel"])

    # Freeze the first layer: labels from the flat paths, then multi_transform.
    flat = tu.flatten_dict(params)
    labels = tu.unflatten_dict({p: "frozen" if p[0] == "Dense_0" else "train" for p in flat})
    tx = optax.multi_transform({"train": optax.sgd(0.1), "frozen": optax.set_to_zero()}, labels)
    updates, _ = tx.update(grads, tx.init(params), params)
    assert all(np.all(u == 0) for u in jax.tree.leaves(updates["Dense_0"]))
    assert all(np.all(u == -0.1) for u in jax.tree.leaves(updates["Dense_1"]))
