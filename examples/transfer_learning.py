"""Transfer learning: reuse a trained CNN body under a new head, with the body frozen.

The slides "JAX / Flax intro" point out that a model object holds no
parameter values: the params are a plain dict, so taking the trained part of
one model and putting it into another is a dict operation. This script

1. trains a CNN (``Body`` + a 10-way ``head``) to tell the digits apart, on
   half of the training images,
2. builds a *new* model with the same ``Body`` and a fresh 2-way head for a new
   task, "is the digit odd?", and copies the trained ``params["body"]`` into it,
3. trains only the head on a few labelled images (``--shots`` of each digit,
   from the other half): the optimizer is
   ``multi_transform`` with ``adam`` for the head and ``set_to_zero`` for the body,
4. checks that the body's params did not move at all, and compares with the
   same model trained from scratch on the same few examples.

Run:  python examples/transfer_learning.py [--steps 300] [--shots 3]
"""

import jax
import jax.numpy as jnp
import numpy as np
from _common import parser, pyplot, save

import minijax.nn as nn
import minijax.optim as optax
from minijax import data
from minijax.train import TrainState


class Body(nn.Module):
    """The feature extractor: the part we transfer."""

    @nn.compact
    def __call__(self, x):
        x = x.reshape([-1, 8, 8, 1])
        x = nn.relu(nn.Conv(features=16, kernel_size=(5, 5))(x))
        x = nn.max_pool(x, window_shape=(2, 2), strides=(2, 2))
        x = x.reshape([x.shape[0], -1])
        return nn.relu(nn.Dense(features=128)(x))


class Classifier(nn.Module):
    num_classes: int

    @nn.compact
    def __call__(self, x):
        features = Body(name="body")(x)
        return nn.Dense(self.num_classes, name="head")(features)


def make_step(num_classes):
    @jax.jit
    def train_step(state, x, y):
        def loss_fn(params):
            logits = state.apply_fn({"params": params}, x)
            labels = jax.nn.one_hot(y, num_classes)
            return optax.softmax_cross_entropy(logits, labels).mean()

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        return state.apply_gradients(grads=grads), loss

    return train_step


def accuracy(state, x, y):
    logits = state.apply_fn({"params": state.params}, x)
    return float(jnp.mean(jnp.argmax(logits, -1) == y))


def train(state, train_step, x, y, steps, batch_size, rng):
    losses = []
    for _ in range(steps):
        idx = rng.choice(len(x), size=min(batch_size, len(x)), replace=False)
        state, loss = train_step(state, x[idx], y[idx])
        losses.append(float(loss))
    return state, losses


def freeze_body(params):
    """The label tree for multi_transform: "frozen" for every leaf under body/."""

    def fill(tree, label):
        return jax.tree.map(lambda _: label, tree)

    return {
        name: fill(sub, "frozen" if name == "body" else "trainable") for name, sub in params.items()
    }


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=300, help="steps for each training phase")
    p.add_argument("--shots", type=int, default=3, help="task B images per digit")
    args = p.parse_args()
    steps = 60 if args.quick else args.steps
    rng = np.random.default_rng(args.seed)
    key = jax.random.PRNGKey(args.seed)

    x_train, y_train = data.digits("train", seed=args.seed)  # (n, 8, 8, 1), (n,)
    x_test, y_test = data.digits("test", seed=args.seed)
    half = len(x_train) // 2
    xa, ya = x_train[:half], y_train[:half]  # task A: which digit (10 classes)
    # Task B: is the digit odd? Only a few labelled images: `shots` of each digit.
    rest = np.asarray(y_train[half:])
    few = half + np.concatenate([np.flatnonzero(rest == d)[: args.shots] for d in range(10)])
    xb, yb = x_train[few], y_train[few] % 2
    yb_test = y_test % 2
    print(f"task A (which digit): {len(xa)} training images")
    print(f"task B (odd or even): {len(xb)} training images")

    # 1. Pretrain on task A.
    model_a = Classifier(num_classes=10)
    key, k = jax.random.split(key)
    params_a = jax.jit(model_a.init)(k, xa[:1])["params"]  # jit: compile once
    state_a = TrainState.create(apply_fn=model_a.apply, params=params_a, tx=optax.adam(1e-3))
    state_a, _ = train(state_a, make_step(10), xa, ya, steps, 64, rng)
    print(f"task A test accuracy after pretraining: {accuracy(state_a, x_test, y_test):.4f}")

    # 2. A new model: same body, new head. Copy the trained body into its params.
    model_b = Classifier(num_classes=2)
    key, k = jax.random.split(key)
    fresh = jax.jit(model_b.init)(k, xb[:1])["params"]
    params_b = {**fresh, "body": state_a.params["body"]}  # a plain dict operation

    # 3. Freeze the body: set_to_zero() gives it zero updates, the head uses adam.
    tx = optax.multi_transform(
        {"trainable": optax.adam(1e-2), "frozen": optax.set_to_zero()}, freeze_body
    )
    state_b = TrainState.create(apply_fn=model_b.apply, params=params_b, tx=tx)
    state_b, losses_b = train(state_b, make_step(2), xb, yb, steps, 32, rng)

    # 4. The frozen params have not moved; the head has.
    body_change = max(
        float(jnp.abs(a - b).max())
        for a, b in zip(
            jax.tree.leaves(state_a.params["body"]),
            jax.tree.leaves(state_b.params["body"]),
            strict=True,
        )
    )
    head_change = max(
        float(jnp.abs(a - b).max())
        for a, b in zip(
            jax.tree.leaves(fresh["head"]), jax.tree.leaves(state_b.params["head"]), strict=True
        )
    )
    print(f"max |change| of frozen body params: {body_change:.1e}")
    print(f"max |change| of head params:        {head_change:.1e}")
    assert body_change == 0.0

    # Baseline: the same model trained from scratch on the same few images.
    state_s = TrainState.create(apply_fn=model_b.apply, params=fresh, tx=optax.adam(1e-3))
    state_s, losses_s = train(state_s, make_step(2), xb, yb, steps, 32, rng)
    acc_t, acc_s = accuracy(state_b, x_test, yb_test), accuracy(state_s, x_test, yb_test)
    print(f"task B test accuracy, transferred frozen body: {acc_t:.4f}")
    print(f"task B test accuracy, trained from scratch:    {acc_s:.4f}")

    plt = pyplot(args)
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(losses_b, label=f"transferred body (test acc {acc_t:.2f})")
        ax.plot(losses_s, label=f"from scratch (test acc {acc_s:.2f})")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss, task B")
        ax.legend()
        save(fig, args, "transfer_learning.png")


if __name__ == "__main__":
    main()
