r"""Lifting a jax transform over variable collections and rng streams (flax: `flax.core.lift`).

A jax transform (`jax.vmap`, `lax.scan`, `jax.checkpoint`, ...) maps *pure* functions
of arrays. A module body is not pure: it reads and writes variables in a `Scope` and
draws keys from it. Lifting closes that gap in three steps, all in `pack`:

1. **Take apart.** The scope's variables are split into *groups*, one per collection
   filter the transform names (`variable_axes={"params": 0}` makes the group
   `{"params": ...}`), and its rng streams likewise (`split_rngs={"params": True}`).
   Groups are plain dicts of arrays, so the transform can map them like any input.
2. **Run inside.** Inside the transform, `scope_fn(variable_groups, rng_groups)`
   makes a fresh root `Scope` at the *same path* from the (mapped, sliced, carried)
   groups, and the body runs on it. `repack_fn(scope)` takes the variables out again,
   grouped by the output filters: these are the transform's extra outputs.
3. **Put back.** Outside, the output groups are written into the outer scope.

Each transform below only says how its groups travel through its jax transform:
`vmap` maps a group over an axis (`None`: broadcast), `scan` broadcasts, carries or
scans one, `checkpoint` passes them through `jax.checkpoint`. An rng group that is
*split* gets `jax.random.split(key, n)` (one key per index or step), else the same key.

The inner scope shares the outer store's rng counters, so keys drawn inside count on
from those drawn outside, exactly as flax's `rng_counters` do.

>>> import jax, jax.numpy as jnp
>>> from minijax.nn.scope import Scope
>>> def dense(scope, x):
...     w = scope.param("w", jax.nn.initializers.lecun_normal(), (x.shape[-1], 2))
...     return x @ w
>>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
>>> y = vmap(dense, {"params": 0}, {"params": True})(scope, jnp.ones((4, 3)))
>>> y.shape, scope.variables()["params"]["w"].shape
((4, 2), (4, 3, 2))
"""

import contextlib
import dataclasses
import functools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import jax
from jax import lax

from minijax.nn import meta
from minijax.nn.filters import CollectionFilter, group_collections, in_filter
from minijax.nn.scope import Scope
from minijax.random import LazyRng

__all__ = [
    "In",
    "Out",
    "broadcast",
    "checkpoint",
    "cond",
    "custom_vjp",
    "fold_rngs",
    "intersect_filters",
    "jit",
    "jvp",
    "map_variables",
    "pack",
    "remat",
    "remat_scan",
    "scan",
    "subtract_filters",
    "switch",
    "value_and_grad",
    "vjp",
    "vmap",
    "while_loop",
]

Fn = Callable[..., Any]


class _Broadcast:
    """The axis of a value every step (or index) sees whole (flax: `nn.broadcast`)."""

    def __repr__(self) -> str:
        return "broadcast"


broadcast: Any = _Broadcast()


@dataclasses.dataclass(frozen=True)
class In:
    """`variable_axes` value: map the collection on the way in only (flax: `lift.In`)."""

    axis: Any


@dataclasses.dataclass(frozen=True)
class Out:
    """`variable_axes` value: map the collection on the way out only (flax: `lift.Out`)."""

    axis: Any


# -- filters ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Combined:
    """`all` (intersect), `any` (union) or `a and not b` (subtract) of filters.

    A value, not a closure: equal filters compare and hash equal, so `nn.jit` can
    use a scope's mutability as part of its cache key.
    """

    op: str
    filters: tuple[Any, ...]

    def __call__(self, col: str) -> bool:
        if self.op == "and":
            return all(in_filter(f, col) for f in self.filters)
        if self.op == "or":
            return any(in_filter(f, col) for f in self.filters)
        return in_filter(self.filters[0], col) and not in_filter(self.filters[1], col)


def _hashable(x: Any) -> Any:
    if isinstance(x, str) or not isinstance(x, Iterable):
        return x
    return tuple(x)


def intersect_filters(a: CollectionFilter, b: CollectionFilter) -> CollectionFilter:
    """What both `a` and `b` select (flax: `intersect_filters`).

    >>> intersect_filters(True, "params"), intersect_filters("params", False)
    ('params', False)
    """
    if a is True or b is False:
        return b
    if b is True or a is False:
        return a
    return _Combined("and", (_hashable(a), _hashable(b)))


def subtract_filters(a: CollectionFilter, b: CollectionFilter) -> CollectionFilter:
    """What `a` selects and `b` does not (flax: `subtract_filters`).

    >>> subtract_filters(True, "params")("batch_stats")
    True
    """
    if a is False or b is True:
        return False
    if b is False:
        return a
    return _Combined("sub", (_hashable(a), _hashable(b)))


def _union(filters: Iterable[CollectionFilter]) -> CollectionFilter:
    filters = tuple(f for f in filters if f is not False)
    if not filters:
        return False
    if any(f is True for f in filters):
        return True
    return _Combined("or", tuple(_hashable(f) for f in filters))


# -- pack: the building block of every lifted transform ---------------------------------


def _dedup_scopes(scopes: Sequence[Scope]) -> tuple[tuple[Scope, ...], list[tuple[Scope, Any]]]:
    """Keep only the outermost scopes; each scope becomes (its outermost scope, path below).

    A scope counts as under another when both view the same store and its path
    extends the other's: a module and the submodules in its fields are lifted as one
    root, so that what they write lands in one place.
    """
    keep = dict.fromkeys(scopes)
    paths = []
    for leaf in scopes:
        top = min((s for s in scopes
                   if s.store is leaf.store and leaf.path[:len(s.path)] == s.path),
                  key=lambda s: len(s.path))
        if top is not leaf:
            keep.pop(leaf, None)
        paths.append((top, leaf.path[len(top.path):]))
    return tuple(keep), paths


