"""Shared set-up of the layer tests (conv, pooling, norms, attention, recurrent, parity).

* :func:`assert_parity`: init a flax.linen layer and the minijax layer with the same
  arguments, check that the variable trees have the same paths, shapes and dtypes,
  load flax's variables into minijax and compare the outputs.
* :func:`check_layer_grads`: a float64 gradient check of ``model.apply`` with respect
  to the inputs and every parameter at once.
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import settings

from minijax.testing import check_grads

KEY = jax.random.key(0)


def tree_signature(variables: Any) -> dict[str, tuple[tuple[int, ...], str]]:
    """``{"params/Conv_0/kernel": (shape, dtype)}`` for every leaf."""
    flat = jax.tree_util.tree_flatten_with_path(variables)[0]
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): (tuple(leaf.shape), str(leaf.dtype))
        for path, leaf in flat
    }


def plain(tree: Any) -> Any:
    """flax may return FrozenDicts in places; compare as plain nested dicts."""
    if hasattr(tree, "items"):
        return {k: plain(v) for k, v in tree.items()}
    return tree


def assert_parity(
    mine: Any,
    theirs: Any,
    *args: Any,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    rngs: Any = None,
    init_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[Any, Any]:
    """Same variable tree as flax, and the same outputs with flax's variables loaded.

    ``kwargs`` go to both ``apply`` calls (and to ``init`` unless ``init_kwargs`` is
    given). Returns ``(flax_output, minijax_output)``.
    """
    init_kwargs = kwargs if init_kwargs is None else init_kwargs
    # Both inits are traced, not run (running them compiles every random
    # initializer); flax's tree is then filled with random values and loaded.
    flax_shapes = plain(jax.eval_shape(lambda: theirs.init(KEY, *args, **init_kwargs)))
    assert tree_signature(init_shapes(mine, *args, **init_kwargs)) == tree_signature(flax_shapes)
    v_flax = random_like(flax_shapes, seed)
    y_flax = theirs.apply(v_flax, *args, rngs=rngs, **kwargs)
    y_mine = mine.apply(v_flax, *args, rngs=rngs, **kwargs)
    assert jax.tree.structure(y_mine) == jax.tree.structure(y_flax)
    for a, b in zip(jax.tree.leaves(y_mine), jax.tree.leaves(y_flax), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return y_flax, y_mine


def check_layer_grads(
    model: Any,
    variables: Any,
    *inputs: Any,
    apply_kwargs: dict[str, Any] | None = None,
    out: Callable[[Any], Any] = lambda y: y,
    **check_kwargs: Any,
) -> None:
    """float64 check of d apply / d (inputs, every variable) (jit, fwd and rev)."""
    apply_kwargs = apply_kwargs or {}

    def f(variables: Any, *xs: Any) -> Any:
        return out(model.apply(variables, *xs, **apply_kwargs))

    check_grads(f, (variables, *inputs), **check_kwargs)


def distinct_normal(seed: int, shape: tuple[int, ...]) -> jax.Array:
    """Normal-looking values with no ties (max_pool's derivative is undefined at ties)."""
    n = int(np.prod(shape))
    values = np.linspace(-2.0, 2.0, n) + 0.01 * np.sin(np.arange(n))
    return jnp.asarray(np.random.default_rng(seed).permutation(values).reshape(shape), jnp.float32)


def normal(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> jax.Array:
    """Standard normal float32 values from NumPy.

    Not ``jax.random``: every new shape of an eager jax random op compiles a
    program (seconds on a busy CPU); NumPy costs nothing.
    """
    rng = np.random.default_rng(seed)
    return jnp.asarray(scale * rng.standard_normal(shape), jnp.float32)


def init_shapes(model: Any, *args: Any, **kwargs: Any) -> Any:
    """The variables ``model.init`` would make, as ShapeDtypeStructs (traced, not run)."""
    return jax.eval_shape(lambda: model.init(KEY, *args, **kwargs))


def random_like(shapes: Any, seed: int = 0, scale: float = 0.5) -> Any:
    """Random float32 values (NumPy) in the structure, shapes and dtypes of ``shapes``."""
    leaves, treedef = jax.tree.flatten(shapes)
    rng = np.random.default_rng(seed)
    return jax.tree.unflatten(
        treedef,
        [jnp.asarray(scale * rng.standard_normal(s.shape), s.dtype) for s in leaves],
    )


def fake_init(model: Any, *args: Any, seed: int = 0, **kwargs: Any) -> Any:
    """Variables with ``model.init``'s tree but NumPy random values: no compilation.

    For tests where the initial values do not matter (gradients, properties); the
    tree itself comes from tracing the real ``init``.
    """
    return random_like(init_shapes(model, *args, **kwargs), seed)


def few(fraction: float = 0.5) -> Any:
    """Hypothesis settings with a fraction of the profile's examples (at least 3).

    Each example of a layer gradient check compiles a new program (1-3 s), so the
    costly checks run about half the examples of the loaded profile: 5 in ``ci``,
    100 in ``thorough``.
    """
    return settings(max_examples=max(3, int(settings.default.max_examples * fraction)))
