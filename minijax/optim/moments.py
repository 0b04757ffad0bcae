r"""Adam's relatives: rescalings built from moving moments of the gradient
(optax: the `scale_by_*` of `optax._src.transform`).

Each keeps one or more moving averages of the gradient $g$ (or of a power of
it) and divides by a root of the second one, as Adam does; they differ in
*which* second moment. Notation as in `minijax.optim.transform`: $t$ is the
step count after the update (1 at the first step), averages start at zero.

| transformation       | second moment $v$                                        |
|----------------------|----------------------------------------------------------|
| `scale_by_amsgrad`   | the running maximum of Adam's $\hat v$                  |
| `scale_by_adamax`    | $\max(\beta_2 v, \lvert g\rvert + \epsilon)$ (infinity norm) |
| `scale_by_belief`    | the variance of $g$ around its mean $m$                 |
| `scale_by_yogi`      | additive: $v - (1-\beta_2)\operatorname{sign}(v - g^2)\, g^2$ |
| `scale_by_radam`     | Adam's, with a variance rectification $r_t$             |
| `scale_by_adan`      | of $g + (1-\beta_2)(g - g_{prev})$                       |
| `scale_by_novograd`  | one scalar per leaf: $\lVert g\rVert^2$                  |
| `scale_by_adadelta`  | and of the updates themselves                           |
| `scale_by_sm3`       | a cover of per-axis maxima (memory $\sum_i n_i$)        |
"""

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from minijax.optim.base import NO_PARAMS_MSG, GradientTransformation, Params, Updates
from minijax.optim.numerics import abs_sq
from minijax.optim.transform import (
    _FROM_INIT,
    Count,
    ScaleByAdamState,
    _canonical_dtype,
    _zero_count,
)
from minijax.optim.tree import bias_correction as debias
from minijax.optim.tree import (
    check_tree_match,
    safe_increment,
    tree_cast,
    tree_full_like,
    tree_zeros_like,
    update_moment,
    update_moment_per_elem_norm,
)

__all__ = [
    "ScaleByAdaDeltaState",
    "ScaleByAdanState",
    "ScaleByAmsgradState",
    "ScaleByBeliefState",
    "ScaleByNovogradState",
    "ScaleBySM3State",
    "scale_by_adadelta",
    "scale_by_adamax",
    "scale_by_adan",
    "scale_by_amsgrad",
    "scale_by_belief",
    "scale_by_novograd",
    "scale_by_radam",
    "scale_by_sm3",
    "scale_by_yogi",
]


def _is_none(x: Any) -> bool:
    return x is None


def _adam_ratio(mu_hat: Updates, nu_hat: Updates, eps: Any, eps_root: Any) -> Updates:
    """$\\hat m / (\\sqrt{\\hat v + \\epsilon_{root}} + \\epsilon)$, leaf by leaf."""
    return jax.tree.map(
        lambda m, v: None if m is None else m / (jnp.sqrt(v + eps_root) + eps),
        mu_hat,
        nu_hat,
        is_leaf=_is_none,
    )


def _nesterov_mu_hat(mu: Updates, updates: Updates, b1: Any, count: jax.Array) -> Updates:
    """NAdam's look-ahead first moment
    $\\beta_1 m / (1-\\beta_1^{t+1}) + (1-\\beta_1) g / (1-\\beta_1^t)$."""
    return jax.tree.map(
        lambda m, g: b1 * m + (1 - b1) * g,
        debias(mu, b1, safe_increment(count)),
        debias(updates, b1, count),
    )


# ----------------------------------------------------------------------------- AMSGrad


