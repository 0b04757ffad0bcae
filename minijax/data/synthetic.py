"""Synthetic datasets: small, exact, made on the fly from a key.

Every function is `f(key_or_seed, n, ...) -> (x, y)` with jax arrays on the
default device; the same key (or int seed) gives the same bits every run.

| function | x | y | what |
|---|---|---|---|
| `linear` | float32 `(n, 1)` | float32 `(n, 1)` | `y = 3x + 1 + noise` |
| `polynomial` | float32 `(n, 1)` | float32 `(n, 1)` | `polyval(coeffs, x) + noise` |
| `sine` | float32 `(n, 1)` | float32 `(n, 1)` | `amplitude sin(freq x) + noise` |
| `two_moons` | float32 `(n, 2)` | int32 `(n,)` | two interleaved half circles |
| `spirals` | float32 `(n, 2)` | int32 `(n,)` | `num_classes` spiral arms |
| `blobs` | float32 `(n, d)` | int32 `(n,)` | Gaussian clusters |

Regression targets keep a trailing axis of 1, as a `Dense(1)` model outputs;
class labels are integer class indices.
"""

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp

from minijax.random import as_key
from minijax.typing import Array, Float, Int, PRNGKeyArray

__all__ = ["blobs", "linear", "polynomial", "sine", "spirals", "two_moons"]

KeyLike = PRNGKeyArray | int


def _check_n(n: int) -> int:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of examples) must be a positive int, got {n!r}.")
    return n


def linear(
    key: KeyLike,
    n: int = 200,
    *,
    slope: float = 3.0,
    intercept: float = 1.0,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-1.0, 1.0),
) -> tuple[Float[Array, "n 1"], Float[Array, "n 1"]]:
    """A noisy line `y = slope*x + intercept` (3 and 1), as in "jax/flax and object orientation".

    `x` is uniform in `x_range`; `noise` is the noise's standard deviation
    (`0` gives the exact line). Returns float32 `x, y` of shape `(n, 1)`.

    >>> import jax.numpy as jnp
    >>> from minijax import data
    >>> x, y = data.linear(0, 5, noise=0.0)
    >>> x.shape, y.dtype
    ((5, 1), dtype('float32'))
    >>> bool(jnp.allclose(y, 3 * x + 1))
    True
    """
    _check_n(n)
    x, y = _linear(as_key(key), n, slope, intercept, noise, *x_range)
    return x, y


@partial(jax.jit, static_argnums=1)
def _linear(
    key: PRNGKeyArray, n: int, slope: float, intercept: float, noise: float, lo: float, hi: float
) -> tuple[Array, Array]:
    kx, ke = jax.random.split(key)
    x = jax.random.uniform(kx, (n, 1), jnp.float32, lo, hi)
    y = slope * x + intercept + noise * jax.random.normal(ke, (n, 1), jnp.float32)
    return x, y.astype(jnp.float32)


def polynomial(
    key: KeyLike,
    n: int = 1000,
    *,
    coefficients: Sequence[float] = (1.0, -2.0, 1.0, -2.0),
    noise: float = 1.0,
    x_range: tuple[float, float] = (-10.0, 10.0),
    standardize: bool = False,
) -> tuple[Float[Array, "n 1"], Float[Array, "n 1"]]:
    """Polynomial data `y = polyval(coefficients, x) + noise`, as in "Equinox and friends".

    `x = linspace(*x_range, n)`.

    `coefficients` go from the highest power down (`numpy.polyval`'s order):
    the default is `x**3 - 2x**2 + x - 2`. `noise` is the standard deviation of
    the Gaussian noise. `standardize=True` rescales `x` and `y` to mean 0 and
    standard deviation 1, as the post does before training. Shapes `(n, 1)`, float32.

    >>> from minijax import data
    >>> x, y = data.polynomial(0, 3, coefficients=(1.0, 0.0), noise=0.0, x_range=(-1.0, 1.0))
    >>> x.ravel(), y.ravel()   # y = x
    (Array([-1.,  0.,  1.], dtype=float32), Array([-1.,  0.,  1.], dtype=float32))
    >>> x, y = data.polynomial(0, 100, standardize=True)
    >>> round(float(y.mean()), 4), round(float(y.std()), 4)
    (0.0, 1.0)
    """
    _check_n(n)
    coeffs = jnp.asarray(coefficients, jnp.float32)
    x, y = _polynomial(as_key(key), n, coeffs, noise, *x_range, standardize)
    return x, y