def _copy_tree(tree: Any) -> Any:
    return {k: _copy_tree(v) for k, v in tree.items()} if isinstance(tree, dict) else tree


def _transpose(xs: Iterable[Iterable[Any]]) -> tuple[tuple[Any, ...], ...]:
    return tuple(zip(*xs, strict=True))


def pack(
    fn: Fn,
    in_variable_filters: Sequence[CollectionFilter],
    out_variable_filters: Sequence[CollectionFilter],
    rng_filters: Sequence[CollectionFilter],
    name: str | None = None,
    enable_kwargs: bool = False,
) -> Fn:
    """Turn `fn(scope_fn, repack_fn, variable_groups, rng_groups, *args)` into a scope function.

    In flax this is `flax.core.lift.pack`. The result is called as
    `wrapper(scope_tree, *args)`, where `scope_tree` is a scope or a pytree of scopes
    (a module and the modules passed to it); `fn` returns `(y, out_variable_groups)`.

    Args:
        fn: the transform body, as above.
        in_variable_filters: one filter per variable group going in.
        out_variable_filters: one filter per variable group coming out; the inner
            scopes may write only these collections.
        rng_filters: one filter per rng group.
        name: the transform's name.
        enable_kwargs: whether keyword arguments are passed on to `fn`.
    """
    out_mutable = _union(out_variable_filters)

    @functools.wraps(fn)
    def wrapper(scope_tree: Any, *args: Any, **kwargs: Any) -> Any:
        flat, treedef = _flatten_scopes(scope_tree)
        scopes, paths = _dedup_scopes(flat)
        variable_groups = _transpose(
            group_collections(s.variables(), tuple(in_variable_filters)) for s in scopes)
        rng_groups = _transpose(group_collections(s.rngs, tuple(rng_filters)) for s in scopes)
        inner_scopes: list[Scope] = []

        def scope_fn(variable_groups: Any, rng_groups: Any, mutable_filter: Any = True) -> Any:
            per_scope_vars = _transpose(variable_groups) or ((),) * len(scopes)
            per_scope_rngs = _transpose(rng_groups) or ((),) * len(scopes)
            made = {}
            for scope, var_groups, rng_group in zip(scopes, per_scope_vars, per_scope_rngs,
                                                    strict=True):
                variables = {c: _copy_tree(t) for g in var_groups for c, t in g.items()}
                rngs = {k: r for g in rng_group for k, r in g.items()}
                mutable = intersect_filters(
                    intersect_filters(scope.store.mutable, out_mutable), mutable_filter)
                debug = scope.debug_path  # the last name wrapped: ("b1", "remat(c1)")
                if name:
                    debug = (*debug[:-1], f"{name}({debug[-1]})") if debug else (f"{name}()",)
                inner = Scope(variables, dict(sorted(rngs.items())), name=scope.name,
                              mutable=mutable, path=scope.path, flags=scope.store.flags,
                              debug_path=debug)
                inner.store.counters = scope.store.counters  # keys count on, as outside
                inner_scopes.append(inner)
                made[scope] = inner
            out = []
            for top, below in paths:
                inner = made[top]
                for part in below:
                    inner = inner.push(part, reuse=True)
                out.append(inner)
            return treedef.unflatten(out)

        def repack_fn(inner_tree: Any) -> tuple[tuple[Any, ...], ...]:
            flat_inner = treedef.flatten_up_to(inner_tree)
            tops, _ = _dedup_scopes(flat_inner)
            groups = []
            for inner in tops:
                inner._check_valid()
                written = {c: t for c, t in inner.store.variables.items()
                           if inner.store.is_mutable(c)}
                *outs, rest = group_collections(written, (*out_variable_filters, True))
                if rest:
                    raise ValueError(
                        f"unmapped output variables: {tuple(rest)}. The collections written "
                        f"inside {name or 'the transform'} must be named by one of its "
                        "variable filters (e.g. variable_axes or variable_broadcast).")
                groups.append(tuple(outs))
                inner.store.invalidate()
            return _transpose(groups)

        try:
            if enable_kwargs:
                y, out_groups = fn(scope_fn, repack_fn, variable_groups, rng_groups,
                                   *args, **kwargs)
            else:
                if kwargs:
                    raise TypeError(f"{name} does not take keyword arguments: "
                                    f"{sorted(kwargs)}. Pass them positionally.")
                y, out_groups = fn(scope_fn, repack_fn, variable_groups, rng_groups, *args)
        finally:
            for inner in inner_scopes:
                inner.store.invalidate()
        for scope, groups in zip(scopes, _transpose(out_groups) or ((),) * len(scopes),
                                 strict=True):
            for group in groups:
                for col, tree in group.items():
                    if scope.store.is_mutable(col):  # scan returns its broadcasts too
                        for var_name, value in tree.items():
                            scope.put_variable(col, var_name, value)
        return y

    return wrapper


def _flatten_scopes(tree: Any) -> tuple[list[Scope], Any]:
    return jax.tree.flatten(tree, is_leaf=lambda x: isinstance(x, Scope))


def _unpack(v: Any) -> Any:
    return v.axis if isinstance(v, In | Out) else v


def _split_in_out_axes(axes: Mapping[Any, Any]) -> tuple[dict[Any, Any], dict[Any, Any]]:
    unpack = _unpack
    ins = {k: unpack(v) for k, v in axes.items() if not isinstance(v, Out)}
    outs = {k: unpack(v) for k, v in axes.items() if not isinstance(v, In)}
    return ins, outs


