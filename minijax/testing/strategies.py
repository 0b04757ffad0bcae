"""Hypothesis strategies for minijax tests: shapes, float arrays, pytrees, PRNG keys.

Import as ``import minijax.testing.strategies as mst``; it needs Hypothesis (the
``test`` extra), which the rest of minijax does not.

Every strategy keeps the space of distinct *shapes* small on purpose: ``jax.jit``
compiles once per input shape, so a property test that drew a new shape every
example would spend its time in XLA. With the defaults, :func:`shapes` yields at
most 13 shapes (``()``, ``(1,)``...``(3, 3)``), and the ``ci`` Hypothesis profile
runs 10 examples per test.

Values are what gradient checks need: bounded (no overflow in ``exp``), finite,
and optionally kept a ``margin`` away from the kinks of the function under test
(``away_from=(0.0,)`` for ``relu`` / ``abs``), where finite differences straddle
the kink and disagree with any derivative.

=========================  ==============================================================
strategy                   yields
=========================  ==============================================================
:func:`shapes`             small array shapes (tuples of ints)
:func:`float_arrays`       jax (or NumPy) float arrays in a range, away from kinks
:func:`pytrees_of_arrays`  nested dicts / lists / tuples of float arrays
:func:`prng_keys`          ``jax.random.key(seed)`` for a drawn seed (or raw ``PRNGKey``)
:func:`seeds`              integer seeds in ``[0, 2**32)``
:func:`learning_rates`     log-uniform floats, by default in ``[1e-4, 1e-1]``
:func:`probabilities`      floats in ``[min, max]``, e.g. dropout rates
:func:`batch_sizes`        small positive ints
:func:`float_dtypes`       ``float32`` / ``float64`` (and optionally ``bfloat16``...)
=========================  ==============================================================
"""

from collections.abc import Sequence
from typing import Any

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
from hypothesis.strategies import SearchStrategy

__all__ = [
    "allowed_intervals",
    "batch_sizes",
    "float_arrays",
    "float_dtypes",
    "learning_rates",
    "prng_keys",
    "probabilities",
    "pytrees_of_arrays",
    "seeds",
    "shapes",
]

Shape = tuple[int, ...]

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def shapes(
    *, min_dims: int = 0, max_dims: int = 2, min_side: int = 1, max_side: int = 3
) -> SearchStrategy[Shape]:
    """Array shapes with ``min_dims..max_dims`` axes, each of size ``min_side..max_side``.

    The defaults give 13 distinct shapes, from ``()`` to ``(3, 3)``: few enough that
    ``jax.jit`` compiles each only once in a test run.
    """
    if not 0 <= min_dims <= max_dims:
        raise ValueError(f"shapes: need 0 <= min_dims <= max_dims, got {min_dims}, {max_dims}")
    if not 0 <= min_side <= max_side:
        raise ValueError(f"shapes: need 0 <= min_side <= max_side, got {min_side}, {max_side}")
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def allowed_intervals(
    min_value: float, max_value: float, away_from: Sequence[float], margin: float
) -> list[tuple[float, float]]:
    """``[min_value, max_value]`` minus the open intervals ``(k - margin, k + margin)``.

    Raises ``ValueError`` if nothing is left.
    """
    if not min_value <= max_value:
        raise ValueError(
            f"allowed_intervals: need min_value <= max_value, got {min_value}, {max_value}"
        )
    if margin < 0:
        raise ValueError(f"allowed_intervals: margin must be >= 0, got {margin}")
    intervals = [(float(min_value), float(max_value))]
    for kink in sorted(away_from):
        lo_cut, hi_cut = kink - margin, kink + margin
        next_intervals = []
        for lo, hi in intervals:
            if hi_cut <= lo or lo_cut >= hi:  # the excluded band misses [lo, hi]
                next_intervals.append((lo, hi))
                continue
            if lo <= lo_cut:
                next_intervals.append((lo, lo_cut))
            if hi_cut <= hi:
                next_intervals.append((hi_cut, hi))
        intervals = next_intervals
    if not intervals:
        raise ValueError(
            f"allowed_intervals: no value in [{min_value}, {max_value}] is at least {margin} "
            f"away from {away_from}; widen the range or pass a smaller margin."
        )
    return intervals


def _dtype_name(dtype: Any) -> str:
    name = str(jnp.dtype(dtype).name)
    if name not in _FLOAT_DTYPES:
        raise ValueError(f"float_arrays: dtype must be one of {_FLOAT_DTYPES}, got {name}")
    return name


def _elements(
    dtype: str,
    min_value: float,
    max_value: float,
    away_from: Sequence[float],
    margin: float,
) -> SearchStrategy[float]:
    """Scalars that, *after rounding to dtype*, lie in range and away from the kinks."""
    intervals = allowed_intervals(min_value, max_value, away_from, margin)
    np_dtype = jnp.dtype(dtype)

    def rounded(v: float) -> float:
        return float(np.asarray(v, np.float64).astype(np_dtype))

    def ok(v: float) -> bool:
        return min_value <= v <= max_value and all(abs(v - k) >= margin for k in away_from)

    parts = [
        st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        for lo, hi in intervals
    ]
    return st.one_of(parts).map(rounded).filter(ok)


