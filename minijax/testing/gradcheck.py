"""Check jax derivatives against central finite differences, in float64.

:func:`check_grads` is minijax's counterpart of ``jax.test_util.check_grads``,
written out so that each step can be read.

The math
--------
For a function ``f: R^n -> R^m``, a point ``x`` and a direction ``v``, the
*central difference*

.. math::

    D_h(v) = \\frac{f(x + h v) - f(x - h v)}{2 h}

approximates the directional derivative ``J v`` (``J`` the Jacobian of ``f`` at
``x``). Taylor expansion gives ``f(x ± h v) = f ± h J v + h²/2 v'Hv ± h³/6 f'''[v,v,v]
+ O(h⁴)``: the even terms cancel, so the *truncation error* is
``h² |f'''| / 6 = O(h²)``. But each evaluation of ``f`` is rounded, with an error
of about ``u |f|`` (``u`` the unit roundoff of the dtype), and the division by
``2h`` amplifies it: the *rounding error* is ``O(u |f| / h)``. The sum
``h² C₃ + u C₀ / h`` is smallest at ``h ≈ (u)^(1/3)``:

=========  ==============  ===========  =========================================
dtype      ``u``           best ``h``   achievable relative accuracy (~ ``u^(2/3)``)
=========  ==============  ===========  =========================================
float64    1.1e-16         ~5e-6        ~1e-10
float32    6.0e-8          ~4e-3        ~1e-5 (in practice 1e-3 with sums of many terms)
bfloat16   3.9e-3          ~0.15        ~0.03: barely a check at all
=========  ==============  ===========  =========================================

That is why the whole check runs in **float64** (``jax.enable_x64(True)``): a
planted error of 1 % is invisible in float32 finite differences of a real
network and obvious in float64. The inputs are cast to float64; integer and
other non-float leaves are passed unchanged and not differentiated.

What is compared
----------------
* Forward mode (``"fwd"``): ``jax.jvp(f, (x,), (v,))`` against ``D_h(v)``, element
  by element of the output, for ``num_directions`` random unit directions ``v``.
* Reverse mode (``"rev"``): for a random output cotangent ``ct`` (a random
  weighting of every output leaf, which reduces a pytree output to one number),
  ``<vjp(ct), v>`` against ``<ct, D_h(v)>``.
* Per element: when the differentiated inputs have at most ``per_element_max``
  elements in total, every coordinate direction ``e_i`` is checked too, so a
  failure names the worst input element (reverse mode: ``(J^T ct)_i`` against
  ``<ct, D_h(e_i)>``; forward mode: column ``J e_i``).
* ``order=2`` checks the first derivatives themselves: the JVP function
  ``(x, v) -> J(x) v`` and the VJP function ``(x, ct) -> J(x)^T ct`` are checked
  recursively, in every mode, exactly as ``jax.test_util.check_grads`` does. A
  custom rule whose first derivative is right but whose second is wrong passes at
  order 1 and fails at order 2.

The comparison for each element is::

    |analytic - numeric| <= atol + rtol * |numeric| + noise
    noise = 8 * finfo(dtype).eps * max(|f(x+hv)|, |f(x-hv)|) / (2h)

``noise`` is the rounding error of the difference quotient (see above), estimated
from the values of ``f`` actually computed; it keeps functions with large
outputs and small slopes from failing spuriously and is negligible otherwise.

Defaults, by *comparison dtype* (the least precise float dtype among the
checked function's float64-cast inputs and its outputs; float64 unless ``f``
casts down inside, e.g. a bf16 layer):

=========  ========  ========  ========
dtype      eps       rtol      atol
=========  ========  ========  ========
float64    1e-6      1e-5      1e-7
float32    1e-3      1e-2      1e-3
float16    5e-2      5e-2      5e-2
bfloat16   1e-1      1e-1      1e-1
=========  ========  ========  ========

``eps`` is relative: the step is ``h = eps * max(1, max|x|)``. For float64,
``h = 1e-6`` gives a truncation error ~``1e-13 |f'''|`` and a rounding error
~``1e-10 |f|``: four orders of magnitude below ``rtol = 1e-5``, which is in turn
three orders below a 1 % planted error, so the default neither fails correct
code nor misses a wrong gradient scaled by 1.01.

The jax counterpart is ``jax.test_util.check_grads(f, args, order, modes, atol,
rtol, eps)``; it runs in the dtype it is given, uses one random direction, and
reports the failing mode but not the element.
"""

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ForwardModeUnavailableError",
    "GradientCheckError",
    "X64UnavailableError",
    "check_grads",
    "default_tolerances",
]