@partial(jax.jit, static_argnums=(1, 6))
def _polynomial(
    key: PRNGKeyArray, n: int, coeffs: Array, noise: float, lo: float, hi: float, standardize: bool
) -> tuple[Array, Array]:
    x = jnp.linspace(lo, hi, n, dtype=jnp.float32)
    y = jnp.polyval(coeffs, x) + noise * jax.random.normal(key, (n,), jnp.float32)
    x, y = x.reshape(-1, 1), y.reshape(-1, 1)
    if standardize:
        x = (x - x.mean()) / x.std()
        y = (y - y.mean()) / y.std()
    return x, y.astype(jnp.float32)


def sine(
    key: KeyLike,
    n: int = 200,
    *,
    amplitude: float = 1.0,
    frequency: float = 1.0,
    phase: float = 0.0,
    noise: float = 0.1,
    x_range: tuple[float, float] = (-math.pi, math.pi),
) -> tuple[Float[Array, "n 1"], Float[Array, "n 1"]]:
    """`y = amplitude * sin(frequency * x + phase) + noise`, `x` uniform in `x_range`.

    Shapes `(n, 1)`, float32.

    >>> import jax.numpy as jnp
    >>> from minijax import data
    >>> x, y = data.sine(0, 4, noise=0.0)
    >>> bool(jnp.allclose(y, jnp.sin(x)))
    True
    >>> bool((jnp.abs(x) <= jnp.pi).all())
    True
    """
    _check_n(n)
    x, y = _sine(as_key(key), n, amplitude, frequency, phase, noise, *x_range)
    return x, y


@partial(jax.jit, static_argnums=1)
def _sine(
    key: PRNGKeyArray,
    n: int,
    amplitude: float,
    frequency: float,
    phase: float,
    noise: float,
    lo: float,
    hi: float,
) -> tuple[Array, Array]:
    kx, ke = jax.random.split(key)
    x = jax.random.uniform(kx, (n, 1), jnp.float32, lo, hi)
    y = amplitude * jnp.sin(frequency * x + phase)
    y = y + noise * jax.random.normal(ke, (n, 1), jnp.float32)
    return x, y.astype(jnp.float32)


def _jitter_and_shuffle(
    noise_key: PRNGKeyArray, perm_key: PRNGKeyArray, x: Array, y: Array, std: float
) -> tuple[Array, Array]:
    """Add Gaussian noise of std `std` to the points `x`, then shuffle `(x, y)` together.

    The classification sets build their examples class by class; this hides that order."""
    x = x + std * jax.random.normal(noise_key, x.shape, jnp.float32)
    perm = jax.random.permutation(perm_key, x.shape[0])
    return x[perm].astype(jnp.float32), y[perm]


def two_moons(
    key: KeyLike, n: int = 200, *, noise: float = 0.1
) -> tuple[Float[Array, "n 2"], Int[Array, " n"]]:
    """Two interleaved half circles (scikit-learn's `make_moons`), shuffled.

    Class 0 is the upper moon `(cos t, sin t)`, class 1 the lower
    `(1 - cos t, 0.5 - sin t)`, `t` uniform in `[0, pi]`; `n // 2` points in
    class 0 and the rest in class 1, then Gaussian noise of std `noise`.
    Returns float32 `x (n, 2)` and int32 labels `y (n,)`.

    >>> from minijax import data
    >>> x, y = data.two_moons(0, 10)
    >>> x.shape, y.shape, y.dtype
    ((10, 2), (10,), dtype('int32'))
    >>> int((y == 0).sum()), int((y == 1).sum())
    (5, 5)
    """
    _check_n(n)
    x, y = _two_moons(as_key(key), n, noise)
    return x, y


