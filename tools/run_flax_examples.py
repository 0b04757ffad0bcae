"""Run flax's linen examples on minijax with only the imports swapped, and compare with flax.

The examples: mnist, vae, seq2seq, sst2, lm1b (in float32 and in bfloat16, its default),
imagenet (its smallest ResNet) and wmt (with its beam search).

    python tools/run_flax_examples.py /path/to/flax                 # all of them, both sides
    python tools/run_flax_examples.py /path/to/flax --only vae sst2
    python tools/run_flax_examples.py /path/to/flax --child vae [--reference]   # one side

The source tree is a checkout of the pinned flax release (0.12.8). Its mnist is written
with ``flax.nnx`` (since 0.12.3), which minijax does not rebuild; the linen mnist of
flax 0.12.2 runs from that release's tree (``--only mnist``). Nothing from it is
copied into this repository: each example's own modules (``models.py``, ``train.py``,
``configs/default.py``, ...) are imported from ``<flax>/examples/<name>/``, in a fresh
subprocess per example and side:

* on minijax, ``tools/conformance_shim.py`` answers every ``flax...`` and ``optax...``
  import from minijax (``flax.linen`` is ``minijax.nn``, ``optax`` is ``minijax.optim``,
  ``flax.training.train_state`` is ``minijax.train.state``); a name minijax lacks fails
  where it is used, never falls back to flax;
* with ``--reference`` the same program runs on the installed flax and optax.

Third-party modules the examples import but that are not under test (tensorflow,
tensorflow_datasets, clu, sentencepiece, ml_collections, tensorboard) are answered by
small fakes (`FakeFinder`): importable, with a dict-like ``ConfigDict``; anything
else in them raises when called. Each example's config comes from its
``configs/default.py`` (or its flags), shrunk to tiny sizes, and its batches are
synthetic, drawn from a fixed numpy seed, so both sides see the same data and keys.

Each side runs the example's own init (``create_train_state``, ``get_train_state``,
``model.init`` + ``TrainState.create``, ``utils.setup_initial_state``), two of its train
steps and its eval step, and saves the parameters after init and after the steps, the
losses and the eval outputs. The parent compares the two sides: the largest absolute
difference and the largest relative one (``max|a - b| / max|b|`` per array), or
``bitwise``, and prints a table.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
EXAMPLES = ("mnist", "vae", "seq2seq", "sst2", "lm1b", "lm1b-bf16", "imagenet", "wmt")


# --- fakes for the modules that are not under test -----------------------------------

FAKE_ROOTS = ("tensorflow", "tensorflow_datasets", "tensorflow_text", "clu", "sentencepiece",
              "ml_collections", "tensorboard")


class ConfigDict(dict[str, Any]):
    """A dict with attribute access: the part of ``ml_collections.ConfigDict`` used here."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value


def _unavailable(name: str) -> Any:
    """A stand-in for ``name``: a class (so it also works in annotations such as
    ``tf.data.Dataset | None``) whose attributes are stand-ins and whose call raises."""

    class Meta(type):
        def __getattr__(cls, attr: str) -> Any:
            if attr.startswith("__"):
                raise AttributeError(attr)
            return _fake_attr(f"{name}.{attr}")

    def fail(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"{name} is a fake in run_flax_examples.py; the runner does not "
                           "call the example's data pipeline or logging")

    return Meta(name.rsplit(".", 1)[-1], (), {"__init__": fail})


OVERRIDES: dict[str, Any] = {
    "ml_collections.ConfigDict": ConfigDict,
    "tensorflow.random.set_seed": lambda seed: None,
}


def _fake_attr(name: str) -> Any:
    return OVERRIDES.get(name) or _unavailable(name)


