"""A transformer language model trained on 8 devices: data and tensor parallel by axis names.

The model is flax's lm1b example (`examples/lm1b/models.py`, a decoder-only
`TransformerLM`) shrunk to toy size and written with minijax.nn. Every kernel,
embedding and norm parameter is created with `nn.with_logical_partitioning(init,
names)`, naming its axes by meaning (`("embed", "mlp")`), and the activations are
constrained with `nn.with_logical_constraint(x, ("batch", "length", "embed"))`.
One table of rules maps the names to the axes of a `(data=2, model=4)` mesh:

* `batch -> data`: each half of the devices gets half of every batch (data parallel);
* `mlp`, `heads`, `kv`, `vocab -> model`: the MLP, the attention heads and the
  vocabulary are split four ways (tensor parallel, as in Megatron-LM);
* `embed -> data`: the parameters are also split over the data axis (as FSDP does);
  an activation's `embed` axis stays whole because `batch` took `data` first.

The parameters are created directly in their shards: `jax.eval_shape` gives the
boxes, `nn.get_partition_spec` their logical specs, `nn.logical_to_mesh_sharding`
the shardings, and `jax.jit(create_state, out_shardings=...)` runs the initializers
on the devices that hold each shard. Then the unchanged train step runs on the mesh;
XLA inserts the communication. The script checks that one step on 8 devices equals
the step on one device, then learns a toy task (count on: each token is the previous
one plus one).

On a CPU it simulates 8 devices (`--xla_force_host_platform_device_count=8`).

Result at the defaults (about 20 seconds on two CPU cores): one step on the 8-device
mesh equals the single-device step (loss 4.516536 vs 4.516535, largest difference in
the new state 6.0e-08: the sums are reduced in another order), and after 60 steps the
loss is 0.296 nats per token (uniform guessing: ln 64 = 4.159).

Run:  python examples/lm_model_parallel.py [--steps 60]
"""

import os

if "device_count" not in os.environ.get("XLA_FLAGS", ""):  # before jax starts
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count=8".strip()

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

import minijax.nn as nn
import minijax.optim as optax
from minijax import struct, traverse_util
from minijax.train import TrainState

RULES = (
    ("batch", "data"),
    ("vocab", "model"),
    ("mlp", "model"),
    ("heads", "model"),
    ("kv", "model"),
    ("embed", "data"),
    ("length", None),
)


@struct.dataclass
class LMConfig:
    """The hyperparameters (lm1b's `TransformerConfig`, smaller)."""

    vocab_size: int = 64
    emb_dim: int = 32
    num_heads: int = 4
    qkv_dim: int = 32
    mlp_dim: int = 64
    num_layers: int = 2
    max_len: int = 32
    dropout_rate: float = 0.0
    deterministic: bool = True


def boxed(init: Any, *names: str | None) -> Any:
    return nn.with_logical_partitioning(init, names)


kernel_init = nn.initializers.xavier_uniform()
bias_init = nn.initializers.normal(stddev=1e-6)


