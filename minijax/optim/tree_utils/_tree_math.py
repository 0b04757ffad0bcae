r"""Arithmetic on pytrees, leaf by leaf (optax: `optax.tree_utils._tree_math`).

An optimizer sees its parameters, gradients and moments as pytrees of the same
structure; these functions are the vector operations on them. `tree_add(a, b)` is
`jax.tree.map(operator.add, a, b)`, `tree_vdot(a, b)` is $\sum_\ell \langle a_\ell,
b_\ell\rangle$, `tree_norm(a)` treats all leaves as one long vector.

A `None` leaf (a parameter without a gradient) is kept as `None` by the moment
updates and by `tree_add_scale`, as in optax.

>>> import jax.numpy as jnp
>>> tree_add({"w": jnp.ones(2)}, {"w": jnp.ones(2)})
{'w': Array([2., 2.], dtype=float32)}
"""

import functools
import operator
from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.numerics import abs_sq

__all__ = [
    "tree_add",
    "tree_add_scale",
    "tree_allclose",
    "tree_batch_shape",
    "tree_bias_correction",
    "tree_clip",
    "tree_conj",
    "tree_div",
    "tree_full_like",
    "tree_l1_norm",
    "tree_l2_norm",
    "tree_linf_norm",
    "tree_max",
    "tree_min",
    "tree_mul",
    "tree_norm",
    "tree_ones_like",
    "tree_real",
    "tree_scale",
    "tree_size",
    "tree_sub",
    "tree_sum",
    "tree_update_infinity_moment",
    "tree_update_moment",
    "tree_update_moment_per_elem_norm",
    "tree_vdot",
    "tree_where",
    "tree_zeros_like",
]


def _is_none(x: Any) -> bool:
    return x is None


# ----------------------------------------------------------------------------- leafwise


def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """The leafwise sum of two or more trees (optax: `optax.tree.add`).

    >>> import jax.numpy as jnp
    >>> tree_add([jnp.float32(1.0)], [jnp.float32(2.0)], [jnp.float32(3.0)])
    [Array(6., dtype=float32)]
    """
    return jax.tree.map(lambda *leaves: sum(leaves), tree_x, tree_y, *other_trees)


def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise difference `x - y` (optax: `optax.tree.sub`).

    >>> import jax.numpy as jnp
    >>> tree_sub({"a": jnp.float32(3.0)}, {"a": jnp.float32(1.0)})
    {'a': Array(2., dtype=float32)}
    """
    return jax.tree.map(operator.sub, tree_x, tree_y)


def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise product `x * y` (optax: `optax.tree.mul`).

    >>> import jax.numpy as jnp
    >>> tree_mul({"a": jnp.float32(3.0)}, {"a": jnp.float32(2.0)})
    {'a': Array(6., dtype=float32)}
    """
    return jax.tree.map(operator.mul, tree_x, tree_y)


def tree_div(tree_x: Any, tree_y: Any) -> Any:
    """The leafwise quotient `x / y` (optax: `optax.tree.div`).

    >>> import jax.numpy as jnp
    >>> tree_div({"a": jnp.float32(3.0)}, {"a": jnp.float32(2.0)})
    {'a': Array(1.5, dtype=float32)}
    """
    return jax.tree.map(operator.truediv, tree_x, tree_y)


def tree_scale(scalar: jax.typing.ArrayLike, tree: Any) -> Any:
    """`scalar * leaf` for every leaf (optax: `optax.tree.scale`).

    >>> import jax.numpy as jnp
    >>> tree_scale(2.0, {"a": jnp.float32(3.0)})
    {'a': Array(6., dtype=float32)}
    """
    return jax.tree.map(lambda x: scalar * x, tree)


def tree_add_scale(tree_x: Any, scalar: jax.typing.ArrayLike, tree_y: Any) -> Any:
    """`x + scalar * y` leafwise; a `None` leaf of `x` stays `None` (optax:
    `optax.tree.add_scale`).

    >>> import jax.numpy as jnp
    >>> tree_add_scale({"a": jnp.float32(1.0)}, 0.5, {"a": jnp.float32(4.0)})
    {'a': Array(3., dtype=float32)}
    """
    scalar = jnp.asarray(scalar)
    return jax.tree.map(
        lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y, is_leaf=_is_none
    )


def tree_conj(tree: Any) -> Any:
    """The complex conjugate of every leaf (optax: `optax.tree.conj`).

    >>> import jax.numpy as jnp
    >>> tree_conj([jnp.complex64(1.0 + 2.0j)])
    [Array(1.-2.j, dtype=complex64)]
    """
    return jax.tree.map(jnp.conj, tree)


