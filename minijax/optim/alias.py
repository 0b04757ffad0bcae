r"""The ready-made optimizers: chains of the transformations in
:mod:`minijax.optim.transform` (optax: ``optax._src.alias``).

Each is exactly the chain optax builds, so the state has the same layout:
``sgd(0.1, momentum=0.9).init(params)`` is ``(TraceState(trace), EmptyState())``
and the momentum of a kernel is ``opt_state[0][0]["dense"]["kernel"]`` (or
``opt_state[0].trace[...]``).

The learning rate :math:`\eta` may be a number or a schedule (see
:mod:`minijax.optim.schedules`).
"""

import functools
from typing import Any

from minijax.optim.base import GradientTransformationExtraArgs, ScalarOrSchedule, identity
from minijax.optim.combine import chain
from minijax.optim.transform import (
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
    trace,
)

__all__ = ["adagrad", "adam", "adamw", "lion", "nadam", "nadamw", "rmsprop", "sgd"]


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: Any = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> GradientTransformationExtraArgs:
    r"""Stochastic gradient descent, with optional (Nesterov) momentum (optax: ``sgd``):

    .. math:: m \leftarrow g + \mu m, \qquad u = -\eta\, m
              \quad(\text{nesterov: } u = -\eta\,(g + \mu m))

    ``chain(trace(momentum, nesterov) or identity(), scale_by_learning_rate(lr))``:
    the learning rate is applied *after* the momentum.
    """
    momentum_tx = (
        identity()
        if momentum is None
        else trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)
    )
    return chain(momentum_tx, scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Adam (optax: ``adam``), see :func:`~minijax.optim.scale_by_adam`:

    .. math:: u = -\eta\, \hat m / (\sqrt{\hat v + \epsilon_{root}} + \epsilon)


    ``chain(scale_by_adam(...), scale_by_learning_rate(lr))``.
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


nadam = functools.partial(adam, nesterov=True)
"""NAdam (optax: ``nadam``): :func:`adam` with ``nesterov=True``."""


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Adam with decoupled weight decay (optax: ``adamw``):

    .. math:: u = -\eta\,\Big(\frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}
              + \lambda p\Big)

    ``chain(scale_by_adam, add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate)``; needs ``params`` in ``update``.
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


nadamw = functools.partial(adamw, nesterov=True)
"""NAdamW (optax: ``nadamw``): :func:`adamw` with ``nesterov=True``."""


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: Any = 0.9,
    eps: Any = 1e-8,
    initial_scale: Any = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: Any = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> GradientTransformationExtraArgs:
    r"""RMSProp (optax: ``rmsprop``): :math:`u = -\eta\, g / \sqrt{v + \epsilon}`
    (centered: :math:`-\eta\, g / \sqrt{v - m^2 + \epsilon}`), see
    :func:`~minijax.optim.scale_by_rms` and :func:`~minijax.optim.scale_by_stddev`.

    ``chain(scale_by_rms or scale_by_stddev, scale_by_learning_rate, trace or
    identity)``: unlike :func:`sgd`, the momentum acts on the lr-scaled updates.
    """
    scaling = scale_by_stddev if centered else scale_by_rms
    return chain(
        scaling(decay, eps, initial_scale, eps_in_sqrt, bias_correction),
        scale_by_learning_rate(learning_rate),
        identity() if momentum is None else trace(decay=momentum, nesterov=nesterov),
    )


def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: Any = 0.1,
    eps: Any = 1e-7,
) -> GradientTransformationExtraArgs:
    r"""AdaGrad (optax: ``adagrad``):

    .. math:: s \leftarrow s + g^2, \qquad u = -\eta\, g / \sqrt{s + \epsilon}

    ``chain(scale_by_rss(initial_accumulator_value, eps), scale_by_learning_rate(lr))``.
    """
    return chain(
        scale_by_rss(initial_accumulator_value, eps),
        scale_by_learning_rate(learning_rate),
    )


def lion(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.99,
    mu_dtype: Any = None,
    weight_decay: ScalarOrSchedule = 1e-3,
    mask: Any = None,
) -> GradientTransformationExtraArgs:
    r"""Lion (optax: ``lion``):

    .. math:: u = -\eta\,\big(\operatorname{sign}((1-\beta_1) g + \beta_1 m) + \lambda p\big),
              \qquad m \leftarrow (1-\beta_2) g + \beta_2 m

    ``chain(scale_by_lion, add_decayed_weights(weight_decay, mask),
    scale_by_learning_rate)``; needs ``params`` in ``update``.
    """
    return chain(
        scale_by_lion(b1, b2, mu_dtype),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )
