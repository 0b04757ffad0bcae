r"""Connectionist temporal classification, the loss of sequence models whose output
is shorter than their input and not aligned with it (Graves et al., 2006; optax:
`ctc_loss` in `optax.losses._classification`).

A label sequence $l_1 \dots l_N$ is read from $T$ frames of class scores through
any *alignment*: a path of $T$ symbols that, after merging repeats and removing
the blank, spells $l$. The loss is $-\log$ of the probability summed over all
alignments. The forward algorithm sums them in $O(TN)$ with two log-probability
tables, updated once per frame by `jax.lax.scan`:

* $\alpha^\phi_t[n]$: the prefix $l_{1..n}$ has been emitted and the path is on a
  blank (or has not started, $n = 0$);
* $\alpha^e_t[n]$: the path is on the symbol $l_n$ itself.

Per frame a path stays where it is (a repeat of the same symbol or blank), moves from
blank to the next label, or from a label to blank; from a label straight to the next
one only if that is a different symbol (between two equal labels a blank is
compulsory). Log-space sums are `logaddexp`; impossible states hold `log_epsilon`
(a large negative number, not $-\infty$, so that gradients stay finite).

>>> import jax, jax.numpy as jnp
>>> logits = jnp.zeros((1, 3, 2))      # batch 1, 3 frames, blank + 1 class
>>> labels = jnp.array([[1]])
>>> float(ctc_loss(logits, jnp.zeros((1, 3)), labels, jnp.zeros((1, 1)))[0])  # -log(6/8)
0.2876...
"""

import jax
import jax.numpy as jnp

from minijax.optim.utils import check_rank, check_shapes_equal

__all__ = ["ctc_loss", "ctc_loss_with_forward_probs"]