Leaves = list[jax.Array]

# dtype name -> (eps, rtol, atol); see the module docstring for the reasoning.
_DEFAULTS: dict[str, tuple[float, float, float]] = {
    "float64": (1e-6, 1e-5, 1e-7),
    "float32": (1e-3, 1e-2, 1e-3),
    "float16": (5e-2, 5e-2, 5e-2),
    "bfloat16": (1e-1, 1e-1, 1e-1),
}
# Machine epsilon (spacing of floats at 1.0) of each float dtype.
_MACHINE_EPS: dict[str, float] = {
    "float64": 2.0**-52,
    "float32": 2.0**-23,
    "float16": 2.0**-10,
    "bfloat16": 2.0**-7,
}
# How many ulps of |f| one evaluation of f may be off (rounding-noise allowance).
_NOISE_ULPS = 8.0


class GradientCheckError(AssertionError):
    """A jax derivative disagrees with central finite differences.

    The attributes hold what the message shows: ``mode`` (``"fwd"``/``"rev"``),
    ``order``, ``what`` (which function was being differentiated), ``location``
    (argument, pytree path and element), ``analytic``, ``numeric``, ``abs_error``,
    ``rel_error``, ``allowed`` (the tolerance for that element), ``rtol``, ``atol``
    and ``eps``.
    """

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.mode: str = details.get("mode", "")
        self.order: int = details.get("order", 0)
        self.what: str = details.get("what", "")
        self.location: str = details.get("location", "")
        self.analytic: float = details.get("analytic", float("nan"))
        self.numeric: float = details.get("numeric", float("nan"))
        self.abs_error: float = details.get("abs_error", float("nan"))
        self.rel_error: float = details.get("rel_error", float("nan"))
        self.allowed: float = details.get("allowed", float("nan"))
        self.rtol: float = details.get("rtol", float("nan"))
        self.atol: float = details.get("atol", float("nan"))
        self.eps: float = details.get("eps", float("nan"))


class ForwardModeUnavailableError(GradientCheckError):
    """``modes`` asks for forward mode, but ``f`` has no JVP (it uses ``jax.custom_vjp``).

    >>> @jax.custom_vjp
    ... def f(x):
    ...     return jnp.sum(x**2)
    >>> f.defvjp(lambda x: (f(x), x), lambda x, g: (2 * x * g,))
    >>> try:
    ...     check_grads(f, (jnp.ones(2),), modes=("fwd",))
    ... except ForwardModeUnavailableError as e:
    ...     print(str(e)[:60])
    check_grads: modes=('fwd',) asks for forward mode, but f use
    >>> check_grads(f, (jnp.ones(2),), modes=("rev",))  # the check it supports
    """


class X64UnavailableError(RuntimeError):
    """float64 could not be switched on, so the finite differences would be float32."""


def default_tolerances(dtype: Any) -> tuple[float, float, float]:
    """The default ``(eps, rtol, atol)`` of :func:`check_grads` for a comparison dtype."""
    name = jnp.dtype(dtype).name
    if name not in _DEFAULTS:
        raise ValueError(
            f"check_grads has no default tolerances for dtype {name}; it compares in "
            f"{', '.join(_DEFAULTS)}. Pass eps, rtol and atol explicitly."
        )
    return _DEFAULTS[name]


# --- the function under test, as a flat function of its float leaves -------------------


@dataclasses.dataclass
class _Problem:
    """``fn`` maps a list of float leaves to a list of float output leaves."""

    fn: Callable[[Leaves], Leaves]
    x: Leaves
    in_names: list[str]
    out_names: list[str]
    what: str  # "f", "the JVP of f", ...
    out_shapes: list[Any] | None = None  # known already, or None


def _is_float(a: Any) -> bool:
    return bool(jnp.issubdtype(jnp.result_type(a), jnp.floating))


def _is_arraylike(a: Any) -> bool:
    return isinstance(a, (jax.Array, np.ndarray, np.generic, int, float, bool))


def _argument_name(path: tuple[Any, ...]) -> str:
    text = "args" + jax.tree_util.keystr(path)
    if path and isinstance(path[0], jax.tree_util.SequenceKey):
        text += f" (argument {path[0].idx})"
    return text


