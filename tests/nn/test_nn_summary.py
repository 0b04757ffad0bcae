"""tabulate: one row per module call, own variables, totals, depth, FLOPs; flax's layout.

Only test-local layers (`_toy.py`); flax.linen runs the same toy model as the oracle
of the table's text.
"""

from typing import Any

import flax.linen as fnn
import jax
import jax.numpy as jnp
import pytest
from _toy import toy_layers

import minijax.nn as nn

X = jnp.ones((4, 3))
KEY = jax.random.key(0)
PLAIN = {"force_terminal": False, "no_color": True, "width": 10_000}  # flax's plain text


def model(lib: Any) -> Any:
    toy = toy_layers(lib)

    class Block(lib.Module):
        @lib.compact
        def __call__(self, x: Any, scale: bool = True) -> Any:
            x = toy.Affine(3)(x)
            return toy.Scale()(x) if scale else x

    class Net(lib.Module):
        def setup(self) -> None:
            self.block = Block()
            self.head = toy.Affine(2)

        def features(self, x: Any) -> Any:
            return self.block(self.block(x), scale=False)

        def __call__(self, x: Any) -> Any:
            h = self.features(x)
            return self.head(h), {"h": h, "n": 1.5}

    return Net()


def rows(table: str) -> list[str]:
    return [line for line in table.splitlines() if line.startswith("│")]


@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [{}, {"depth": 1, "show_repeated": True},
                                    {"compute_flops": True, "compute_vjp_flops": True}],
                         ids=["plain", "depth_repeated", "flops"])
def test_the_table_is_flaxs_table(kwargs: dict[str, Any]) -> None:
    mine = model(nn).tabulate(KEY, X, console_kwargs=PLAIN, **kwargs)
    theirs = model(fnn).tabulate(KEY, X, console_kwargs=PLAIN, **kwargs)
    assert mine == theirs


def partitioned_model(lib: Any) -> Any:
    class Boxed(lib.Module):
        @lib.compact
        def __call__(self, x: Any) -> Any:
            kernel_init = lib.with_partitioning(lib.initializers.lecun_normal(), (None, "data"))
            bias_init = lib.with_partitioning(lib.initializers.zeros_init(), ("model",))
            x = lib.Dense(4, kernel_init=kernel_init, bias_init=bias_init, name="hidden")(x)
            return lib.Dense(2, name="head")(x)

    return Boxed()


@pytest.mark.parity
def test_partitioned_params_show_their_names_as_in_flax() -> None:
    mine = partitioned_model(nn).tabulate(KEY, X, console_kwargs=PLAIN, compute_flops=True)
    theirs = partitioned_model(fnn).tabulate(KEY, X, console_kwargs=PLAIN, compute_flops=True)
    assert mine == theirs
    assert "bias: float32[4] P(model,)" in mine and "kernel: float32[3,4] P(None, data)" in mine


def reused_conv_model(lib: Any) -> Any:
    # One collection only: flax orders the collection columns as a `set` of their names
    # iterates (which changes with the process's string-hash seed), minijax sorts them.
    class ConvBlock(lib.Module):
        @lib.compact
        def __call__(self, x: Any) -> Any:
            x = lib.Conv(2, (3, 3))(x)
            return lib.LayerNorm()(x)

    class Net(lib.Module):
        @lib.compact
        def __call__(self, x: Any) -> Any:
            block = ConvBlock()
            return block(block(x))

    return Net()


@pytest.mark.parity
def test_repeated_calls_with_flops_as_in_flax() -> None:
    x = jnp.ones((1, 4, 4, 2))
    kwargs = {"show_repeated": True, "compute_flops": True, "compute_vjp_flops": True}
    mine = reused_conv_model(nn).tabulate(KEY, x, console_kwargs=PLAIN, **kwargs)
    assert mine == reused_conv_model(fnn).tabulate(KEY, x, console_kwargs=PLAIN, **kwargs)


def test_rows_variables_and_totals() -> None:
    table = model(nn).tabulate(KEY, X)
    lines = table.splitlines()
    assert lines[1].strip() == "Net Summary" and "path" in lines[3] and "params" in lines[3]
    body = "\n".join(rows(table))
    for path in ("block ", "block/Affine_0", "block/Scale_0", "head "):
        assert "│ " + path in body, path
    assert "(features)" not in body  # a second call at the root's path: not repeated
    assert "- h: float32[4,3]" in body and "n: 1.5" in body
    assert "b: float32[3]" in body and "w: float32[3,3]" in body and "s: float32[]" in body
    params = 3 * 3 + 3 + 1 + 3 * 2 + 2
    assert f"Total Parameters: {params} ({4 * params} B)" in lines[-2]


def test_depth_counts_the_subtree_at_the_limit_and_repeats_are_optional() -> None:
    table = nn.summary._get_module_table(model(nn), depth=1, show_repeated=False,
                                         compute_flops=False, compute_vjp_flops=False)(KEY, X)
    assert [r.path for r in table] == [(), ("block",), ("head",)]
    block = table[1]
    assert block.module_variables == {"params": {}}  # its params belong to its children
    assert set(block.counted_variables["params"]) == {"Affine_0", "Scale_0"}
    assert table[1].inputs.shape == (4, 3) and table[0].outputs[1]["n"].obj == 1.5
    repeated = nn.summary._get_module_table(model(nn), None, True, False, False)(KEY, X)
    assert [r.path for r in repeated].count(("block",)) == 2
    assert repeated[-3].counted_variables == {}  # the second call of block: counted once


def test_function_form_method_and_shapes_only() -> None:
    t1 = nn.tabulate(model(nn), KEY)(X)
    assert t1 == model(nn).tabulate(KEY, X)
    by_method = model(nn).tabulate(KEY, X, method="features")
    assert "Net (features)" in by_method.splitlines()[5] and "head" not in by_method
    big = toy_layers(nn).Affine(4).tabulate(KEY, jax.ShapeDtypeStruct((10**6, 3), jnp.float32))
    assert "float32[1000000,4]" in big  # shapes only: nothing of that size is computed


def test_flops_add_up_to_the_parent() -> None:
    table = nn.summary._get_module_table(model(nn), None, False, True, True)(KEY, X)
    root, children = table[0], [r for r in table if len(r.path) == 1]
    assert root.flops >= sum(r.flops for r in children) > 0
    assert root.vjp_flops >= sum(r.vjp_flops for r in children) > 0


@pytest.mark.parity
def test_partitioned_variables_show_their_axis_names_as_flax() -> None:
    def partitioned(lib: Any) -> Any:
        class Sharded(lib.Module):
            @lib.compact
            def __call__(self, x: Any) -> Any:
                init = jax.nn.initializers.lecun_normal()
                w = self.param("w", lib.with_partitioning(init, (None, "model")), (3, 2))
                b = self.param("b", lib.with_partitioning(jax.nn.initializers.zeros, (None,)),
                               (2,))
                return x @ w + b

        return Sharded()

    mine = partitioned(nn).tabulate(KEY, X, console_kwargs=PLAIN, compute_flops=True)
    theirs = partitioned(fnn).tabulate(KEY, X, console_kwargs=PLAIN, compute_flops=True)
    assert "b: float32[2] P(None,)" in mine and "w: float32[3,2] P(None, model)" in mine
    assert mine == theirs
