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
import warnings
from typing import Any

import jax.numpy as jnp

from minijax.optim.accumulation import ema
from minijax.optim.base import GradientTransformationExtraArgs, ScalarOrSchedule, identity
from minijax.optim.clipping import clip_by_block_rms
from minijax.optim.combine import chain, masked
from minijax.optim.factorized import scale_by_factored_rms
from minijax.optim.moments import (
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
from minijax.optim.noise import add_noise
from minijax.optim.optimistic import scale_by_optimistic_gradient
from minijax.optim.polyak import scale_by_polyak
from minijax.optim.quasi_newton import scale_by_lbfgs
from minijax.optim.sign import scale_by_rprop, scale_by_sign
from minijax.optim.transform import (
    add_decayed_weights,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
    trace,
)
from minijax.optim.trust_ratio import scale_by_param_block_rms, scale_by_trust_ratio
from minijax.optim.zoom_linesearch import scale_by_zoom_linesearch

__all__ = [
    "MaskOrFn",
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "amsgrad",
    "fromage",
    "lamb",
    "lars",
    "lbfgs",
    "lion",
    "nadam",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "optimistic_adam",
    "optimistic_adam_v2",
    "optimistic_gradient_descent",
    "polyak_sgd",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sign_sgd",
    "signum",
    "sm3",
    "yogi",
]


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


# ----------------------------------------------------------------------------- the zoo
# Each optimizer below is the chain optax builds; the update rules are those
# of its transformations (see the modules they come from).

MaskOrFn = Any
"""A tree of bools, or a function from the params to one (see `masked`)."""

_DEFAULT_LINESEARCH: Any = object()  # lbfgs's default: a fresh zoom line search


def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-16,
    eps_root: Any = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""AdaBelief (optax: `adabelief`): $u = -\eta\, \hat m / (\sqrt{\hat s} + \epsilon)$
    with $s$ the variance of $g$ around $m$; see `scale_by_belief`.

    `chain(scale_by_belief(...), scale_by_learning_rate(lr))`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adabelief(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_belief(b1, b2, eps, eps_root, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: Any = 0.9,
    eps: Any = 1e-6,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = None,
) -> GradientTransformationExtraArgs:
    r"""AdaDelta (optax: `adadelta`), see `scale_by_adadelta`:
    $u = -\eta\, \sqrt{E_x + \epsilon} / \sqrt{E_g + \epsilon}\, (g + \lambda p)$.

    `chain(add_decayed_weights, scale_by_adadelta, scale_by_learning_rate)`;
    with `learning_rate=None` the step is not negated (as in optax).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adadelta(1.0), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)
        Array([-0.0032, -0.0032], dtype=float32)
    """
    return chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        scale_by_adadelta(rho=rho, eps=eps),
        scale_by_learning_rate(learning_rate),
    )


def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: Any = 0.8,
    decay_offset: Any = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: Any = 1.0,
    momentum: Any = None,
    dtype_momentum: Any = jnp.float32,
    weight_decay_rate: ScalarOrSchedule | None = None,
    eps: Any = 1e-30,
    factored: bool = True,
    weight_decay_mask: MaskOrFn = None,
) -> GradientTransformationExtraArgs:
    r"""Adafactor (optax: `adafactor`): factored second moments
    (`scale_by_factored_rms`), per-block RMS clipping, a step relative to the
    parameters' scale, optional momentum and weight decay:

    $$u = -\,\eta\, \max(\operatorname{rms}(p), 10^{-3})\,
      \operatorname{clip}_{rms \le \tau}\Big(\frac{g}{\sqrt{\hat V}}\Big)$$

    Each stage is present only if its option is set; needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adafactor(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]  # rms(p) = 1.58
        Array([-0.1581, -0.1581], dtype=float32)
    """
    tx: list[Any] = [
        scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)
    ]
    if clipping_threshold is not None:
        tx.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        tx.append(scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        tx.append(scale_by_param_block_rms())
    if momentum is not None:
        tx.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        tx.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    tx.append(scale(-1))
    return chain(*tx)


def adamax(
    learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8
) -> GradientTransformationExtraArgs:
    r"""AdaMax (optax: `adamax`): $u = -\eta\, \hat m / v$ with
    $v \leftarrow \max(\lvert g\rvert + \epsilon, \beta_2 v)$; see `scale_by_adamax`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adamax(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(scale_by_adamax(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate))


def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: ScalarOrSchedule = 1e-4,
    mask: MaskOrFn = None,
) -> GradientTransformationExtraArgs:
    r"""AdaMax with decoupled weight decay (optax: `adamaxw`):
    $u = -\eta\,(\hat m / v + \lambda p)$. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adamaxw(0.1, weight_decay=0.5), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.15, -0.2 ], dtype=float32)
    """
    return chain(
        scale_by_adamax(b1=b1, b2=b2, eps=eps),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def adan(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.98,
    b2: Any = 0.92,
    b3: Any = 0.99,
    eps: Any = 1e-8,
    eps_root: Any = 1e-8,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformationExtraArgs:
    r"""Adan (optax: `adan`): $u = -\eta\,\big((\hat m + (1-\beta_2)\hat v)
    / (\sqrt{\hat n + \epsilon_{root}} + \epsilon) + \lambda p\big)$; see `scale_by_adan`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.adan(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformationExtraArgs:
    r"""AMSGrad (optax: `amsgrad`): Adam with $v_{max} = \max(v_{max}, \hat v)$ in the
    denominator; see `scale_by_amsgrad`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.amsgrad(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_amsgrad(
            b1, b2, eps, eps_root, mu_dtype, bias_correction_mu, bias_correction_nu
        ),
        scale_by_learning_rate(learning_rate),
    )


def fromage(
    learning_rate: ScalarOrSchedule, min_norm: Any = 1e-6
) -> GradientTransformationExtraArgs:
    r"""Fromage (optax: `fromage`): a trust-ratio step, then a shrink of the weights
    that keeps their norm from growing:

    $$u = -\frac{\eta}{\sqrt{1+\eta^2}}\, \frac{\lVert p\rVert}{\lVert g\rVert}\, g
      + \Big(\frac{1}{\sqrt{1+\eta^2}} - 1\Big) p$$

    Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.fromage(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)
        Array([-0.1623, -0.1673], dtype=float32)
    """
    if not callable(learning_rate):
        mult = 1 / (1 + learning_rate**2) ** 0.5
        return chain(
            scale_by_trust_ratio(min_norm),
            scale_by_learning_rate(learning_rate * mult),
            add_decayed_weights(mult - 1),
        )
    schedule = learning_rate

    def mult_lr(count: Any) -> Any:
        return 1 / (1 + schedule(count) ** 2) ** 0.5

    return chain(
        scale_by_trust_ratio(min_norm),
        scale_by_learning_rate(lambda c: mult_lr(c) * schedule(c)),
        add_decayed_weights(lambda c: mult_lr(c) - 1),
    )


def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: ScalarOrSchedule = 0.0,
    weight_decay_mask: MaskOrFn = True,
    trust_coefficient: Any = 0.001,
    eps: Any = 0.0,
    trust_ratio_mask: MaskOrFn = True,
    momentum: Any = 0.9,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""LARS (optax: `lars`): SGD with momentum on trust-ratio scaled steps,
    $u = -\eta\, c\, \frac{\lVert p\rVert}{\lVert g + \lambda p\rVert + \epsilon}(g + \lambda p)$
    fed to `trace(momentum)`. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.lars(0.1, trust_coefficient=1.0), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)
        Array([-0.1581, -0.1581], dtype=float32)
    """
    return chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        masked(
            scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps), trust_ratio_mask
        ),
        scale_by_learning_rate(learning_rate),
        trace(decay=momentum, nesterov=nesterov),
    )


