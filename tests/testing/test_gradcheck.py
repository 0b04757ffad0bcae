"""check_grads: correct derivatives pass, planted wrong ones are caught and located."""

import contextlib
import re
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import pytest
from hypothesis import given

import minijax.testing.strategies as mst
from minijax.testing import GradientCheckError, X64UnavailableError, check_grads

# --- inputs (float32 on purpose: check_grads casts them to float64 itself) -------------

X = jnp.linspace(-1.2, 1.3, 6, dtype=jnp.float32).reshape(2, 3)
W = jax.random.normal(jax.random.key(0), (3, 4))
B = jax.random.normal(jax.random.key(1), (4,))
XB = jax.random.normal(jax.random.key(2), (5, 3))
BIG = jnp.linspace(-1.0, 1.0, 40, dtype=jnp.float32).reshape(5, 8)


def mlp(params: dict[str, Any], x: jax.Array) -> jax.Array:
    h = jnp.tanh(x @ params["w"] + params["b"])
    return jnp.sum(h**2, axis=-1)


def pytree_in_out(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "prod": p["a"] * jnp.sin(p["b"][0]),
        "pair": (jnp.tanh(p["b"][1]), p["a"].sum() ** 2),
        "count": p["n"] + 1,  # an integer output: ignored
    }


CORRECT: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
    "sin": (jnp.sin, (X,)),
    "matmul": (lambda w, x: x @ w, (W, XB)),
    "tanh_mlp": (mlp, ({"w": W, "b": B}, XB)),
    "pytree_in_out": (
        pytree_in_out,
        ({"a": X[0], "b": [X[1], X[0] * 0.5], "n": jnp.arange(3)},),
    ),
    "multiple_args": (lambda a, b, c: a * jnp.exp(b) - jnp.cos(c) * a, (X[0], X[1], 0.7)),
}


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", list(CORRECT))
def test_correct_functions_pass(name: str, order: int) -> None:
    f, args = CORRECT[name]
    check_grads(f, args, order=order)


@pytest.mark.parametrize("modes", [("fwd",), ("rev",)])
def test_single_mode_passes(modes: tuple[str, ...]) -> None:
    check_grads(mlp, ({"w": W, "b": B}, XB), order=2, modes=modes)


def test_many_elements_use_random_directions() -> None:
    # 40 elements > per_element_max: only random directions are checked.
    check_grads(lambda x: jnp.tanh(x) * x, (BIG,), order=2, num_directions=3)


def test_relu_away_from_its_kink_passes() -> None:
    x = jnp.array([-1.0, -0.3, 0.4, 2.0])
    check_grads(jax.nn.relu, (x,), order=2)


def test_float32_inside_f_uses_float32_tolerances() -> None:
    check_grads(lambda x: jnp.sin(x.astype(jnp.float32)), (X,), order=2)


# --- planted wrong derivatives ----------------------------------------------------------


def vjp_scaled(scale: float) -> Callable[[jax.Array], jax.Array]:
    """sin with a custom VJP that is ``scale`` times the true one."""

    @jax.custom_vjp
    def f(x: jax.Array) -> jax.Array:
        return jnp.sin(x)

    f.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (scale * jnp.cos(x) * g,))
    return f


def jvp_scaled(scale: float, only_flat_index: int | None = None) -> Callable[..., jax.Array]:
    """sin with a custom JVP: ``scale`` times the truth (everywhere or at one element)."""

    @jax.custom_jvp
    def f(x: jax.Array) -> jax.Array:
        return jnp.sin(x)

    def rule(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> Any:
        (x,), (t,) = primals, tangents
        factor: Any = scale
        if only_flat_index is not None:
            flat = jnp.arange(x.size).reshape(x.shape)
            factor = jnp.where(flat == only_flat_index, scale, 1.0)
        return jnp.sin(x), factor * jnp.cos(x) * t

    f.defjvp(rule)
    return f


@jax.custom_jvp
def cos_wrong_derivative(x: jax.Array) -> jax.Array:
    """cos, whose own derivative is wrong (-2 sin instead of -sin)."""
    return jnp.cos(x)


cos_wrong_derivative.defjvp(lambda p, t: (jnp.cos(p[0]), -2.0 * jnp.sin(p[0]) * t[0]))


@jax.custom_jvp
def sin_wrong_second(x: jax.Array) -> jax.Array:
    """sin with a correct first derivative and a wrong second derivative."""
    return jnp.sin(x)


sin_wrong_second.defjvp(lambda p, t: (jnp.sin(p[0]), cos_wrong_derivative(p[0]) * t[0]))


@jax.custom_vjp
def sin_vjp_wrong_second(x: jax.Array) -> jax.Array:
    return jnp.sin(x)


sin_vjp_wrong_second.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (cos_wrong_derivative(x) * g,))

