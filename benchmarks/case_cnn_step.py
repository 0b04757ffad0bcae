"""Case 2: a compiled train step of the slides' CNN on 28x28x1 inputs, batch 64, Adam.

Conv 16 5x5 (SAME), relu, max_pool 2x2, Dense 1024, relu, Dense 10, softmax
cross entropy (the SingleLayerCNN of the slides "JAX / Flax intro"); minijax vs flax.linen+optax vs
equinox+optax vs hand-written JAX.
Target: minijax's step within 2% of the hand-written one (ratio <= 1.02).
"""

import harness
from case_mlp_step import run_train_step


def run(cfg: harness.Config) -> harness.CaseResult:
    return run_train_step(
        cfg,
        "cnn",
        64,
        "cnn_step",
        "2. Compiled train step: the slides' CNN on 28x28x1, batch 64, Adam",
    )


if __name__ == "__main__":
    harness.standalone(run)
