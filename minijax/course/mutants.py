"""Planted bugs: one realistic slip each, inside one task's region.

They grade the students' property tests (A1.P, A5.P: the share of mutants that the
tests catch) and check the course's own tests (a mutant-of-solution submission must
score less than full marks). Never shipped to students.

>>> sum(m.task.startswith("A1.") for m in MUTANTS), sum(m.task.startswith("A5.") for m in MUTANTS)
(14, 15)
"""

from dataclasses import dataclass
from pathlib import Path

from minijax.course import manifest, regions

__all__ = ["MUTANTS", "Mutant", "apply_mutant", "mutants_for"]


@dataclass(frozen=True)
class Mutant:
    """Replace `old` (once, inside `task`'s regions of `file`) with `new`."""

    id: str
    task: str
    file: str
    old: str
    new: str
    description: str


def _m(id: str, task: str, old: str, new: str, description: str) -> Mutant:
    return Mutant(id, task, manifest.task(task).files[0], old, new, description)


MUTANTS: tuple[Mutant, ...] = (
    # --- A1: activations and losses (graded A1.P) ---------------------------------
    _m("softmax-no-max-shift", "A1.1",
       "jnp.exp(x_safe - lax.stop_gradient(x_max))", "jnp.exp(x_safe)",
       "softmax without the max shift (overflows for large inputs)"),
    _m("log-softmax-no-max-shift", "A1.1",
       "shifted = x_safe - lax.stop_gradient(x_max)", "shifted = x_safe",
       "log_softmax without the max shift"),
    _m("softmax-wrong-axis", "A1.1",
       "unnormalized / jnp.sum(unnormalized, axis, where=where, keepdims=True)",
       "unnormalized / jnp.sum(unnormalized, -1, where=where, keepdims=True)",
       "softmax normalizes over the last axis whatever `axis` is"),
    _m("log-softmax-no-keepdims", "A1.1",
       "jnp.log(jnp.sum(jnp.exp(shifted), axis, where=where, keepdims=True))",
       "jnp.log(jnp.sum(jnp.exp(shifted), axis, where=where))", "log_softmax drops keepdims"),
    _m("log-softmax-sign", "A1.1", "result = shifted - shifted_logsumexp",
       "result = shifted + shifted_logsumexp",
       "log_softmax adds the log-normalizer"),
    _m("log-softmax-stop-gradient-misplaced", "A1.1",
       "shifted - shifted_logsumexp", "shifted - lax.stop_gradient(shifted_logsumexp)",
       "stop_gradient around the log-normalizer: right values, wrong gradient"),
    _m("gelu-cubic-term", "A1.2", "0.044715 * x**3", "0.044715 * x**2",
       "gelu's tanh form with x^2 for x^3"),
    _m("gelu-erfc-sign", "A1.2", "lax.erfc(-x * sqrt_half)", "lax.erfc(x * sqrt_half)",
       "exact gelu with the sign of erfc's argument flipped"),
    _m("gelu-forms-swapped", "A1.2", "if approximate:", "if not approximate:",
       "gelu's two forms swapped"),
    _m("cross-entropy-sign", "A1.3", "return -(labels * log_probs).sum(axis, where=mask)",
       "return (labels * log_probs).sum(axis, where=mask)", "cross-entropy without the minus"),
    _m("cross-entropy-mean", "A1.3", "-(labels * log_probs).sum(axis, where=mask)",
       "-(labels * log_probs).mean(axis, where=mask)", "a mean over classes for the sum"),
    _m("integer-labels-max", "A1.3", "jax.nn.logsumexp(logits, axis=axis, where=where)",
       "jnp.max(logits, axis=axis, where=where, initial=-jnp.inf)",
       "the max of the logits for logsumexp"),
    _m("huber-no-delta", "A1.4", "0.5 * quadratic**2 + delta * linear",
       "0.5 * quadratic**2 + linear", "the linear part not scaled by delta"),
    _m("huber-no-abs", "A1.4", "quadratic = jnp.minimum(abs_errors, delta)",
       "quadratic = jnp.minimum(errors, delta)", "min of the signed error"),
    # --- A5: layers (graded A5.P) -------------------------------------------------
    _m("conv-no-bias", "A5.1", "promote_dtype(inputs, kernel, bias, dtype=module.dtype)",
       "promote_dtype(inputs, kernel, None, dtype=module.dtype)", "Conv drops its bias"),
    _m("conv-mask-ignored", "A5.1", "kernel = kernel * mask", "kernel = kernel",
       "Conv ignores its mask"),
    _m("stats-var-minus-mean", "A5.2", "mean_sq - _abs_sq(mean)",
       "mean_sq - mean", "variance as E[x^2] - E[x]"),
    _m("normalize-eps-outside", "A5.2", "mul = lax.rsqrt(var + epsilon)",
       "mul = lax.rsqrt(var) + epsilon", "epsilon added outside the square root"),
    _m("normalize-not-centered", "A5.2", "y = x - mean", "y = x", "the mean not subtracted"),
    _m("normalize-no-bias", "A5.2", "y = y + bias", "y = y",
       "the bias param created but not added"),
    _m("batchnorm-momentum-swapped", "A5.3",
       "ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean",
       "ra_mean.value = (1 - self.momentum) * ra_mean.value + self.momentum * mean",
       "the running mean with momentum and 1 - momentum swapped"),
    _m("batchnorm-var-from-mean", "A5.3", "(1 - self.momentum) * var",
       "(1 - self.momentum) * mean", "the running variance updated with the mean"),
    _m("batchnorm-eval-batch-stats", "A5.3", "mean, var = ra_mean.value, ra_var.value",
       "mean, var = compute_stats(x, reduction_axes, self.dtype)",
       "batch statistics at evaluation"),
    _m("dropout-no-rescale", "A5.4", "inputs / keep", "inputs",
       "kept entries not scaled by 1 / (1 - rate)"),
    _m("dropout-rate-for-keep", "A5.4", "p=keep", "p=self.rate",
       "rate used as the keep probability"),
    _m("dropout-broadcast-ignored", "A5.4", "mask_shape[dim] = 1",
       "mask_shape[dim] = mask_shape[dim]", "broadcast_dims ignored"),
    _m("pool-over-batch", "A5.5", "dims = (1,) * num_batch + window + (1,)",
       "dims = window + (1,) * num_batch + (1,)", "the window laid on the batch axes"),
    _m("pool-no-strides", "A5.5", "full_strides = (1,) * num_batch + stride + (1,)",
       "full_strides = (1,) * (num_batch + len(window) + 1)", "strides ignored"),
    _m("embed-wrong-axis", "A5.6", "jnp.take(embedding, inputs, axis=0)",
       "jnp.take(embedding, inputs, axis=1)", "columns looked up for rows"),
    # --- one per task of the other assignments --------------------------------------
    _m("unflatten-reversed", "A0.1", "zip(data_names, children, strict=True)",
       "zip(reversed(data_names), children, strict=True)", "children put back in reverse"),
    _m("replace-returns-self", "A0.2", "return dataclasses.replace(self, **changes)",
       "return self", "replace ignores the changes"),
    _m("derive-first-part-only", "A0.3", "static_hash(*parts)", "static_hash(*parts[:1])",
       "derive hashes only the first part"),
    _m("next-no-advance", "A0.4", "stream: count + 1", "stream: count",
       "next does not advance the count"),
    _m("softplus-bwd-no-cotangent", "A2.1", "g * jax.nn.sigmoid(x)", "jax.nn.sigmoid(x)",
       "the cotangent not multiplied in"),
    _m("logsumexp-bwd-no-cotangent", "A2.2", "g[..., None] * probs", "probs",
       "the cotangent not multiplied in"),
    _m("linear-bwd-mean", "A2.3", "x2.T @ g2,", "x2.T @ g2 / x2.shape[0],",
       "the kernel cotangent averaged over the batch"),
    _m("apply-updates-dtype", "A3.1", "jnp.asarray(p + u).astype(jnp.asarray(p).dtype)",
       "jnp.asarray(p + u)", "the sum not cast back to the params' dtype"),
    _m("trace-swapped", "A3.2", "return g + decay * t", "return decay * g + t",
       "decay on the gradient, not the trace"),
    _m("adam-b1-b2-swapped", "A3.3", "update_moment(updates, state.mu, b1, 1)",
       "update_moment(updates, state.mu, b2, 1)", "b2 for the first moment"),
    _m("chain-state-reversed", "A3.4", "new_state.append(inner_state)",
       "new_state.insert(0, inner_state)", "the inner states in reverse order"),
    _m("decay-round", "A3.5", "p = jnp.floor(p)", "p = jnp.round(p)",
       "staircase rounds instead of flooring"),
    _m("param-fixed-key", "A4.1", 'init_fn(self.make_rng("params"), *init_args, **init_kwargs)',
       "init_fn(jax.random.key(0), *init_args, **init_kwargs)", "every param from key 0"),
    _m("make-rng-no-count", "A4.2", "counts[name] = n = counts.get(name, 0) + 1",
       "counts[name] = n = counts.get(name, 0)", "the draw counter never advances"),
    _m("dense-kernel-transposed", "A4.3", "(jnp.shape(inputs)[-1], self.features)",
       "(self.features, jnp.shape(inputs)[-1])", "the kernel's shape transposed"),
    _m("train-state-no-step", "A6.1", "step=self.step + 1", "step=self.step",
       "the step count not advanced"),
    _m("train-step-drops-updates", "A6.2", "state.apply_gradients(grads=grads, **updates)",
       "state.apply_gradients(grads=grads)", "the state updates of the aux dropped"),
    _m("scan-reversed", "A6.3", "jax.lax.scan(step, state, batches, unroll=unroll)",
       "jax.lax.scan(step, state, batches, unroll=unroll, reverse=True)",
       "the batches scanned in reverse"),
    _m("attention-scale-by-depth", "A7.1", "query / jnp.sqrt(depth).astype(dtype)",
       "query / jnp.asarray(depth).astype(dtype)", "queries divided by d, not sqrt(d)"),
    _m("causal-strict", "A7.2", "jnp.greater_equal", "jnp.greater",
       "a position cannot attend to itself"),
    _m("lstm-gates-swapped", "A7.3", "new_c = f * c + i * g", "new_c = i * c + f * g",
       "the input and forget gates swapped"),
    _m("gru-z-swapped", "A7.4", "return (1.0 - z) * n + z * h", "return z * n + (1.0 - z) * h",
       "z and 1 - z swapped"),
)


def mutants_for(task_ids: list[str] | tuple[str, ...]) -> list[Mutant]:
    """The mutants planted in the regions of `task_ids`."""
    return [m for m in MUTANTS if m.task in task_ids]


def apply_mutant(tree: Path, m: Mutant) -> str:
    """Plant `m` in `tree`; returns the file's original text (to restore it)."""
    path = tree / m.file
    text = path.read_text(encoding="utf-8")
    bodies = regions.region_bodies(text, m.task, m.file)
    hits = sum(b.count(m.old) for b in bodies)
    if hits != 1:
        raise ValueError(f"mutant {m.id}: {m.old!r} occurs {hits} times in the regions of "
                         f"{m.task} in {m.file}; it must occur exactly once.")
    mutated = regions.replace_bodies(text, m.task, [b.replace(m.old, m.new) for b in bodies],
                                     m.file)
    path.write_text(mutated, encoding="utf-8")
    return text