SCALES = [1.01, 1.1, 2.0, -1.0]  # -1: sign flipped


@pytest.mark.parametrize("scale", SCALES)
def test_wrong_custom_vjp_is_caught(scale: float) -> None:
    # A custom_vjp function has no JVP: only reverse mode applies.
    with pytest.raises(GradientCheckError) as info:
        check_grads(vjp_scaled(scale), (X,), modes=("rev",))
    assert info.value.mode == "rev"
    assert info.value.order == 1
    assert info.value.analytic / info.value.numeric == pytest.approx(scale, rel=1e-6)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
@pytest.mark.parametrize("scale", SCALES)
def test_wrong_custom_jvp_is_caught(scale: float, mode: str) -> None:
    with pytest.raises(GradientCheckError) as info:
        check_grads(jvp_scaled(scale), (X,), modes=(mode,))
    assert info.value.mode == mode
    assert info.value.analytic / info.value.numeric == pytest.approx(scale, rel=1e-6)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_one_wrong_element_is_named(mode: str, order: int) -> None:
    f = jvp_scaled(1.01, only_flat_index=4)  # element (1, 1) of a (2, 3) input
    with pytest.raises(GradientCheckError) as info:
        check_grads(f, (X,), modes=(mode,), order=order)
    err = info.value
    message = str(err)
    assert err.order == 1  # caught at the first level already
    assert "args[0] (argument 0), element (1, 1)" in message
    assert f"mode={mode!r}" in message
    x = float(X[1, 1])
    true = float(np.cos(np.float64(x)))
    assert err.numeric == pytest.approx(true * (1 if mode == "fwd" else err.numeric / true))
    if mode == "fwd":
        assert err.analytic == pytest.approx(1.01 * true, rel=1e-9)
        assert err.numeric == pytest.approx(true, rel=1e-8)
    else:
        assert err.analytic / err.numeric == pytest.approx(1.01, rel=1e-6)
    # the values, the errors and the tolerances are all printed
    for text in (
        f"{err.analytic:.10e}",
        f"{err.numeric:.10e}",
        f"{err.abs_error:.3e}",
        f"{err.rel_error:.3e}",
        "rtol=1e-05",
        "atol=1e-07",
        "eps=1e-06",
        "comparison dtype float64",
    ):
        assert text in message
    assert err.rel_error == pytest.approx(0.01, rel=1e-4)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_wrong_element_of_many_is_found_by_bisection(mode: str) -> None:
    # 40 elements > per_element_max: a random direction fails, then bisection finds
    # the element and reports its own (coordinate-direction) check.
    f = jvp_scaled(1.01, only_flat_index=17)  # element (2, 1) of (5, 8)
    with pytest.raises(GradientCheckError) as info:
        check_grads(f, (BIG,), modes=(mode,))
    message = str(info.value)
    assert "input args[0] (argument 0), element (2, 1)" in message
    assert "located by bisecting the failing random unit direction" in message
    assert info.value.analytic / info.value.numeric == pytest.approx(1.01, rel=1e-6)


def test_wrong_leaf_of_a_large_pytree_is_found() -> None:
    wrong = jvp_scaled(1.01, only_flat_index=5)

    def f(p: dict[str, jax.Array]) -> jax.Array:
        return jnp.sum(jnp.tanh(p["w"]) * 2.0) + jnp.sum(wrong(p["b"]) ** 2)

    params = {"w": BIG, "b": BIG[:3] * 0.5}  # 64 elements
    with pytest.raises(
        GradientCheckError, match=re.escape("input args[0]['b'] (argument 0), element (0, 5)")
    ):
        check_grads(f, (params,), modes=("rev",))


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_wrong_second_derivative_is_caught_only_at_order_2(mode: str) -> None:
    check_grads(sin_wrong_second, (X,), modes=(mode,), order=1)
    with pytest.raises(GradientCheckError) as info:
        check_grads(sin_wrong_second, (X,), modes=(mode,), order=2)
    assert info.value.order == 2
    what = "the JVP of f" if mode == "fwd" else "the VJP of f"
    assert info.value.what == what
    assert "order 2 of 2" in str(info.value)


def test_wrong_second_derivative_of_custom_vjp_is_caught() -> None:
    check_grads(sin_vjp_wrong_second, (X,), modes=("rev",), order=1)
    with pytest.raises(GradientCheckError, match="derivative of the VJP of f"):
        check_grads(sin_vjp_wrong_second, (X,), modes=("rev",), order=2)


