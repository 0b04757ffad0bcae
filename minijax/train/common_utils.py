"""Two small helpers of flax's training scripts: `onehot` and `stack_forest`.

flax: `flax.training.common_utils`. flax's pmap-era helpers of that module
(`shard`, `shard_prng_key`, `get_metrics`) are not rebuilt: `minijax.train.parallel`
shards a batch over a device mesh instead.
"""

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from minijax.typing import Array, Float, Integer, typed

__all__ = ["onehot", "stack_forest"]


@typed
def onehot(
    labels: Integer[Array, "*batch"],
    num_classes: int,
    on_value: float = 1.0,
    off_value: float = 0.0,
) -> Float[Array, "*batch num_classes"]:
    """One-hot rows with `on_value` at each label and `off_value` elsewhere, in float32.

    flax: `flax.training.common_utils.onehot`. Unlike `jax.nn.one_hot` it takes the two
    values, which gives the soft targets of label smoothing:
    $t_{ik} = c$ if $k = y_i$, else $(1 - c) / (K - 1)$. A label outside
    `[0, num_classes)` gives a row of `off_value`.

    Args:
        labels: integer labels of any shape.
        num_classes: the length $K$ of each row.
        on_value: the value at the label.
        off_value: the value everywhere else.

    Returns:
        An array of shape `labels.shape + (num_classes,)`.

    >>> onehot(jnp.array([2, 0]), 3, on_value=0.9, off_value=0.05)
    Array([[0.05, 0.05, 0.9 ],
           [0.9 , 0.05, 0.05]], dtype=float32)
    """
    hit = labels[..., None] == jnp.arange(num_classes)
    return jnp.where(hit, on_value, off_value).astype(jnp.float32)


def stack_forest(forest: Sequence[Any]) -> Any:
    """Stacks a list of pytrees of the same structure into one pytree of numpy arrays.

    flax: `flax.training.common_utils.stack_forest`. Each leaf gets a new leading axis,
    one entry per tree: the per-step metrics of a loop become one array per metric.

    Args:
        forest: pytrees with the same structure (dicts of per-step metrics, say).

    Returns:
        One pytree of that structure whose leaves are `np.stack` of the leaves.

    >>> stack_forest([{"loss": 1.0}, {"loss": 0.5}])
    {'loss': array([1. , 0.5])}
    """
    if not forest:
        raise ValueError("stack_forest: got no trees; pass a non-empty list of pytrees.")
    return jax.tree.map(lambda *leaves: np.stack(leaves), *forest)