def _make_problem(f: Callable[..., Any], args: tuple[Any, ...]) -> _Problem:
    flat, treedef = jax.tree_util.tree_flatten_with_path(args)
    converted: list[Any] = []
    diff_index: list[int] = []
    names: list[str] = []
    for i, (path, leaf) in enumerate(flat):
        value = jnp.asarray(leaf) if _is_arraylike(leaf) else leaf
        if _is_arraylike(leaf) and _is_float(value):
            value = value.astype(jnp.float64)
            if value.dtype != jnp.float64:
                raise X64UnavailableError(
                    "check_grads needs float64, but an input cast to float64 came back as "
                    f"{value.dtype}: jax.enable_x64(True) did not take effect (is "
                    "jax_enable_x64 pinned off, e.g. by JAX_ENABLE_X64=0, or is this code "
                    "running inside a jitted function?). Finite differences in float32 "
                    "cannot tell a 1% gradient error from rounding noise."
                )
            diff_index.append(i)
            names.append(_argument_name(path))
        converted.append(value)
    if not diff_index:
        raise ValueError(
            "check_grads: no argument leaf has a float dtype; nothing to check. Pass the "
            "inputs to differentiate as float arrays (integer leaves are passed through)."
        )

    def call(leaves: Leaves) -> Any:
        full = list(converted)
        for j, i in enumerate(diff_index):
            full[i] = leaves[j]
        return f(*jax.tree_util.tree_unflatten(treedef, full))

    x = [converted[i] for i in diff_index]
    out_shape = jax.eval_shape(call, x)
    out_flat = jax.tree_util.tree_flatten_with_path(out_shape)[0]
    keep = [
        k
        for k, (_, o) in enumerate(out_flat)
        if jnp.issubdtype(getattr(o, "dtype", jnp.result_type(o)), jnp.floating)
    ]
    if not keep:
        raise ValueError(
            "check_grads: f returns no float output; nothing to check. Return the float "
            "result to differentiate (e.g. the loss), not an integer or boolean."
        )
    out_names = ["output" + jax.tree_util.keystr(out_flat[k][0]) for k in keep]

    def fn(leaves: Leaves) -> Leaves:
        outs = jax.tree_util.tree_leaves(call(leaves))
        return [jnp.asarray(outs[k]) for k in keep]

    shapes = [o for _, o in out_flat]  # jax.ShapeDtypeStruct
    return _Problem(
        fn=fn,
        x=x,
        in_names=names,
        out_names=out_names,
        what="f",
        out_shapes=[shapes[k] for k in keep],
    )


def _jvp_problem(p: _Problem, v: Leaves) -> _Problem:
    n = len(p.x)

    def fn(leaves: Leaves) -> Leaves:
        _, tangents = jax.jvp(p.fn, (leaves[:n],), (leaves[n:],))
        return list(tangents)

    return _Problem(
        fn=fn,
        x=[*p.x, *v],
        in_names=[f"primal {s}" for s in p.in_names] + [f"tangent {s}" for s in p.in_names],
        out_names=[f"tangent {s}" for s in p.out_names],
        what=f"the JVP of {p.what}",
    )


def _vjp_problem(p: _Problem, ct: Leaves) -> _Problem:
    n = len(p.x)

    def fn(leaves: Leaves) -> Leaves:
        _, pullback = jax.vjp(p.fn, leaves[:n])
        return list(pullback(leaves[n:])[0])

    return _Problem(
        fn=fn,
        x=[*p.x, *ct],
        in_names=[f"primal {s}" for s in p.in_names] + [f"cotangent {s}" for s in p.out_names],
        out_names=[f"cotangent {s}" for s in p.in_names],
        what=f"the VJP of {p.what}",
    )


# --- one order of checks ---------------------------------------------------------------


def _machine_eps(dtype: np.dtype[Any]) -> float:
    if dtype.name not in _MACHINE_EPS:
        raise ValueError(
            f"check_grads does not support dtype {dtype.name}: f must take and return "
            f"floats of {', '.join(_MACHINE_EPS)}."
        )
    return _MACHINE_EPS[dtype.name]


def _least_precise(dtypes: Sequence[Any]) -> np.dtype[Any]:
    return max((jnp.dtype(d) for d in dtypes), key=_machine_eps)


@dataclasses.dataclass
class _Settings:
    modes: tuple[str, ...]
    eps: float | None
    rtol: float | None
    atol: float | None
    jit: bool
    per_element_max: int
    num_directions: int
    top_order: int
    default_modes: bool = False


