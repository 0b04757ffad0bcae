"""Batches from in-memory arrays: a Python iterator and a form for `lax.scan`.

`data` is any pytree of arrays sharing a leading "example" axis: an array, a
tuple `(x, y)`, a dict `{"x": x, "y": y}`. A batch has the same structure with
`batch_size` examples.

Two ways to walk through an epoch:

* `Loader` / `iterate_batches`: a Python iterator, one batch at a time,
  for a `for` loop around a jitted step. The last, smaller batch is kept unless
  `drop_last=True` (every example is seen exactly once per epoch).
* `epoch_batches`: the whole epoch at once, as arrays with a leading
  `num_batches` axis, `(num_batches, batch_size, ...)`. This is what
  `lax.scan` iterates over, and it works inside `jax.jit` (`batch_size`
  must be static). `lax.scan` needs equal shapes, so the remainder is dropped.

Shuffling is reproducible: the order of an epoch is
`jax.random.permutation(key, n)`, and `Loader` uses
`fold_in(key, epoch)` for epoch `epoch`, so epochs differ from each other and
the same key gives the same epochs in every run.
"""

from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.random import KeyManager, as_key
from minijax.typing import PRNGKeyArray

__all__ = [
    "Loader",
    "epoch_batches",
    "epoch_permutation",
    "iterate_batches",
    "num_batches",
    "num_examples",
]

KeyLike = PRNGKeyArray | int


def num_examples(data: Any) -> int:
    """The size of the leading axis shared by every leaf of `data`.

    Raises `ValueError` naming the leaves when they disagree, or when there are none.

    >>> import numpy as np
    >>> from minijax import data
    >>> data.num_examples({"x": np.zeros((5, 3)), "y": np.zeros(5)})
    5
    >>> data.num_examples((np.zeros(5), np.zeros(4)))
    Traceback (most recent call last):
    ValueError: data leaves have different numbers of examples: {'[0]': 5, '[1]': 4}; ...
    """
    leaves = jax.tree_util.tree_flatten_with_path(data)[0]
    if not leaves:
        raise ValueError("data has no array leaves: pass an array or a pytree of arrays.")
    sizes: dict[str, int] = {}
    for path, leaf in leaves:
        shape = np.shape(leaf)
        if not shape:
            raise ValueError(
                f"data leaf {jax.tree_util.keystr(path) or '<root>'} is a scalar; every leaf "
                "needs a leading example axis."
            )
        sizes[jax.tree_util.keystr(path) or "<root>"] = shape[0]
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"data leaves have different numbers of examples: {sizes}; every leaf needs the "
            "same leading (example) axis. Fix: check that x and y come from the same split "
            "and were not transposed or sliced differently."
        )
    return next(iter(sizes.values()))


def num_batches(n: int, batch_size: int, *, drop_last: bool) -> int:
    """How many batches one epoch of `n` examples has.

    >>> from minijax import data
    >>> data.num_batches(10, 4, drop_last=False), data.num_batches(10, 4, drop_last=True)
    (3, 2)
    """
    _check_batch_size(batch_size)
    return n // batch_size if drop_last else -(-n // batch_size)


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}.")


def _key(key: KeyLike | KeyManager) -> PRNGKeyArray:
    if isinstance(key, KeyManager):
        raise TypeError(
            "Pass a key, not a KeyManager: draw one with `key, rngs = rngs.next('shuffle')`."
        )
    return as_key(key)


def epoch_permutation(key: KeyLike, n: int) -> jax.Array:
    """The order of the examples in one shuffled epoch: a permutation of `range(n)`.

    >>> from minijax import data
    >>> order = data.epoch_permutation(0, 5)
    >>> sorted(order.tolist())
    [0, 1, 2, 3, 4]
    >>> bool((order == data.epoch_permutation(0, 5)).all())   # the same key, the same order
    True
    """
    return jax.random.permutation(_key(key), n)


def _take(leaf: Any, idx: Any) -> Any:
    if isinstance(leaf, np.ndarray):
        return leaf[np.asarray(idx)]
    return jnp.asarray(leaf)[idx]


def epoch_batches(
    data: Any, batch_size: int, key: KeyLike | None = None, *, drop_last: bool = True
) -> Any:
    """One epoch of `data` as arrays shaped `(num_batches, batch_size, ...)`.

    Made for `lax.scan` (see `minijax.train.scan_epoch`) and usable inside
    `jax.jit` with `batch_size` static and `key` traced. With `key` the
    examples are shuffled by `epoch_permutation`; without, they keep their order.
    The `n % batch_size` examples left over are dropped (a different subset each
    shuffled epoch): `lax.scan` needs batches of one shape. `drop_last=False` is
    accepted only when nothing would be dropped.

    >>> import jax.numpy as jnp
    >>> from minijax import data
    >>> x, y = jnp.arange(10.0), jnp.arange(10)
    >>> xb, yb = data.epoch_batches((x, y), 3)   # 3 batches of 3, the 10th example dropped
    >>> xb.shape, yb[2].tolist()
    ((3, 3), [6, 7, 8])
    >>> data.epoch_batches((x, y), 3, key=0)[1].shape
    (3, 3)
    """
    _check_batch_size(batch_size)
    n = num_examples(data)
    nb = n // batch_size
    if nb == 0:
        raise ValueError(f"batch_size={batch_size} is larger than the {n} examples: no full batch.")
    if not drop_last and n % batch_size:
        raise ValueError(
            f"epoch_batches stacks equal batches for lax.scan: {n} examples do not split "
            f"into batches of {batch_size} (remainder {n % batch_size}). Use drop_last=True, "
            "a batch size that divides the data, or iterate_batches for a ragged last batch."
        )
    idx = jnp.arange(n) if key is None else epoch_permutation(key, n)
    idx = idx[: nb * batch_size].reshape(nb, batch_size)
    return jax.tree.map(lambda leaf: jnp.asarray(leaf)[idx], data)