def tree_real(tree: Any) -> Any:
    """The real part of every leaf (optax: `optax.tree.real`).

    >>> import jax.numpy as jnp
    >>> tree_real([jnp.complex64(1.0 + 2.0j)])
    [Array(1., dtype=float32)]
    """
    return jax.tree.map(jnp.real, tree)


def tree_clip(
    tree: Any,
    min_value: jax.typing.ArrayLike | None = None,
    max_value: jax.typing.ArrayLike | None = None,
) -> Any:
    """Every leaf clipped to `[min_value, max_value]`; `None` is no bound (optax:
    `optax.tree.clip`).

    >>> import jax.numpy as jnp
    >>> tree_clip({"a": jnp.array([-2.0, 0.5, 2.0])}, -1.0, 1.0)
    {'a': Array([-1. ,  0.5,  1. ], dtype=float32)}
    """
    return jax.tree.map(lambda g: jnp.clip(g, min_value, max_value), tree)


def tree_where(condition: jax.typing.ArrayLike, tree_x: Any, tree_y: Any) -> Any:
    """`jnp.where(condition, x, y)` leafwise: pick `tree_x` where `condition` holds
    (optax: `optax.tree.where`).

    >>> import jax.numpy as jnp
    >>> tree_where(True, {"a": jnp.float32(1.0)}, {"a": jnp.float32(2.0)})
    {'a': Array(1., dtype=float32)}
    """
    return jax.tree.map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def tree_batch_shape(tree: Any, shape: tuple[int, ...] = ()) -> Any:
    """Every leaf broadcast to the leading batch axes `shape` (optax:
    `optax.tree.batch_shape`).

    >>> import jax.numpy as jnp
    >>> tree_batch_shape({"a": jnp.ones(3)}, (2,))["a"].shape
    (2, 3)
    """
    return jax.tree.map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)


# ----------------------------------------------------------------------------- constructors


def tree_zeros_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    """Zeros with the shape (and dtype, unless given) of every leaf (optax:
    `optax.tree.zeros_like`).

    >>> import jax.numpy as jnp
    >>> tree_zeros_like({"a": jnp.ones(2)})
    {'a': Array([0., 0.], dtype=float32)}
    """
    return jax.tree.map(lambda x: jnp.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Any, dtype: jax.typing.DTypeLike | None = None) -> Any:
    """Ones with the shape (and dtype, unless given) of every leaf (optax:
    `optax.tree.ones_like`).

    >>> import jax.numpy as jnp
    >>> tree_ones_like({"a": jnp.zeros(2, jnp.int32)})
    {'a': Array([1, 1], dtype=int32)}
    """
    return jax.tree.map(lambda x: jnp.ones_like(x, dtype=dtype), tree)


def tree_full_like(
    tree: Any, fill_value: jax.typing.ArrayLike, dtype: jax.typing.DTypeLike | None = None
) -> Any:
    """`fill_value` with the shape (and dtype, unless given) of every leaf (optax:
    `optax.tree.full_like`).

    >>> import jax.numpy as jnp
    >>> tree_full_like({"a": jnp.zeros(2)}, 7.0)
    {'a': Array([7., 7.], dtype=float32)}
    """
    return jax.tree.map(lambda x: jnp.full_like(x, fill_value, dtype=dtype), tree)


# ----------------------------------------------------------------------------- reductions


def _vdot(a: Any, b: Any) -> jax.Array:
    return jnp.vdot(jnp.asarray(a), jnp.asarray(b), precision=jax.lax.Precision.HIGHEST)


def tree_vdot(tree_x: Any, tree_y: Any) -> Any:
    r"""The inner product of two trees, $\sum_\ell \sum_i \bar x_{\ell i}\, y_{\ell i}$,
    at the highest matmul precision (optax: `optax.tree.vdot`).

    >>> import jax.numpy as jnp
    >>> tree_vdot({"a": jnp.array([1, 2])}, {"a": jnp.array([3, 4])})
    Array(11, dtype=int32)
    """
    vdots = jax.tree.map(_vdot, tree_x, tree_y)
    return jax.tree.reduce(operator.add, vdots, initializer=0)