@dataclasses.dataclass
class _Tol:
    eps: float
    rtol: float
    atol: float
    h: float
    ulp: float
    dtype: np.dtype[Any]

    def allowed(self, numeric: Any, noise: Any) -> Any:
        """The tolerance for one compared value: atol + rtol*|numeric| + rounding noise."""
        return self.atol + self.rtol * np.abs(numeric) + noise


NDArray = np.ndarray[Any, Any]
Direction = list[NDArray]  # one float64 NumPy array per input leaf


def _unit_direction(rng: np.random.Generator, shapes: Sequence[tuple[int, ...]]) -> Direction:
    raw = [rng.standard_normal(shape) for shape in shapes]
    norm = float(np.sqrt(sum(float(np.sum(r * r)) for r in raw))) or 1.0
    return [r / norm for r in raw]


def _coordinate(shapes: Sequence[tuple[int, ...]], leaf: int, index: tuple[int, ...]) -> Direction:
    e = [np.zeros(shape) for shape in shapes]
    e[leaf][index] = 1.0
    return e


def _basis(shapes: Sequence[tuple[int, ...]]) -> list[tuple[int, tuple[int, ...], Direction]]:
    """Every coordinate direction e_i: (input leaf, element index, direction)."""
    out = []
    for j, shape in enumerate(shapes):
        for flat in range(int(np.prod(shape, dtype=np.int64))):
            index = tuple(int(i) for i in np.unravel_index(flat, shape))
            out.append((j, index, _coordinate(shapes, j, index)))
    return out


def _restrict(d: Direction, leaf: int, lo: int = 0, hi: int | None = None) -> Direction:
    """``d`` with everything zeroed except elements ``lo:hi`` (flat) of input ``leaf``."""
    out = [np.zeros_like(a) for a in d]
    flat = out[leaf].reshape(-1)
    flat[lo:hi] = d[leaf].reshape(-1)[lo:hi]
    return out


# The check programs run once or twice and are tiny, so compiling them dominates: on
# CPU, skip LLVM's optimization passes (IEEE semantics are unchanged, XLA's fast-math
# is off), which cuts compile time by about a quarter.
_CPU_COMPILE_OPTIONS: dict[str, str | bool] = {"xla_backend_optimization_level": "0"}


def _compile(program: Callable[..., Any], *args: Any) -> Callable[..., Any]:
    lowered = jax.jit(program).lower(*args)
    platforms = {d.platform for a in jax.tree_util.tree_leaves(args) for d in a.devices()}
    if platforms == {"cpu"}:
        try:
            compiled: Callable[..., Any] = lowered.compile(_CPU_COMPILE_OPTIONS)
            return compiled
        except Exception:  # an XLA without the option: compile normally
            pass
    return lowered.compile()


@dataclasses.dataclass
class _Evaluated:
    """f at x ± h d, jvp(f, x, d) for every direction d, and vjp(ct); all float64 NumPy."""

    plus: list[NDArray]  # per output leaf, shape (K, *out_shape)
    minus: list[NDArray]
    jvps: list[NDArray] | None  # per output leaf, shape (K, *out_shape)
    grads: list[NDArray] | None  # per input leaf


