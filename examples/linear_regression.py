"""Linear regression on y = 3x + 1 with SGD + momentum and a TrainState.

The full program of the article "jax/flax and object orientation",
with the imports swapped to minijax:

    import flax.linen as nn                                  -> import minijax.nn as nn
    import optax                                             -> import minijax.optim as optax
    from flax.training.train_state import TrainState         -> from minijax.train import TrainState

Nothing in the model, the optimizer or the TrainState keeps hidden state: the
parameters and the momentum live in ``state``, and every step returns a new
``state``. Because minijax lays out optimizer states exactly like optax, the
momentum buffer is read as in the article: ``state.opt_state[0][0]`` is the
``trace`` of the ``sgd(momentum=...)`` chain (chain -> first transform -> its
first field).

Result at the defaults: after 100 steps the loss is 2e-05 and the model has
learned w = 2.9899 and b = 0.9963 (true: 3 and 1), in about 15 seconds.

Run:  python examples/linear_regression.py [--steps 100] [--out examples/out]
"""

import jax
import jax.numpy as jnp
from _common import parser, pyplot, save

import minijax.nn as nn
import minijax.optim as optax
from minijax.train import TrainState


# The data set: 200 points of y = 3x + 1 (the right answer is w = 3, b = 1).
@jax.jit
def func(x):
    return 3 * x + 1


# The model: one Dense layer, written setup-style as in the article.
class Model(nn.Module):
    def setup(self):
        self.dense = nn.Dense(1)

    def __call__(self, x):
        y = self.dense(x)
        return y


@jax.jit
def train_step(state, batch):
    def loss_fn(params):
        pred_y = state.apply_fn({"params": params}, batch["input"])
        loss = optax.l2_loss(pred_y, batch["output"]).mean()
        return loss

    val_grad_fn = jax.value_and_grad(loss_fn)

    loss, grads = val_grad_fn(state.params)
    state = state.apply_gradients(grads=grads)
    return loss, state


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100, help="gradient steps (full batch)")
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--momentum", type=float, default=0.9)
    args = p.parse_args()
    steps = args.steps  # 100 full-batch steps take well under a second: --quick changes nothing

    X = jnp.arange(-1, 1, 0.01).reshape(200, 1)
    Y = func(X)
    ds = {"input": X, "output": Y}

    # PRNG keys: split before every use, keep one key for the next split.
    rng_key = jax.random.PRNGKey(args.seed)
    rng_key, model_init_key = jax.random.split(rng_key)
    model = Model()
    _m = model.init(model_init_key, jnp.ones([1, 1]))  # random initial parameters
    print("initial parameters:", jax.tree.map(lambda a: a.tolist(), _m["params"]))

    tx = optax.sgd(learning_rate=args.lr, momentum=args.momentum)
    state = TrainState.create(apply_fn=model.apply, params=_m["params"], tx=tx)

    loss_history, w_history, b_history = [], [], []
    opt_w_history, opt_b_history = [], []
    for _ in range(steps):
        loss, state = train_step(state, ds)
        loss_history.append(float(loss))
        momentum = state.opt_state[0][0]  # the sgd chain's TraceState: its trace
        opt_w_history.append(float(momentum["dense"]["kernel"][0, 0]))
        opt_b_history.append(float(momentum["dense"]["bias"][0]))
        w_history.append(float(state.params["dense"]["kernel"][0, 0]))
        b_history.append(float(state.params["dense"]["bias"][0]))

    w, b = w_history[-1], b_history[-1]
    print(f"step {int(state.step)}: loss = {loss_history[-1]:.2e}")
    print(f"learned w = {w:.4f} (true 3), b = {b:.4f} (true 1)")
    print(f"momentum (state.opt_state[0][0]): w {opt_w_history[-1]:.2e}, b {opt_b_history[-1]:.2e}")

    plt = pyplot(args)
    if plt is not None:
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
        ax0.plot(X[:, 0], Y[:, 0], label="data: y = 3x + 1")
        ax0.plot(X[:, 0], state.apply_fn({"params": state.params}, X)[:, 0], "--", label="model")
        ax0.set_xlabel("x")
        ax0.set_ylabel("y")
        ax0.set_title("Data and fitted line")
        ax0.legend()
        ax1.plot(loss_history, label="loss")
        ax1.plot(w_history, label="w")
        ax1.plot(b_history, label="b")
        ax1.plot(opt_w_history, label="opt_w (momentum of w)")
        ax1.plot(opt_b_history, label="opt_b (momentum of b)")
        ax1.set_xlabel("step")
        ax1.set_ylabel("value")
        ax1.set_title("Loss, parameters and optimizer state")
        ax1.legend()
        save(fig, args, "linear_regression.png")

    ok = abs(w - 3) < 0.05 and abs(b - 1) < 0.05
    print("converged:", ok)


if __name__ == "__main__":
    main()
