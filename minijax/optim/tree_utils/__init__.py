"""Pytree utilities under their older `tree_*` names (optax: `optax.tree_utils`).

The same functions, under short names, make `minijax.optim.tree` (optax's newer
`optax.tree`): `tree_utils.tree_add is tree.add`. They live in four files, as in
optax: arithmetic and moments (`_tree_math`), dtypes (`_casting`), random trees
(`_random`) and reading/writing optimizer states by name (`_state_utils`).

>>> import jax.numpy as jnp
>>> import minijax.optim as optax
>>> optax.tree_utils.tree_norm({"a": jnp.array([3.0, 4.0])})
Array(5., dtype=float32)
>>> optax.tree_utils.tree_norm is optax.tree.norm
True
"""

from minijax.optim.tree_utils._casting import tree_cast, tree_cast_like, tree_dtype
from minijax.optim.tree_utils._random import (
    tree_random_like,
    tree_split_key_like,
    tree_unwrap_random_key_data,
)
from minijax.optim.tree_utils._state_utils import (
    NamedTupleKey,
    tree_get,
    tree_get_all_with_path,
    tree_map_params,
    tree_set,
)
from minijax.optim.tree_utils._tree_math import (
    tree_add,
    tree_add_scale,
    tree_allclose,
    tree_batch_shape,
    tree_bias_correction,
    tree_clip,
    tree_conj,
    tree_div,
    tree_full_like,
    tree_l1_norm,
    tree_l2_norm,
    tree_linf_norm,
    tree_max,
    tree_min,
    tree_mul,
    tree_norm,
    tree_ones_like,
    tree_real,
    tree_scale,
    tree_size,
    tree_sub,
    tree_sum,
    tree_update_infinity_moment,
    tree_update_moment,
    tree_update_moment_per_elem_norm,
    tree_vdot,
    tree_where,
    tree_zeros_like,
)

#: Older names of `tree_scale` and `tree_add_scale` (optax: `tree_scalar_mul`,
#: `tree_add_scalar_mul`).
tree_scalar_mul = tree_scale
tree_add_scalar_mul = tree_add_scale

__all__ = [
    "NamedTupleKey",
    "tree_add",
    "tree_add_scalar_mul",
    "tree_add_scale",
    "tree_allclose",
    "tree_batch_shape",
    "tree_bias_correction",
    "tree_cast",
    "tree_cast_like",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_dtype",
    "tree_full_like",
    "tree_get",
    "tree_get_all_with_path",
    "tree_l1_norm",
    "tree_l2_norm",
    "tree_linf_norm",
    "tree_map_params",
    "tree_max",
    "tree_min",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_random_like",
    "tree_real",
    "tree_scalar_mul",
    "tree_scale",
    "tree_set",
    "tree_size",
    "tree_split_key_like",
    "tree_sub",
    "tree_sum",
    "tree_unwrap_random_key_data",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]