class _Evaluator:
    """Runs ``f`` and its derivatives for a batch of K directions.

    With ``jit``, one compiled program per K (cached): ``f`` traced once under
    ``vmap`` for all 2K points, its JVP for all K directions, and its VJP of ``ct``.
    Without, plain eager calls.
    """

    def __init__(self, p: _Problem, h: float, cts: Leaves, s: _Settings) -> None:
        self.p, self.h, self.cts, self.s = p, h, cts, s
        self.fwd, self.rev = "fwd" in s.modes, "rev" in s.modes
        self._compiled: dict[int, Callable[..., Any]] = {}

    def _shift(self, x: Leaves, d: Leaves, step: Any) -> Leaves:
        return [(a + step * di).astype(a.dtype) for a, di in zip(x, d, strict=True)]

    def _tangent(self, x: Leaves, d: Leaves) -> Leaves:
        return list(jax.jvp(self.p.fn, (x,), (d,))[1])

    def _cotangent(self, x: Leaves, ct: Leaves) -> Leaves:
        return list(jax.vjp(self.p.fn, x)[1](ct)[0])

    def _program(self, x: Leaves, vs: Leaves, ct: Leaves) -> tuple[Any, Any, Any]:
        both = [jnp.concatenate([v, -v]) for v in vs]
        values = jax.vmap(lambda d: self.p.fn(self._shift(x, d, self.h)))(both)
        tangents = jax.vmap(lambda d: self._tangent(x, d))(vs) if self.fwd else None
        grads = self._cotangent(x, ct) if self.rev else None
        return values, tangents, grads

    def __call__(self, dirs: list[Direction]) -> _Evaluated:
        p, k = self.p, len(dirs)
        stacked = [jnp.asarray(np.stack([d[j] for d in dirs]), a.dtype) for j, a in enumerate(p.x)]
        if self.s.jit:
            if k not in self._compiled:
                self._compiled[k] = _compile(self._program, p.x, stacked, self.cts)
            values, tangents, grads = self._compiled[k](p.x, stacked, self.cts)
            values64 = [np.asarray(v, np.float64) for v in values]
            return _Evaluated(
                plus=[v[:k] for v in values64],
                minus=[v[k:] for v in values64],
                jvps=None if tangents is None else [np.asarray(t, np.float64) for t in tangents],
                grads=None if grads is None else [np.asarray(g, np.float64) for g in grads],
            )

        def stack(rows: list[Leaves]) -> list[NDArray]:
            return [
                np.stack([np.asarray(r[o], np.float64) for r in rows]) for o in range(len(rows[0]))
            ]

        def run(step: float) -> list[NDArray]:
            return stack([p.fn(self._shift(p.x, [v[i] for v in stacked], step)) for i in range(k)])

        jvps = None
        if self.fwd:
            jvps = stack([self._tangent(p.x, [v[i] for v in stacked]) for i in range(k)])
        grads = None
        if self.rev:
            grads = [np.asarray(g, np.float64) for g in self._cotangent(p.x, self.cts)]
        return _Evaluated(plus=run(self.h), minus=run(-self.h), jvps=jvps, grads=grads)


@dataclasses.dataclass
class _Row:
    """The worst compared value for one direction."""

    ratio: float  # |analytic - numeric| / allowed; inf for NaN
    analytic: float
    numeric: float
    noise: float
    output: str  # forward mode: which output element; reverse mode: ""


def _compare(
    p: _Problem,
    ev: _Evaluated,
    dirs: list[Direction],
    tol: _Tol,
    cts64: list[NDArray],
    mode: str,
) -> tuple[list[_Row], int, int]:
    """One row per direction, and how many of all compared values fail, out of how many."""
    numeric = [(fp - fm) / (2 * tol.h) for fp, fm in zip(ev.plus, ev.minus, strict=True)]
    noise = [
        _NOISE_ULPS * tol.ulp * np.maximum(np.abs(fp), np.abs(fm)) / (2 * tol.h)
        for fp, fm in zip(ev.plus, ev.minus, strict=True)
    ]

    def ratio_of(a: Any, n: Any, z: Any) -> Any:
        gap = np.abs(a - n)
        return np.where(np.isnan(gap), np.inf, gap / tol.allowed(n, z))

    rows: list[_Row] = []
    if mode == "fwd":
        # Forward mode compares every output element of J d.
        assert ev.jvps is not None
        ratios = [ratio_of(a, n, z) for a, n, z in zip(ev.jvps, numeric, noise, strict=True)]
        n_bad = sum(int(np.sum(r > 1)) for r in ratios)
        n_total = sum(r.size for r in ratios)
        for k in range(len(dirs)):
            best: _Row | None = None
            for o, r in enumerate(ratios):
                if r[k].size == 0:
                    continue
                idx = tuple(int(i) for i in np.unravel_index(np.argmax(r[k]), r[k].shape))
                if best is None or r[k][idx] > best.ratio:
                    best = _Row(
                        ratio=float(r[k][idx]),
                        analytic=float(ev.jvps[o][k][idx]),
                        numeric=float(numeric[o][k][idx]),
                        noise=float(noise[o][k][idx]),
                        output=f"{p.out_names[o]}, element {_fmt_index(idx)}",
                    )
            rows.append(best or _Row(0.0, 0.0, 0.0, 0.0, ""))
        return rows, n_bad, n_total
    # Reverse mode compares one number per direction: <vjp(ct), d> and <ct, J d>.
    assert ev.grads is not None
    for k, d in enumerate(dirs):
        n_k = sum(float(np.sum(c * n[k])) for c, n in zip(cts64, numeric, strict=True))
        z_k = sum(float(np.sum(np.abs(c) * z[k])) for c, z in zip(cts64, noise, strict=True))
        a_k = sum(float(np.sum(g * di)) for g, di in zip(ev.grads, d, strict=True))
        rows.append(_Row(float(ratio_of(a_k, n_k, z_k)), a_k, n_k, z_k, ""))
    return rows, sum(r.ratio > 1 for r in rows), len(rows)


