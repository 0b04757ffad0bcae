"""tabulate / summary: one row per module call, own variables, totals."""

import jax
import jax.numpy as jnp

import minijax.nn as nn


class Net(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = False):  # type: ignore[no-untyped-def]
        x = nn.MLP((8, 4))(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        return nn.Dense(2, name="head")(x)


def test_table_rows_and_totals() -> None:
    table = Net().tabulate(jax.random.key(0), jnp.ones((5, 3)))
    lines = table.splitlines()
    assert lines[0] == "Net summary"
    body = "\n".join(lines)
    for path in ("<root>", "MLP_0", "MLP_0/Dense_0", "MLP_0/Dense_1", "BatchNorm_0", "head"):
        assert any(line.startswith(path + " ") for line in lines), path
    assert "float32[5,8]" in body and "float32[5,2]" in body
    assert "params/kernel: float32[3,8]" in body
    assert "batch_stats/mean: float32[4]" in body
    params = 3 * 8 + 8 + 8 * 4 + 4 + 4 + 4 + 4 * 2 + 2
    assert lines[-1].startswith("Total")
    assert f"params: {params:,}" in lines[-1] and "batch_stats: 8" in lines[-1]
    assert lines[-1].rstrip().endswith(f"{params + 8:,}")


def test_flax_spelling_and_method_and_kwargs() -> None:
    t1 = nn.tabulate(Net(), jax.random.key(0))(jnp.ones((5, 3)), train=True)
    t2 = nn.summary(Net(), jax.random.key(0), jnp.ones((5, 3)), train=True)
    assert t1 == t2
    # shapes only: no arrays are computed, so huge inputs cost nothing
    big = nn.Dense(4).tabulate(jax.random.key(0), jax.ShapeDtypeStruct((10**6, 3), jnp.float32))
    assert "float32[1000000,4]" in big