def iterate_batches(
    data: Any,
    batch_size: int,
    *,
    key: KeyLike | None = None,
    drop_last: bool = False,
) -> Iterator[Any]:
    """Yield the batches of one epoch, shuffled by `key` if given.

    With `drop_last=False` (the default) every example appears exactly once and
    the last batch has `n % batch_size` examples when that is not zero (a new
    shape: a jitted step compiles once more for it). NumPy leaves stay NumPy
    (sliced on the host); jax leaves are gathered on their device.

    >>> import numpy as np
    >>> from minijax import data
    >>> [b.tolist() for b in data.iterate_batches(np.arange(5), 2)]
    [[0, 1], [2, 3], [4]]
    >>> sorted(i for b in data.iterate_batches(np.arange(5), 2, key=0) for i in b.tolist())
    [0, 1, 2, 3, 4]
    """
    n = num_examples(data)
    nb = num_batches(n, batch_size, drop_last=drop_last)
    if key is None:
        for b in range(nb):
            sl = slice(b * batch_size, min((b + 1) * batch_size, n))
            yield jax.tree.map(lambda leaf, sl=sl: leaf[sl], data)
        return
    perm = np.asarray(epoch_permutation(key, n))
    for b in range(nb):
        idx = perm[b * batch_size : min((b + 1) * batch_size, n)]
        yield jax.tree.map(lambda leaf, idx=idx: _take(leaf, idx), data)


class Loader:
    """An in-memory data loader: `for batch in loader:` walks one epoch.

    ```python
    loader = Loader((x, y), batch_size=32, shuffle=True, key=0)
    for epoch in range(10):
        for xb, yb in loader:            # epoch 0, then 1, ... (reshuffled)
            state, metrics = train_step(state, (xb, yb))
    ```

    Each `iter(loader)` starts the next epoch; `epoch` gives any epoch by
    number without moving the counter. The order of epoch `e` is
    `permutation(fold_in(key, e), n)`: different every epoch, the same in every
    run with the same key. Without `shuffle` the order is the data's.

    Args:
        data: a pytree of arrays with a shared leading example axis.
        batch_size: examples per batch.
        shuffle: shuffle each epoch (needs `key`).
        key: an int seed or a jax key for the shuffles.
        drop_last: drop the last batch when it is smaller than `batch_size`.

    >>> import numpy as np
    >>> from minijax import data
    >>> loader = data.Loader(np.arange(6), batch_size=4, shuffle=True, key=0)
    >>> len(loader), [b.shape for b in loader]
    (2, [(4,), (2,)])
    >>> first, second = np.concatenate(list(loader.epoch(0))), np.concatenate(list(loader))
    >>> sorted(second.tolist()), bool((first == second).all())   # epoch 1: another order
    ([0, 1, 2, 3, 4, 5], False)
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        shuffle: bool = False,
        key: KeyLike | None = None,
        drop_last: bool = False,
    ) -> None:
        self.data = data
        self.n = num_examples(data)
        _check_batch_size(batch_size)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        if shuffle and key is None:
            raise ValueError("Loader(shuffle=True) needs a key= (an int seed or a jax key).")
        self.key = _key(key) if key is not None else None
        self.next_epoch = 0

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        return num_batches(self.n, self.batch_size, drop_last=self.drop_last)

    def epoch_key(self, epoch: int) -> PRNGKeyArray | None:
        """The shuffling key of epoch `epoch` (`None` without shuffling)."""
        if not self.shuffle or self.key is None:
            return None
        return jax.random.fold_in(self.key, epoch)

    def epoch(self, epoch: int) -> Iterator[Any]:
        """The batches of epoch number `epoch`.

        >>> import numpy as np
        >>> from minijax import data
        >>> loader = data.Loader(np.arange(4), batch_size=2, shuffle=True, key=0)
        >>> again = [b.tolist() for b in loader.epoch(3)]
        >>> again == [b.tolist() for b in loader.epoch(3)], loader.next_epoch   # counter unmoved
        (True, 0)
        """
        return iterate_batches(
            self.data, self.batch_size, key=self.epoch_key(epoch), drop_last=self.drop_last
        )

    def stacked(self, epoch: int) -> Any:
        """Epoch `epoch` as `(num_batches, batch_size, ...)` arrays for `lax.scan`.

        The same order as `epoch`, without the last partial batch.

        >>> import numpy as np
        >>> from minijax import data
        >>> loader = data.Loader(np.arange(5), batch_size=2, shuffle=True, key=0)
        >>> stacked = loader.stacked(0)
        >>> stacked.shape, stacked.tolist() == [b.tolist() for b in loader.epoch(0)][:2]
        ((2, 2), True)
        """
        return epoch_batches(self.data, self.batch_size, self.epoch_key(epoch))

    def __iter__(self) -> Iterator[Any]:
        epoch = self.next_epoch
        self.next_epoch += 1
        return self.epoch(epoch)
