"""Loss functions (optax: `optax.losses`), also importable as `minijax.losses` and,
as in optax, as `minijax.optim.<name>`.

Every loss returns one value per element or per example: reduce it yourself, e.g.
`l2_loss(pred, y).mean()`. The files follow optax's: `_classification`
(cross-entropies, margins, divergences, sparsemax), `_ctc` (the CTC loss, in optax's
`_classification`), `_fenchel_young`, `_ranking`, `_regression`, `_segmentation` (Dice),
`_self_supervised` (NT-Xent, triplet margin), `_smoothing`. Arguments are positional as in
optax; `axis=` and `where=` are where optax has them. Bad input raises optax's error
types with a message naming the loss and the argument: a `TypeError` for a wrong
dtype, a `ValueError` for a wrong shape.

>>> import jax.numpy as jnp
>>> import minijax.optim as optax
>>> optax.losses.l2_loss(jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])).mean()
Array(1.25, dtype=float32)
"""

from minijax.optim.losses._classification import (
    convex_kl_divergence,
    generalized_kl_divergence,
    hinge_loss,
    kl_divergence,
    kl_divergence_with_log_targets,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    multiclass_sparsemax_loss,
    perceptron_loss,
    poly_loss_cross_entropy,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    sparsemax_loss,
)
from minijax.optim.losses._ctc import ctc_loss, ctc_loss_with_forward_probs
from minijax.optim.losses._fenchel_young import make_fenchel_young_loss
from minijax.optim.losses._ranking import ranking_softmax_loss
from minijax.optim.losses._regression import (
    cosine_distance,
    cosine_similarity,
    huber_loss,
    l2_loss,
    log_cosh,
    squared_error,
)
from minijax.optim.losses._segmentation import (
    binary_dice_loss,
    dice_loss,
    multiclass_generalized_dice_loss,
)
from minijax.optim.losses._self_supervised import ntxent, triplet_margin_loss
from minijax.optim.losses._smoothing import smooth_labels

__all__ = [
    "binary_dice_loss",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "dice_loss",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "l2_loss",
    "log_cosh",
    "make_fenchel_young_loss",
    "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "ntxent",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
    "squared_error",
    "triplet_margin_loss",
]
