"""minijax.typing: jaxtyping shapes checked at run time (at trace time under jit)."""

import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from minijax import typing as mt
from minijax.typing import Array, Float, Int, TypeCheckError, typed

CALLS = {"dense": 0}


@typed
def dense(x: Float[Array, "batch in"], w: Float[Array, "in out"]) -> Float[Array, "batch out"]:
    CALLS["dense"] += 1
    return x @ w


@typed
def bad_output(x: Float[Array, "batch in"]) -> Float[Array, "batch in"]:
    return x.T


@typed
def count_ones(n: Int[Array, " n"]) -> Int[Array, ""]:
    return jnp.sum(n)


def test_correct_shapes_pass() -> None:
    assert dense(jnp.ones((2, 3)), jnp.ones((3, 4))).shape == (2, 4)
    assert dense(jnp.ones((5, 1)), jnp.ones((1, 1))).shape == (5, 1)
    assert int(count_ones(jnp.arange(4))) == 6


def test_wrong_shape_raises_and_names_everything() -> None:
    with pytest.raises(TypeCheckError) as info:
        dense(jnp.ones((2, 3)), jnp.ones((5, 4)))
    message = str(info.value)
    assert "dense" in message  # the function
    assert "parameter 'w'" in message  # the argument
    assert "'in out'" in message  # the expected axes
    assert "f32[5,4]" in message  # the actual shape
    assert re.search(r"\bin=3\b", message)  # what "in" was bound to by x


def test_inconsistent_axis_between_arguments_raises() -> None:
    # each argument alone is a valid matrix; together "in" disagrees
    with pytest.raises(TypeCheckError, match="parameter 'w'"):
        dense(jnp.ones((2, 3)), jnp.ones((2, 3)))


def test_wrong_dtype_rank_and_return_raise() -> None:
    with pytest.raises(TypeCheckError, match="parameter 'x'"):
        dense(jnp.ones((2, 3), jnp.int32), jnp.ones((3, 4)))
    with pytest.raises(TypeCheckError, match="parameter 'x'"):
        dense(jnp.ones(3), jnp.ones((3, 4)))
    with pytest.raises(TypeCheckError, match="return"):
        bad_output(jnp.ones((2, 3)))
    with pytest.raises(TypeCheckError, match="parameter 'n'"):  # single-axis strings too
        count_ones(jnp.ones(3))


def test_under_jit_the_check_runs_only_at_trace_time() -> None:
    f = jax.jit(dense)
    start = CALLS["dense"]
    x, w = jnp.ones((2, 3)), jnp.ones((3, 4))
    for _ in range(5):
        f(x, w)
    f(x + 1.0, w * 2.0)  # new values, same shapes: no retrace, no check
    assert CALLS["dense"] - start == 1
    f(jnp.ones((7, 3)), w)  # a new shape: traced (and checked) once more
    assert CALLS["dense"] - start == 2
    with pytest.raises(TypeCheckError, match="parameter 'w'"):
        f(x, jnp.ones((4, 4)))  # raised while tracing
    assert CALLS["dense"] - start == 2  # the body never ran for the bad call


def test_check_raises_under_grad_and_vmap_too() -> None:
    with pytest.raises(TypeCheckError):
        jax.grad(lambda w: dense(jnp.ones((2, 3)), w).sum())(jnp.ones((4, 4)))
    # vmap strips the batch axis: a (batch, in) function mapped over a 3-d input
    out = jax.vmap(dense, in_axes=(0, None))(jnp.ones((6, 2, 3)), jnp.ones((3, 4)))
    assert out.shape == (6, 2, 4)


def test_decision_is_taken_at_decoration(monkeypatch: pytest.MonkeyPatch) -> None:
    def raw(x: Float[Array, "a b"]) -> Float[Array, "a b"]:
        return x

    monkeypatch.setenv("MINIJAX_TYPECHECK", "0")
    assert not mt.typecheck_enabled()
    assert typed(raw) is raw
    for off in ("false", "No", " off "):
        monkeypatch.setenv("MINIJAX_TYPECHECK", off)
        assert not mt.typecheck_enabled()
    monkeypatch.setenv("MINIJAX_TYPECHECK", "1")
    assert typed(raw) is not raw


DISABLED_SCRIPT = """
import jax.numpy as jnp
import minijax.nn.pooling
from minijax.typing import Array, Float, typecheck_enabled, typed

def raw(x: Float[Array, "batch in"], w: Float[Array, "in out"]) -> Float[Array, "batch out"]:
    return x @ w.T

checked = typed(raw)
print(typecheck_enabled(), checked is raw, checked(jnp.ones((2, 3)), jnp.ones((5, 3))).shape)
print("wrapped" if hasattr(minijax.nn.pooling.pool, "__wrapped__") else "plain")
"""


@pytest.mark.subprocess
def test_env_var_disables_checking_at_import() -> None:
    env = {**os.environ, "MINIJAX_TYPECHECK": "0", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run(
        [sys.executable, "-c", DISABLED_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    first, second = result.stdout.strip().splitlines()
    # shapes that disagree with the annotation pass unchecked
    assert first == "False True (2, 5)"
    # minijax's own functions were decorated at import time, unchecked (not wrapped)
    assert second == "plain"


def test_minijax_functions_are_wrapped_when_checking_is_on() -> None:
    import minijax.nn.pooling

    assert hasattr(minijax.nn.pooling.pool, "__wrapped__")