def _unzip2(pairs: Iterable[tuple[Any, Any]]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    ys = tuple(zip(*pairs, strict=True))
    return (ys[0], ys[1]) if ys else ((), ())


def _map_rngs(fn: Fn, tree: Any) -> Any:
    """`fn` on every key in a group of `LazyRng`s (the suffix of names stays)."""
    return jax.tree.map(fn, tree)


def _split_groups(groups: Any, splits: Sequence[bool], n: int) -> tuple[Any, ...]:
    def split(key: Any) -> Any:
        return jax.random.split(jax.random.clone(key), n)  # type: ignore[no-untyped-call]

    return tuple(_map_rngs(split, g) if s else g for g, s in zip(groups, splits, strict=True))


# -- vmap -------------------------------------------------------------------------------


def vmap(
    fn: Fn,
    variable_axes: Mapping[CollectionFilter, Any],
    split_rngs: Mapping[CollectionFilter, bool],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    axis_name: str | None = None,
    spmd_axis_name: str | None = None,
    metadata_params: Mapping[Any, Any] | None = None,
) -> Fn:
    r"""`jax.vmap` lifted over variables and rngs (flax: `flax.core.lift.vmap`).

    A collection with axis $a$ is mapped ($W \in \mathbb{R}^{n \times \dots}$, one slice
    per index), one with axis `None` is shared; a split rng stream gives index $i$ the
    key `split(key, n)[i]`, an unsplit one the same key everywhere.

    Args:
        fn: `fn(scope, *args)`.
        variable_axes: `{collection filter: axis or None}`.
        split_rngs: `{stream filter: bool}`.
        in_axes: as in `jax.vmap`.
        out_axes: as in `jax.vmap`.
        axis_size: the batch size, needed when no input is mapped.
        axis_name: a name for the mapped axis.
        spmd_axis_name: as in `jax.vmap`.
        metadata_params: passed to the partitioning boxes (`meta.add_axis`).

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> f = lambda scope, x: x * scope.param("s", jax.nn.initializers.ones, ())
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> vmap(f, {"params": 0}, {"params": True})(scope, jnp.ones(3)).shape
    (3,)
    """
    params = dict(metadata_params or {})
    var_in, var_out = _split_in_out_axes(variable_axes)
    in_groups, in_var_axes = _unzip2(var_in.items())
    out_groups, out_var_axes = _unzip2(var_out.items())
    rng_filters, rng_splits = _unzip2(split_rngs.items())
    rng_axes = tuple(0 if s else None for s in rng_splits)

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any) -> Any:
        variable_groups = tuple(
            meta.remove_axis(g, a, params) if a is not None else g
            for g, a in zip(variable_groups, in_var_axes, strict=True))
        sizes = set(jax.tree.leaves(jax.tree.map(
            _axis_size, (in_var_axes, in_axes), (variable_groups, args),
            is_leaf=lambda x: x is None)))
        if len(sizes) > 1:
            raise ValueError(f"Inconsistent batch axis sizes: {sizes}: every mapped input "
                             "and collection needs the same size on its mapped axis.")
        if axis_size is None and not sizes:
            raise ValueError("axis_size should be specified manually: no input or "
                             "collection is mapped, so the batch size is unknown.")
        n = axis_size if axis_size is not None else sizes.pop()
        rng_groups = _split_groups(rng_groups, rng_splits, n)

        @functools.partial(jax.vmap, in_axes=(in_var_axes, rng_axes, in_axes),
                           out_axes=(out_axes, out_var_axes), axis_name=axis_name,
                           axis_size=axis_size, spmd_axis_name=spmd_axis_name)
        def mapped(variable_groups: Any, rng_groups: Any, args: Any) -> Any:
            scope = scope_fn(variable_groups, rng_groups)
            y = fn(scope, *args)
            return y, repack_fn(scope)

        y, out_vars = mapped(variable_groups, rng_groups, args)
        out_vars = tuple(meta.add_axis(g, a, params) if a is not None else g
                         for g, a in zip(out_vars, out_var_axes, strict=True))
        return y, out_vars

    return pack(inner, in_groups, out_groups, rng_filters, name="vmap")


def _axis_size(axis: Any, x: Any) -> Any:
    if axis is None or axis is broadcast:
        return ()
    leaves = jax.tree.leaves(x)
    return leaves[0].shape[axis] if leaves else ()


# -- scan -------------------------------------------------------------------------------


