"""minijax.optim.losses, every loss bitwise equal to optax's on drawn inputs (float32,
float64, bfloat16), with `axis=` and `where=`, NaN and infinity passed through as
optax passes them, and the positional order of optax's arguments."""

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minijax.optim import losses

DTYPES = ["float32", "float64", "bfloat16"]


def same(a: Any, b: Any) -> None:
    """Bitwise equal, dtype included (NaN equals NaN)."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    if a.dtype == jnp.bfloat16:
        a, b = a.astype(jnp.float32), b.astype(jnp.float32)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@st.composite
def inputs(draw: Any) -> dict[str, Any]:
    """Logits, probability labels, integer labels, signed targets, a mask; maybe with
    a NaN or an infinity planted in the logits."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    shape = draw(st.sampled_from([(5,), (2, 4), (3, 2, 3)]))
    scale = draw(st.sampled_from([1.0, 1e-3, 30.0]))
    logits = rng.normal(size=shape) * scale
    special = draw(st.sampled_from([None, np.nan, np.inf, -np.inf]))
    if special is not None:
        logits.flat[draw(st.integers(0, logits.size - 1))] = special
    probs = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    return {
        "dtype": draw(st.sampled_from(DTYPES)),
        "logits": logits,
        "other": rng.normal(size=shape) * scale,
        "probs": probs,
        "binary": (rng.uniform(size=shape) > 0.5).astype(np.float64),
        "ints": rng.integers(0, shape[-1], size=shape[:-1]).astype(np.int32),
        "signs": np.where(rng.uniform(size=shape) > 0.5, 1.0, -1.0),
        "where": rng.uniform(size=shape) > 0.3,
        "axis": draw(st.sampled_from(range(-len(shape), len(shape)))),
    }


def cast(d: dict[str, Any]) -> dict[str, Any]:
    dt = d["dtype"]
    out = dict(d)
    for k in ["logits", "other", "probs", "binary", "signs"]:
        out[k] = jnp.asarray(d[k], dt)
    out["ints"], out["where"] = jnp.asarray(d["ints"]), jnp.asarray(d["where"])
    return out


def run(d: dict[str, Any], check: Any) -> None:
    with jax.enable_x64(d["dtype"] == "float64"):
        check(cast(d))


@pytest.mark.parity
@given(d=inputs(), delta=st.sampled_from([0.5, 1.0]), eps=st.sampled_from([0.0, 0.1]))
def test_regression_losses_bitwise(d: dict[str, Any], delta: float, eps: float) -> None:
    def check(x: dict[str, Any]) -> None:
        p, t, w, ax = x["logits"], x["other"], x["where"], x["axis"]
        for name in ["squared_error", "l2_loss", "log_cosh", "huber_loss"]:
            same(getattr(losses, name)(p, t), getattr(optax.losses, name)(p, t))
            same(getattr(losses, name)(p), getattr(optax.losses, name)(p))
        same(losses.huber_loss(p, t, delta=delta), optax.losses.huber_loss(p, t, delta=delta))
        for name in ["cosine_similarity", "cosine_distance"]:
            mine, ref = getattr(losses, name), getattr(optax.losses, name)
            same(mine(p, t, epsilon=eps), ref(p, t, epsilon=eps))
            kw = {"epsilon": eps, "axis": ax, "where": w}
            same(mine(p, t, **kw), ref(p, t, **kw))
    run(d, check)


@pytest.mark.parity
@given(d=inputs(), alpha=st.sampled_from([None, 0.25]), gamma=st.sampled_from([0.0, 2.0]))
def test_classification_losses_bitwise(d: dict[str, Any], alpha: Any, gamma: float) -> None:
    def check(x: dict[str, Any]) -> None:
        z, y, n, w, ax = x["logits"], x["probs"], x["ints"], x["where"], x["axis"]
        pairs = [
            ("softmax_cross_entropy", (z, y)),
            ("softmax_cross_entropy_with_integer_labels", (z, n)),
            ("safe_softmax_cross_entropy", (z, y)),
            ("sigmoid_binary_cross_entropy", (z, x["binary"])),
            ("sigmoid_binary_cross_entropy", (z, y)),
            ("poly_loss_cross_entropy", (z, y)),
            ("hinge_loss", (z, x["signs"])),
            ("perceptron_loss", (z, x["signs"])),
            ("sparsemax_loss", (z, x["binary"].astype(bool))),
            ("multiclass_hinge_loss", (z, n)),
            ("multiclass_perceptron_loss", (z, n)),
            ("kl_divergence", (jax.nn.log_softmax(z), y)),
            ("kl_divergence_with_log_targets", (jax.nn.log_softmax(z), jnp.log(y))),
            ("generalized_kl_divergence", (jax.nn.log_softmax(z), y)),
        ]
        for name, args in pairs:
            same(getattr(losses, name)(*args), getattr(optax.losses, name)(*args))
        same(losses.sigmoid_focal_loss(z, x["binary"], alpha=alpha, gamma=gamma),
             optax.losses.sigmoid_focal_loss(z, x["binary"], alpha=alpha, gamma=gamma))
        # axis= and where=, positional as in optax
        for name in ["softmax_cross_entropy", "kl_divergence"]:
            args = (z, y) if name == "softmax_cross_entropy" else (jax.nn.log_softmax(z), y)
            same(getattr(losses, name)(*args, -1, w), getattr(optax.losses, name)(*args, -1, w))
            zz, yy = jnp.moveaxis(args[0], -1, ax), jnp.moveaxis(args[1], -1, ax)
            same(getattr(losses, name)(zz, yy, ax), getattr(optax.losses, name)(zz, yy, ax))
        same(losses.softmax_cross_entropy_with_integer_labels(z, n, -1, w),
             optax.losses.softmax_cross_entropy_with_integer_labels(z, n, -1, w))
        same(losses.poly_loss_cross_entropy(z, y, epsilon=1.0, axis=-1, where=w),
             optax.losses.poly_loss_cross_entropy(z, y, epsilon=1.0, axis=-1, where=w))
        same(losses.smooth_labels(y, 0.1), optax.losses.smooth_labels(y, 0.1))
        same(losses.smooth_labels(y, 0.1, where=w), optax.losses.smooth_labels(y, 0.1, where=w))
    run(d, check)


