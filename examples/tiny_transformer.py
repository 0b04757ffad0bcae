"""A tiny character-level GPT: causal self-attention trained on a sonnet, then sampled.

The post "Equinox and friends" ends by announcing a GPT-2 follow-up.
This is that model at toy size, in minijax.nn: token and position ``Embed``
tables, pre-norm blocks of ``LayerNorm -> SelfAttention`` (with
``make_causal_mask``, so position t sees only positions <= t) and
``LayerNorm -> MLP``, both with residual connections, then a final
``LayerNorm`` and a ``Dense`` to the vocabulary. It learns to predict the next
character of a short built-in text (Shakespeare's sonnet 18) with
``softmax_cross_entropy_with_integer_labels`` and ``adamw``, and then writes a
few lines, one character at a time. `fit` runs the training steps with a
progress bar.

Result at the defaults: the training loss falls to 0.11 nats per character
(uniform guessing is ln(40) = 3.69), and the samples begin with the sonnet's
opening lines.

Run:  python examples/tiny_transformer.py [--steps 300] [--out examples/out]
"""

import jax
import jax.numpy as jnp
import numpy as np
from _common import Timer, parser, pyplot, save

import minijax.nn as nn
import minijax.optim as optax
from minijax.train import TrainState, fit

TEXT = """Shall I compare thee to a summer's day?
Thou art more lovely and more temperate:
Rough winds do shake the darling buds of May,
And summer's lease hath all too short a date;
Sometime too hot the eye of heaven shines,
And often is his gold complexion dimm'd;
And every fair from fair sometime declines,
By chance or nature's changing course untrimm'd;
But thy eternal summer shall not fade,
Nor lose possession of that fair thou ow'st;
Nor shall death brag thou wander'st in his shade,
When in eternal lines to time thou grow'st:
So long as men can breathe or eyes can see,
So long lives this, and this gives life to thee.
"""


class Block(nn.Module):
    num_heads: int

    @nn.compact
    def __call__(self, x, mask):
        d = x.shape[-1]
        x = x + nn.SelfAttention(num_heads=self.num_heads)(nn.LayerNorm()(x), mask=mask)
        h = nn.gelu(nn.Dense(4 * d)(nn.LayerNorm()(x)))
        return x + nn.Dense(d)(h)


class TinyGPT(nn.Module):
    vocab_size: int
    block_size: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2

    @nn.compact
    def __call__(self, tokens):
        # tokens: (batch, T) integer ids, T <= block_size. Returns (batch, T, vocab) logits.
        T = tokens.shape[-1]
        x = nn.Embed(self.vocab_size, self.d_model)(tokens)
        x = x + nn.Embed(self.block_size, self.d_model)(jnp.arange(T))
        mask = nn.make_causal_mask(tokens)  # (batch, 1, T, T): lower triangle
        for _ in range(self.num_layers):
            x = Block(self.num_heads)(x, mask)
        x = nn.LayerNorm()(x)
        return nn.Dense(self.vocab_size)(x)


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--block-size", type=int, default=48)
    p.add_argument("--chars", type=int, default=160, help="characters to sample")
    p.add_argument("--temperature", type=float, default=0.5)
    args = p.parse_args()
    steps = 40 if args.quick else args.steps
    n_chars = 40 if args.quick else args.chars

    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = np.array([stoi[c] for c in TEXT], dtype=np.int32)
    V, T = len(chars), args.block_size
    print(f"text: {len(TEXT)} characters, vocabulary {V}, context {T}")

    # --quick: one block of width 32, so that compiling takes seconds, not tens.
    size = dict(d_model=32, num_layers=1) if args.quick else {}
    model = TinyGPT(vocab_size=V, block_size=T, **size)
    key = jax.random.PRNGKey(args.seed)
    key, init_key = jax.random.split(key)
    # jit the init: one compilation instead of one per initializer shape.
    params = jax.jit(model.init)(init_key, jnp.zeros((1, T), jnp.int32))["params"]
    n_params = sum(a.size for a in jax.tree.leaves(params))
    print(f"parameters: {n_params:,}")
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(3e-3, weight_decay=1e-2))
    state = TrainState.create(apply_fn=model.apply, params=params, tx=tx)

    @jax.jit
    def train_step(state, key):
        # A batch of random windows: inputs text[i:i+T], targets text[i+1:i+T+1].
        starts = jax.random.randint(key, (args.batch_size,), 0, len(data) - T - 1)
        idx = starts[:, None] + jnp.arange(T)[None, :]
        x, y = jnp.asarray(data)[idx], jnp.asarray(data)[idx + 1]

        def loss_fn(params):
            logits = state.apply_fn({"params": params}, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    # `fit` runs the steps with a progress bar. A batch is a key (the step draws its own
    # windows), and an "epoch" is a sixth of the steps, each with fresh keys.
    rounds = 6 if steps >= 6 else 1

    def batch_keys(epoch):
        return jax.random.split(jax.random.fold_in(key, epoch), steps // rounds)

    def step(state, batch_key):
        state, loss = train_step(state, batch_key)
        return state, {"loss": loss}

    with Timer("train"):
        state, history = fit(state, batch_keys, train_step=step, epochs=rounds)
    losses = history.step["loss"]
    per_round = steps // rounds
    for epoch, loss in enumerate(history.epoch["loss"], start=1):
        print(f"step {epoch * per_round:4d}: loss {loss:.3f} (mean of its {per_round} steps)")
    print(f"final loss: {np.mean(losses[-20:]):.3f} (uniform guessing: {np.log(V):.3f})")

    @jax.jit
    def next_token(params, window, length, key, temperature):
        # window: (T,) padded on the right. The causal mask means padding after
        # position length-1 cannot change the logits there.
        logits = model.apply({"params": params}, window[None])[0, length - 1]
        return jax.random.categorical(key, logits / temperature)

    prompt = "Shall I"
    tokens = [stoi[c] for c in prompt]
    for _ in range(n_chars):
        context = tokens[-T:]
        window = jnp.zeros(T, jnp.int32).at[: len(context)].set(jnp.array(context))
        key, k = jax.random.split(key)
        tokens.append(int(next_token(state.params, window, len(context), k, args.temperature)))
    sample = "".join(chars[t] for t in tokens)
    print("sample:")
    print(sample)

    plt = pyplot(args)
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(losses, label="training batch")
        ax.set_title("Tiny transformer on a sonnet")
        ax.axhline(np.log(V), color="gray", ls="--", label="uniform guess")
        ax.set_xlabel("step")
        ax.set_ylabel("cross-entropy (nats/char)")
        ax.legend()
        save(fig, args, "tiny_transformer.png")


if __name__ == "__main__":
    main()