def _scan_with_broadcast(
    body: Fn, in_axes: Any, out_axes: Any, length: int | None, reverse: bool,
    unroll: int, two_pass: bool, concrete_first: bool,
) -> Fn:
    """`lax.scan` with `in_axes`/`out_axes` and loop-invariant outputs (flax: `axes_scan`).

    `body(broadcast_in, carry, *xs) -> (broadcast_out, carry, ys)`. The body runs once
    before the loop on the first slice: its `broadcast_out` (e.g. the parameters a
    shared layer creates) and the `ys` with axis `broadcast` are taken from this run,
    the loop then sees `broadcast_out` as its input. flax finds the same values by
    partial evaluation of the body; here the first step is run (abstractly, with
    `jax.eval_shape`, when nothing can be created).
    """

    def to_front(ax: Any, x: Any) -> Any:
        if ax is broadcast:
            return ()
        return jax.tree.map(lambda a: jax.numpy.moveaxis(a, ax, 0), x) if ax else x

    def from_front(ax: Any, y: Any) -> Any:
        if ax is broadcast:
            return ()
        return jax.tree.map(lambda a: jax.numpy.moveaxis(a, 0, ax), y) if ax else y

    def scan_fn(broadcast_in: Any, init: Any, *args: Any) -> Any:
        xs = jax.tree.map(to_front, in_axes, args)

        def merge(x_slice: Any) -> Any:
            return jax.tree.map(lambda ax, a, x: a if ax is broadcast else x,
                                in_axes, args, x_slice)

        constants = None
        if two_pass:
            def first(broadcast_in: Any, init: Any, x0: Any) -> Any:
                b_out, _, ys = body(broadcast_in, init, *merge(x0))
                return b_out, jax.tree.map(lambda ax, y: y if ax is broadcast else (),
                                           out_axes, ys)
            x0 = jax.tree.map(lambda a: a[0], xs)
            if concrete_first:
                broadcast_in, constants = first(broadcast_in, init, x0)
            else:
                jax.eval_shape(first, broadcast_in, init, x0)

        def step(c: Any, x: Any) -> Any:
            _, c, ys = body(broadcast_in, c, *merge(x))
            return c, jax.tree.map(lambda ax, y: () if ax is broadcast else y, out_axes, ys)

        c, ys = lax.scan(step, init, xs, length=length, reverse=reverse, unroll=unroll)
        ys = jax.tree.map(from_front, out_axes, ys)
        if constants is not None:
            ys = jax.tree.map(lambda ax, k, y: k if ax is broadcast else y,
                              out_axes, constants, ys)
        elif broadcast in jax.tree.leaves(out_axes):
            raise ValueError("scan with check_constancy_invariants=False does not support "
                             f"broadcast outputs; out_axes was {out_axes}.")
        return broadcast_in, c, ys

    return scan_fn


def scan(
    fn: Fn,
    variable_axes: Mapping[CollectionFilter, Any] | None = None,
    variable_broadcast: CollectionFilter = False,
    variable_carry: CollectionFilter = False,
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
    in_axes: Any = 0,
    out_axes: Any = 0,
    length: int | None = None,
    reverse: bool = False,
    unroll: int = 1,
    data_transform: Fn | None = None,
    metadata_params: Mapping[Any, Any] | None = None,
    check_constancy_invariants: bool = True,
) -> Fn:
    r"""`lax.scan` lifted over variables and rngs (flax: `flax.core.lift.scan`).

    `fn(scope, carry, *xs) -> (carry, ys)` runs once per step. A collection is

    * **scanned** (`variable_axes={"params": 0}`): step $t$ sees slice $t$; a stack
      of $L$ blocks keeps its weights as one array with a leading axis $L$;
    * **broadcast** (`variable_broadcast`): every step sees the same value, created
      (at init) before the loop;
    * **carried** (`variable_carry`): written by step $t$, read by step $t+1$.

    A split rng stream gives step $t$ the key `split(key, length)[t]`.

    Args:
        fn: the body.
        variable_axes: the scanned collections, `{filter: axis}`.
        variable_broadcast: the broadcast collections.
        variable_carry: the carried collections.
        split_rngs: `{stream filter: bool}`.
        in_axes: the scan axis of each input (`broadcast`: none).
        out_axes: the scan axis of each output (`broadcast`: none).
        length: the number of steps, needed when no input is scanned.
        reverse: run from the last step to the first.
        unroll: steps per loop iteration, as in `lax.scan`.
        data_transform: `(variable_groups, rng_groups) -> (variable_groups, rng_groups)`
            applied inside each step (e.g. sharding constraints).
        metadata_params: passed to the partitioning boxes (`meta.add_axis`).
        check_constancy_invariants: run the body once before the loop (needed for
            broadcast collections and outputs); False traces it once only.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> def body(scope, c, x):
    ...     return c + x * scope.param("w", jax.nn.initializers.ones, ()), c
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> c, ys = scan(body, {"params": 0}, split_rngs={"params": True})(scope, 0.0, jnp.arange(3.0))
    >>> float(c), scope.variables()["params"]["w"].shape
    (3.0, (3,))
    """
    params = dict(metadata_params or {})
    var_in, var_out = _split_in_out_axes(dict(variable_axes or {}))
    in_groups, in_var_axes = _unzip2(var_in.items())
    out_groups, out_var_axes = _unzip2(var_out.items())
    rng_filters, rng_splits = _unzip2(dict(split_rngs or {}).items())
    rng_axes = tuple(0 if s else broadcast for s in rng_splits)

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              init: Any, *args: Any) -> Any:
        lengths = set(jax.tree.leaves(jax.tree.map(_axis_size, in_axes, args)))
        if len(lengths) > 1:
            raise ValueError(f"Inconsistent scan lengths: {lengths}: every scanned input "
                             "needs the same size on its scan axis.")
        if length is None and not lengths:
            raise ValueError("length should be specified manually: no input is scanned "
                             "over, so the number of steps is unknown.")
        n = length if length is not None else lengths.pop()
        rng_groups = _split_groups(rng_groups, rng_splits, n)
        concrete_first = _may_create(scope_fn, variable_groups, out_axes)

        def body(broadcast_vars: Any, carry: Any, scan_groups: Any, rngs: Any,
                 args: Any) -> Any:
            carry_vars, c = carry
            groups = (broadcast_vars, carry_vars, *scan_groups)
            if data_transform is not None:
                groups, rngs = data_transform(groups, rngs)
            scope = scope_fn(groups, rngs)
            c, y = fn(scope, c, *args)
            b_out, carry_out, *scan_out = repack_fn(scope)
            for g_in, g_out in zip(broadcast_vars, b_out, strict=True):
                for col in g_in:  # read-only broadcasts are fed on to the loop
                    g_out.setdefault(col, g_in[col])
            return b_out, (carry_out, c), (y, tuple(scan_out))

        looped = _scan_with_broadcast(
            body, (in_var_axes, rng_axes, in_axes), (out_axes, out_var_axes), length,
            reverse, unroll, check_constancy_invariants, concrete_first)
        broadcast_vars, carry_vars, *scan_vars = variable_groups
        scan_vars = [meta.remove_axis(g, a, params)
                     for g, a in zip(scan_vars, in_var_axes, strict=True)]
        broadcast_vars, (carry_vars, c), (ys, scan_vars) = looped(
            broadcast_vars, (carry_vars, init), tuple(scan_vars), rng_groups, args)
        scan_vars = [meta.add_axis(g, a, params)
                     for g, a in zip(scan_vars, out_var_axes, strict=True)]
        return (c, ys), (broadcast_vars, carry_vars, *scan_vars)

    return pack(inner, (variable_broadcast, variable_carry, *in_groups),
                (variable_broadcast, variable_carry, *out_groups), rng_filters, name="scan")


