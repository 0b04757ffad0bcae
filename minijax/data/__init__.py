"""Data for training: an in-memory loader and small datasets.

* Batches: `Loader`, `iterate_batches` (Python loops) and
  `epoch_batches` (a whole epoch stacked for `lax.scan`).
* Synthetic datasets, `f(key_or_seed, n, ...) -> (x, y)`: `linear`,
  `polynomial`, `sine`, `two_moons`, `spirals`,
  `blobs`.
* A real one that works offline: `digits` (scikit-learn's 8x8 digits).
"""

from minijax.data.digits import digits
from minijax.data.loader import (
    Loader,
    epoch_batches,
    epoch_permutation,
    iterate_batches,
    num_batches,
    num_examples,
)
from minijax.data.synthetic import blobs, linear, polynomial, sine, spirals, two_moons

__all__ = [
    "Loader",
    "blobs",
    "digits",
    "epoch_batches",
    "epoch_permutation",
    "iterate_batches",
    "linear",
    "num_batches",
    "num_examples",
    "polynomial",
    "sine",
    "spirals",
    "two_moons",
]
