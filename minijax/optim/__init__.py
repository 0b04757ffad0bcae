"""minijax.optim: optax rebuilt from scratch, numerically equal.

Use it as you would optax::

    import minijax.optim as optax

    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3))
    opt_state = tx.init(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)

An optimizer is a :class:`GradientTransformation`: a pair of pure functions
``init(params) -> state`` and ``update(updates, state, params) -> (updates, state)``.
Its memory is the ``state`` pytree, which you keep; nothing is hidden in an object.
States are ``NamedTuple``\\ s with optax's names and field order, so code that reads
``opt_state`` works on both. See ``docs/optimizers.md``.

Modules: :mod:`~minijax.optim.base` (the interface, ``apply_updates``),
:mod:`~minijax.optim.transform` (the building blocks), :mod:`~minijax.optim.combine`
(``chain``, ``masked``, ``multi_transform``), :mod:`~minijax.optim.wrappers`
(``MultiSteps``, ``inject_hyperparams``, ``apply_if_finite``),
:mod:`~minijax.optim.alias` (``sgd``, ``adam``, ...), :mod:`~minijax.optim.schedules`,
`minijax.optim.tree` and `minijax.optim.tree_utils` (pytree arithmetic, optax.tree),
`minijax.optim.losses` (optax's flat loss names, `minijax.optim.l2_loss`, are
re-exported here), `minijax.optim.numerics`, `minijax.optim.utils`.
"""

from minijax.optim import schedules, tree
from minijax.optim.alias import adagrad, adam, adamw, lion, nadam, nadamw, rmsprop, sgd
from minijax.optim.base import (
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    ScalarOrSchedule,
    Schedule,
    Updates,
    apply_updates,
    identity,
    init_empty_state,
    set_to_zero,
    stateless,
)
from minijax.optim.combine import (
    MaskedNode,
    MaskedState,
    MultiTransformState,
    PartitionState,
    chain,
    masked,
    multi_transform,
    partition,
)
from minijax.optim.schedules import (
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay,
    join_schedules,
    linear_schedule,
    piecewise_constant_schedule,
    polynomial_schedule,
    warmup_cosine_decay_schedule,
)
from minijax.optim.transform import (
    AddDecayedWeightsState,
    ScaleByAdamState,
    ScaleByLionState,
    ScaleByRmsState,
    ScaleByRmsWithCountState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByRStdDevWithCountState,
    ScaleByScheduleState,
    ScaleState,
    TraceState,
    WeightDecaySchedule,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    scale_by_stddev,
    trace,
)
from minijax.optim.tree import global_norm
from minijax.optim.wrappers import (
    ApplyIfFiniteState,
    InjectHyperparamsState,
    InjectStatefulHyperparamsState,
    MultiSteps,
    MultiStepsState,
    apply_if_finite,
    inject_hyperparams,
    skip_not_finite,
)

# isort: split
# --- trees, losses, numerics and utilities (optax.tree, .tree_utils, .losses, ...) ---
from minijax.optim import losses, tree_utils
from minijax.optim.losses import (
    convex_kl_divergence,
    cosine_distance,
    cosine_similarity,
    ctc_loss,
    ctc_loss_with_forward_probs,
    generalized_kl_divergence,
    hinge_loss,
    huber_loss,
    kl_divergence,
    l2_loss,
    log_cosh,
    ntxent,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    squared_error,
)
from minijax.optim.numerics import (
    safe_increment,
    safe_int32_increment,
    safe_norm,
    safe_root_mean_squares,
)
from minijax.optim.tree_utils import (
    tree_bias_correction as bias_correction,
)
from minijax.optim.tree_utils import (
    tree_map_params,
)
from minijax.optim.tree_utils import (
    tree_update_infinity_moment as update_infinity_moment,
)
from minijax.optim.tree_utils import (
    tree_update_moment as update_moment,
)
from minijax.optim.tree_utils import (
    tree_update_moment_per_elem_norm as update_moment_per_elem_norm,
)
from minijax.optim.utils import multi_normal, scale_gradient

# --- end of trees, losses, numerics and utilities ---

__all__ = [
    "AddDecayedWeightsState",
    "ApplyIfFiniteState",
    "EmptyState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "MaskedNode",
    "MaskedState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "OptState",
    "Params",
    "PartitionState",
    "ScalarOrSchedule",
    "ScaleByAdamState",
    "ScaleByLionState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "ScaleState",
    "Schedule",
    "TraceState",
    "Updates",
    "WeightDecaySchedule",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_if_finite",
    "apply_updates",
    "chain",
    "clip",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "exponential_decay",
    "global_norm",
    "identity",
    "init_empty_state",
    "inject_hyperparams",
    "join_schedules",
    "linear_schedule",
    "lion",
    "masked",
    "multi_transform",
    "nadam",
    "nadamw",
    "partition",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "schedules",
    "set_to_zero",
    "sgd",
    "skip_not_finite",
    "stateless",
    "trace",
    "tree",
    "warmup_cosine_decay_schedule",
]
__all__ += [
    "bias_correction",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "l2_loss",
    "log_cosh",
    "losses",
    "multi_normal",
    "ntxent",
    "safe_increment",
    "safe_int32_increment",
    "safe_norm",
    "safe_root_mean_squares",
    "safe_softmax_cross_entropy",
    "scale_gradient",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "squared_error",
    "tree_map_params",
    "tree_utils",
    "update_infinity_moment",
    "update_moment",
    "update_moment_per_elem_norm",
]  # trees, losses, numerics and utilities