def test_wrong_leaf_of_a_pytree_argument_is_named() -> None:
    wrong = jvp_scaled(1.1)

    def f(p: dict[str, jax.Array], x: jax.Array) -> jax.Array:
        return jnp.sin(p["a"]) * x + wrong(p["b"])

    args = ({"a": X[0], "b": X[1]}, X[0])
    for mode in ("fwd", "rev"):
        with pytest.raises(GradientCheckError, match=re.escape("args[0]['b'] (argument 0)")):
            check_grads(f, args, modes=(mode,))

    def g(x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.sin(x) + wrong(y)

    with pytest.raises(GradientCheckError, match=re.escape("args[1] (argument 1)")):
        check_grads(g, (X[0], X[1]))


def test_float32_comparison_reports_its_dtype_and_tolerances() -> None:
    f = jvp_scaled(2.0)
    with pytest.raises(GradientCheckError) as info:
        check_grads(lambda x: f(x.astype(jnp.float32)), (X,), modes=("fwd",))
    assert "comparison dtype float32" in str(info.value)
    assert info.value.rtol == 1e-2


def test_nan_gradient_is_caught() -> None:
    @jax.custom_jvp
    def f(x: jax.Array) -> jax.Array:
        return jnp.sin(x)

    f.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.nan * t[0]))
    with pytest.raises(GradientCheckError):
        check_grads(f, (X,), modes=("fwd",))


# --- jit, eager, dtypes ----------------------------------------------------------------


def recording(seen: list[Any]) -> Callable[[jax.Array], jax.Array]:
    def f(x: jax.Array) -> jax.Array:
        seen.append(x)
        return jnp.sin(x) * x

    return f


def test_jit_traces_a_fixed_number_of_times() -> None:
    counts = []
    for num_directions in (1, 6):
        seen: list[Any] = []
        check_grads(recording(seen), (X,), num_directions=num_directions)
        assert all(isinstance(a, jax.core.Tracer) for a in seen)
        counts.append(len(seen))
    # Traced, not called once per direction: more directions, same number of traces.
    assert counts[0] == counts[1]
    assert counts[0] <= 4  # eval_shape, then f, its JVP and its VJP in one program


def test_eager_calls_f_with_concrete_jax_arrays() -> None:
    counts = []
    for num_directions in (1, 6):
        seen: list[Any] = []
        check_grads(recording(seen), (np.asarray(X),), jit=False, num_directions=num_directions)
        assert all(isinstance(a, jax.Array) for a in seen)
        assert not any(isinstance(a, np.ndarray) for a in seen)
        concrete = [a for a in seen if not isinstance(a, jax.core.Tracer)]
        assert concrete and all(a.dtype == jnp.float64 for a in concrete)
        counts.append(len(seen))
    assert counts[1] > counts[0]  # one call per perturbed point


def test_eager_catches_wrong_gradients_too() -> None:
    with pytest.raises(GradientCheckError):
        check_grads(jvp_scaled(1.01), (X,), jit=False, order=2)


def test_integer_leaves_are_passed_through_not_differentiated() -> None:
    seen: list[Any] = []

    def f(x: jax.Array, n: jax.Array) -> jax.Array:
        seen.append(n)
        return jnp.sin(x) * n

    check_grads(f, (X, jnp.array([1, 2, 3])), order=2)
    assert all(jnp.issubdtype(n.dtype, jnp.integer) for n in seen)


def test_float64_is_enabled_only_during_the_check() -> None:
    dtypes = []

    def f(x: jax.Array) -> jax.Array:
        dtypes.append(x.dtype)
        return jnp.sin(x)

    check_grads(f, (X,))
    assert set(dtypes) == {jnp.dtype(jnp.float64)}
    assert jnp.ones(1).dtype == jnp.float32  # x64 is off again afterwards


@pytest.mark.filterwarnings("ignore:Explicitly requested dtype float64")
def test_missing_float64_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jax, "enable_x64", lambda value=True: contextlib.nullcontext())
    with pytest.raises(X64UnavailableError, match="float64"):
        check_grads(jnp.sin, (X,))


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(TypeError, match="tuple"):
        check_grads(jnp.sin, X)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="modes"):
        check_grads(jnp.sin, (X,), modes=("backward",))
    with pytest.raises(ValueError, match="no argument leaf has a float dtype"):
        check_grads(lambda n: n * 1.0, (jnp.arange(3),))
    with pytest.raises(ValueError, match="no float output"):
        check_grads(lambda x: x > 0, (X,))


# --- against jax.test_util.check_grads -----------------------------------------------


def float_pytree(p: dict[str, Any]) -> dict[str, Any]:
    return {"prod": p["a"] * jnp.sin(p["b"][0]), "pair": (jnp.tanh(p["b"][1]), p["a"].sum() ** 2)}


FLOAT_TREE = ({"a": X[0], "b": [X[1], X[0] * 0.5]},)