_CHECKS = {
    ("fwd", "element"): "column J e_i from jvp vs (f(x + h e_i) - f(x - h e_i)) / 2h",
    ("fwd", "direction"): "jvp(f, x, v) vs (f(x + h v) - f(x - h v)) / 2h",
    ("rev", "element"): "(J^T ct)_i from vjp vs <ct, (f(x + h e_i) - f(x - h e_i)) / 2h>",
    ("rev", "direction"): "<vjp(ct), v> vs <ct, (f(x + h v) - f(x - h v)) / 2h>",
}


def _element_location(
    p: _Problem, mode: str, leaf: int, index: tuple[int, ...], row: _Row, note: str = ""
) -> str:
    where = f"input {p.in_names[leaf]}, element {_fmt_index(index)}{note}"
    if mode == "fwd":
        return f"{where}; {row.output}"
    return f"{where}; ct: a random cotangent for every output"


def _localize(
    p: _Problem,
    evaluate: _Evaluator,
    d: Direction,
    tol: _Tol,
    cts64: list[NDArray],
    mode: str,
) -> tuple[int, tuple[int, ...], _Row] | tuple[int, None, None]:
    """Find the input leaf and element behind a failing random direction ``d``.

    J d is linear in d, so the error along d is the sum of the errors along its
    pieces: restrict d to each input leaf, then bisect the worst leaf's elements,
    following the half with the larger error, and check the element found on its own.
    Returns (leaf, element, its row), or (leaf, None, None) if the element alone passes.
    """

    def errors(parts: list[Direction]) -> list[float]:
        rows = _compare(p, evaluate(parts), parts, tol, cts64, mode)[0]
        return [abs(r.analytic - r.numeric) if np.isfinite(r.ratio) else np.inf for r in rows]

    by_leaf = errors([_restrict(d, j) for j in range(len(d))])
    leaf = int(np.argmax(by_leaf))
    lo, hi = 0, d[leaf].size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        left, right = errors([_restrict(d, leaf, lo, mid), _restrict(d, leaf, mid, hi)])
        lo, hi = (lo, mid) if left >= right else (mid, hi)
    index = tuple(int(i) for i in np.unravel_index(lo, d[leaf].shape))
    e = _coordinate([a.shape for a in d], leaf, index)
    row = _compare(p, evaluate([e]), [e], tol, cts64, mode)[0][0]
    return (leaf, index, row) if row.ratio > 1 else (leaf, None, None)


def _fmt_index(index: tuple[int, ...]) -> str:
    return str(index) if index else "() (scalar)"


def _fail(
    *,
    mode: str,
    order: int,
    p: _Problem,
    check: str,
    location: str,
    row: _Row,
    tol: _Tol,
    n_bad: int,
    n_total: int,
    s: _Settings,
) -> GradientCheckError:
    name = "forward mode (JVP)" if mode == "fwd" else "reverse mode (VJP)"
    analytic, numeric = row.analytic, row.numeric
    allowed = float(tol.allowed(numeric, row.noise))
    abs_err = abs(analytic - numeric)
    rel_err = abs_err / max(abs(numeric), np.finfo(np.float64).tiny)
    level = f"order {order}" if s.top_order == 1 else f"order {order} of {s.top_order}"
    message = (
        f"gradient check failed: {name}, mode={mode!r}, {level}, "
        f"derivative of {p.what}; {check}\n"
        f"  where:     {location}\n"
        f"  analytic:  {analytic:.10e}\n"
        f"  numeric:   {numeric:.10e}   (central difference in {tol.dtype.name})\n"
        f"  abs error: {abs_err:.3e}\n"
        f"  rel error: {rel_err:.3e}\n"
        f"  allowed:   {allowed:.3e} = atol + rtol*|numeric| + rounding noise "
        f"= {tol.atol:.1e} + {tol.rtol:.1e}*{abs(numeric):.3e} + {row.noise:.1e}\n"
        f"  tolerances: rtol={tol.rtol:g}, atol={tol.atol:g}, eps={tol.eps:g} "
        f"(step h={tol.h:.3e}), comparison dtype {tol.dtype.name}\n"
        f"  {n_bad} of {n_total} compared values exceed the tolerance"
    )
    return GradientCheckError(
        message,
        mode=mode,
        order=order,
        what=p.what,
        location=location,
        analytic=analytic,
        numeric=numeric,
        abs_error=abs_err,
        rel_error=rel_err,
        allowed=allowed,
        rtol=tol.rtol,
        atol=tol.atol,
        eps=tol.eps,
    )


