"""The same Linear model written two ways: init/apply (minijax.nn) and module-as-pytree.

The blog post on equinox contrasts two ways of managing parameters
in jax:

* **init/apply** (stax, haiku, flax, minijax.nn): the module holds only its
  configuration; ``self.param(...)`` registers a parameter, ``init`` builds the
  params dict from an example input, ``apply(params, x)`` runs the model;
* **module-as-pytree** (equinox): the module *is* the parameters. Here it is a
  ``minijax.struct.PyTreeNode`` with ``weight`` and ``bias`` fields, so
  ``jax.jit(jax.grad(loss))`` differentiates with respect to the model itself
  and ``jax.vmap(model)`` batches it.

Both are written for ONE example (``weight @ x + bias``) and batched with
``jax.vmap``. The script loads the same numbers into both, checks that outputs,
gradients and a few SGD steps agree, and shows how each reads a parameter.

Result: the two versions give bit-identical outputs, gradients and parameters
after 100 SGD steps (`max |init/apply - pytree| = 0.0e+00`).

Run:  python examples/init_apply_vs_pytree.py [--steps 100]
"""

import jax
import jax.numpy as jnp
from _common import parser

import minijax.nn as nn
from minijax import struct
from minijax.typing import Array, Float, typed

# --- 1. init/apply: parameters registered by hand with self.param -----------------


class Linear(nn.Module):
    """No arrays in here: only the configuration (the output size)."""

    out_size: int

    @nn.compact
    def __call__(self, x):
        # The input size is read from x at init: the module never needs it.
        w = self.param("weight", nn.initializers.normal(1.0), (self.out_size, x.shape[-1]))
        b = self.param("bias", nn.initializers.normal(1.0), (self.out_size,))
        return w @ x + b


def loss_init_apply(params, model, x, y):
    pred_y = jax.vmap(lambda xi: model.apply(params, xi))(x)
    return jnp.mean((y - pred_y) ** 2)


# --- 2. module-as-pytree: the model is the parameters ------------------------------


class PyTreeLinear(struct.PyTreeNode):
    weight: jax.Array
    bias: jax.Array

    @classmethod
    def create(cls, in_size, out_size, key):
        wkey, bkey = jax.random.split(key)
        return cls(
            weight=jax.random.normal(wkey, (out_size, in_size)),
            bias=jax.random.normal(bkey, (out_size,)),
        )

    def __call__(self, x):
        return self.weight @ x + self.bias


@jax.jit
@jax.grad
def loss_fn(model, x, y):
    pred_y = jax.vmap(model)(x)
    return jax.numpy.mean((y - pred_y) ** 2)


# --- 3. typed access to the parameters ---------------------------------------------


class LinearParams(struct.PyTreeNode):
    """A typed view of the init/apply params: attribute access that mypy checks."""

    weight: Float[Array, "out in"]
    bias: Float[Array, " out"]


@typed
def weight_norm(p: LinearParams) -> Float[Array, ""]:
    return jnp.sqrt(jnp.sum(p.weight**2))


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    args = p.parse_args()
    steps = 20 if args.quick else args.steps

    batch_size, in_size, out_size = 32, 2, 3
    kx, ky, kinit = jax.random.split(jax.random.PRNGKey(args.seed), 3)
    x = jax.random.normal(kx, (batch_size, in_size))
    y = jax.random.normal(ky, (batch_size, out_size))

    # init/apply: init builds the params from ONE example input.
    model = Linear(out_size=out_size)
    params = model.init(kinit, x[0])
    print("init/apply params:", jax.tree.map(lambda a: a.shape, params))

    # pytree: the model carries its own arrays, made by its constructor.
    pt_model = PyTreeLinear.create(in_size, out_size, key=kinit)
    print("pytree model:", jax.tree.map(lambda a: a.shape, pt_model))
    # For the comparison, load the init/apply numbers into it (a new object: replace).
    pt_model = pt_model.replace(weight=params["params"]["weight"], bias=params["params"]["bias"])

    out_a = jax.vmap(lambda xi: model.apply(params, xi))(x)
    out_b = jax.vmap(pt_model)(x)
    print("same outputs:", bool(jnp.allclose(out_a, out_b)))

    grads_a = jax.jit(jax.grad(loss_init_apply), static_argnums=1)(params, model, x, y)
    grads_b = loss_fn(pt_model, x, y)  # a PyTreeLinear holding the gradients
    print("grad?", grads_b.__class__.__name__, jax.tree.map(lambda a: a.shape, grads_b))
    same_grads = jnp.allclose(grads_a["params"]["weight"], grads_b.weight) and jnp.allclose(
        grads_a["params"]["bias"], grads_b.bias
    )
    print("same gradients:", bool(same_grads))

    # A few steps of SGD on each: jax.tree.map works on both kinds of tree.
    grad_a = jax.jit(jax.grad(loss_init_apply), static_argnums=1)
    for _ in range(steps):
        g = grad_a(params, model, x, y)
        params = jax.tree.map(lambda p, g: p - 0.1 * g, params, g)
        g = loss_fn(pt_model, x, y)
        pt_model = jax.tree.map(lambda p, g: p - 0.1 * g, pt_model, g)
    diff = max(
        float(jnp.abs(params["params"]["weight"] - pt_model.weight).max()),
        float(jnp.abs(params["params"]["bias"] - pt_model.bias).max()),
    )
    loss_a = float(loss_init_apply(params, model, x, y))
    print(f"after {steps} SGD steps: loss {loss_a:.4f}, max |init/apply - pytree| = {diff:.1e}")

    # Reading a parameter: a string key (no static check) vs an attribute (checked).
    print("init/apply reads params['params']['weight']: a typo is a KeyError at run time")
    print("pytree reads model.weight: a typo is an error for mypy/pyright before running")
    typed_view = LinearParams(**params["params"])
    print(f"typed view of the init/apply params: |weight| = {float(weight_norm(typed_view)):.4f}")


if __name__ == "__main__":
    main()