AGAINST_JAX: dict[str, tuple[Callable[..., Any], tuple[Any, ...], int, tuple[str, ...], bool]] = {
    # name: (f, args, order, modes, correct?)
    "sin": (jnp.sin, (X,), 2, ("fwd", "rev"), True),
    "mlp": (mlp, ({"w": W, "b": B}, XB), 1, ("fwd", "rev"), True),
    "pytree": (float_pytree, FLOAT_TREE, 1, ("fwd", "rev"), True),
    "vjp_x1.01": (vjp_scaled(1.01), (X,), 1, ("rev",), False),
    "jvp_x1.1": (jvp_scaled(1.1), (X,), 1, ("fwd", "rev"), False),
    "sign_flip": (jvp_scaled(-1.0), (X,), 1, ("fwd",), False),
    "one_element": (jvp_scaled(1.01, only_flat_index=4), (X,), 1, ("rev",), False),
    "second_order": (sin_wrong_second, (X,), 2, ("fwd", "rev"), False),
}


def _jax_check(f: Callable[..., Any], args: tuple[Any, ...], order: int, modes: Any) -> None:
    with jax.enable_x64(True):
        args64 = jax.tree.map(
            lambda a: (
                jnp.asarray(a, jnp.float64)
                if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)
                else jnp.asarray(a)
            ),
            args,
        )
        jax.test_util.check_grads(f, args64, order=order, modes=modes)


@pytest.mark.parametrize("name", list(AGAINST_JAX))
def test_agrees_with_jax_test_util(name: str) -> None:
    f, args, order, modes, correct = AGAINST_JAX[name]
    if correct:
        check_grads(f, args, order=order, modes=modes)
        _jax_check(f, args, order, modes)
    else:
        with pytest.raises(GradientCheckError):
            check_grads(f, args, order=order, modes=modes)
        with pytest.raises(AssertionError):
            _jax_check(f, args, order, modes)


def test_integer_leaves_work_here_but_not_in_jax_test_util() -> None:
    f, args = CORRECT["pytree_in_out"]
    check_grads(f, args)
    with pytest.raises(TypeError, match="float0"):
        _jax_check(f, args, 1, ("fwd", "rev"))


# --- property: random compositions pass ---------------------------------------------

UNARY: dict[str, Callable[[jax.Array], jax.Array]] = {
    "sin": jnp.sin,
    "tanh": jnp.tanh,
    "square": jnp.square,
    "exp": lambda x: jnp.exp(0.5 * x),
    "softplus": jax.nn.softplus,
    "sigmoid": jax.nn.sigmoid,
    "cube": lambda x: x**3,
}


@given(
    x=mst.float_arrays(mst.shapes(max_dims=1), min_value=-1.5, max_value=1.5),
    y=mst.float_arrays(mst.shapes(max_dims=1), min_value=-1.5, max_value=1.5),
    ops=st.lists(st.sampled_from(sorted(UNARY)), min_size=1, max_size=3),
    coefficients=st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=4),
)
def test_random_compositions_pass(
    x: jax.Array, y: jax.Array, ops: list[str], coefficients: list[float]
) -> None:
    # order 1 only: each example compiles anew, and order 2 is covered above
    def f(x: jax.Array, y: jax.Array) -> dict[str, jax.Array]:
        u = x
        for op in ops:
            u = UNARY[op](u)
        poly = sum(c * u**k for k, c in enumerate(coefficients))
        return {"poly": poly, "mix": jnp.sum(u) * jnp.cos(y)}

    check_grads(f, (x, y))


# --- functions with a hand-written backward pass (jax.custom_vjp) -----------------------


def _custom_vjp_square(scale):
    @jax.custom_vjp
    def f(x):
        return jnp.sum(x**2)

    def fwd(x):
        return f(x), x

    def bwd(x, g):
        return (scale * 2 * x * g,)

    f.defvjp(fwd, bwd)
    return f


def test_custom_vjp_default_modes_check_reverse_mode_and_say_so():
    x = jnp.array([0.5, -1.0, 2.0])
    with pytest.warns(UserWarning, match=r"custom_vjp.*reverse mode only.*modes=\('rev',\)"):
        check_grads(_custom_vjp_square(1.0), (x,))
    with pytest.warns(UserWarning), pytest.raises(GradientCheckError) as e:
        check_grads(_custom_vjp_square(1.01), (x,))  # a 1% error in the backward pass
    assert e.value.mode == "rev"


def test_custom_vjp_rev_only_is_silent_and_fwd_is_a_clear_error():
    import warnings

    from minijax.testing import ForwardModeUnavailableError

    x = jnp.array([0.5, -1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_grads(_custom_vjp_square(1.0), (x,), modes=("rev",), order=2)
    with pytest.raises(ForwardModeUnavailableError, match=r"custom_vjp.*Fix: pass modes"):
        check_grads(_custom_vjp_square(1.0), (x,), modes=("fwd", "rev"))
