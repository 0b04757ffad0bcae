"""Programs in flax's style, run on minijax and on flax: the same numbers, bitwise.

Each program is written once against a namespace `nn` (flax.linen or minijax.nn),
the way flax's own examples write them: a decoder-only transformer LM whose blocks
run under `nn.scan` (with `nn.remat`), a seq2seq model with `nn.RNN` encoders and a
decoder that samples with dropout at every step, and a VAE that draws its noise from
an rng stream. For the same key, `init` gives the same variables, a forward pass
the same outputs and one SGD step the same new parameters, bitwise.
"""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import minijax.nn as mnn

pytestmark = pytest.mark.parity


def assert_bitwise(mine: Any, theirs: Any) -> None:
    assert jax.tree.structure(mine) == jax.tree.structure(theirs)
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(theirs), strict=True):
        np.testing.assert_array_equal(a, b)


def sgd_step(model: Any, variables: Any, loss: Any, *args: Any, rngs: Any = None) -> Any:
    def objective(params: Any) -> Any:
        out = model.apply({**variables, "params": params}, *args, rngs=rngs or {})
        return loss(out)

    grads = jax.grad(objective)(variables["params"])
    return jax.tree.map(lambda p, g: p - 0.1 * g, variables["params"], grads)


def run_both(build: Any, args: tuple[Any, ...], loss: Any, rngs: tuple[str, ...] = ()) -> Any:
    """init, a forward pass and one SGD step in both libraries, compared bitwise."""
    theirs_model, mine_model = build(fnn), build(mnn)
    key = jax.random.key(0)
    init_rngs = {"params": key, **{r: jax.random.fold_in(key, i + 1)
                                   for i, r in enumerate(rngs)}}
    v_theirs = theirs_model.init(init_rngs, *args)
    v_mine = mine_model.init(init_rngs, *args)
    assert_bitwise(v_mine, v_theirs)
    apply_rngs = {r: jax.random.fold_in(key, 10 + i) for i, r in enumerate(rngs)}
    assert_bitwise(mine_model.apply(v_mine, *args, rngs=apply_rngs),
                   theirs_model.apply(v_theirs, *args, rngs=apply_rngs))
    mine_step = sgd_step(mine_model, v_mine, loss, *args, rngs=apply_rngs)
    theirs_step = sgd_step(theirs_model, v_theirs, loss, *args, rngs=apply_rngs)
    assert_bitwise(mine_step, theirs_step)
    return v_mine


# --- a scanned transformer LM ----------------------------------------------------------

VOCAB, WIDTH, DEPTH = 11, 8, 3


def transformer_lm(nn: Any) -> Any:
    class Block(nn.Module):
        @nn.compact
        def __call__(self, x, _):
            h = nn.LayerNorm()(x)
            mask = nn.make_causal_mask(jnp.ones(x.shape[:2]))
            h = nn.SelfAttention(num_heads=2, qkv_features=WIDTH)(h, mask=mask)
            x = x + h
            h = nn.Dense(2 * WIDTH)(nn.LayerNorm()(x))
            return x + nn.Dense(WIDTH)(nn.relu(h)), None

    class LM(nn.Module):
        @nn.compact
        def __call__(self, tokens):
            embed = nn.Embed(VOCAB, WIDTH)
            x = embed(tokens)
            Blocks = nn.scan(nn.remat(Block), variable_axes={"params": 0},
                             split_rngs={"params": True}, length=DEPTH)
            x, _ = Blocks(name="blocks")(x, None)
            return embed.attend(nn.LayerNorm()(x))
    return LM()


def test_scanned_transformer_lm_equals_flax() -> None:
    tokens = jnp.asarray(np.random.default_rng(0).integers(0, VOCAB, (2, 6)))

    def loss(logits: Any) -> Any:
        logp = jax.nn.log_softmax(logits[:, :-1])
        return -jnp.mean(jnp.take_along_axis(logp, tokens[:, 1:, None], axis=-1))

    variables = run_both(transformer_lm, (tokens,), loss)
    assert variables["params"]["blocks"]["Dense_0"]["kernel"].shape == (DEPTH, WIDTH, 2 * WIDTH)


# --- seq2seq with nn.RNN ---------------------------------------------------------------


def seq2seq(nn: Any) -> Any:
    class DecoderCell(nn.RNNCellBase):
        @property
        def num_feature_axes(self):
            return 1

        @nn.compact
        def __call__(self, carry, x):
            carry, y = nn.LSTMCell(6, name="lstm")(carry, x)
            y = nn.Dropout(0.2, deterministic=False)(y)
            return carry, nn.Dense(VOCAB)(y)

    class Seq2Seq(nn.Module):
        @nn.compact
        def __call__(self, source, target):
            enc = nn.Bidirectional(nn.RNN(nn.GRUCell(6)), nn.RNN(nn.GRUCell(6)),
                                   return_carry=True)
            (c_fwd, c_bwd), _ = enc(nn.Embed(VOCAB, 4)(source))
            carry = (c_fwd, c_bwd)  # the LSTM's (c, h) starts from both directions
            dec = nn.RNN(DecoderCell(), split_rngs={"params": False, "dropout": True})
            return dec(nn.Embed(VOCAB, 4)(target), initial_carry=carry)
    return Seq2Seq()


def test_seq2seq_with_rnn_equals_flax() -> None:
    rng = np.random.default_rng(1)
    source = jnp.asarray(rng.integers(0, VOCAB, (2, 5)))
    target = jnp.asarray(rng.integers(0, VOCAB, (2, 4)))

    def loss(logits: Any) -> Any:
        return jnp.mean(jax.nn.logsumexp(logits, -1) - logits[..., 0])

    variables = run_both(seq2seq, (source, target), loss, rngs=("dropout",))
    assert set(variables["params"]["DecoderCell_0"]) == {"lstm", "Dense_0"}  # as in flax


# --- a VAE -----------------------------------------------------------------------------


def vae(nn: Any) -> Any:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x):
            h = nn.relu(nn.Dense(8, name="fc1")(x))
            return nn.Dense(2, name="fc2_mean")(h), nn.Dense(2, name="fc2_logvar")(h)

    class Decoder(nn.Module):
        @nn.compact
        def __call__(self, z):
            return nn.Dense(6, name="fc2")(nn.relu(nn.Dense(8, name="fc1")(z)))

    class VAE(nn.Module):
        def setup(self):
            self.encoder, self.decoder = Encoder(), Decoder()

        def __call__(self, x):
            mean, logvar = self.encoder(x)
            eps = jax.random.normal(self.make_rng("noise"), logvar.shape)
            z = mean + eps * jnp.exp(0.5 * logvar)
            return self.decoder(z), mean, logvar
    return VAE()


def test_vae_equals_flax() -> None:
    x = jnp.asarray(np.random.default_rng(2).uniform(size=(3, 6)), jnp.float32)

    def loss(out: Any) -> Any:
        logits, mean, logvar = out
        bce = jnp.sum(jax.nn.softplus(logits) - x * logits)
        kld = -0.5 * jnp.sum(1 + logvar - mean**2 - jnp.exp(logvar))
        return bce + kld

    variables = run_both(vae, (x,), loss, rngs=("noise",))
    assert sorted(variables["params"]) == ["decoder", "encoder"]