class FakeFinder:
    """Answers imports of `FAKE_ROOTS` (and their submodules) with fake modules."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".")[0] not in FAKE_ROOTS:
            return None
        import importlib.machinery

        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = (  # type: ignore[method-assign]
            lambda attr: _fake_attr(f"{spec.name}.{attr}"))
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


# --- what the two sides save -----------------------------------------------------------


def flatten(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """``{"a/b/c": array}`` for a nested mapping (dict, FrozenDict, nnx.State) of arrays."""
    if isinstance(tree, Mapping) or hasattr(tree, "items"):
        out: dict[str, np.ndarray] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}/"))
        return out
    if hasattr(tree, "unbox"):  # a boxed parameter (LogicallyPartitioned, ...)
        tree = tree.unbox()
    if hasattr(tree, "value") and not hasattr(tree, "shape"):  # an nnx.Variable
        tree = tree.value
    return {prefix.rstrip("/"): np.asarray(tree)}


class Recorder:
    """Collects the arrays of one side and the stage it reached."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.stage = "import"

    def save(self, group: str, tree: Any) -> None:
        for key, value in flatten(tree).items():
            self.arrays[f"{group}::{key}"] = value


def rng_batch(seed: int = 0) -> np.random.RandomState:
    return np.random.RandomState(seed)