def _check_once(
    p: _Problem, order: int, s: _Settings, rng: np.random.Generator
) -> tuple[Leaves, Leaves]:
    """All order-1 checks of ``p``; returns a random direction and cotangent (for order 2)."""
    out_shapes = jax.eval_shape(p.fn, p.x) if p.out_shapes is None else p.out_shapes
    dtype = _least_precise([a.dtype for a in p.x] + [o.dtype for o in out_shapes])
    d_eps, d_rtol, d_atol = default_tolerances(dtype)
    eps = d_eps if s.eps is None else s.eps
    x64 = [np.asarray(a, np.float64) for a in p.x]
    scale = max([1.0] + [float(np.max(np.abs(a))) for a in x64 if a.size])
    tol = _Tol(
        eps=eps,
        rtol=d_rtol if s.rtol is None else s.rtol,
        atol=d_atol if s.atol is None else s.atol,
        h=eps * scale,
        ulp=_machine_eps(dtype),
        dtype=dtype,
    )
    shapes = [a.shape for a in p.x]
    directions = [_unit_direction(rng, shapes) for _ in range(max(1, s.num_directions))]
    total = sum(a.size for a in p.x)
    basis = _basis(shapes) if 0 < total <= s.per_element_max else []
    n_basis = len(basis)
    cts = [jnp.asarray(rng.standard_normal(o.shape), o.dtype) for o in out_shapes]
    cts64 = [np.asarray(c, np.float64) for c in cts]
    dirs = [e for _, _, e in basis] + directions

    evaluate = _Evaluator(p, tol.h, cts, s)
    ev = evaluate(dirs)
    for mode in ("fwd", "rev"):
        if mode not in s.modes:
            continue
        rows, n_bad, n_total = _compare(p, ev, dirs, tol, cts64, mode)
        failing = [k for k, r in enumerate(rows) if r.ratio > 1]
        if not failing:
            continue
        # Prefer a coordinate direction: it names the input element.
        on_basis = [k for k in failing if k < n_basis]
        k = max(on_basis or failing, key=lambda i: rows[i].ratio)
        row = rows[k]
        if k < n_basis:
            leaf, index, _ = basis[k]
            location = _element_location(p, mode, leaf, index, row)
            check = _CHECKS[mode, "element"]
        else:
            name = f"random unit direction {k - n_basis + 1} of {len(directions)}"
            leaf, found, found_row = _localize(p, evaluate, dirs[k], tol, cts64, mode)
            if found is not None and found_row is not None:
                row = found_row
                note = f" (located by bisecting the failing {name})"
                location = _element_location(p, mode, leaf, found, row, note)
                check = _CHECKS[mode, "element"]
            else:
                location = f"{name}; the error comes mostly from input {p.in_names[leaf]}"
                if mode == "fwd":
                    location += f"; {row.output}"
                check = _CHECKS[mode, "direction"]
        raise _fail(
            mode=mode,
            order=order,
            p=p,
            check=check,
            location=location,
            row=row,
            tol=tol,
            n_bad=n_bad,
            n_total=n_total,
            s=s,
        )
    v = [jnp.asarray(d, a.dtype) for d, a in zip(directions[0], p.x, strict=True)]
    return v, cts


def _without_forward_mode(p: _Problem, s: _Settings, error: TypeError) -> _Settings:
    """After jax refused forward mode on a ``custom_vjp`` function: drop it, or explain."""
    reason = str(error).splitlines()[0]
    if not s.default_modes:
        raise ForwardModeUnavailableError(
            f"check_grads: modes={s.modes} asks for forward mode, but {p.what} uses "
            "jax.custom_vjp, which defines only a reverse-mode rule (jax says: "
            f"{reason}). Fix: pass modes=('rev',), or define the rule with "
            "jax.custom_jvp instead (jax then derives reverse mode from it).",
            mode="fwd",
            what=p.what,
        ) from None
    warnings.warn(
        f"check_grads: {p.what} uses jax.custom_vjp, which has no forward mode; checking "
        "reverse mode only. Pass modes=('rev',) to say so and silence this warning.",
        stacklevel=4,
    )
    return dataclasses.replace(s, modes=tuple(m for m in s.modes if m != "fwd"))