def _may_create(scope_fn: Fn, variable_groups: Any, out_axes: Any) -> bool:
    """Whether the first step must really run: at init, or for broadcast outputs."""
    if broadcast in jax.tree.leaves(out_axes):
        return True
    probe = jax.tree.leaves(scope_fn(variable_groups, ()),
                            is_leaf=lambda x: isinstance(x, Scope))
    creates = any(s.store.flags.get("initializing") for s in probe)
    for s in probe:
        s.store.invalidate()
    return creates


# -- remat, jit -------------------------------------------------------------------------


def checkpoint(
    fn: Fn,
    variables: CollectionFilter = True,
    rngs: CollectionFilter = True,
    concrete: bool = False,
    prevent_cse: bool = True,
    static_argnums: int | tuple[int, ...] = (),
    policy: Callable[..., bool] | None = None,
) -> Fn:
    """`jax.checkpoint` lifted: activations are recomputed in the backward pass.

    In flax this is `flax.core.lift.checkpoint` (alias `remat`).

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> f = lambda scope, x: jnp.sin(x * scope.param("w", jax.nn.initializers.ones, ()))
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> float(checkpoint(f)(scope, 0.0))
    0.0
    """
    if concrete:
        raise NotImplementedError("The concrete argument is deprecated in jax.checkpoint: "
                                  "use static_argnums instead.")
    statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any, **kwargs: Any) -> Any:
        @functools.partial(jax.checkpoint, static_argnums=tuple(i + 2 for i in statics),
                           prevent_cse=prevent_cse, policy=policy)
        def rematted(variable_groups: Any, rng_groups: Any, *args: Any, **kwargs: Any) -> Any:
            scope = scope_fn(variable_groups, rng_groups)
            y = fn(scope, *args, **kwargs)
            return y, repack_fn(scope)

        return rematted(variable_groups, rng_groups, *args, **kwargs)

    return pack(inner, (variables,), (variables,), (rngs,), name="remat", enable_kwargs=True)


remat = checkpoint


class _Context(threading.local):
    def __init__(self) -> None:
        self.stack: list[Any] = []

    @contextlib.contextmanager
    def push(self, item: Any) -> Any:
        self.stack.append(item)
        try:
            yield
        finally:
            self.stack.pop()


def _counts(scopes: Sequence[Scope]) -> list[dict[tuple[Any, ...], int]]:
    """The rng counts of each scope's subtree, keyed by (path below the scope, stream)."""
    out = []
    for s in scopes:
        n = len(s.path)
        out.append({(p[n:], k): c for p, cs in s.store.counters.items() if p[:n] == s.path
                    for k, c in cs.items()})
    return out


def jit(
    fn: Fn,
    variables: CollectionFilter = True,
    rngs: CollectionFilter = True,
    static_argnums: int | Iterable[int] = (),
    static_argnames: str | Iterable[str] = (),
    donate_argnums: int | Iterable[int] = (),
    device: Any = None,
    backend: str | None = None,
) -> Fn:
    """`jax.jit` lifted over variables and rngs (flax: `flax.core.lift.jit`).

    The result is called as `wrapper(scope, hash_key, *args)`: `hash_key` (hashable)
    stands for everything static about the body, e.g. the module's config. A call
    that hits jax's cache does not trace the body, so the rng draws it made when it
    was traced are replayed onto the counters.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> f = lambda scope, key, x: x * scope.param("w", jax.nn.initializers.ones, ())
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> float(jit(f)(scope, "f", 2.0))
    2.0
    """
    def as_tuple(v: Any) -> tuple[int, ...]:
        return (v,) if isinstance(v, int) else tuple(v)

    statics = (0, *(i + 2 for i in as_tuple(static_argnums) if i > 0))
    donated = tuple(i + 2 for i in as_tuple(donate_argnums) if i > 0)
    context = _Context()
    deltas: dict[Any, list[dict[tuple[Any, ...], int]]] = {}

    @functools.partial(jax.jit, static_argnums=statics, static_argnames=static_argnames,
                       donate_argnums=donated, device=device, backend=backend)
    def jitted(fingerprint: Any, variable_groups: Any, rng_groups: Any, *args: Any,
               **kwargs: Any) -> Any:
        scope_fn, repack_fn = context.stack[-1]
        scope = scope_fn(variable_groups, rng_groups)
        y = fn(scope, fingerprint[1], *args, **kwargs)
        return y, repack_fn(scope)

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        with context.push((scope_fn, repack_fn)):
            probe = jax.tree.leaves(scope_fn(variable_groups, rng_groups),
                                    is_leaf=lambda x: isinstance(x, Scope))
            mutable = tuple(_hashable(s.store.mutable) for s in probe)
            rng_groups = jax.tree.map(lambda r: r.clear_suffix(), rng_groups,
                                      is_leaf=lambda x: isinstance(x, LazyRng))
            fingerprint = (mutable, hash_key)
            before = _counts(probe)
            y = jitted(fingerprint, variable_groups, rng_groups, *args, **kwargs)
            if fingerprint not in deltas:
                deltas[fingerprint] = [
                    {k: n - b.get(k, 0) for k, n in a.items() if n != b.get(k, 0)}
                    for a, b in zip(_counts(probe), before, strict=True)]
            else:  # a cache hit did not trace: replay the draws
                for s, delta, b in zip(probe, deltas[fingerprint], before, strict=True):
                    for (below, stream), d in delta.items():
                        s.store.counters.setdefault((*s.path, *below), {})[stream] = b.get(
                            (below, stream), 0) + d
            return y

    return pack(inner, (variables,), (variables,), (rngs,), name="jit", enable_kwargs=True)


