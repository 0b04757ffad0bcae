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
# ---- the optimizer zoo: further optimizers, transformations and wrappers
# isort: split
from minijax.optim.accumulation import (
    ApplyEvery,
    EmaState,
    apply_every,
    ema,
    incremental_update,
    periodic_update,
    skip_large_updates,
)
from minijax.optim.alias import (
    MaskOrFn,
    adabelief,
    adadelta,
    adafactor,
    adamax,
    adamaxw,
    adan,
    amsgrad,
    fromage,
    lamb,
    lars,
    lbfgs,
    noisy_sgd,
    novograd,
    optimistic_adam,
    optimistic_adam_v2,
    optimistic_gradient_descent,
    polyak_sgd,
    radam,
    rprop,
    sign_sgd,
    signum,
    sm3,
    yogi,
)
from minijax.optim.base import stateless_with_tree_map, with_extra_args_support
from minijax.optim.clipping import (
    AdaptiveGradClipState,
    ClipByGlobalNormState,
    ClipState,
    adaptive_grad_clip,
    clip_by_block_rms,
    per_example_global_norm_clip,
    per_example_layer_norm_clip,
    unitwise_clip,
    unitwise_norm,
)
from minijax.optim.combine import named_chain
from minijax.optim.conditionality import (
    ConditionallyMaskState,
    ConditionallyTransformState,
    NonNegativeParamsState,
    ZeroNansState,
    conditionally_mask,
    conditionally_transform,
    keep_params_nonnegative,
    zero_nans,
)
from minijax.optim.factorized import (
    FactoredState,
    scale_by_factored_rms,
)
from minijax.optim.freezing import freeze, selective_transform
from minijax.optim.layouts import (
    flatten,
)
from minijax.optim.linesearch import (
    BacktrackingLinesearchInfo,
    ScaleByBacktrackingLinesearchState,
    scale_by_backtracking_linesearch,
)
from minijax.optim.moments import (
    ScaleByAdaDeltaState,
    ScaleByAdanState,
    ScaleByAmsgradState,
    ScaleByBeliefState,
    ScaleByNovogradState,
    ScaleBySM3State,
    scale_by_adadelta,
    scale_by_adamax,
    scale_by_adan,
    scale_by_amsgrad,
    scale_by_belief,
    scale_by_novograd,
    scale_by_radam,
    scale_by_sm3,
    scale_by_yogi,
)
from minijax.optim.monitoring import (
    MonitorState,
    SnapshotState,
    measure_with_ema,
    monitor,
    snapshot,
)
from minijax.optim.noise import (
    AddNoiseState,
    add_noise,
)
from minijax.optim.normalize import centralize, normalize_by_update_norm
from minijax.optim.optimistic import (
    ScaleByOptimisticGradientState,
    scale_by_optimistic_gradient,
)
from minijax.optim.polyak import (
    scale_by_polyak,
)
from minijax.optim.quasi_newton import ScaleByLBFGSState, scale_by_lbfgs
from minijax.optim.schedules import (
    cosine_onecycle_schedule,
    linear_onecycle_schedule,
    piecewise_interpolate_schedule,
    sgdr_schedule,
    warmup_constant_schedule,
    warmup_exponential_decay_schedule,
)
from minijax.optim.sign import (
    ScaleByRpropState,
    scale_by_rprop,
    scale_by_sign,
)
from minijax.optim.trust_ratio import (
    ScaleByTrustRatioState,
    scale_by_param_block_norm,
    scale_by_param_block_rms,
    scale_by_trust_ratio,
)
from minijax.optim.wrappers import (
    LookaheadParams,
    LookaheadState,
    StatefulSchedule,
    WrappedSchedule,
    inject_stateful_hyperparams,
    lookahead,
)
from minijax.optim.zoom_linesearch import (
    ScaleByZoomLinesearchState,
    ZoomLinesearchInfo,
    scale_by_zoom_linesearch,
)

# ---- end of the optimizer zoo