def lamb(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-6,
    eps_root: Any = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
    mask: MaskOrFn = None,
) -> GradientTransformationExtraArgs:
    r"""LAMB (optax: `lamb`): Adam's step $a$ plus weight decay, scaled layer by
    layer by its trust ratio, $u = -\eta\, \frac{\lVert p\rVert}{\lVert a + \lambda p\rVert}
    (a + \lambda p)$. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.lamb(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)
        Array([-0.1581, -0.1581], dtype=float32)
    """
    return chain(
        scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        add_decayed_weights(weight_decay=weight_decay, mask=mask),
        scale_by_trust_ratio(),
        scale_by_learning_rate(learning_rate),
    )


def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: Any = 0.01,
    gamma: Any = 0.55,
    key: Any = None,
    *,
    seed: int | None = None,
) -> GradientTransformationExtraArgs:
    r"""SGD on noisy gradients (optax: `noisy_sgd`):
    $u = -\eta\,(g + \sigma_t \xi)$, $\sigma_t = \sqrt{\eta_{noise} / t^\gamma}$; see `add_noise`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.noisy_sgd(0.1, eta=0.0, key=0), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))


def sign_sgd(learning_rate: ScalarOrSchedule) -> GradientTransformationExtraArgs:
    r"""signSGD (optax: `sign_sgd`): $u = -\eta \operatorname{sign}(g)$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.sign_sgd(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": -7 * jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([0.1, 0.1], dtype=float32)
    """
    return chain(scale_by_sign(), scale_by_learning_rate(learning_rate))


def signum(
    learning_rate: ScalarOrSchedule, beta: Any = 0.9, accumulator_dtype: Any = None
) -> GradientTransformationExtraArgs:
    r"""Signum (optax: `signum`): the sign of the momentum,
    $m \leftarrow (1-\beta) g + \beta m$, $u = -\eta \operatorname{sign}(m)$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.signum(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": -7 * jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([0.1, 0.1], dtype=float32)
    """
    return chain(
        ema(beta, debias=False, accumulator_dtype=accumulator_dtype),
        scale_by_sign(),
        scale_by_learning_rate(learning_rate),
    )


def novograd(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.25,
    eps: Any = 1e-6,
    eps_root: Any = 0.0,
    weight_decay: ScalarOrSchedule = 0.0,
) -> GradientTransformationExtraArgs:
    r"""NovoGrad (optax: `novograd`): per-layer second moments, see
    `scale_by_novograd`; $u = -\eta\, m$. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.novograd(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)  # g / |g|
        Array([-0.0707, -0.0707], dtype=float32)
    """
    return chain(
        scale_by_novograd(b1=b1, b2=b2, eps=eps, eps_root=eps_root, weight_decay=weight_decay),
        scale_by_learning_rate(learning_rate),
    )


def optimistic_gradient_descent(
    learning_rate: ScalarOrSchedule, alpha: Any = 1.0, beta: Any = 1.0
) -> GradientTransformationExtraArgs:
    r"""Optimistic gradient descent (optax: `optimistic_gradient_descent`):
    $u = -\eta\,\big((\alpha+\beta) g_t - \beta g_{t-1}\big)$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.optimistic_gradient_descent(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )


def optimistic_adam_v2(
    learning_rate: ScalarOrSchedule,
    *,
    alpha: Any = 1.0,
    beta: Any = 1.0,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-08,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""Optimistic Adam (optax: `optimistic_adam_v2`): the optimistic
    extrapolation $(\alpha+\beta) a_t - \beta a_{t-1}$ of Adam's (NAdam's, by
    default) steps $a_t$, times $-\eta$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.optimistic_adam_v2(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        scale_by_learning_rate(learning_rate),
    )


def optimistic_adam(
    learning_rate: Any,
    optimism: Any = None,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-08,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
) -> GradientTransformationExtraArgs:
    r"""optax's deprecated optimistic Adam (optax: `optimistic_adam`): the
    optimistic extrapolation $u = -((\eta + o)\, a_t - o\, a_{t-1})$ of Adam's
    steps $a_t$, with the optimism $o$ defaulting to $\eta$. Use
    `optimistic_adam_v2`, which takes schedules; `learning_rate` must be a number.

    Examples:
        >>> import warnings, jax.numpy as jnp, minijax.optim as optax
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     tx = optax.optimistic_adam(0.1)
        >>> params = {"w": jnp.array([1.0, 2.0])}
        >>> u, _ = tx.update({"w": jnp.ones(2)}, tx.init(params), params)
        >>> u["w"]
        Array([-0.1, -0.1], dtype=float32)
    """
    warnings.warn(
        "optimistic_adam is deprecated: use `optimistic_adam_v2` instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    if callable(learning_rate):
        raise ValueError(
            "optimistic_adam takes no learning-rate schedule; optimistic_adam_v2 does."
        )
    return chain(
        scale_by_adam(b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov),
        scale_by_optimistic_gradient(
            alpha=learning_rate, beta=learning_rate if optimism is None else optimism
        ),
        scale_by_learning_rate(1.0),
    )


def radam(
    learning_rate: ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    threshold: Any = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformationExtraArgs:
    r"""Rectified Adam (optax: `radam`), see `scale_by_radam`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.radam(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"]  # momentum steps
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(
        scale_by_radam(b1, b2, eps, eps_root, threshold, nesterov=nesterov),
        scale_by_learning_rate(learning_rate),
    )


def sm3(learning_rate: Any, momentum: Any = 0.9) -> GradientTransformationExtraArgs:
    r"""SM3 (optax: `sm3`): $u = -\eta\, m$ with the memory-light accumulators of
    `scale_by_sm3`. `learning_rate` is a number (no schedule, as in optax).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.sm3(1.0), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(4)
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(scale_by_sm3(momentum), scale(-learning_rate))


def yogi(
    learning_rate: ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-3
) -> GradientTransformationExtraArgs:
    r"""Yogi (optax: `yogi`), see `scale_by_yogi`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.yogi(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> tx.update({"w": jnp.ones(2)}, tx.init(params), params)[0]["w"].round(3)
        Array([-0.1, -0.1], dtype=float32)
    """
    return chain(scale_by_yogi(b1=b1, b2=b2, eps=eps), scale_by_learning_rate(learning_rate))


def rprop(
    learning_rate: Any,
    eta_minus: Any = 0.5,
    eta_plus: Any = 1.2,
    min_step_size: Any = 1e-6,
    max_step_size: Any = 50.0,
) -> GradientTransformationExtraArgs:
    r"""Rprop (optax: `rprop`): $u = -\delta \operatorname{sign}(g)$ with per-entry
    step sizes $\delta$ adapted to sign agreement; see `scale_by_rprop`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx, params = optax.rprop(0.1), {"w": jnp.array([1.0, 2.0])}
        >>> state = tx.init(params)
        >>> for _ in range(2):
        ...     u, state = tx.update({"w": -7 * jnp.ones(2)}, state, params)
        >>> u["w"]  # the first call's step, returned by the second
        Array([0.1, 0.1], dtype=float32)
    """
    return chain(
        scale_by_rprop(learning_rate, eta_minus, eta_plus, min_step_size, max_step_size),
        scale(-1.0),
    )


def polyak_sgd(
    max_learning_rate: Any = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: Any = 0.0,
    eps: Any = 0.0,
    variant: str = "sps",
) -> GradientTransformationExtraArgs:
    r"""SGD with the Polyak step size (optax: `polyak_sgd`):
    $u = -s \min\big((f - f^*)/\lVert g\rVert^2, \eta_{max}\big)\, g$; pass the loss
    as `update(..., value=loss)`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.polyak_sgd(max_learning_rate=10.0)
        >>> g = {"w": jnp.array([2.0])}
        >>> tx.update(g, tx.init(g), value=jnp.array(2.0))[0]["w"]
        Array([-1.], dtype=float32)
    """
    return chain(
        sgd(learning_rate=scaling),
        scale_by_polyak(max_learning_rate=max_learning_rate, f_min=f_min, eps=eps, variant=variant),
    )


def lbfgs(
    learning_rate: ScalarOrSchedule | None = None,
    memory_size: int = 10,
    scale_init_precond: bool = True,
    linesearch: Any = _DEFAULT_LINESEARCH,
) -> GradientTransformationExtraArgs:
    r"""L-BFGS (optax: `lbfgs`): the direction $-H^{-1} g$ of `scale_by_lbfgs`,
    scaled by `learning_rate` (default $1$), then by a line search (default: the
    zoom line search, 20 steps, first trial $1$; `None` for none).

    With a line search, call `update(g, state, params, value=f(p), grad=g,
    value_fn=f)`; see the docs page "The optimizer zoo".

    Examples:
        >>> import jax, jax.numpy as jnp, minijax.optim as optax
        >>> f = lambda p: jnp.sum((p - 3.0) ** 2)
        >>> tx, params = optax.lbfgs(), jnp.zeros(2)
        >>> state = tx.init(params)
        >>> for _ in range(3):
        ...     value, grad = jax.value_and_grad(f)(params)
        ...     u, state = tx.update(grad, state, params, value=value, grad=grad, value_fn=f)
        ...     params = optax.apply_updates(params, u)
        >>> params
        Array([3., 3.], dtype=float32)
    """
    if linesearch is _DEFAULT_LINESEARCH:
        linesearch = scale_by_zoom_linesearch(max_linesearch_steps=20, initial_guess_strategy="one")
    base_scaling = scale(-1.0) if learning_rate is None else scale_by_learning_rate(learning_rate)
    return chain(
        scale_by_lbfgs(memory_size=memory_size, scale_init_precond=scale_init_precond),
        base_scaling,
        identity() if linesearch is None else linesearch,
    )