def fold_rngs(fn: Fn, variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Fn:
    """Run `fn` on fresh root keys: each stream's key is replaced by `fold_in`-free roots.

    In flax this is `flax.core.lift.fold_rngs`: called as `wrapper(scope, hash_key,
    *args)` like `jit`, the body sees the streams without their folded-in names.

    >>> import jax
    >>> from minijax.nn.scope import Scope
    >>> f = lambda scope, key: scope.make_rng("params").shape
    >>> fold_rngs(f)(Scope({}, {"params": jax.random.key(0)}, mutable=True), None)
    ()
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        rng_groups = jax.tree.map(lambda r: r.clear_suffix(), rng_groups,
                                  is_leaf=lambda x: isinstance(x, LazyRng))
        scope = scope_fn(variable_groups, rng_groups)
        y = fn(scope, hash_key, *args, **kwargs)
        return y, repack_fn(scope)

    return pack(inner, (variables,), (variables,), (rngs,), name="fold_rngs",
                enable_kwargs=True)


def remat_scan(
    body_fn: Fn,
    lengths: Sequence[int],
    policy: Callable[..., bool] | None = None,
    variable_broadcast: CollectionFilter = False,
    variable_carry: CollectionFilter = False,
    variable_axes: Mapping[CollectionFilter, Any] | None = None,
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
) -> Fn:
    r"""Nested scans of rematted bodies: $\prod_i \text{lengths}_i$ steps of `body_fn(scope, c)`.

    With lengths $(a, b)$ the activations of only $a + b$ steps are kept instead of
    $a b$ (flax: `flax.core.lift.remat_scan`). Scanned variables get one leading
    axis per level: shape `(a, b, ...)`.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> f = lambda scope, c: c + scope.param("w", jax.nn.initializers.ones, ())
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> float(remat_scan(f, (2, 3))(scope, 0.0)), scope.variables()["params"]["w"].shape
    (6.0, (2, 3))
    """
    axes = dict(variable_axes) if variable_axes is not None else {True: 0}
    splits = dict(split_rngs) if split_rngs is not None else {True: True}
    scan_fn = functools.partial(scan, variable_broadcast=variable_broadcast,
                                variable_carry=variable_carry, variable_axes=axes,
                                split_rngs=splits)
    def step(scope: Scope, c: Any) -> Any:
        return body_fn(scope, c), ()

    def nested(scope: Scope, c: Any) -> Any:
        inner = remat_scan(body_fn, lengths[1:], policy, variable_broadcast, variable_carry,
                           axes, splits)
        return inner(scope, c), ()

    if len(lengths) > 1:
        step = checkpoint(nested, policy=policy, prevent_cse=False)

    return lambda scope, c: scan_fn(step, length=lengths[0])(scope, c)[0]


# -- control flow -----------------------------------------------------------------------


def while_loop(
    cond_fn: Fn,
    body_fn: Fn,
    scope: Any,
    init: Any,
    carry_variables: CollectionFilter = False,
    broadcast_variables: CollectionFilter = True,
    split_rngs: Mapping[CollectionFilter, bool] | Sequence[tuple[Any, bool]] | None = None,
) -> Any:
    """`lax.while_loop` lifted (flax: `flax.core.lift.while_loop`).

    `carry_variables` may change from one iteration to the next; the others are
    read-only. A split stream gives iteration $i$ the key `fold_in(key, i)`.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> int(while_loop(lambda s, c: c < 5, lambda s, c: c + 2, Scope({}), 0))
    6
    """
    rng_filters, rng_splits = _unzip2(dict(split_rngs or {}).items())

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any) -> Any:
        carry_vars, broadcast_vars = variable_groups

        def loop_rngs(i: Any) -> list[Any]:
            def fold(key: Any) -> Any:
                return jax.random.fold_in(key, i)

            return [_map_rngs(fold, g) if s else g
                    for g, s in zip(rng_groups, rng_splits, strict=True)]

        def cond_wrapper(c: Any) -> Any:
            i, carry_vars, carry = c
            scope = scope_fn((carry_vars, broadcast_vars), loop_rngs(-i), mutable_filter=False)
            return cond_fn(scope, carry)

        def body_wrapper(c: Any) -> Any:
            i, carry_vars, carry = c
            scope = scope_fn((carry_vars, broadcast_vars), loop_rngs(i))
            carry = body_fn(scope, carry)
            (carry_vars,) = repack_fn(scope)
            return i + 1, carry_vars, carry

        _, carry_vars, carry = lax.while_loop(cond_wrapper, body_wrapper,
                                              (0, carry_vars, init))
        return carry, (carry_vars,)

    return pack(inner, (carry_variables, broadcast_variables), (carry_variables,),
                rng_filters, name="while_loop")(scope)


def _branches(fns: Sequence[Fn], scope_fn: Fn, repack_fn: Fn, variable_groups: Any,
              rng_groups: Any) -> list[Fn]:
    def branch(branch_fn: Fn, *operands: Any) -> Any:
        scope = scope_fn(variable_groups, rng_groups)
        y = branch_fn(scope, *operands)
        return y, repack_fn(scope)

    return [functools.partial(branch, f) for f in fns]


def cond(pred: Any, true_fun: Fn, false_fun: Fn, scope: Any, *operands: Any,
         variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`lax.cond` lifted: both branches are traced (flax: `flax.core.lift.cond`).

    Both branches must create the same variables (at init) and return the same
    shapes, as for `lax.cond`.

    >>> from minijax.nn.scope import Scope
    >>> int(cond(True, lambda s, x: x + 1, lambda s, x: x - 1, Scope({}), 1))
    2
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any) -> Any:
        fns = _branches((true_fun, false_fun), scope_fn, repack_fn, variable_groups,
                        rng_groups)
        return lax.cond(pred, fns[0], fns[1], *operands)

    return pack(inner, (variables,), (variables,), (rngs,), name="cond")(scope)


def switch(index: Any, branches: Sequence[Fn], scope: Any, *operands: Any,
           variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`lax.switch` lifted (flax: `flax.core.lift.switch`).

    >>> from minijax.nn.scope import Scope
    >>> int(switch(1, [lambda s, x: x, lambda s, x: 2 * x], Scope({}), 3))
    6
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any) -> Any:
        fns = _branches(branches, scope_fn, repack_fn, variable_groups, rng_groups)
        return lax.switch(index, fns, *operands)

    return pack(inner, (variables,), (variables,), (rngs,), name="switch")(scope)


# -- autodiff ---------------------------------------------------------------------------


def vjp(fn: Fn, scope: Any, *primals: Any, has_aux: bool = False,
        vjp_variables: CollectionFilter = "params", variables: CollectionFilter = True,
        rngs: CollectionFilter = True) -> Any:
    """`jax.vjp` lifted: also differentiates the `vjp_variables` (flax: `lift.vjp`).

    Returns `(y, bwd)` (or `(y, bwd, aux)`); `bwd(cotangent)` gives `(variable grads,
    *input grads)`.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> scope = Scope({"params": {"w": jnp.array(3.0)}}, {})
    >>> y, bwd = vjp(lambda s, x: s.param("w", jax.nn.initializers.ones, ()) * x, scope, 2.0)
    >>> g_vars, g_x = bwd(jnp.array(1.0))
    >>> float(g_vars["params"]["w"]), float(g_x)
    (2.0, 3.0)
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any) -> Any:
        vjp_vars, other_vars = variable_groups

        def wrapper(vjp_vars: Any, *args: Any) -> Any:
            scope = scope_fn((vjp_vars, other_vars), rng_groups)
            y, aux = fn(scope, *args) if has_aux else (fn(scope, *args), ())
            return y, (aux, repack_fn(scope))

        y, bwd, (aux, out_vars) = jax.vjp(wrapper, vjp_vars, *args, has_aux=True)
        treedef = _flatten_scopes(scope)[1]
        bwd = jax.tree_util.Partial(  # type: ignore[no-untyped-call]
            functools.partial(_bwd_wrapper, treedef), bwd)
        return ((y, bwd, aux) if has_aux else (y, bwd)), out_vars

    return pack(inner, (vjp_variables, variables), (variables,), (rngs,), name="vjp")(
        scope, *primals)


