"""Pytree arithmetic under short names (optax: `optax.tree`).

`tree.add(a, b)`, `tree.norm(g)`, `tree.zeros_like(params)`: the functions of
`minijax.optim.tree_utils` (`tree_add`, `tree_norm`, ...), one implementation
behind both names. A `None` leaf (a parameter without a gradient) is kept as
`None` where optax keeps it. `check_tree_match` and `check_shapes_match` are
minijax's own: they name the first path where two trees differ.

>>> import jax.numpy as jnp
>>> import minijax.optim as optax
>>> g = {"w": jnp.array([3.0, 4.0]), "b": jnp.array(0.0)}
>>> optax.tree.norm(g), optax.tree.size(g)
(Array(5., dtype=float32), 3)
"""

from minijax.optim.numerics import safe_increment as safe_increment
from minijax.optim.tree_utils import tree_add as add
from minijax.optim.tree_utils import tree_add_scale as add_scale
from minijax.optim.tree_utils import tree_allclose as allclose
from minijax.optim.tree_utils import tree_batch_shape as batch_shape
from minijax.optim.tree_utils import tree_bias_correction as bias_correction
from minijax.optim.tree_utils import tree_cast as cast
from minijax.optim.tree_utils import tree_cast_like as cast_like
from minijax.optim.tree_utils import tree_clip as clip
from minijax.optim.tree_utils import tree_conj as conj
from minijax.optim.tree_utils import tree_div as div
from minijax.optim.tree_utils import tree_dtype as dtype
from minijax.optim.tree_utils import tree_full_like as full_like
from minijax.optim.tree_utils import tree_get as get
from minijax.optim.tree_utils import tree_get_all_with_path as get_all_with_path
from minijax.optim.tree_utils import tree_map_params as map_params
from minijax.optim.tree_utils import tree_max as max
from minijax.optim.tree_utils import tree_min as min
from minijax.optim.tree_utils import tree_mul as mul
from minijax.optim.tree_utils import tree_norm as norm
from minijax.optim.tree_utils import tree_ones_like as ones_like
from minijax.optim.tree_utils import tree_random_like as random_like
from minijax.optim.tree_utils import tree_real as real
from minijax.optim.tree_utils import tree_scale as scale
from minijax.optim.tree_utils import tree_set as set
from minijax.optim.tree_utils import tree_size as size
from minijax.optim.tree_utils import tree_split_key_like as split_key_like
from minijax.optim.tree_utils import tree_sub as sub
from minijax.optim.tree_utils import tree_sum as sum
from minijax.optim.tree_utils import tree_unwrap_random_key_data as unwrap_random_key_data
from minijax.optim.tree_utils import tree_update_infinity_moment as update_infinity_moment
from minijax.optim.tree_utils import tree_update_moment as update_moment
from minijax.optim.tree_utils import (
    tree_update_moment_per_elem_norm as update_moment_per_elem_norm,
)
from minijax.optim.tree_utils import tree_vdot as vdot
from minijax.optim.tree_utils import tree_where as where
from minijax.optim.tree_utils import tree_zeros_like as zeros_like
from minijax.optim.tree_utils._checks import check_shapes_match, check_tree_match

__all__ = [
    "add",
    "add_scale",
    "allclose",
    "batch_shape",
    "bias_correction",
    "cast",
    "cast_like",
    "check_shapes_match",
    "check_tree_match",
    "clip",
    "conj",
    "div",
    "dtype",
    "full_like",
    "get",
    "get_all_with_path",
    "map_params",
    "max",
    "min",
    "mul",
    "norm",
    "ones_like",
    "random_like",
    "real",
    "scale",
    "set",
    "size",
    "split_key_like",
    "sub",
    "sum",
    "unwrap_random_key_data",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
    "vdot",
    "where",
    "zeros_like",
]

# The names this module had before it mirrored `optax.tree`, kept for the code that
# imports them (not part of the namespace's API).
global_norm = norm
tree_add = add
tree_cast = cast
tree_cast_like = cast_like
tree_full_like = full_like
tree_scale = scale
tree_zeros_like = zeros_like