@partial(jax.jit, static_argnums=1)
def _two_moons(key: PRNGKeyArray, n: int, noise: float) -> tuple[Array, Array]:
    kt, ke, kp = jax.random.split(key, 3)
    y = (jnp.arange(n) >= n // 2).astype(jnp.int32)
    t = jax.random.uniform(kt, (n,), jnp.float32, 0.0, math.pi)
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1.0 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    x = jnp.where(y[:, None] == 0, upper, lower)
    return _jitter_and_shuffle(ke, kp, x, y, noise)


def spirals(
    key: KeyLike,
    n: int = 300,
    *,
    num_classes: int = 2,
    turns: float = 1.5,
    noise: float = 0.05,
) -> tuple[Float[Array, "n 2"], Int[Array, " n"]]:
    """`num_classes` interleaved spiral arms in the unit disc, shuffled.

    Arm `c` is `r (cos a, sin a)` with radius `r` uniform in `[0.05, 1]` and
    angle `a = 2 pi (turns * r + c / num_classes)`, plus Gaussian noise of std
    `noise`. Classes are as equal in size as `n` allows.
    Returns float32 `x (n, 2)` and int32 labels `y (n,)` in `[0, num_classes)`.

    >>> from minijax import data
    >>> x, y = data.spirals(0, 9, num_classes=3)
    >>> x.shape, sorted(int((y == c).sum()) for c in range(3))
    ((9, 2), [3, 3, 3])
    """
    _check_n(n)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}.")
    x, y = _spirals(as_key(key), n, num_classes, turns, noise)
    return x, y


@partial(jax.jit, static_argnums=(1, 2))
def _spirals(
    key: PRNGKeyArray, n: int, num_classes: int, turns: float, noise: float
) -> tuple[Array, Array]:
    kr, ke, kp = jax.random.split(key, 3)
    y = (jnp.arange(n) % num_classes).astype(jnp.int32)
    r = jax.random.uniform(kr, (n,), jnp.float32, 0.05, 1.0)
    a = 2.0 * math.pi * (turns * r + y / num_classes)
    x = r[:, None] * jnp.stack([jnp.cos(a), jnp.sin(a)], axis=1)
    return _jitter_and_shuffle(ke, kp, x, y, noise)


def blobs(
    key: KeyLike,
    n: int = 300,
    *,
    num_classes: int = 3,
    dim: int = 2,
    std: float = 1.0,
    centers: Float[Array, "classes dim"] | None = None,
    center_box: tuple[float, float] = (-5.0, 5.0),
) -> tuple[Float[Array, "n dim"], Int[Array, " n"]]:
    """Gaussian clusters (scikit-learn's `make_blobs`), shuffled.

    Without `centers`, `num_classes` centers are drawn uniformly in
    `center_box`; each point is its class center plus isotropic Gaussian noise of
    std `std`. Returns float32 `x (n, dim)` and int32 labels `y (n,)`.

    >>> import jax.numpy as jnp
    >>> from minijax import data
    >>> x, y = data.blobs(0, 6, centers=jnp.array([[0.0, 0.0], [10.0, 10.0]]), std=0.0)
    >>> bool(jnp.all(x == 10.0 * y[:, None]))   # every point sits on its class center
    True
    """
    _check_n(n)
    if centers is None:
        centers = _centers(as_key(key), num_classes, dim, *center_box)
    x, y = _blobs(as_key(key), n, jnp.asarray(centers, jnp.float32), std)
    return x, y


@partial(jax.jit, static_argnums=(1, 2))
def _centers(key: PRNGKeyArray, num_classes: int, dim: int, lo: float, hi: float) -> Array:
    kc = jax.random.split(key, 3)[0]
    return jax.random.uniform(kc, (num_classes, dim), jnp.float32, lo, hi)


@partial(jax.jit, static_argnums=1)
def _blobs(key: PRNGKeyArray, n: int, centers: Array, std: float) -> tuple[Array, Array]:
    _, ke, kp = jax.random.split(key, 3)
    y = (jnp.arange(n) % centers.shape[0]).astype(jnp.int32)
    return _jitter_and_shuffle(ke, kp, centers[y], y, std)