def _bwd_wrapper(treedef: Any, bwd_fn: Fn, tangent: Any) -> Any:
    vars_grad, *inputs_grad = bwd_fn(tangent)
    return (treedef.unflatten(vars_grad), *inputs_grad)


def value_and_grad(fn: Fn, scope: Any, *primals: Any, has_aux: bool = False,
                   variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """The value of a scalar `fn(scope, *primals)` and its gradient in the primals.

    In flax this is `flax.core.lift.value_and_grad`; returns `(y, grads)` or
    `(y, aux, grads)`.

    >>> from minijax.nn.scope import Scope
    >>> y, (g,) = value_and_grad(lambda s, x: x * x, Scope({}), 3.0)
    >>> float(y), float(g)
    (9.0, 6.0)
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            scope = scope_fn(variable_groups, rng_groups)
            y, aux = fn(scope, *args) if has_aux else (fn(scope, *args), ())
            return y, (aux, repack_fn(scope))

        y, bwd, (aux, out_vars) = jax.vjp(wrapper, *args, has_aux=True)
        grads = bwd(jax.numpy.ones_like(y))
        return ((y, aux, grads) if has_aux else (y, grads)), out_vars

    return pack(inner, (variables,), (variables,), (rngs,), name="value_and_grad")(
        scope, *primals)


def jvp(fn: Fn, scope: Any, primals: Any, tangents: Any, variable_tangents: Any,
        variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`jax.jvp` lifted: tangents for the inputs and for variables (flax: `lift.jvp`).

    `variable_tangents` is `{collection: tangent tree}`; its collections are the ones
    differentiated. Returns `(y, y_tangent)`.

    >>> import jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> scope = Scope({"params": {"w": jnp.array(3.0)}}, {})
    >>> f = lambda s, x: s.get_variable("params", "w") * x
    >>> y, t = jvp(f, scope, (2.0,), (0.0,), {"params": {"w": jnp.array(1.0)}})
    >>> float(y), float(t)
    (6.0, 2.0)
    """
    treedef = _flatten_scopes(scope)[1]
    var_tangents = tuple({k: v for k, v in vt.items() if v}
                         for vt in treedef.flatten_up_to(variable_tangents))
    target = tuple(var_tangents[0].keys())

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any) -> Any:
        jvp_vars, other_vars = variable_groups

        def wrapper(vars_primals: Any, args: Any) -> Any:
            scope = scope_fn((vars_primals, other_vars), rng_groups)
            y = fn(scope, *args)
            return y, repack_fn(scope)

        (y, out_vars), out_tangents = jax.jvp(wrapper, (jvp_vars, args),
                                              (var_tangents, tangents))
        return (y, out_tangents[0]), out_vars

    return pack(inner, (target, variables), (variables,), (rngs,), name="jvp")(
        scope, *primals)