def sinusoidal_table(max_len: int, features: int) -> np.ndarray:
    """lm1b's fixed position embeddings: sines and cosines of geometric frequencies."""
    position = np.arange(max_len)[:, None]
    div = np.exp(np.arange(features // 2) * -np.log(10000.0) / (features // 2 - 1))
    return np.concatenate([np.sin(position * div), np.cos(position * div)], axis=-1)[None]


class MlpBlock(nn.Module):
    config: LMConfig

    @nn.compact
    def __call__(self, x):
        cfg = self.config
        h = nn.Dense(cfg.mlp_dim, kernel_init=boxed(kernel_init, "embed", "mlp"),
                     bias_init=boxed(bias_init, "mlp"))(x)
        h = nn.with_logical_constraint(nn.relu(h), ("batch", "length", "mlp"))
        h = nn.Dropout(cfg.dropout_rate)(h, deterministic=cfg.deterministic)
        return nn.Dense(x.shape[-1], kernel_init=boxed(kernel_init, "mlp", "embed"),
                        bias_init=boxed(bias_init, "embed"))(h)


class SelfAttention(nn.Module):
    """Multi-head causal self-attention; q, k, v split by heads over the model axis."""

    config: LMConfig

    @nn.compact
    def __call__(self, x, mask):
        cfg = self.config
        head_dim = cfg.qkv_dim // cfg.num_heads

        def project(name):
            y = nn.Dense(cfg.qkv_dim, use_bias=False, name=name,
                         kernel_init=boxed(kernel_init, "embed", "kv"))(x)
            y = y.reshape((*x.shape[:2], cfg.num_heads, head_dim))
            return nn.with_logical_constraint(y, ("batch", "length", "heads", None))

        q, k, v = project("query"), project("key"), project("value")
        y = nn.dot_product_attention(q, k, v, mask=mask, deterministic=True)
        y = y.reshape((*x.shape[:2], cfg.qkv_dim))
        return nn.Dense(x.shape[-1], use_bias=False, name="out",
                        kernel_init=boxed(kernel_init, "kv", "embed"))(y)


def layer_norm(name=None):
    return nn.LayerNorm(name=name, scale_init=boxed(nn.initializers.ones, "embed"),
                        bias_init=boxed(nn.initializers.zeros, "embed"))


class DecoderBlock(nn.Module):
    config: LMConfig

    @nn.compact
    def __call__(self, x, mask):
        cfg = self.config
        y = SelfAttention(cfg)(layer_norm()(x), mask)
        x = x + nn.Dropout(cfg.dropout_rate)(y, deterministic=cfg.deterministic)
        x = x + MlpBlock(cfg)(layer_norm()(x))
        return nn.with_logical_constraint(x, ("batch", "length", "embed"))


class TransformerLM(nn.Module):
    """lm1b's decoder-only language model: `(batch, length)` ids to next-token logits."""

    config: LMConfig

    @nn.compact
    def __call__(self, inputs):
        cfg = self.config
        mask = nn.combine_masks(nn.make_attention_mask(inputs > 0, inputs > 0),
                                nn.make_causal_mask(inputs))
        y = jnp.pad(inputs, ((0, 0), (1, 0)))[:, :-1]  # shift right: predict token t from < t
        embed = nn.Embed(cfg.vocab_size, cfg.emb_dim,
                         embedding_init=boxed(nn.initializers.normal(1.0), "vocab", "embed"))
        y = embed(y) + sinusoidal_table(cfg.max_len, cfg.emb_dim)[:, : inputs.shape[1]]
        y = nn.with_logical_constraint(y, ("batch", "length", "embed"))
        for i in range(cfg.num_layers):
            y = DecoderBlock(cfg, name=f"encoderdecoderblock_{i}")(y, mask)
        y = layer_norm("encoderdecoder_norm")(y)
        logits = nn.Dense(cfg.vocab_size, name="logitdense",
                          kernel_init=boxed(kernel_init, "embed", "vocab"),
                          bias_init=boxed(bias_init, "vocab"))(y)
        return nn.with_logical_constraint(logits, ("batch", "length", "vocab"))


def create_state(key, model, tx, batch_shape=(2, 8)):
    """A `TrainState` whose params (and so optimizer state) are boxed with their names.

    Pass the same `model` object every time: `apply_fn=model.apply` is static data
    of the state, and bound methods of two equal models do not compare equal.
    """
    params = model.init(key, jnp.ones(batch_shape, jnp.int32))["params"]
    return TrainState.create(apply_fn=model.apply, params=params, tx=tx)


def sharded_state(key, model, tx, mesh, rules=RULES):
    """`(state, shardings)`: the state created in its shards on `mesh`, unboxed."""
    abstract = jax.eval_shape(lambda k: create_state(k, model, tx), key)
    shardings = nn.logical_to_mesh_sharding(nn.get_partition_spec(abstract), mesh, rules)
    state = jax.jit(lambda k: create_state(k, model, tx), out_shardings=shardings)(key)
    return nn.unbox(state), shardings


def loss_fn(params, state, inputs):
    """Mean next-token cross entropy over the non-padding (non-zero) tokens."""
    logits = state.apply_fn({"params": params}, inputs)
    weights = (inputs > 0).astype(jnp.float32)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, inputs)
    return jnp.sum(losses * weights) / jnp.sum(weights)


def train_step(state, inputs):
    loss, grads = jax.value_and_grad(loss_fn)(state.params, state, inputs)
    return state.apply_gradients(grads=grads), loss


def make_mesh(data=2, model=4):
    return jax.make_mesh((data, model), ("data", "model"), axis_types=(AxisType.Auto,) * 2)


def sharded_train_step(mesh, shardings, rules=RULES):
    """The jitted step on `mesh`: the state keeps its shardings, batches split on `data`."""
    batch = NamedSharding(mesh, P("data"))
    step = jax.jit(train_step, in_shardings=(shardings, batch), out_shardings=(shardings, None))

    def run(state, inputs):
        with jax.set_mesh(mesh), nn.logical_axis_rules(rules):  # read while tracing
            return step(state, inputs)

    return run


def count_on_batch(key, batch, length, vocab):
    """Rows `s, s+1, s+2, ...` (mod vocab, skipping the padding id 0)."""
    start = jax.random.randint(key, (batch, 1), 0, vocab - 1)
    return (start + jnp.arange(length)) % (vocab - 1) + 1


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--quick", action="store_true", help="a few steps (the smoke test)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="unused (the examples' common flag)")
    args = p.parse_args(argv)
    if jax.device_count() < 8:
        raise SystemExit(f"needs 8 devices, found {jax.device_count()}: run on a CPU or "
                         "set XLA_FLAGS=--xla_force_host_platform_device_count=8")
    config, tx = LMConfig(), optax.sgd(0.5, momentum=0.9)
    model, mesh = TransformerLM(config), make_mesh()
    key, data_key = jax.random.split(jax.random.key(args.seed))
    state, shardings = sharded_state(key, model, tx, mesh)
    print(f"mesh {dict(mesh.shape)}; rules {RULES}")
    flat = traverse_util.flatten_dict(state.params, sep="/")
    for path in ("Embed_0/embedding", "encoderdecoderblock_0/MlpBlock_0/Dense_0/kernel",
                 "encoderdecoderblock_0/SelfAttention_0/out/kernel", "logitdense/kernel"):
        arr = flat[path]
        shard = arr.addressable_shards[0].data.shape
        print(f"  {path:50s} {arr.shape!s:10s} {arr.sharding.spec} shard {shard}")

    batch = count_on_batch(data_key, 16, 16, config.vocab_size)
    step8 = sharded_train_step(mesh, shardings)
    one, loss1 = jax.jit(train_step)(jax.device_put(state, jax.devices()[0]), batch)
    eight, loss8 = step8(state, batch)
    diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
               for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight), strict=True))
    print(f"one step, 8 devices vs 1 device: loss {float(loss8):.6f} vs {float(loss1):.6f}, "
          f"largest difference in the new state {diff:.1e}")

    steps = 5 if args.quick else args.steps
    for i in range(steps):
        data_key, k = jax.random.split(data_key)
        state, loss = step8(state, count_on_batch(k, 16, 16, config.vocab_size))
        if (i + 1) % max(1, steps // 6) == 0 or i + 1 == steps:
            print(f"step {i + 1:4d}: loss {float(loss):.3f}")
    print(f"final loss: {float(loss):.3f} (uniform guessing: {np.log(config.vocab_size):.3f})")


if __name__ == "__main__":
    main()