def float_arrays(
    shape: Shape | int | SearchStrategy[Shape] | None = None,
    *,
    dtype: Any = jnp.float32,
    min_value: float = -2.0,
    max_value: float = 2.0,
    away_from: Sequence[float] = (),
    margin: float = 0.1,
    as_numpy: bool = False,
) -> SearchStrategy[Any]:
    """Float arrays with every element in ``[min_value, max_value]``, finite.

    Args:
      shape: a shape, an int (a vector), a strategy of shapes, or ``None`` for
        :func:`shapes` with its defaults.
      dtype: ``float32`` (default), ``float64``, ``float16`` or ``bfloat16``.
      min_value: the lower end of the closed range of every element. The default
        range ``[-2, 2]`` keeps ``exp``, ``tanh`` and products of a few elements tame.
      max_value: the upper end of that range.
      away_from: kinks (``0.0`` for ``relu``/``abs``): every element is at least
        ``margin`` away from each, *after* rounding to ``dtype``.
      margin: the distance from the kinks; it must exceed the finite-difference
        step of :func:`~minijax.testing.check_grads` (``1e-6`` by default).
      as_numpy: yield NumPy arrays instead of jax arrays.

    Yields ``jax.Array`` by default (minijax's typed functions reject NumPy arrays).
    A float64 jax array needs ``jax_enable_x64`` to be on when the example is drawn;
    otherwise drawing raises ``ValueError`` (use ``as_numpy=True`` and convert inside
    ``jax.enable_x64(True)``, or let :func:`~minijax.testing.check_grads` cast).
    """
    name = _dtype_name(dtype)
    elements = _elements(name, min_value, max_value, away_from, margin)
    if shape is None:
        shape_strategy: SearchStrategy[Shape] = shapes()
    elif isinstance(shape, SearchStrategy):
        shape_strategy = shape
    elif isinstance(shape, int):
        shape_strategy = st.just((shape,))
    else:
        shape_strategy = st.just(tuple(shape))

    # Draw float64 values, then round to the dtype (ml_dtypes handles bfloat16);
    # _elements has already checked the bounds after that rounding.
    arrays64 = hnp.arrays(np.float64, shape_strategy, elements=elements)
    np_dtype = jnp.dtype(name)

    def convert(a: np.ndarray[Any, Any]) -> Any:
        out = a.astype(np_dtype)
        if as_numpy:
            return out
        array = jnp.asarray(out)
        if array.dtype != np_dtype:
            raise ValueError(
                f"float_arrays(dtype={name}) drew a jax array, but jax made it {array.dtype}: "
                "jax_enable_x64 is off. Use as_numpy=True (and convert inside "
                "jax.enable_x64(True)) or enable x64 for the whole test."
            )
        return array

    return arrays64.map(convert)


def pytrees_of_arrays(
    leaves: SearchStrategy[Any] | None = None,
    *,
    max_leaves: int = 4,
    keys: Sequence[str] = ("a", "b", "w", "bias"),
) -> SearchStrategy[Any]:
    """Pytrees (nested ``dict`` / ``list`` / ``tuple``) whose leaves are arrays.

    Args:
      leaves: the strategy for each leaf; :func:`float_arrays` by default.
      max_leaves: at most this many leaves (Hypothesis' ``recursive`` bound).
      keys: the dict keys to draw from (few, so the tree structures repeat and
        jit caches hit).

    Yields a bare array too (the smallest pytree).
    """
    leaf = float_arrays() if leaves is None else leaves

    def extend(children: SearchStrategy[Any]) -> SearchStrategy[Any]:
        return st.one_of(
            st.lists(children, min_size=1, max_size=3),
            st.lists(children, min_size=1, max_size=3).map(tuple),
            st.dictionaries(st.sampled_from(tuple(keys)), children, min_size=1, max_size=3),
        )

    return st.recursive(leaf, extend, max_leaves=max_leaves)


def seeds() -> SearchStrategy[int]:
    """Integer PRNG seeds in ``[0, 2**32)``."""
    return st.integers(min_value=0, max_value=2**32 - 1)


def prng_keys(*, raw: bool = False) -> SearchStrategy[Any]:
    """PRNG keys made from drawn integer seeds.

    Typed keys (``jax.random.key(seed)``, what minijax uses) by default; ``raw=True``
    gives the legacy ``jax.random.PRNGKey(seed)`` (``uint32[2]``).
    """
    make = jax.random.PRNGKey if raw else jax.random.key
    return seeds().map(make)


def learning_rates(min_value: float = 1e-4, max_value: float = 1e-1) -> SearchStrategy[float]:
    """Learning rates, log-uniform in ``[min_value, max_value]`` (both > 0)."""
    if not 0 < min_value <= max_value:
        raise ValueError(
            f"learning_rates: need 0 < min_value <= max_value, got {min_value}, {max_value}"
        )
    lo, hi = float(np.log10(min_value)), float(np.log10(max_value))

    def power(e: float) -> float:
        return float(min(max(10.0**e, min_value), max_value))

    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(power)


def probabilities(min_value: float = 0.0, max_value: float = 0.9) -> SearchStrategy[float]:
    """Floats in ``[min_value, max_value]`` (default ``[0, 0.9]``: e.g. dropout rates)."""
    if not 0.0 <= min_value <= max_value <= 1.0:
        raise ValueError(
            f"probabilities: need 0 <= min_value <= max_value <= 1, got {min_value}, {max_value}"
        )
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)


def batch_sizes(min_value: int = 1, max_value: int = 4) -> SearchStrategy[int]:
    """Small batch sizes (few distinct values, so jit recompiles rarely)."""
    return st.integers(min_value=min_value, max_value=max_value)


def float_dtypes(*, low_precision: bool = False) -> SearchStrategy[Any]:
    """``float32`` or ``float64`` numpy dtypes; ``low_precision`` adds float16 and bfloat16."""
    names = ["float32", "float64"] + (["float16", "bfloat16"] if low_precision else [])
    return st.sampled_from([jnp.dtype(n) for n in names])