@pytest.mark.parametrize("axis", [(1, 3), (3, 2), (-4, -3, -1)])
def test_integer_labels_over_several_axes_bitwise(axis: tuple[int, ...]) -> None:
    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(2, 3, 4, 5)), jnp.float32)
    batch = tuple(a for a in range(4) if a not in {x % 4 for x in axis})
    classes = int(np.prod([logits.shape[a] for a in axis]))
    labels = jnp.asarray(rng.integers(0, classes, size=[logits.shape[a] for a in batch]))
    same(losses.softmax_cross_entropy_with_integer_labels(logits, labels, axis),
         optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, axis))


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), scale=st.sampled_from([1.0, 100.0]))
def test_multiclass_sparsemax_bitwise_with_its_gradient(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    scores = jnp.asarray(rng.normal(size=(4, 5)) * scale, jnp.float32)
    labels = jnp.asarray(rng.integers(0, 5, size=4))
    same(losses.multiclass_sparsemax_loss(scores, labels),
         optax.losses.multiclass_sparsemax_loss(scores, labels))
    grad = jax.grad(lambda s: losses.multiclass_sparsemax_loss(s, labels).sum())(scores)
    ref = jax.grad(lambda s: optax.losses.multiclass_sparsemax_loss(s, labels).sum())(scores)
    same(grad, ref)
    # the gradient is sparsemax(s) - onehot(y)
    expected = jax.vmap(optax.projections.projection_simplex)(scores) - jax.nn.one_hot(labels, 5)
    np.testing.assert_allclose(grad, expected, atol=1e-6 * scale)  # rounding grows with s


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), pad=st.integers(0, 3), blank=st.sampled_from([0, 2]))
def test_ctc_bitwise(seed: int, pad: int, blank: int) -> None:
    rng = np.random.default_rng(seed)
    b, t, k, n = 2, 8, 5, 4
    logits = jnp.asarray(rng.normal(size=(b, t, k)), jnp.float32)
    logit_paddings = jnp.asarray(np.arange(t)[None, :] >= t - pad, jnp.float32).repeat(b, 0)
    labels = jnp.asarray(rng.integers(1, k, size=(b, n)))
    label_paddings = jnp.asarray(np.arange(n)[None, :] >= n - (pad % 2), jnp.float32).repeat(b, 0)
    args = (logits, logit_paddings, labels, label_paddings)
    mine = losses.ctc_loss_with_forward_probs(*args, blank_id=blank)
    ref = optax.losses.ctc_loss_with_forward_probs(*args, blank_id=blank)
    for a, r in zip(mine, ref, strict=True):
        same(a, r)
    same(losses.ctc_loss(*args), optax.losses.ctc_loss(*args))
    same(jax.grad(lambda z: losses.ctc_loss(z, *args[1:]).sum())(logits),
         jax.grad(lambda z: optax.losses.ctc_loss(z, *args[1:]).sum())(logits))


def test_ctc_counts_alignments() -> None:
    # 3 uniform frames over {blank, a}: 6 of the 8 paths spell "a".
    loss = losses.ctc_loss(jnp.zeros((1, 3, 2)), jnp.zeros((1, 3)), jnp.array([[1]]),
                           jnp.zeros((1, 1)))
    np.testing.assert_allclose(loss, [-np.log(6 / 8)], rtol=1e-6)
    with pytest.raises(ValueError, match="rank 3"):
        losses.ctc_loss(jnp.zeros((3, 2)), jnp.zeros((1, 3)), jnp.array([[1]]), jnp.zeros((1, 1)))
    with pytest.raises(ValueError, match="batch size"):
        losses.ctc_loss(jnp.zeros((1, 3, 2)), jnp.zeros((1, 3)), jnp.array([[1], [1]]),
                        jnp.zeros((2, 1)))