def tree_sum(tree: Any, associative_reduction: bool = False) -> Any:
    """The sum of all elements of all leaves (optax: `optax.tree.sum`).

    Leaves are summed in order; `associative_reduction=True` lets jax pair them as a
    balanced tree instead (faster to compile for many leaves, rounded differently).

    >>> import jax.numpy as jnp
    >>> tree_sum({"a": jnp.ones(2), "b": jnp.ones(3)})
    Array(5., dtype=float32)
    """
    sums = jax.tree.map(jnp.sum, tree)
    if associative_reduction:
        return jax.tree.reduce_associative(operator.add, sums, identity=0)
    return jax.tree.reduce(operator.add, sums, initializer=0)


def _leaf_max(x: Any) -> Any:
    return None if jnp.size(x) == 0 else jnp.max(x)


def _leaf_min(x: Any) -> Any:
    return None if jnp.size(x) == 0 else jnp.min(x)


def _maximum(a: Any, b: Any) -> Any:
    return jnp.maximum(a, b)


def _minimum(a: Any, b: Any) -> Any:
    return jnp.minimum(a, b)


def tree_max(tree: Any) -> Any:
    """The largest element of all leaves; `-inf` for a tree without elements (optax:
    `optax.tree.max`).

    >>> import jax.numpy as jnp
    >>> tree_max({"a": jnp.array([1.0, 5.0]), "b": jnp.float32(3.0)})
    Array(5., dtype=float32)
    """
    maxes = jax.tree.map(_leaf_max, tree)
    return jax.tree.reduce(_maximum, maxes, initializer=-float("inf"))


def tree_min(tree: Any) -> Any:
    """The smallest element of all leaves; `inf` for a tree without elements (optax:
    `optax.tree.min`).

    >>> import jax.numpy as jnp
    >>> tree_min({"a": jnp.array([1.0, 5.0]), "b": jnp.float32(3.0)})
    Array(1., dtype=float32)
    """
    mins = jax.tree.map(_leaf_min, tree)
    return jax.tree.reduce(_minimum, mins, initializer=float("inf"))


def tree_size(tree: Any) -> int:
    """The number of elements of all leaves together (optax: `optax.tree.size`).

    >>> import jax.numpy as jnp
    >>> tree_size({"a": jnp.ones((2, 3)), "b": jnp.ones(4)})
    10
    """
    return sum(jnp.size(leaf) for leaf in jax.tree.leaves(tree))


def tree_norm(
    tree: Any,
    ord: int | float | str | None = None,
    squared: bool = False,
) -> jax.Array:
    r"""The norm of all leaves taken as one vector (optax: `optax.tree.norm`):
    $\big(\sum_{\ell,i} |x_{\ell i}|^2\big)^{1/2}$ for `ord=None` or `2`,
    $\sum |x_{\ell i}|$ for `ord=1`, $\max |x_{\ell i}|$ for `ord=inf` (or `"inf"`).

    Args:
        tree: a pytree of (maybe complex) arrays.
        ord: `None`, `2`, `1`, or `jnp.inf` / `"inf"` / `"infinity"`.
        squared: return the square of the norm.

    Returns:
        A scalar array.

    Raises:
        ValueError: another `ord`.

    >>> import jax.numpy as jnp
    >>> tree_norm({"a": jnp.array([3.0]), "b": jnp.array([-4.0])})
    Array(5., dtype=float32)
    >>> tree_norm({"a": jnp.array([3.0]), "b": jnp.array([-4.0])}, ord=1)
    Array(7., dtype=float32)
    """
    if ord is None or ord == 2:
        squares = jax.tree.map(lambda x: jnp.square(x.real) + jnp.square(x.imag), tree)
        sqnorm = tree_sum(squares)
        return jnp.array(sqnorm if squared else jnp.sqrt(sqnorm))
    if ord == 1:
        norm = tree_sum(jax.tree.map(jnp.abs, tree))
    elif ord == jnp.inf or ord in ("inf", "infinity"):
        norm = tree_max(jax.tree.map(jnp.abs, tree))
    else:
        raise ValueError(f"tree_norm: unsupported ord={ord!r}; use None, 1, 2 or jnp.inf.")
    return jnp.array(jnp.square(norm.real) + jnp.square(norm.imag) if squared else norm)


def tree_l1_norm(tree: Any, squared: bool = False) -> jax.Array:
    """`tree_norm(tree, ord=1)`, the older name (optax: `tree_utils.tree_l1_norm`).

    >>> import jax.numpy as jnp
    >>> tree_l1_norm([jnp.array([1.0, -2.0])])
    Array(3., dtype=float32)
    """
    return tree_norm(tree, ord=1, squared=squared)