def load_config(src: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("example_default_config",
                                                  src / "configs" / "default.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config()


# --- the examples ----------------------------------------------------------------------
# Each drives the example's own functions the way its train_and_evaluate does, on tiny
# synthetic data. The imports happen inside, after the shim or the reference is set up.


def run_mnist_linen(src: Path, rec: Recorder) -> None:
    """flax <= 0.12.2's mnist, written with flax.linen (0.12.3 rewrote it with nnx):
    its `create_train_state`, two steps of its jitted `apply_model` and `update_model`
    (the body of its `train_epoch`), then `apply_model` on a test batch."""
    import jax

    config = load_config(src)
    config.batch_size = 4
    import train  # the example's train.py (flax.linen)

    rs = rng_batch()
    n = 2 * config.batch_size
    data = {"image": rs.rand(n, 28, 28, 1).astype(np.float32),
            "label": rs.randint(0, 10, n).astype(np.int32)}
    test = {"image": rs.rand(4, 28, 28, 1).astype(np.float32),
            "label": rs.randint(0, 10, 4).astype(np.int32)}
    rec.stage = "init"
    state = train.create_train_state(jax.random.key(0), config)
    rec.save("params_init", state.params)
    rec.stage = "train"
    for step in range(2):  # the body of its train_epoch, one batch at a time
        batch = slice(step * config.batch_size, (step + 1) * config.batch_size)
        grads, loss, accuracy = train.apply_model(state, data["image"][batch],
                                                  data["label"][batch])
        state = train.update_model(state, grads)
        rec.save(f"loss_{step}", {"loss": loss, "accuracy": accuracy})
    rec.save("params_final", state.params)
    rec.stage = "eval"
    _, test_loss, test_accuracy = train.apply_model(state, test["image"], test["label"])
    rec.save("eval", {"loss": test_loss, "accuracy": test_accuracy})


def run_mnist(src: Path, rec: Recorder) -> None:
    if "nnx" not in (src / "train.py").read_text():  # flax <= 0.12.2: linen
        return run_mnist_linen(src, rec)
    config = load_config(src)
    config.batch_size = 4
    import optax
    import train  # the example's train.py (flax.nnx)
    from flax import nnx

    rs = rng_batch()
    batches = [{"image": rs.rand(config.batch_size, 28, 28, 1).astype(np.float32),
                "label": rs.randint(0, 10, config.batch_size).astype(np.int32)}
               for _ in range(3)]
    rec.stage = "init"
    model = train.CNN(rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(config.learning_rate, config.momentum),
                              wrt=nnx.Param)
    metrics = nnx.MultiMetric(accuracy=nnx.metrics.Accuracy(),
                              loss=nnx.metrics.Average("loss"))
    rngs = nnx.Rngs(0)
    rec.save("params_init", nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    rec.stage = "train"
    model.train()
    for step in range(2):
        train.train_step(model, optimizer, metrics, batches[step], rngs)
        rec.save(f"loss_{step}", {"loss": metrics.compute()["loss"]})
    rec.save("params_final", nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    rec.stage = "eval"
    metrics.reset()
    model.eval()
    train.eval_step(model, metrics, batches[2])
    rec.save("eval", metrics.compute())


def run_vae(src: Path, rec: Recorder) -> None:
    config = load_config(src)
    config.batch_size, config.latents = 4, 4
    import jax
    import jax.numpy as jnp
    import models
    import optax
    import train
    from flax.training import train_state

    rs = rng_batch()
    batches = [(rs.rand(config.batch_size, 784) > 0.5).astype(np.float32) for _ in range(3)]
    rec.stage = "init"
    rng = jax.random.key(0)
    rng, key = jax.random.split(rng)
    init_data = jnp.ones((config.batch_size, 784), jnp.float32)
    params = models.model(config.latents).init(key, init_data, rng)["params"]
    state = train_state.TrainState.create(apply_fn=models.model(config.latents).apply,
                                          params=params, tx=optax.adam(config.learning_rate))
    rec.save("params_init", state.params)
    rng, z_key, eval_rng = jax.random.split(rng, 3)
    z = jax.random.normal(z_key, (8, config.latents))
    rec.stage = "train"
    for step in range(2):
        rng, key = jax.random.split(rng)
        state = train.train_step(state, jnp.asarray(batches[step]), key, config.latents)
        metrics, _, _ = train.eval_f(state.params, jnp.asarray(batches[step]), z, key,
                                     config.latents)
        rec.save(f"loss_{step}", metrics)
    rec.save("params_final", state.params)
    rec.stage = "eval"
    metrics, comparison, sample = train.eval_f(state.params, jnp.asarray(batches[2]), z,
                                               eval_rng, config.latents)
    rec.save("eval", {**metrics, "comparison": comparison, "sample": sample})


def run_seq2seq(src: Path, rec: Recorder) -> None:
    import random

    config = load_config(src)
    import jax
    import train  # defines its absl flags
    from input_pipeline import CharacterTable

    train.FLAGS(["seq2seq", "--hidden_size=16", "--batch_size=4", "--max_len_query_digit=2",
                 f"--learning_rate={config.learning_rate}"])
    random.seed(0)
    np.random.seed(0)
    ctable = CharacterTable("0123456789+= ", train.FLAGS.max_len_query_digit)
    batches = [ctable.get_batch(train.FLAGS.batch_size) for _ in range(3)]
    rec.stage = "init"
    rng = jax.random.key(0)
    state = train.get_train_state(rng, ctable)
    rec.save("params_init", state.params)
    rec.stage = "train"
    for step in range(2):
        state, metrics = train.train_step(state, batches[step], rng, ctable.eos_id)
        rec.save(f"loss_{step}", metrics)
    rec.save("params_final", state.params)
    rec.stage = "eval"
    batch = batches[2]
    inferred = train.decode(state.params, batch["query"], jax.random.fold_in(rng, 7), ctable)
    rec.save("eval", {"predictions": inferred})


def run_sst2(src: Path, rec: Recorder) -> None:
    config = load_config(src)
    config.embedding_size, config.hidden_size, config.vocab_size = 8, 8, 32
    config.batch_size = 4
    import jax
    import train

    rs = rng_batch()
    length = 6

    def batch() -> dict[str, np.ndarray]:
        lengths = rs.randint(1, length + 1, config.batch_size).astype(np.int32)
        ids = rs.randint(2, config.vocab_size, (config.batch_size, length)).astype(np.int32)
        ids[np.arange(length)[None, :] >= lengths[:, None]] = 0  # padding
        return {"token_ids": ids, "length": lengths,
                "label": rs.randint(0, 2, config.batch_size).astype(np.int32)}

    batches = [batch() for _ in range(3)]
    rec.stage = "init"
    rng = jax.random.key(config.seed)
    model = train.model_from_config(config)
    state = train.create_train_state(rng, config, model)
    rec.save("params_init", state.params)
    rec.stage = "train"
    train_step = jax.jit(train.train_step)
    rng, epoch_rng = jax.random.split(rng)
    for step in range(2):
        state, metrics = train_step(state, batches[step], {"dropout": epoch_rng})
        rec.save(f"loss_{step}", {"loss": metrics.loss, "accuracy": metrics.accuracy})
    rec.save("params_final", state.params)
    rec.stage = "eval"
    metrics = jax.jit(train.eval_step)(state, batches[2], None)
    rec.save("eval", {"loss": metrics.loss, "accuracy": metrics.accuracy})


def run_lm1b(src: Path, rec: Recorder, bfloat16: bool = False) -> None:
    config = load_config(src)
    config.update(vocab_size=32, per_device_batch_size=2, num_layers=1, qkv_dim=16,
                  emb_dim=16, mlp_dim=32, num_heads=2, max_target_length=8,
                  max_eval_target_length=8, max_predict_length=8, warmup_steps=2,
                  use_bfloat16=bfloat16)
    import jax
    import jax.numpy as jnp
    import models
    import optax
    import temperature_sampler
    import train
    import utils
    from flax import linen as nn
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    rs = rng_batch()

    def batch() -> dict[str, np.ndarray]:
        shape = (config.per_device_batch_size, config.max_target_length)
        inputs = rs.randint(1, config.vocab_size, shape).astype(np.int32)
        inputs[:, -2:] = 0  # padding at the end
        return {"inputs": inputs}

    batches = [batch() for _ in range(3)]
    rec.stage = "init"
    train_config = models.TransformerConfig(
        vocab_size=config.vocab_size, output_vocab_size=config.vocab_size,
        logits_via_embedding=config.logits_via_embedding,
        dtype=jnp.bfloat16 if config.use_bfloat16 else jnp.float32,
        emb_dim=config.emb_dim, num_heads=config.num_heads, num_layers=config.num_layers,
        qkv_dim=config.qkv_dim, mlp_dim=config.mlp_dim,
        max_len=max(config.max_target_length, config.max_eval_target_length),
        dropout_rate=config.dropout_rate, attention_dropout_rate=config.attention_dropout_rate,
        deterministic=False, decode=False, kernel_init=nn.initializers.xavier_uniform(),
        bias_init=nn.initializers.normal(stddev=1e-6))
    eval_config = train_config.replace(deterministic=True)
    mesh = Mesh(utils.create_device_mesh(config), config.mesh_axes)
    rng = jax.random.PRNGKey(config.seed)
    rng, init_rng = jax.random.split(rng)
    learning_rate_fn = train.create_learning_rate_schedule(
        learning_rate=config.learning_rate, warmup_steps=config.warmup_steps)
    optimizer = optax.adamw(learning_rate_fn, b1=0.9, b2=0.98, eps=1e-9,
                            weight_decay=config.weight_decay)
    state, annotations = utils.setup_initial_state(
        models.TransformerLM(eval_config), optimizer, config, init_rng, mesh)
    rec.save("params_init", state.params)
    rec.stage = "train"
    data_sharding = NamedSharding(mesh, P(config.data_sharding))
    train_step = jax.jit(train.train_step, in_shardings=(annotations, data_sharding, None),
                         out_shardings=(annotations, None), static_argnums=(2, 3, 4))
    for step in range(2):
        state, metrics = train_step(state, batches[step], train_config, learning_rate_fn,
                                    0.0, rng)
        rec.save(f"loss_{step}", metrics)
    rec.save("params_final", state.params)
    rec.stage = "eval"
    eval_step = jax.jit(train.eval_step, in_shardings=(annotations.params, data_sharding),
                        out_shardings=None, static_argnums=(2, 3))
    rec.save("eval", eval_step(state.params, batches[2], eval_config))
    rec.stage = "predict"
    predict_config = train_config.replace(deterministic=True, decode=True)
    prompts = batches[2]["inputs"][:1].copy()  # one prompt, as the example's sampler
    prompts[:, 3:] = 0  # 3 tokens, sampled on to max_predict_length
    predict_step = jax.jit(train.predict_step, static_argnums=(3, 4, 5, 6, 7))
    rec.save("predict", {"samples": predict_step(
        prompts, state.params, jax.random.key(1), temperature_sampler.EOS_ID,
        config.max_predict_length, predict_config, config.sampling_temperature,
        config.sampling_top_k)})


def run_imagenet(src: Path, rec: Recorder) -> None:
    config = load_config(src)
    config.update(model="_ResNet1", batch_size=4, warmup_epochs=1.0, num_epochs=2.0)
    import functools

    import jax
    import models
    import train

    rs = rng_batch()
    size, steps_per_epoch = 16, 2

    def batch() -> dict[str, np.ndarray]:  # one device: a leading axis of 1, for pmap
        return {"image": rs.rand(1, config.batch_size, size, size, 3).astype(np.float32),
                "label": rs.randint(0, train.NUM_CLASSES, (1, config.batch_size)
                                    ).astype(np.int32)}

    batches = [batch() for _ in range(3)]
    rec.stage = "init"
    model = train.create_model(model_cls=getattr(models, config.model),
                               half_precision=config.half_precision)
    base_learning_rate = config.learning_rate * config.batch_size / 256.0
    learning_rate_fn = train.create_learning_rate_fn(config, base_learning_rate,
                                                     steps_per_epoch)
    state = train.create_train_state(jax.random.key(0), config, model, size, learning_rate_fn)
    rec.save("params_init", {"params": state.params, "batch_stats": state.batch_stats})
    rec.stage = "train"
    train_step = jax.pmap(functools.partial(train.train_step, learning_rate_fn=learning_rate_fn),
                          in_axes=(None, 0), out_axes=(None, 0), axis_name="batch")
    for step in range(2):
        state, metrics = train_step(state, batches[step])
        rec.save(f"loss_{step}", metrics)
    rec.save("params_final", {"params": state.params, "batch_stats": state.batch_stats})
    rec.stage = "eval"
    eval_step = jax.pmap(train.eval_step, in_axes=(None, 0), axis_name="batch")
    rec.save("eval", eval_step(state, batches[2]))


def run_wmt(src: Path, rec: Recorder) -> None:
    config = load_config(src)
    config.update(vocab_size=32, per_device_batch_size=2, num_layers=1, qkv_dim=16,
                  emb_dim=16, mlp_dim=32, num_heads=2, max_target_length=8,
                  max_eval_target_length=8, max_predict_length=8, warmup_steps=2,
                  beam_size=2)
    import functools

    import jax
    import jax.numpy as jnp
    import models
    import optax
    import train
    from flax import linen as nn

    rs = rng_batch()

    def tokens() -> np.ndarray:
        shape = (1, config.per_device_batch_size, config.max_target_length)  # 1 device
        ids = rs.randint(3, config.vocab_size, shape).astype(np.int32)
        ids[..., -2:] = 0  # padding at the end
        return ids

    batches = [{"inputs": tokens(), "targets": tokens()} for _ in range(3)]
    # What flax.jax_utils.replicate does on one device (the example's pmap loop).
    replicate = functools.partial(jax.tree.map, lambda x: jnp.asarray(x)[None])
    unreplicate = functools.partial(jax.tree.map, lambda x: x[0])
    rec.stage = "init"
    train_config = models.TransformerConfig(
        vocab_size=config.vocab_size, output_vocab_size=config.vocab_size,
        share_embeddings=config.share_embeddings,
        logits_via_embedding=config.logits_via_embedding, dtype=train.preferred_dtype(config),
        emb_dim=config.emb_dim, num_heads=config.num_heads, num_layers=config.num_layers,
        qkv_dim=config.qkv_dim, mlp_dim=config.mlp_dim,
        max_len=max(config.max_target_length, config.max_eval_target_length),
        dropout_rate=config.dropout_rate, attention_dropout_rate=config.attention_dropout_rate,
        deterministic=False, decode=False, kernel_init=nn.initializers.xavier_uniform(),
        bias_init=nn.initializers.normal(stddev=1e-6))
    eval_config = train_config.replace(deterministic=True)
    predict_config = train_config.replace(deterministic=True, decode=True)
    rng, init_rng = jax.random.split(jax.random.key(config.seed))
    shape = (config.per_device_batch_size, config.max_target_length)
    m = models.Transformer(eval_config)
    initial_variables = jax.jit(m.init)(init_rng, jnp.ones(shape, jnp.float32),
                                        jnp.ones(shape, jnp.float32))
    learning_rate_fn = train.create_learning_rate_schedule(
        learning_rate=config.learning_rate, warmup_steps=config.warmup_steps)
    state = train.TrainState.create(
        apply_fn=m.apply, params=initial_variables["params"],
        tx=optax.adamw(learning_rate=learning_rate_fn, b1=0.9, b2=0.98, eps=1e-9,
                       weight_decay=config.weight_decay),
        dynamic_scale=None)
    rec.save("params_init", state.params)
    rec.stage = "train"
    state = replicate(state)
    train_step = jax.pmap(functools.partial(
        train.train_step, config=train_config, learning_rate_fn=learning_rate_fn,
        label_smoothing=config.label_smoothing), axis_name="batch")
    dropout_rngs = jax.random.split(rng, 1)
    for step in range(2):
        state, metrics = train_step(state, batches[step], dropout_rng=dropout_rngs)
        rec.save(f"loss_{step}", metrics)
    rec.save("params_final", unreplicate(state).params)
    rec.stage = "eval"
    eval_step = jax.pmap(functools.partial(train.eval_step, config=eval_config),
                         axis_name="batch")
    rec.save("eval", eval_step(state.params, batches[2]))
    rec.stage = "predict"
    init_cache = jax.pmap(functools.partial(
        train.initialize_cache, max_decode_len=config.max_predict_length,
        config=predict_config), axis_name="batch")
    pred_step = jax.pmap(functools.partial(train.predict_step, config=predict_config,
                                           beam_size=config.beam_size),
                         axis_name="batch", static_broadcasted_argnums=(3, 4))
    inputs = batches[2]["inputs"]
    cache = init_cache(inputs)
    rec.save("predict", {"beams": pred_step(inputs, state.params, cache, 2,
                                            config.max_predict_length)})


RUNNERS: dict[str, Callable[[Path, Recorder], None]] = {
    "mnist": run_mnist, "vae": run_vae, "seq2seq": run_seq2seq, "sst2": run_sst2,
    "lm1b": run_lm1b,
    "lm1b-bf16": lambda src, rec: run_lm1b(src, rec, bfloat16=True),  # its default dtype
    "imagenet": run_imagenet,
    "wmt": run_wmt,
}


def child(name: str, flax_src: Path, reference: bool, out: Path) -> None:
    """One side of one example, in this process: writes ``out`` (.npz) and ``out``.json."""
    example = flax_src / "examples" / name.split("-")[0]
    sys.meta_path.insert(0, FakeFinder())  # type: ignore[arg-type]
    if not reference:
        os.environ.update(CONFORMANCE_SHIM="1", CONFORMANCE_SRC=str(flax_src))
        sys.path.insert(0, str(TOOLS))
        import conformance_shim  # noqa: F401  (installs the flax/optax -> minijax finder)
    sys.path.insert(0, str(example))
    os.chdir(example)
    rec = Recorder()
    status: dict[str, Any] = {"ok": False, "stage": None, "error": None}
    try:
        RUNNERS[name](example, rec)
        status["ok"] = True
    except BaseException as error:
        status["stage"] = rec.stage
        status["error"] = f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"
        status["traceback"] = traceback.format_exc()[-4000:]
    if not reference:  # the shim must not have let real flax/optax in
        leaked = [m for m, mod in sys.modules.items() if m.split(".")[0] in ("flax", "optax")
                  and getattr(mod, "__file__", None)]
        status["leaked"] = leaked
        if leaked and status["ok"]:
            status["ok"], status["error"] = False, f"real flax/optax imported: {leaked[:3]}"
    np.savez(out, **rec.arrays)
    Path(str(out) + ".json").write_text(json.dumps(status))


# --- the parent: both sides, compared ------------------------------------------------------


def run_side(name: str, src: Path, reference: bool, scratch: Path, timeout: int
             ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    out = scratch / f"{name}-{'reference' if reference else 'minijax'}.npz"
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               MINIJAX_TYPECHECK=os.environ.get("MINIJAX_TYPECHECK", "1"),
               PYTHONPATH=os.pathsep.join([str(REPO)] if not reference else []))
    cmd = [sys.executable, str(Path(__file__).resolve()), str(src), "--child", name,
           "--child-out", str(out), *(["--reference"] if reference else [])]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        tail = (proc.stdout + proc.stderr)[-1500:]
    except subprocess.TimeoutExpired:
        return {"ok": False, "stage": "?", "error": f"timed out after {timeout} s"}, {}
    meta = Path(str(out) + ".json")
    if not meta.exists():
        return {"ok": False, "stage": "?", "error": f"no result; output ends: {tail}"}, {}
    status = json.loads(meta.read_text())
    with np.load(out) as data:
        arrays = {k: data[k] for k in data.files}
    return status, arrays


def compare(mine: dict[str, np.ndarray], ref: dict[str, np.ndarray], group: str) -> str:
    """``bitwise``, ``abs A / rel R`` or what does not match, for the arrays of ``group``."""
    keys_mine = {k for k in mine if k.split("::")[0] == group}
    keys_ref = {k for k in ref if k.split("::")[0] == group}
    if not keys_ref:
        return "-"
    if not keys_mine:
        return "n/a"
    if keys_mine != keys_ref:
        only = sorted(keys_mine ^ keys_ref)
        return f"names differ: {', '.join(k.split('::')[1] for k in only[:3])}"
    worst_abs, worst_rel = 0.0, 0.0
    for key in sorted(keys_ref):
        a, b = mine[key], ref[key]
        if a.shape != b.shape:
            return f"shape {key.split('::')[1]}: {a.shape} vs {b.shape}"
        if a.dtype != b.dtype:
            return f"dtype {key.split('::')[1]}: {a.dtype} vs {b.dtype}"
        if np.array_equal(a, b, equal_nan=True):
            continue
        diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        scale = float(np.max(np.abs(b.astype(np.float64))))
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / max(scale, 1e-30))
    if worst_abs == 0.0:
        return "bitwise"
    return f"abs {worst_abs:.1e} / rel {worst_rel:.1e}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a checkout of flax (0.12.8)")
    parser.add_argument("--only", nargs="*", default=None, help="a subset of the examples")
    parser.add_argument("--reference", action="store_true",
                        help="with --child: run on the installed flax/optax")
    parser.add_argument("--child", choices=EXAMPLES, help="run one side of one example here")
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per side")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    src = args.source.resolve()
    if args.child:
        out = args.child_out or Path(tempfile.mkdtemp()) / f"{args.child}.npz"
        child(args.child, src, args.reference, out)
        print(Path(str(out) + ".json").read_text())
        return

    names = [n for n in EXAMPLES if args.only is None or n in args.only]
    scratch = Path(tempfile.mkdtemp(prefix="flax-examples-"))
    groups = ("params_init", "loss_0", "loss_1", "params_final", "eval", "predict")
    rows, results = [], {}
    for name in names:
        mine_status, mine = run_side(name, src, False, scratch, args.timeout)
        ref_status, ref = run_side(name, src, True, scratch, args.timeout)
        cells = {g: compare(mine, ref, g) for g in groups}
        note = "" if mine_status["ok"] else f"{mine_status['stage']}: {mine_status['error']}"
        if not ref_status["ok"]:
            note += f" (reference failed at {ref_status['stage']}: {ref_status['error']})"
        results[name] = {"minijax": mine_status, "reference": ref_status, "compare": cells}
        rows.append([name, "yes" if mine_status["ok"] else "no",
                     "yes" if ref_status["ok"] else "no", *cells.values(), note])
        print(f"{name}: minijax {'ran' if mine_status['ok'] else 'failed'}", flush=True)
    header = ["example", "runs", "flax runs", "params after init", "loss step 1",
              "loss step 2", "params after 2 steps", "eval", "sampling", "note"]
    print("\n| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.json:
        for r in results.values():
            for side in ("minijax", "reference"):
                r[side].pop("traceback", None)
        args.json.write_text(json.dumps(results, indent=1))
    failed = [n for n in names if not results[n]["minijax"]["ok"]]
    if failed:
        print(f"\nfailed on minijax: {', '.join(failed)}; tracebacks: "
              f"python tools/run_flax_examples.py {args.source} --child NAME")


if __name__ == "__main__":
    main()