class ScaleByAmsgradState(NamedTuple):
    """AMSGrad's moments and the running maximum of the second one
    (optax: `ScaleByAmsgradState`)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    mu: Updates
    nu: Updates
    nu_max: Updates


def scale_by_amsgrad(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    mu_dtype: Any = None,
    bias_correction_mu: bool = True,
    bias_correction_nu: bool = True,
) -> GradientTransformation:
    r"""AMSGrad: Adam that never lets its second moment shrink
    (optax: `scale_by_amsgrad`).

    $$m \leftarrow (1-\beta_1) g + \beta_1 m, \quad
      v \leftarrow (1-\beta_2) g^2 + \beta_2 v, \quad
      v_{max} \leftarrow \max(v_{max}, \hat v), \quad
      u = \frac{\hat m}{\sqrt{v_{max} + \epsilon_{root}} + \epsilon}$$

    The bias corrections $\hat m = m / (1-\beta_1^t)$, $\hat v = v / (1-\beta_2^t)$
    can be switched off one by one.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_amsgrad()
        >>> u, state = tx.update({"w": jnp.array([2.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> u["w"].round(4), state.nu_max["w"].round(4)
        (Array([1.], dtype=float32), Array([4.], dtype=float32))
    """
    mu_dtype = _canonical_dtype(mu_dtype)

    def init_fn(params: Params) -> ScaleByAmsgradState:
        return ScaleByAmsgradState(
            count=_zero_count(),
            mu=tree_zeros_like(params, dtype=mu_dtype),
            nu=tree_zeros_like(params),
            nu_max=tree_zeros_like(params),
        )

    def update_fn(
        updates: Updates, state: ScaleByAmsgradState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAmsgradState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        mu_hat = debias(mu, b1, count) if bias_correction_mu else mu
        nu_hat = debias(nu, b2, count) if bias_correction_nu else nu
        nu_max = jax.tree.map(jnp.maximum, state.nu_max, nu_hat)
        updates = _adam_ratio(mu_hat, nu_max, eps, eps_root)
        mu = tree_cast(mu, mu_dtype)
        return updates, ScaleByAmsgradState(count=count, mu=mu, nu=nu, nu_max=nu_max)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- AdaMax


def scale_by_adamax(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> GradientTransformation:
    r"""AdaMax: Adam with the infinity norm as second moment (optax: `scale_by_adamax`).

    $$m \leftarrow (1-\beta_1) g + \beta_1 m, \quad
      v \leftarrow \max(\lvert g\rvert + \epsilon,\ \beta_2 v), \quad
      u = \frac{m / (1-\beta_1^t)}{v}$$

    The state is a `ScaleByAdamState` whose `nu` holds $v$.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_adamax(eps=0.0)
        >>> u, _ = tx.update({"w": jnp.array([-3.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> u["w"]
        Array([-1.], dtype=float32)
    """

    def init_fn(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=_zero_count(), mu=tree_zeros_like(params), nu=tree_zeros_like(params)
        )

    def update_fn(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdamState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        count = safe_increment(state.count)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = jax.tree.map(
            lambda g, v: None if g is None else jnp.maximum(jnp.abs(g) + eps, b2 * v),
            updates,
            state.nu,
            is_leaf=_is_none,
        )
        updates = jax.tree.map(lambda m, v: m / v, debias(mu, b1, count), nu)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- AdaBelief


class ScaleByBeliefState(NamedTuple):
    """AdaBelief's mean and variance of the gradient (optax: `ScaleByBeliefState`)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    mu: Updates
    nu: Updates


def scale_by_belief(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-16,
    eps_root: Any = 1e-16,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""AdaBelief: divide by the spread of $g$ around its prediction $m$
    (optax: `scale_by_belief`).

    $$m \leftarrow (1-\beta_1) g + \beta_1 m, \quad
      s \leftarrow (1-\beta_2)(g - m)^2 + \beta_2 s + \epsilon_{root}, \quad
      u = \frac{\hat m}{\sqrt{\hat s} + \epsilon}$$

    ($g - m$ uses the *new* $m$; hats are bias corrections; `nesterov=True`
    uses NAdam's $\hat m$).

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_belief()
        >>> u, state = tx.update({"w": jnp.array([1.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> state.mu["w"], u["w"].round(2)
        (Array([0.1], dtype=float32), Array([1.], dtype=float32))
    """

    def init_fn(params: Params) -> ScaleByBeliefState:
        return ScaleByBeliefState(
            count=_zero_count(), mu=tree_zeros_like(params), nu=tree_zeros_like(params)
        )

    def update_fn(
        updates: Updates, state: ScaleByBeliefState, params: Params | None = None
    ) -> tuple[Updates, ScaleByBeliefState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        mu = update_moment(updates, state.mu, b1, 1)
        prediction_error = jax.tree.map(lambda g, m: g - m, updates, mu)
        nu = update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = jax.tree.map(lambda v: v + eps_root, nu)
        count = safe_increment(state.count)
        mu_hat = _nesterov_mu_hat(mu, updates, b1, count) if nesterov else debias(mu, b1, count)
        updates = _adam_ratio(mu_hat, debias(nu, b2, count), eps, 0.0)
        return updates, ScaleByBeliefState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- Yogi


def scale_by_yogi(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-3,
    eps_root: Any = 0.0,
    initial_accumulator_value: Any = 1e-6,
) -> GradientTransformation:
    r"""Yogi: Adam with an additive second-moment update (optax: `scale_by_yogi`).

    $$m \leftarrow (1-\beta_1) g + \beta_1 m, \quad
      v \leftarrow v - (1-\beta_2)\operatorname{sign}(v - g^2)\, g^2, \quad
      u = \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}$$

    $v$ moves towards $g^2$ by a step proportional to $g^2$, not to $v - g^2$,
    so it cannot collapse after one large gradient. Both moments start at
    `initial_accumulator_value`; the state is a `ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_yogi()
        >>> u, state = tx.update({"w": jnp.array([1.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> state.nu["w"] > 0
        Array([ True], dtype=bool)
    """

    def init_fn(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=_zero_count(),
            mu=tree_full_like(params, initial_accumulator_value),
            nu=tree_full_like(params, initial_accumulator_value),
        )

    def update_fn(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdamState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = jax.tree.map(
            lambda g, v: v - (1 - b2) * jnp.sign(v - abs_sq(g)) * abs_sq(g), updates, state.nu
        )
        count = safe_increment(state.count)
        updates = _adam_ratio(debias(mu, b1, count), debias(nu, b2, count), eps, eps_root)
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- RAdam


def scale_by_radam(
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    threshold: Any = 5.0,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    r"""Rectified Adam (optax: `scale_by_radam`).

    Early on $\hat v$ averages few gradients and its variance is large. RAdam
    estimates the length $\rho_t$ of the average and, once it passes
    `threshold`, rescales Adam's step by the rectification $r_t$; before that it
    takes plain momentum steps $u = \hat m$:

    $$\rho_\infty = \frac{2}{1-\beta_2} - 1, \quad
      \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1-\beta_2^t}, \quad
      r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}
                       {(\rho_\infty-4)(\rho_\infty-2)\rho_t}}, \quad
      u = \begin{cases} r_t\, \hat m / (\sqrt{\hat v + \epsilon_{root}} + \epsilon)
          & \rho_t \ge \text{threshold} \\ \hat m & \text{otherwise} \end{cases}$$

    The state is a `ScaleByAdamState`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_radam()
        >>> u, _ = tx.update({"w": jnp.array([2.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> u["w"]  # rho_1 = 1 < 5: a momentum step, m_hat = g
        Array([2.], dtype=float32)
    """
    rho_inf = 2.0 / (1.0 - b2) - 1.0

    def rectified(rho: Any, mu_hat: Updates, nu_hat: Updates) -> Updates:
        r = jnp.sqrt(
            (rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
        )
        return jax.tree.map(
            lambda m, v: r.astype(m.dtype) * m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat
        )

    def init_fn(params: Params) -> ScaleByAdamState:
        return ScaleByAdamState(
            count=_zero_count(), mu=tree_zeros_like(params), nu=tree_zeros_like(params)
        )

    def update_fn(
        updates: Updates, state: ScaleByAdamState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdamState]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        mu = update_moment(updates, state.mu, b1, 1)
        nu = update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count = safe_increment(state.count)
        b2t = b2**count
        rho = rho_inf - 2 * count * b2t / (1 - b2t)
        mu_hat = _nesterov_mu_hat(mu, updates, b1, count) if nesterov else debias(mu, b1, count)
        nu_hat = debias(nu, b2, count)
        updates = jax.tree.map(
            lambda r, m: jnp.where(rho >= threshold, r, m),
            rectified(rho, mu_hat, nu_hat),
            mu_hat,
        )
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- Adan


class ScaleByAdanState(NamedTuple):
    """Adan's three moments, the previous gradient and the step count
    (optax: `ScaleByAdanState`)."""

    m: Updates
    v: Updates
    n: Updates
    g: Updates
    t: Count


def scale_by_adan(
    b1: Any = 0.98, b2: Any = 0.92, b3: Any = 0.99, eps: Any = 1e-8, eps_root: Any = 0.0
) -> GradientTransformation:
    r"""Adan: adaptive Nesterov momentum from gradient differences
    (optax: `scale_by_adan`).

    With $\Delta = g - g_{prev}$ ($0$ at the first step):

    $$m \leftarrow (1-\beta_1) g + \beta_1 m, \quad
      v \leftarrow (1-\beta_2)\Delta + \beta_2 v, \quad
      n \leftarrow (1-\beta_3)\big(g + (1-\beta_2)\Delta\big)^2 + \beta_3 n,$$
    $$u = \frac{\hat m + (1-\beta_2)\hat v}{\sqrt{\hat n + \epsilon_{root}} + \epsilon}$$

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_adan()
        >>> u, state = tx.update({"w": jnp.array([1.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> state.g["w"], u["w"].round(4)
        (Array([1.], dtype=float32), Array([1.], dtype=float32))
    """

    def init_fn(params: Params) -> ScaleByAdanState:
        zeros = tree_zeros_like(params)
        return ScaleByAdanState(m=zeros, v=zeros, n=zeros, g=zeros, t=_zero_count())

    def update_fn(
        updates: Updates, state: ScaleByAdanState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdanState]:
        del params
        check_tree_match(state.g, updates, _FROM_INIT, "updates", none_is_leaf=True)
        g = updates
        diff = jax.tree.map(
            lambda gi, prev: jnp.where(state.t == 0, jnp.zeros_like(gi), gi - prev), g, state.g
        )
        m = update_moment(g, state.m, b1, 1)
        v = update_moment(diff, state.v, b2, 1)
        sq = jax.tree.map(lambda gi, d: gi + jnp.asarray(1 - b2) * d, g, diff)
        n = update_moment_per_elem_norm(sq, state.n, b3, 2)
        t = safe_increment(state.t)
        m_hat, v_hat, n_hat = debias(m, b1, t), debias(v, b2, t), debias(n, b3, t)
        u = jax.tree.map(lambda mi, vi: mi + jnp.asarray(1 - b2) * vi, m_hat, v_hat)
        u = jax.tree.map(lambda ui, ni: ui / (jnp.sqrt(ni + eps_root) + eps), u, n_hat)
        return u, ScaleByAdanState(m=m, v=v, n=n, g=g, t=t)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- NovoGrad


class ScaleByNovogradState(NamedTuple):
    """NovoGrad's step count, first moments and per-leaf second moments
    (optax: `ScaleByNovogradState`)."""

    count: Count  # type: ignore[assignment]  # optax's name; shadows tuple.count
    mu: Updates
    nu: Updates


def scale_by_novograd(
    b1: Any = 0.9,
    b2: Any = 0.25,
    eps: Any = 1e-8,
    eps_root: Any = 0.0,
    weight_decay: Any = 0.0,
    mu_dtype: Any = None,
) -> GradientTransformation:
    r"""NovoGrad: layer-wise second moments (optax: `scale_by_novograd`).

    Each leaf $\ell$ keeps one scalar $v_\ell$ for the squared norm of its gradient:

    $$v_\ell \leftarrow (1-\beta_2)\lVert g_\ell\rVert^2 + \beta_2 v_\ell, \quad
      m_\ell \leftarrow \beta_1 m_\ell
        + \frac{g_\ell}{\sqrt{v_\ell + \epsilon_{root}} + \epsilon} + \lambda p_\ell,
      \quad u = m$$

    At the first step $v_\ell = \lVert g_\ell\rVert^2$ and $m_\ell$ is the bracket
    alone. Needs `params`.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> params = {"w": jnp.zeros(2)}
        >>> tx = optax.scale_by_novograd()
        >>> u, state = tx.update({"w": jnp.array([3.0, 4.0])}, tx.init(params), params)
        >>> state.nu["w"], u["w"].round(4)
        (Array(25., dtype=float32), Array([0.6, 0.8], dtype=float32))
    """
    mu_dtype = _canonical_dtype(mu_dtype)

    def mu_addition(g: Any, p: Any, v: Any) -> Any:
        return g / (jnp.sqrt(v + eps_root) + eps) + weight_decay * p

    def init_nu(grads: Updates, nu: Updates) -> Updates:
        return jax.tree.map(lambda g, n: (jnp.linalg.norm(g) ** 2).astype(n.dtype), grads, nu)

    def update_nu(grads: Updates, nu: Updates) -> Updates:
        return update_moment(jax.tree.map(lambda g: jnp.linalg.norm(g) ** 2, grads), nu, b2, 1)

    def init_mu(grads: Updates, params: Params, mu: Updates, nu: Updates) -> Updates:
        del mu
        return jax.tree.map(mu_addition, grads, params, nu)

    def update_mu(grads: Updates, params: Params, mu: Updates, nu: Updates) -> Updates:
        added = jax.tree.map(mu_addition, grads, params, nu)
        return jax.tree.map(
            lambda m, a: None if m is None else b1 * m + a, mu, added, is_leaf=_is_none
        )

    def init_fn(params: Params) -> ScaleByNovogradState:
        return ScaleByNovogradState(
            count=_zero_count(),
            mu=tree_zeros_like(params, dtype=mu_dtype),
            nu=jax.tree.map(lambda p: jnp.asarray(0.0, dtype=p.dtype), params),
        )

    def update_fn(
        updates: Updates, state: ScaleByNovogradState, params: Params | None = None
    ) -> tuple[Updates, ScaleByNovogradState]:
        if params is None:
            raise ValueError(NO_PARAMS_MSG)
        check_tree_match(state.nu, updates, _FROM_INIT, "updates", none_is_leaf=True)
        count = safe_increment(state.count)
        nu = jax.lax.cond(count == 1, init_nu, update_nu, updates, state.nu)
        mu = jax.lax.cond(count == 1, init_mu, update_mu, updates, params, state.mu, nu)
        mu = tree_cast(mu, mu_dtype)
        return mu, ScaleByNovogradState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- AdaDelta


class ScaleByAdaDeltaState(NamedTuple):
    """AdaDelta's averages of squared gradients and squared updates
    (optax: `ScaleByAdaDeltaState`)."""

    e_g: Updates
    e_x: Updates


def scale_by_adadelta(rho: Any = 0.9, eps: Any = 1e-6) -> GradientTransformation:
    r"""AdaDelta: a step size with the units of the parameters
    (optax: `scale_by_adadelta`).

    $$E_g \leftarrow (1-\rho) g^2 + \rho E_g, \quad
      u = \frac{\sqrt{E_x + \epsilon}}{\sqrt{E_g + \epsilon}}\, g, \quad
      E_x \leftarrow (1-\rho) u^2 + \rho E_x$$

    ($u$ uses the *old* $E_x$.)

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_adadelta(eps=1e-6)
        >>> u, _ = tx.update({"w": jnp.array([1.0])}, tx.init({"w": jnp.zeros(1)}))
        >>> u["w"].round(4)  # sqrt(1e-6) / sqrt(0.1)
        Array([0.0032], dtype=float32)
    """

    def init_fn(params: Params) -> ScaleByAdaDeltaState:
        return ScaleByAdaDeltaState(e_g=tree_zeros_like(params), e_x=tree_zeros_like(params))

    def update_fn(
        updates: Updates, state: ScaleByAdaDeltaState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdaDeltaState]:
        del params
        check_tree_match(state.e_g, updates, _FROM_INIT, "updates", none_is_leaf=True)
        e_g = update_moment(updates, state.e_g, rho, 2)
        updates = jax.tree.map(
            lambda g, eg, ex: (jnp.sqrt(ex + eps) / jnp.sqrt(eg + eps)) * g,
            updates,
            e_g,
            state.e_x,
        )
        e_x = update_moment(updates, state.e_x, rho, 2)
        return updates, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return GradientTransformation(init_fn, update_fn)


# ----------------------------------------------------------------------------- SM3


class ScaleBySM3State(NamedTuple):
    """SM3's per-axis accumulators and momentum (optax: `ScaleBySM3State`)."""

    mu: Updates
    nu: Updates


def _reduced_zeros(x: jax.Array, axis: int) -> jax.Array:
    """Zeros with the shape of axis `axis` of `x` alone."""
    return jnp.zeros((x.shape[axis],), x.dtype)


def scale_by_sm3(b1: Any = 0.9, b2: Any = 1.0, eps: Any = 1e-8) -> GradientTransformation:
    r"""SM3: AdaGrad with memory linear in the sum of the dimensions
    (optax: `scale_by_sm3`).

    A leaf of shape $(n_1, \dots, n_k)$ keeps one vector $\mu_i$ of length $n_i$
    per axis. The accumulator of an entry is the smallest cover of it:

    $$a = (1-\beta_2)\, g^2 + \beta_2 \min_i \mu_i \quad(\text{with } 1 - \beta_2
      \text{ read as } 1 \text{ when } \beta_2 = 1), \qquad
      \mu_i \leftarrow \max_{\text{axes} \ne i} a,$$
    $$m \leftarrow (1-\beta_1)\, g / \sqrt{a + \epsilon} + \beta_1 m, \quad u = m$$

    ($g / \sqrt{a + \epsilon}$ is $0$ where $a = 0$.) Vectors and scalars keep
    a full accumulator. Real parameters only.

    Examples:
        >>> import jax.numpy as jnp, minijax.optim as optax
        >>> tx = optax.scale_by_sm3()
        >>> state = tx.init({"w": jnp.zeros((2, 3))})
        >>> [m.shape for m in state.mu["w"]]
        [(2,), (3,)]
    """

    def init_fn(params: Params) -> ScaleBySM3State:
        if any(jnp.iscomplexobj(x) for x in jax.tree.leaves(params)):
            raise ValueError("scale_by_sm3 does not support complex parameters.")
        mu = jax.tree.map(lambda p: [_reduced_zeros(p, i) for i in range(p.ndim)], params)
        return ScaleBySM3State(mu=mu, nu=tree_zeros_like(params))

    def expand(g: jax.Array, covers: list[jax.Array]) -> list[jax.Array]:
        shape = [[1] * i + [g.shape[i]] + [1] * (g.ndim - i - 1) for i in range(g.ndim)]
        return [jnp.reshape(c, s) for c, s in zip(covers, shape, strict=True)]

    def accumulate(g: jax.Array, covers: list[jax.Array]) -> Any:
        c_g = (1.0 - b2) if b2 != 1.0 else 1.0
        if g.ndim < 2:
            return c_g * g**2 + b2 * covers[0]
        return c_g * g**2 + b2 * functools.reduce(jnp.minimum, covers)

    def new_covers(a: jax.Array) -> list[jax.Array]:
        if a.ndim < 2:
            return [a for _ in range(a.ndim)]
        others = [[j for j in range(a.ndim) if j != i] for i in range(a.ndim)]
        return [jnp.max(a, axis=axes) for axes in others]

    def update_fn(
        updates: Updates, state: ScaleBySM3State, params: Params | None = None
    ) -> tuple[Updates, ScaleBySM3State]:
        del params
        check_tree_match(state.nu, updates, _FROM_INIT, "updates")
        covers = jax.tree.map(expand, updates, state.mu)
        accum = jax.tree.map(accumulate, updates, covers)
        inv_sqrt = jax.tree.map(lambda a: jnp.where(a > 0, jax.lax.rsqrt(a + eps), 0.0), accum)
        scaled = jax.tree.map(lambda g, r: g * r, updates, inv_sqrt)
        nu = update_moment(scaled, state.nu, b1, 1)
        mu = jax.tree.map(new_covers, accum)
        return nu, ScaleBySM3State(mu=mu, nu=nu)

    return GradientTransformation(init_fn, update_fn)
