"""A small real image-classification set that works offline: scikit-learn's 8x8 digits.

1797 grey-scale images of hand-written digits, 8x8 pixels with values 0..16,
shipped inside scikit-learn (no download). scikit-learn is an optional
dependency, in the `examples` extra: `pip install 'minijax[examples]'`.
"""

from typing import Literal

import jax.numpy as jnp
import numpy as np

from minijax.typing import Array, Float, Int

__all__ = ["digits"]

_INSTALL = (
    "minijax.data.digits needs scikit-learn, which ships the 8x8 digits data set. "
    "Install it with `pip install 'minijax[examples]'` (or `pip install scikit-learn`)."
)


def _load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped, unused-ignore]
    except ImportError as e:
        raise ImportError(_INSTALL) from e
    bunch = load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target)


def digits(
    split: Literal["train", "test", "all"] = "train",
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[Float[Array, "n 8 8 1"], Int[Array, " n"]]:
    """scikit-learn's 8x8 digits as `(images, labels)`.

    Images are float32 `(n, 8, 8, 1)` (channels last, for `Conv`) scaled from
    0..16 to `[0, 1]`; labels are int32 digits `0..9` of shape `(n,)`.

    The split is deterministic: the 1797 images are shuffled once by
    `numpy.random.default_rng(seed).permutation` and the last
    `round(test_fraction * 1797)` (359 by default) are the test set, the other
    1438 the training set. `"all"` returns all 1797 in the original order.

    Raises ImportError (with the install command) when scikit-learn is missing.

    >>> from minijax import data
    >>> x, y = data.digits("train")
    >>> x.shape, y.shape, float(x.max())
    ((1438, 8, 8, 1), (1438,), 1.0)
    >>> data.digits("test")[0].shape[0] + x.shape[0]
    1797
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}.")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}.")
    images, labels = _load_sklearn_digits()
    x = (images.astype(np.float32) / 16.0)[..., None]
    y = labels.astype(np.int32)
    if split != "all":
        n = len(y)
        perm = np.random.default_rng(seed).permutation(n)
        n_test = round(test_fraction * n)
        idx = perm[: n - n_test] if split == "train" else perm[n - n_test :]
        x, y = x[idx], y[idx]
    return jnp.asarray(x), jnp.asarray(y)