def test_safe_cross_entropy_is_finite_where_the_plain_one_is_not() -> None:
    logits, labels = jnp.array([0.0, -jnp.inf]), jnp.array([1.0, 0.0])
    assert np.isnan(losses.softmax_cross_entropy(logits, labels))
    value, grad = jax.value_and_grad(losses.safe_softmax_cross_entropy)(logits, labels)
    assert value == 0.0 and np.all(np.isfinite(grad))
    ref = jax.grad(optax.losses.safe_softmax_cross_entropy)(logits, labels)
    same(grad, ref)


def test_deprecated_alias_warns_as_optax() -> None:
    lp, t = jnp.log(jnp.array([0.3, 0.7])), jnp.array([0.5, 0.5])
    with pytest.warns(DeprecationWarning, match="use generalized_kl_divergence"):
        value = losses.convex_kl_divergence(lp, t)
    same(value, losses.generalized_kl_divergence(lp, t))


def test_integer_labels_to_the_soft_loss_name_the_fix() -> None:
    with pytest.raises(ValueError, match="softmax_cross_entropy_with_integer_labels"):
        losses.softmax_cross_entropy(jnp.zeros((4, 10)), jnp.arange(4))


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(DTYPES),
       degree=st.sampled_from([1, 2]), temperature=st.sampled_from([0.07, 1.0]))
def test_self_supervised_and_fenchel_young_bitwise(seed: int, dtype: str, degree: int,
                                                   temperature: float) -> None:
    rng = np.random.default_rng(seed)
    with jax.enable_x64(dtype == "float64"):
        a, p, n = (jnp.asarray(rng.normal(size=(4, 3)), dtype) for _ in range(3))
        labels = jnp.asarray([0, 0, 1, 1])
        same(losses.ntxent(a, labels, temperature), optax.losses.ntxent(a, labels, temperature))
        same(jax.grad(losses.ntxent)(a, labels), jax.grad(optax.losses.ntxent)(a, labels))
        same(losses.triplet_margin_loss(a, p, n, -1, degree),
             optax.losses.triplet_margin_loss(a, p, n, -1, degree))
        y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 3, size=4)), 3, dtype=a.dtype)
        fy = losses.make_fenchel_young_loss(jax.scipy.special.logsumexp)
        ref = optax.losses.make_fenchel_young_loss(jax.scipy.special.logsumexp)
        same(fy(a, y), ref(a, y))
    with pytest.raises(ValueError, match="one label per embedding"):
        losses.ntxent(jnp.ones((4, 2)), jnp.zeros(3, jnp.int32))


@pytest.mark.parity
@given(seed=st.integers(0, 2**31 - 1), dtype=st.sampled_from(DTYPES),
       reduction=st.sampled_from(["mean", "sum", "none"]), background=st.booleans())
def test_dice_and_ranking_bitwise(seed: int, dtype: str, reduction: str,
                                  background: bool) -> None:
    rng = np.random.default_rng(seed)
    with jax.enable_x64(dtype == "float64"):
        z = jnp.asarray(rng.normal(size=(2, 4, 3)), dtype)
        y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 3, size=(2, 4))), 3, dtype=z.dtype)
        kw = {"reduction": reduction, "ignore_background": background, "alpha": 0.3,
              "beta": 0.7, "class_weights": jnp.asarray([1.0, 2.0, 0.5], dtype)}
        same(losses.dice_loss(z, y, **kw), optax.losses.dice_loss(z, y, **kw))
        same(losses.multiclass_generalized_dice_loss(z, y),
             optax.losses.multiclass_generalized_dice_loss(z, y))
        same(losses.binary_dice_loss(z[..., 0], y[..., 0]),
             optax.losses.binary_dice_loss(z[..., 0], y[..., 0]))
        relevance = jnp.asarray(rng.integers(0, 3, size=(2, 4)), dtype)
        where = jnp.asarray([[True, True, False, True], [False] * 4])
        for reduce_fn in [jnp.mean, jnp.sum, None]:
            kw2 = {"where": where, "reduce_fn": reduce_fn}
            same(losses.ranking_softmax_loss(z[..., 0], relevance, **kw2),
                 optax.losses.ranking_softmax_loss(z[..., 0], relevance, **kw2))
    assert losses.ranking_softmax_loss(jnp.zeros((1, 3)), jnp.ones((1, 3)),
                                       where=jnp.zeros((1, 3), bool)) == 0.0  # empty list
    with pytest.raises(ValueError, match="sum to 1"):
        losses.dice_loss(jnp.ones((1, 2, 2)), jnp.ones((1, 2, 2)), apply_softmax=False)