__all__ = [
    "AdaptiveGradClipState",
    "AddDecayedWeightsState",
    "AddNoiseState",
    "ApplyEvery",
    "ApplyIfFiniteState",
    "BacktrackingLinesearchInfo",
    "ClipByGlobalNormState",
    "ClipState",
    "ConditionallyMaskState",
    "ConditionallyTransformState",
    "EmaState",
    "EmptyState",
    "FactoredState",
    "GradientTransformation",
    "GradientTransformationExtraArgs",
    "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    "LookaheadParams",
    "LookaheadState",
    "MaskOrFn",
    "MaskedNode",
    "MaskedState",
    "MonitorState",
    "MultiSteps",
    "MultiStepsState",
    "MultiTransformState",
    "NonNegativeParamsState",
    "OptState",
    "Params",
    "PartitionState",
    "ScalarOrSchedule",
    "ScaleByAdaDeltaState",
    "ScaleByAdamState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBacktrackingLinesearchState",
    "ScaleByBeliefState",
    "ScaleByLBFGSState",
    "ScaleByLionState",
    "ScaleByNovogradState",
    "ScaleByOptimisticGradientState",
    "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState",
    "ScaleByRmsState",
    "ScaleByRmsWithCountState",
    "ScaleByRpropState",
    "ScaleByRssState",
    "ScaleBySM3State",
    "ScaleByScheduleState",
    "ScaleByTrustRatioState",
    "ScaleByZoomLinesearchState",
    "ScaleState",
    "Schedule",
    "SnapshotState",
    "StatefulSchedule",
    "TraceState",
    "Updates",
    "WeightDecaySchedule",
    "WrappedSchedule",
    "ZeroNansState",
    "ZoomLinesearchInfo",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "adaptive_grad_clip",
    "add_decayed_weights",
    "add_noise",
    "amsgrad",
    "apply_every",
    "apply_if_finite",
    "apply_updates",
    "centralize",
    "chain",
    "clip",
    "clip_by_block_rms",
    "clip_by_global_norm",
    "conditionally_mask",
    "conditionally_transform",
    "constant_schedule",
    "cosine_decay_schedule",
    "cosine_onecycle_schedule",
    "ema",
    "exponential_decay",
    "flatten",
    "freeze",
    "fromage",
    "global_norm",
    "identity",
    "incremental_update",
    "init_empty_state",
    "inject_hyperparams",
    "inject_stateful_hyperparams",
    "join_schedules",
    "keep_params_nonnegative",
    "lamb",
    "lars",
    "lbfgs",
    "linear_onecycle_schedule",
    "linear_schedule",
    "lion",
    "lookahead",
    "masked",
    "measure_with_ema",
    "monitor",
    "multi_transform",
    "nadam",
    "nadamw",
    "named_chain",
    "noisy_sgd",
    "normalize_by_update_norm",
    "novograd",
    "optimistic_adam",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "partition",
    "per_example_global_norm_clip",
    "per_example_layer_norm_clip",
    "periodic_update",
    "piecewise_constant_schedule",
    "piecewise_interpolate_schedule",
    "polyak_sgd",
    "polynomial_schedule",
    "radam",
    "rmsprop",
    "rprop",
    "scale",
    "scale_by_adadelta",
    "scale_by_adam",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_backtracking_linesearch",
    "scale_by_belief",
    "scale_by_factored_rms",
    "scale_by_lbfgs",
    "scale_by_learning_rate",
    "scale_by_lion",
    "scale_by_novograd",
    "scale_by_optimistic_gradient",
    "scale_by_param_block_norm",
    "scale_by_param_block_rms",
    "scale_by_polyak",
    "scale_by_radam",
    "scale_by_rms",
    "scale_by_rprop",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_sign",
    "scale_by_sm3",
    "scale_by_stddev",
    "scale_by_trust_ratio",
    "scale_by_yogi",
    "scale_by_zoom_linesearch",
    "schedules",
    "selective_transform",
    "set_to_zero",
    "sgd",
    "sgdr_schedule",
    "sign_sgd",
    "signum",
    "skip_large_updates",
    "skip_not_finite",
    "sm3",
    "snapshot",
    "stateless",
    "stateless_with_tree_map",
    "trace",
    "tree",
    "unitwise_clip",
    "unitwise_norm",
    "warmup_constant_schedule",
    "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule",
    "with_extra_args_support",
    "yogi",
    "zero_nans",
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
