"""Misuse cases: data, typing and gradient checks. See catalogue.py for what a case is."""

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from minijax import data
from minijax.testing import ForwardModeUnavailableError, GradientCheckError, check_grads
from minijax.typing import Float, TypeCheckError, typed

from .catalogue import case

# ======================================================================== data


@case(
    "data",
    "x and y with different numbers of examples",
    ValueError,
    ("different numbers of examples",),
    ("'[0]': 8, '[1]': 7",),
    ("same split",),
    "flax: no loader",
)
def ragged_data(tmp: Path) -> Any:
    return list(data.iterate_batches((jnp.ones((8, 3)), jnp.ones(7)), 4))


@case(
    "data",
    "batch_size=0",
    ValueError,
    ("batch_size must be a positive int",),
    ("batch_size",),
    ("got 0",),
    "flax: no loader",
)
def batch_size_zero(tmp: Path) -> Any:
    return list(data.iterate_batches(jnp.ones((8, 3)), 0))


@case(
    "data",
    "Loader(shuffle=True) without a key",
    ValueError,
    ("needs a key=",),
    ("Loader(shuffle=True)",),
    ("an int seed",),
    "flax: no loader",
)
def loader_without_key(tmp: Path) -> Any:
    return data.Loader(jnp.ones((8, 3)), batch_size=4, shuffle=True)


@case(
    "data",
    "data with no arrays",
    ValueError,
    ("no array leaves",),
    ("data",),
    ("pytree of arrays",),
    "flax: no loader",
)
def data_no_arrays(tmp: Path) -> Any:
    return list(data.iterate_batches({}, 4))


# ======================================================================== typing


@typed
def _matmul(x: Float[jax.Array, "batch din"], w: Float[jax.Array, "din dout"]) -> Any:
    return x @ w


@case(
    "typing",
    "a typed function given a weight of the wrong input size",
    TypeCheckError,
    ("does not match its annotation", "(5, 4)"),
    ("_matmul", "parameter 'w'", "din=3"),
    ("5 here but 3",),
    "flax: no shape annotations; a dot_general shape error",
)
def typed_bound_axis(tmp: Path) -> Any:
    return _matmul(jnp.ones((2, 3)), jnp.ones((5, 4)))


@case(
    "typing",
    "a typed function given an int array for a Float",
    TypeCheckError,
    ("int32",),
    ("_matmul", "parameter 'x'"),
    ("astype(jnp.float32)",),
    "flax: no dtype annotations; computes in int (silent)",
)
def typed_dtype(tmp: Path) -> Any:
    return _matmul(jnp.ones((2, 3), jnp.int32), jnp.ones((3, 4)))


@case(
    "typing",
    "a typed function given a matrix with a missing axis",
    TypeCheckError,
    ("does not match its annotation",),
    ("_matmul", "parameter 'x'"),
    ("'x'",),
    "flax: a dot_general shape error",
)
def typed_rank(tmp: Path) -> Any:
    return _matmul(jnp.ones(3), jnp.ones((3, 4)))


# ======================================================================== gradient checks


@case(
    "gradient checks",
    "check_grads(f, x) instead of check_grads(f, (x,))",
    TypeError,
    ("args must be a tuple",),
    ("check_grads",),
    ("(x,)",),
    "jax.test_util.check_grads: TypeError 'sin() takes 1 positional argument but 3 were given'",
)
def check_grads_not_tuple(tmp: Path) -> Any:
    return check_grads(jnp.sin, jnp.ones(3))  # type: ignore[arg-type]


@case(
    "gradient checks",
    "check_grads with order=4",
    ValueError,
    ("order must be 1, 2 or 3",),
    ("check_grads",),
    ("got 4",),
    "jax.test_util.check_grads: runs a 4th-order check (very slow)",
)
def check_grads_order(tmp: Path) -> Any:
    return check_grads(jnp.sin, (jnp.ones(3),), order=4)


@case(
    "gradient checks",
    "check_grads with modes=('forward',)",
    ValueError,
    ("modes must be a subset",),
    ("check_grads",),
    ("('fwd', 'rev')",),
    "jax.test_util.check_grads: no error; checks nothing (silent)",
)
def check_grads_modes(tmp: Path) -> Any:
    return check_grads(jnp.sin, (jnp.ones(3),), modes=("forward",))


@case(
    "gradient checks",
    "forward mode asked of a custom_vjp function",
    ForwardModeUnavailableError,
    ("custom_vjp", "forward mode"),
    ("modes=('fwd',)",),
    ("modes=('rev',)", "custom_jvp"),
    "jax.test_util.check_grads: raw TypeError \"can't apply forward-mode autodiff (jvp) to a "
    'custom_vjp function"',
)
def check_grads_custom_vjp_fwd(tmp: Path) -> Any:
    @jax.custom_vjp
    def f(x: Any) -> Any:
        return jnp.sum(x**2)

    f.defvjp(lambda x: (f(x), x), lambda x, g: (2 * x * g,))
    return check_grads(f, (jnp.ones(2),), modes=("fwd",))


@case(
    "gradient checks",
    "check_grads of a function of integers only",
    ValueError,
    ("no argument leaf has a float dtype",),
    ("check_grads",),
    ("float arrays",),
    "jax.test_util.check_grads: TypeError 'primal and tangent arguments to jax.jvp do not match'",
)
def check_grads_ints(tmp: Path) -> Any:
    return check_grads(lambda i: i * 2.0, (jnp.arange(3),))


@case(
    "gradient checks",
    "a hand-written backward pass that is 1% off",
    GradientCheckError,
    ("gradient check failed",),
    ("input args[0]", "element"),
    ("rtol",),
    "jax.test_util.check_grads: AssertionError with the arrays, no element or argument",
)
def check_grads_wrong_rule(tmp: Path) -> Any:
    @jax.custom_jvp
    def f(x: Any) -> Any:
        return jnp.sin(x)

    f.defjvp(lambda p, t: (jnp.sin(p[0]), 1.01 * jnp.cos(p[0]) * t[0]))
    return check_grads(f, (jnp.array([0.3, 1.2]),))