def custom_vjp(fn: Fn, forward_fn: Fn, backward_fn: Fn, grad_vars: CollectionFilter = "params",
               nondiff_argnums: tuple[int, ...] = ()) -> Fn:
    """`jax.custom_vjp` lifted: a hand-written backward pass for a scope function.

    In flax this is `flax.core.lift.custom_vjp`. `forward_fn(scope, *args)` returns
    `(y, residuals)`; `backward_fn(residuals, y_cotangent)` returns `(variable grads,
    *input grads)`, the variable grads as `{collection: tree}` of `grad_vars`.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> f = lambda s, x: x * 2.0
    >>> fwd = lambda s, x: (f(s, x), ())
    >>> bwd = lambda res, g: ({}, g * 10.0)
    >>> g = jax.grad(lambda x: custom_vjp(f, fwd, bwd)(Scope({}), x))(1.0)
    >>> float(g)
    10.0
    """

    def inner(scope_fn: Fn, repack_fn: Fn, variable_groups: Any, rng_groups: Any,
              *args: Any) -> Any:
        grad_variables, other_variables = variable_groups
        treedef: list[Any] = []

        def f(grad_variables: Any, *args: Any) -> Any:
            scope = scope_fn((grad_variables, other_variables), rng_groups)
            y = fn(scope, *args)
            return y, repack_fn(scope)

        f = jax.custom_vjp(f, nondiff_argnums=nondiff_argnums)

        def f_fwd(grad_variables: Any, *args: Any) -> Any:
            scopes = scope_fn((grad_variables, other_variables), rng_groups)
            treedef.append(_flatten_scopes(scopes)[1])
            y, res = forward_fn(scopes, *args)
            return (y, repack_fn(scopes)), res

        def f_bwd(*args: Any) -> Any:
            *nondiff, res, (g_y, _) = args
            var_t, *inputs_t = backward_fn(*nondiff, res, g_y)
            return (tuple(treedef[-1].flatten_up_to(var_t)), *inputs_t)

        f.defvjp(f_fwd, f_bwd)
        return f(grad_variables, *args)

    return pack(inner, (grad_vars, True), (grad_vars, True), (True,), name="custom_vjp")


# -- map_variables ----------------------------------------------------------------------


def _identity(x: Any) -> Any:
    return x


def map_variables(
    fn: Fn,
    mapped_collections: CollectionFilter,
    map_in_fn: Fn = _identity,
    map_out_fn: Fn = _identity,
    init: bool = False,
    mutable: bool = False,
    rngs: CollectionFilter = True,
    variables: CollectionFilter = True,
) -> Fn:
    """Run `fn` on a view of some collections: `map_in_fn` on the way in, `map_out_fn` out.

    In flax this is `flax.core.lift.map_variables`; e.g. weight normalisation, or
    parameters stored transposed. With `init=True` the variables are created first
    (by running `fn` once) and mapped after; with `mutable=True` writes to the view
    are mapped back with `map_out_fn`.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.nn.scope import Scope
    >>> scope = Scope({"params": {"w": jnp.array(3.0)}}, {})
    >>> double = lambda t: jax.tree.map(lambda v: 2 * v, t)
    >>> f = map_variables(lambda s: s.get_variable("params", "w"), "params", double)
    >>> float(f(scope))
    6.0
    """
    target_out = mutable or init

    def wrapper(scope_fn: Fn, repack: Fn, variable_groups: Any, rng_groups: Any,
                *args: Any, **kwargs: Any) -> Any:
        target, others = variable_groups
        if init:
            scopes = scope_fn((target, others), rng_groups)
            if any(s.store.mutable is not False
                   for s in jax.tree.leaves(scopes, is_leaf=lambda x: isinstance(x, Scope))):
                fn(scopes, *args, **kwargs)
                target, _ = repack(scopes)
                target = tuple(map_out_fn(x) for x in target)
        target = tuple(map_in_fn(_copy_tree(x)) for x in target)
        mfilter = True if target_out else subtract_filters(True, mapped_collections)
        scopes = scope_fn((target, others), rng_groups, mutable_filter=mfilter)
        y = fn(scopes, *args, **kwargs)
        out_target, out_vars = repack(scopes)
        if target_out:
            out_target = tuple(map_out_fn(x) for x in out_target)
        return y, (out_target, out_vars)

    in_vars = (mapped_collections, variables)
    out_vars = in_vars if target_out else (False, subtract_filters(variables, mapped_collections))
    return pack(wrapper, in_vars, out_vars, (rngs,), name="map_variables", enable_kwargs=True)
