r"""Self-supervised (contrastive and metric) losses (optax: `optax.losses._self_supervised`).

>>> import jax.numpy as jnp
>>> anchor, close, far = jnp.zeros((1, 2)), jnp.array([[0.0, 0.5]]), jnp.array([[3.0, 0.0]])
>>> triplet_margin_loss(anchor, close, far)
Array([0.], dtype=float32)
"""

import jax
import jax.numpy as jnp
from jax import lax

from minijax.optim.losses._checks import check_floating
from minijax.optim.losses._regression import cosine_similarity

__all__ = ["ntxent", "triplet_margin_loss"]


def ntxent(
    embeddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    temperature: jax.typing.ArrayLike = 0.07,
) -> jax.Array:
    r"""The normalized temperature-scaled cross-entropy (NT-Xent; Chen et al., 2020;
    optax: `ntxent`), averaged over the positive pairs.

    With $s_{ij} = \cos(e_i, e_j) / \tau$, each positive pair $(i, j)$ (same label,
    $i \ne j$) is a softmax classification of $j$ against the negatives of $i$:
    $\ell_{ij} = -\log \dfrac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k:\, y_k \ne y_i} e^{s_{ik}}}$.

    Args:
        embeddings: `(batch, features)`.
        labels: `(batch,)`: equal labels mark the positive pairs.
        temperature: $\tau$.

    Returns:
        A scalar.

    Raises:
        ValueError: `labels` and `embeddings` differ in their first axis.

    >>> import jax.numpy as jnp
    >>> e = jnp.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    >>> float(ntxent(e, jnp.array([0, 0, 1, 1]))) < 0.01
    True
    """
    check_floating("ntxent", "embeddings", embeddings)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"ntxent: labels has {labels.shape[0]} entries but embeddings "
            f"{embeddings.shape[0]} rows; give one label per embedding."
        )
    eps = jnp.finfo(embeddings.dtype).eps  # type: ignore[no-untyped-call]
    xcs = cosine_similarity(embeddings[None, :, :], embeddings[:, None, :], epsilon=eps)
    xcs = xcs / temperature
    matches = jnp.expand_dims(labels, axis=1) == jnp.expand_dims(labels, axis=0)
    diffs = matches ^ 1
    matches = jnp.bool_(matches - jnp.eye(matches.shape[0]))  # a vector is not its own pair
    xcs_diffs = jnp.where(diffs == 1, xcs, -jnp.inf)
    xcs_matches = jnp.where(matches == 1, xcs, -jnp.inf)
    # the log-softmax, shifted by the row maximum (a constant for the gradient)
    comb = jnp.concatenate((xcs_diffs, xcs_matches), axis=-1)
    xcs_max = jnp.max(comb, axis=1, keepdims=True)
    xcs_shift_diffs = xcs_diffs - lax.stop_gradient(xcs_max)
    xcs_shift_matches = xcs_matches - lax.stop_gradient(xcs_max)
    denom = jnp.sum(jnp.exp(xcs_shift_diffs), axis=1, keepdims=True)
    denom += jnp.exp(xcs_shift_matches)
    log_softm = xcs_shift_matches - jnp.log(denom)
    return -jnp.where(matches == 1, log_softm, 0.0).sum() / matches.sum()  # type: ignore[no-any-return]


def triplet_margin_loss(
    anchors: jax.typing.ArrayLike,
    positives: jax.typing.ArrayLike,
    negatives: jax.typing.ArrayLike,
    axis: int = -1,
    norm_degree: jax.typing.ArrayLike = 2,
    margin: jax.typing.ArrayLike = 1.0,
    eps: jax.typing.ArrayLike = 1e-6,
) -> jax.Array:
    r"""The triplet margin loss (Schroff et al., 2015; optax: `triplet_margin_loss`):
    $\ell = \max(d(a, p) - d(a, n) + m, 0)$ with $d(x, y) = (\sum |x - y|^k +
    \epsilon)^{1/k}$ along `axis`: the positive must be closer than the negative by
    the margin $m$.

    >>> import jax.numpy as jnp
    >>> triplet_margin_loss(jnp.zeros((1, 2)), jnp.array([[2.0, 0.0]]), jnp.array([[0.0, 1.0]]))
    Array([2.], dtype=float32)
    """
    for name, x in [("anchors", anchors), ("positives", positives), ("negatives", negatives)]:
        check_floating("triplet_margin_loss", name, x)
    a = jnp.asarray(anchors)
    positive_distance = jnp.power(
        jnp.power(a - positives, norm_degree).sum(axis) + eps, 1 / norm_degree
    )
    negative_distance = jnp.power(
        jnp.power(a - negatives, norm_degree).sum(axis) + eps, 1 / norm_degree
    )
    return jnp.maximum(positive_distance - negative_distance + margin, 0)