def tree_l2_norm(tree: Any, squared: bool = False) -> jax.Array:
    """`tree_norm(tree)`, the older name (optax: `tree_utils.tree_l2_norm`).

    >>> import jax.numpy as jnp
    >>> tree_l2_norm([jnp.array([3.0, -4.0])])
    Array(5., dtype=float32)
    """
    return tree_norm(tree, ord=2, squared=squared)


def tree_linf_norm(tree: Any, squared: bool = False) -> jax.Array:
    """`tree_norm(tree, ord="inf")`, the older name (optax: `tree_utils.tree_linf_norm`).

    >>> import jax.numpy as jnp
    >>> tree_linf_norm([jnp.array([3.0, -4.0])])
    Array(4., dtype=float32)
    """
    return tree_norm(tree, ord="inf", squared=squared)


def tree_allclose(
    a: Any,
    b: Any,
    rtol: jax.typing.ArrayLike = 1e-05,
    atol: jax.typing.ArrayLike = 1e-08,
    equal_nan: bool = False,
) -> Any:
    """Whether every leaf of `a` is `jnp.allclose` to the leaf of `b` (optax:
    `optax.tree.allclose`).

    >>> import jax.numpy as jnp
    >>> bool(tree_allclose({"a": jnp.float32(1.0)}, {"a": jnp.array(1.0 + 1e-7)}))
    True
    """
    close = jax.tree.map(
        lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b
    )
    return functools.reduce(operator.and_, jax.tree.leaves(close), True)


# ----------------------------------------------------------------------------- moments


def tree_update_moment(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    r"""The moving average of a power of the updates (optax: `optax.tree.update_moment`):
    $m \leftarrow (1 - d)\, g^k + d\, m$.

    >>> import jax.numpy as jnp
    >>> tree_update_moment([jnp.float32(2.0)], [jnp.float32(0.0)], 0.9, 2)
    [Array(0.4, dtype=float32)]
    """
    return jax.tree.map(
        lambda g, t: None if g is None else (1 - decay) * (g**order) + decay * t,
        updates,
        moments,
        is_leaf=_is_none,
    )


def tree_update_infinity_moment(updates: Any, moments: Any, decay: Any, eps: Any) -> Any:
    r"""The decaying maximum of $|g|$ (Adamax's $u$; optax:
    `optax.tree.update_infinity_moment`): $u \leftarrow \max(|g| + \epsilon, d\, u)$.

    >>> import jax.numpy as jnp
    >>> tree_update_infinity_moment([jnp.float32(-2.0)], [jnp.float32(3.0)], 0.5, 0.0)
    [Array(2., dtype=float32)]
    """
    return jax.tree.map(
        lambda g, t: None if g is None else jnp.maximum(jnp.abs(g) + eps, decay * t),
        updates,
        moments,
        is_leaf=_is_none,
    )


def tree_update_moment_per_elem_norm(updates: Any, moments: Any, decay: Any, order: int) -> Any:
    r"""The moving average of $|g|^k$, for real or complex `g` (optax:
    `optax.tree.update_moment_per_elem_norm`): $m \leftarrow (1 - d)\,|g|^k + d\, m$.

    >>> import jax.numpy as jnp
    >>> tree_update_moment_per_elem_norm([jnp.complex64(3.0 + 4.0j)], [jnp.float32(0.0)], 0.5, 2)
    [Array(12.5, dtype=float32)]
    """

    def orderth_norm(g: Any) -> Any:
        if jnp.isrealobj(g):
            return g**order
        half_order: float | int = order / 2
        if float(half_order).is_integer():
            half_order = int(half_order)
        return abs_sq(g) ** half_order

    return jax.tree.map(
        lambda g, t: None if g is None else (1 - decay) * orderth_norm(g) + decay * t,
        updates,
        moments,
        is_leaf=_is_none,
    )


@functools.partial(jax.jit, inline=True)
def _bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    correction = 1 - decay**count
    return jax.tree.map(lambda t: t / correction.astype(t.dtype), moment)


def tree_bias_correction(moment: Any, decay: Any, count: jax.Array) -> Any:
    r"""Undo the bias towards zero of a moving average started at zero (optax:
    `optax.tree.bias_correction`): $\hat m = m / (1 - d^t)$.

    `1 - d**t` is computed as jax computes it for a traced `d` (float32, or float64
    with x64 on) and cast to the moment's dtype before dividing. Like optax's, the
    function is jitted (and inlined into an enclosing jit), so eager code gets the
    rounding of compiled code.

    >>> import jax.numpy as jnp
    >>> tree_bias_correction([jnp.float32(0.1)], 0.9, jnp.array(1))
    [Array(1., dtype=float32)]
    """
    return _bias_correction(moment, decay, count)