def ctc_loss_with_forward_probs(
    logits: jax.typing.ArrayLike,
    logit_paddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    label_paddings: jax.typing.ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: jax.typing.ArrayLike = -1e5,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    r"""The CTC loss per sequence, and the forward tables $\alpha^\phi$, $\alpha^e$
    (optax: `ctc_loss_with_forward_probs`).

    Args:
        logits: `(B, T, K)` class scores per frame (softmax over `K` inside).
        logit_paddings: `(B, T)`, 1.0 for padded frames (after the sequence's end).
        labels: `(B, N)` integer labels.
        label_paddings: `(B, N)`, 1.0 for padded labels (at the end).
        blank_id: the class that is the blank.
        log_epsilon: the log-probability of an impossible state.

    Returns:
        `(loss, logalpha_phi, logalpha_emit)`: the loss `(B,)`, and the tables
        `(T, B, N + 1)` and `(T, B, N)`.

    Raises:
        ValueError: wrong ranks, or paddings and batch sizes that do not match.

    >>> import jax.numpy as jnp
    >>> loss, phi, emit = ctc_loss_with_forward_probs(
    ...     jnp.zeros((1, 3, 2)), jnp.zeros((1, 3)), jnp.array([[1]]), jnp.zeros((1, 1)))
    >>> phi.shape, emit.shape
    ((3, 1, 2), (3, 1, 1))
    """
    check_rank(logits, 3)
    check_rank(labels, 2)
    check_shapes_equal(labels, label_paddings)
    logits, labels = jnp.asarray(logits), jnp.asarray(labels)
    label_paddings, logit_paddings = jnp.asarray(label_paddings), jnp.asarray(logit_paddings)
    check_shapes_equal(logits[..., 0], logit_paddings)
    batchsize, _, num_classes = logits.shape
    if labels.shape[0] != batchsize:
        raise ValueError(
            f"ctc_loss: labels has batch size {labels.shape[0]} but logits {batchsize}; "
            "they must be equal."
        )
    maxlabellen = labels.shape[1]

    logprobs = jax.nn.log_softmax(logits)
    labellens = maxlabellen - jnp.sum(label_paddings, axis=1).astype(jnp.int32)

    # repeat[b, n] == 1.0 when label[b, n] == label[b, n + 1]: a blank must separate them.
    repeat = (labels[:, :-1] == labels[:, 1:]).astype(jnp.float32)
    repeat = jnp.pad(repeat, ((0, 0), (0, 1)))

    logprobs_phi = logprobs[:, :, blank_id : blank_id + 1]  # [B, T, 1]
    logprobs_phi = jnp.transpose(logprobs_phi, (1, 0, 2))  # [T, B, 1]
    one_hot = jax.nn.one_hot(labels, num_classes=num_classes)  # [B, N, K]
    logprobs_emit = jnp.einsum("btk,bnk->btn", logprobs, one_hot)
    logprobs_emit = jnp.transpose(logprobs_emit, (1, 0, 2))  # [T, B, N]

    logalpha_phi_init = jnp.ones((batchsize, maxlabellen + 1)) * log_epsilon  # [B, N + 1]
    logalpha_phi_init = logalpha_phi_init.at[:, 0].set(0.0)
    logalpha_emit_init = jnp.ones((batchsize, maxlabellen)) * log_epsilon  # [B, N]

    def update_phi_score(phi: jax.Array, added_score: jax.Array) -> jax.Array:
        """`phi[:, 1:]` plus `added_score`, in log space."""
        return jnp.concatenate([phi[:, :1], jnp.logaddexp(phi[:, 1:], added_score)], axis=-1)

    def loop_body(
        prev: tuple[jax.Array, jax.Array], x: tuple[jax.Array, jax.Array, jax.Array]
    ) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
        prev_phi, prev_emit = prev
        logprob_emit, logprob_phi, pad = x
        prev_phi_orig = prev_phi
        # label -> blank, without emitting (not before a repeated label)
        prev_phi = update_phi_score(prev_phi, prev_emit + log_epsilon * repeat)
        # blank -> next label, and label -> same label
        next_emit = jnp.logaddexp(prev_phi[:, :-1] + logprob_emit, prev_emit + logprob_emit)
        # blank -> blank
        next_phi = prev_phi + logprob_phi
        # label -> blank, emitting the blank (only before a repeated label)
        next_phi = update_phi_score(
            next_phi, prev_emit + logprob_phi + log_epsilon * (1.0 - repeat)
        )
        pad = pad.reshape((batchsize, 1))  # a padded frame changes nothing
        next_emit = pad * prev_emit + (1.0 - pad) * next_emit
        next_phi = pad * prev_phi_orig + (1.0 - pad) * next_phi
        return (next_phi, next_emit), (next_phi, next_emit)

    xs = (logprobs_emit, logprobs_phi, logit_paddings.transpose((1, 0)))
    _, (logalpha_phi, logalpha_emit) = jax.lax.scan(
        loop_body, (logalpha_phi_init, logalpha_emit_init), xs
    )

    # the last frame still needs the final label -> blank transition
    logalpha_phi_last = update_phi_score(logalpha_phi[-1], logalpha_emit[-1])
    logalpha_phi = logalpha_phi.at[-1].set(logalpha_phi_last)

    # the loss: -log alpha at the sequence's own length
    one_hot = jax.nn.one_hot(labellens, num_classes=maxlabellen + 1)  # [B, N + 1]
    per_seq_loss = -jnp.einsum("bn,bn->b", logalpha_phi_last, one_hot)
    return per_seq_loss, logalpha_phi, logalpha_emit


def ctc_loss(
    logits: jax.typing.ArrayLike,
    logit_paddings: jax.typing.ArrayLike,
    labels: jax.typing.ArrayLike,
    label_paddings: jax.typing.ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: jax.typing.ArrayLike = -1e5,
) -> jax.Array:
    """The CTC loss per sequence, `(B,)` (optax: `ctc_loss`); see
    `ctc_loss_with_forward_probs` for the arguments.

    >>> import jax.numpy as jnp
    >>> ctc_loss(jnp.zeros((2, 4, 3)), jnp.zeros((2, 4)), jnp.array([[1, 2], [1, 1]]),
    ...          jnp.zeros((2, 2))).shape
    (2,)
    """
    per_seq_loss, _, _ = ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, blank_id=blank_id,
        log_epsilon=log_epsilon,
    )
    return per_seq_loss