def _check(p: _Problem, order: int, level: int, s: _Settings, seed: int) -> None:
    rng = np.random.default_rng([seed, level, len(p.what)])
    try:
        v, ct = _check_once(p, level, s, rng)
    except TypeError as e:  # jax: "can't apply forward-mode autodiff (jvp) to a custom_vjp"
        if "fwd" not in s.modes or "custom_vjp" not in str(e):
            raise
        s = _without_forward_mode(p, s, e)
        rng = np.random.default_rng([seed, level, len(p.what)])
        v, ct = _check_once(p, level, s, rng)
    if order > 1:
        if "fwd" in s.modes:
            _check(_jvp_problem(p, v), order - 1, level + 1, s, seed)
        if "rev" in s.modes:
            _check(_vjp_problem(p, ct), order - 1, level + 1, s, seed)


def check_grads(
    f: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    order: int = 1,
    modes: Sequence[str] | None = None,
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    jit: bool = True,
    seed: int = 0,
    per_element_max: int = 16,
    num_directions: int = 2,
) -> None:
    """Check the jax derivatives of ``f`` at ``args`` against central differences.

    ``f(*args)`` may take and return pytrees of arrays. Everything runs under
    ``jax.enable_x64(True)`` with float inputs cast to float64 (the module
    docstring explains the math, the defaults and why float64). Returns ``None``
    when every check passes, else raises :class:`GradientCheckError` naming the
    mode, the order, the argument and pytree path, the worst element, the analytic
    and numeric values, the errors and the tolerances.

    Args:
      f: the function; called with jax arrays (never NumPy arrays).
      args: a tuple of pytrees of arrays; float leaves are differentiated, integer
        and other leaves are passed through unchanged.
      order: 1 checks first derivatives; 2 also checks the derivatives of the JVP
        and VJP functions (second derivatives), as ``jax.test_util.check_grads``.
      modes: any of ``"fwd"`` (``jax.jvp``) and ``"rev"`` (``jax.vjp``). The default,
        ``None``, checks both, except for a function built with ``jax.custom_vjp``
        (it has no forward mode): then reverse mode only, with a warning. Asking
        for ``"fwd"`` explicitly on such a function raises
        :class:`ForwardModeUnavailableError`.
      eps: relative finite-difference step; ``h = eps * max(1, max|x|)``.
      rtol: relative tolerance; ``None`` uses the default for the comparison dtype.
      atol: absolute tolerance; ``None`` uses the default for the comparison dtype.
      jit: evaluate ``f``, its JVP and its VJP in one ``jax.jit``-compiled program per
        level, with ``f`` vmapped over all perturbed points (so ``f`` is traced a fixed
        number of times). ``False`` calls ``f`` eagerly, once per point, with jax
        arrays; use it for a function that cannot be vmapped.
      seed: seeds the random directions and cotangents (NumPy, not jax keys).
      per_element_max: check every coordinate direction when the differentiated
        inputs have at most this many elements in total.
      num_directions: how many random unit directions to check.

    Raises:
      GradientCheckError: a derivative disagrees with the finite differences.
      ForwardModeUnavailableError: ``"fwd"`` was asked for a ``custom_vjp`` function.
      X64UnavailableError: float64 could not be enabled.

    Example::

        check_grads(lambda w, x: jnp.tanh(x @ w).sum(), (w, x), order=2)

    The jax counterpart is ``jax.test_util.check_grads``.
    """
    if not isinstance(args, (tuple, list)):
        raise TypeError(
            f"check_grads: args must be a tuple of pytrees, got {type(args).__name__}; "
            "wrap a single argument as (x,)."
        )
    if order not in (1, 2, 3):
        raise ValueError(f"check_grads: order must be 1, 2 or 3, got {order!r}.")
    default_modes = modes is None
    modes = ("fwd", "rev") if modes is None else tuple(modes)
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(f"check_grads: modes must be a subset of ('fwd', 'rev'), got {modes}")
    settings = _Settings(
        modes=modes,
        eps=eps,
        rtol=rtol,
        atol=atol,
        jit=jit,
        per_element_max=per_element_max,
        num_directions=num_directions,
        top_order=order,
        default_modes=default_modes,
    )
    with jax.enable_x64(True):
        problem = _make_problem(f, tuple(args))
        _check(problem, order, 1, settings, seed)
