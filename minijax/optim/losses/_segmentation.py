r"""Segmentation losses: the Dice (Tversky) family (optax: `optax.losses._segmentation`).

For class probabilities $p$ and one-hot targets $y$, summed over the spatial axes:
$I = \sum p\,y$, and the Tversky coefficient $\dfrac{I + s}{I + \alpha(\sum p - I) +
\beta(\sum y - I) + s}$; the loss is one minus it ($\alpha = \beta = \tfrac12$: Dice).

>>> import jax.numpy as jnp
>>> y = jnp.array([[[1.0, 0.0], [0.0, 1.0]]])         # batch 1, 2 pixels, 2 classes
>>> dice_loss(100.0 * (2 * y - 1), y, smooth=0.0)       # confident and right
Array([0.], dtype=float32)
"""

from typing import Any

import jax
import jax.numpy as jnp

from minijax.optim.losses._checks import check_same_shape
from minijax.optim.utils import check_rank

__all__ = ["binary_dice_loss", "dice_loss", "multiclass_generalized_dice_loss"]


def _reduce_loss(loss: jax.Array, reduction: str, axis: int | None = None) -> jax.Array:
    if reduction == "mean":
        return jnp.mean(loss, axis=axis)
    if reduction == "sum":
        return jnp.sum(loss, axis=axis)
    if reduction == "none":
        return loss
    raise ValueError(f"Unsupported reduction: {reduction!r}; use 'mean', 'sum' or 'none'.")


def dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    class_weights: jax.typing.ArrayLike | None = None,
    smooth: jax.typing.ArrayLike = 1.0,
    alpha: jax.typing.ArrayLike = 0.5,
    beta: jax.typing.ArrayLike = 0.5,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
    axis: Any = None,
) -> jax.Array:
    r"""The Dice loss per example (optax: `dice_loss`); $\alpha \ne \beta$ makes it
    the Tversky loss.

    Args:
        predictions: `(batch, *spatial, classes)` logits (or probabilities with
            `apply_softmax=False`); one class: a sigmoid instead of a softmax.
        targets: one-hot targets of the same shape.
        class_weights: `(classes,)` weights of the per-class losses.
        smooth: $s$, added above and below.
        alpha: the weight of the false positives.
        beta: the weight of the false negatives.
        apply_softmax: turn `predictions` into probabilities first.
        reduction: over the classes, `"mean"`, `"sum"` or `"none"`.
        ignore_background: drop class 0.
        axis: the axes summed over (default: all but the first and the last).

    Returns:
        `(batch,)`, or `(batch, classes)` for `reduction="none"`.

    Raises:
        ValueError: shapes differ, or probabilities do not sum to 1.

    >>> import jax.numpy as jnp
    >>> dice_loss(jnp.zeros((1, 2, 2)), jnp.array([[[1.0, 0.0], [0.0, 1.0]]]), smooth=0.0)
    Array([0.5], dtype=float32)
    """
    p: Any = jnp.asarray(predictions)
    t: Any = jnp.asarray(targets)
    if p.ndim == t.ndim - 1:
        p = p[..., None]
    if t.ndim == p.ndim - 1:
        t = t[..., None]
    check_same_shape("dice_loss", "predictions", p, "targets", t)
    if not apply_softmax:
        pred_sums = jnp.sum(p, axis=-1)
        if not jnp.allclose(pred_sums, 1.0, rtol=1e-5):
            raise ValueError(
                "dice_loss: with apply_softmax=False, predictions must be probabilities "
                "that sum to 1 over the class axis; their sums range over "
                f"[{jnp.min(pred_sums):.6f}, {jnp.max(pred_sums):.6f}]."
            )
    probs = p
    if apply_softmax:
        probs = jax.nn.sigmoid(p) if p.shape[-1] == 1 else jax.nn.softmax(p, axis=-1)
    axis = tuple(range(1, probs.ndim - 1)) if axis is None else axis
    intersection = jnp.sum(probs * t, axis=axis)
    pred_sum = jnp.sum(probs, axis=axis)
    target_sum = jnp.sum(t, axis=axis)
    numerator = intersection + smooth
    denominator = (
        intersection + alpha * (pred_sum - intersection) + beta * (target_sum - intersection)
        + smooth
    )
    dice_l = 1.0 - numerator / denominator  # [..., classes]
    if class_weights is not None:
        check_rank(class_weights, 1)
        dice_l = dice_l * class_weights
    if ignore_background and probs.shape[-1] > 1:
        dice_l = dice_l[..., 1:]
    return _reduce_loss(dice_l, reduction, axis=-1)


def multiclass_generalized_dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    smooth: jax.typing.ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
) -> jax.Array:
    r"""The generalized Dice loss (Sudre et al., 2017; optax:
    `multiclass_generalized_dice_loss`): `dice_loss` with class weights
    $\propto 1 / (\text{class frequency})^2$, so rare classes count as much as common
    ones; a scalar.

    >>> import jax.numpy as jnp
    >>> y = jnp.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    >>> float(multiclass_generalized_dice_loss(100.0 * (2 * y - 1), y)) < 1e-6
    True
    """
    check_same_shape("multiclass_generalized_dice_loss", "predictions", predictions, "targets",
                     targets)
    t = jnp.asarray(targets)
    class_frequencies = jnp.sum(t, axis=tuple(range(t.ndim - 1)))
    class_weights = 1.0 / (class_frequencies**2 + 1e-7)
    class_weights = class_weights / jnp.sum(class_weights) * len(class_weights)
    return jnp.mean(
        dice_loss(predictions, targets, class_weights=class_weights, smooth=smooth,
                  apply_softmax=apply_softmax, reduction="none",
                  ignore_background=ignore_background)
    )


def binary_dice_loss(
    predictions: jax.typing.ArrayLike,
    targets: jax.typing.ArrayLike,
    *,
    smooth: jax.typing.ArrayLike = 1.0,
    apply_sigmoid: bool = True,
) -> jax.Array:
    r"""The Dice loss of one foreground class, from logits through a sigmoid (optax:
    `binary_dice_loss`).

    >>> import jax.numpy as jnp
    >>> binary_dice_loss(jnp.array([[10.0, -10.0]]), jnp.array([[1.0, 0.0]]))
    Array([0.], dtype=float32)
    """
    p: Any = jnp.asarray(predictions)
    t: Any = jnp.asarray(targets)
    if p.ndim == t.ndim and p.shape[-1] != 1:
        p, t = p[..., None], t[..., None]
    return dice_loss(p, t, smooth=smooth, apply_softmax=apply_sigmoid, reduction="mean")
