r"""Lifted transforms on modules: `nn.vmap`, `nn.scan`, `nn.remat`, ... (flax: `linen.transforms`).

`minijax.nn.lift` lifts jax transforms to functions of *scopes*. This file lifts them
once more, to *modules*, in one of three ways (in flax: `lift_transform`):

* **a Module class**: `nn.scan(Block, ...)` returns a subclass `ScanBlock` whose
  `__call__` (or the `methods` named) runs under the transform;
* **a method**, as a decorator inside a class body:
  `@functools.partial(nn.vmap, variable_axes={"params": 0}, ...)`;
* **a plain function** of a module: `nn.vmap(lambda mdl, x: mdl(x), ...)(module, x)`,
  and the direct forms `nn.cond(pred, f, g, module, x)`, `nn.while_loop(...)`,
  `nn.vjp(f, module, x)`.

Each time the transformed method runs, the module's scope (and the scopes of the
modules in its fields or arguments) goes into the lift transform; inside, a clone of
the module is bound to the *inner* scope at the same path and runs the method. So
`nn.scan(Block)` at `ScanBlock_0` keeps its variables at `params/ScanBlock_0/...`,
with a leading axis of the scan length, exactly where flax puts them.

>>> import jax, jax.numpy as jnp, minijax.nn as nn
>>> Ensemble = nn.vmap(nn.Dense, variable_axes={"params": 0}, split_rngs={"params": True},
...                    in_axes=None, axis_size=3)
>>> variables = Ensemble(2).init(jax.random.key(0), jnp.ones((1, 4)))
>>> jax.tree.map(jnp.shape, variables["params"])
{'bias': (3, 2), 'kernel': (3, 4, 2)}
"""

import contextlib
import dataclasses
import functools
import inspect
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import jax

from minijax import serialization
from minijax.nn import errors, lift, meta
from minijax.nn.filters import CollectionFilter
from minijax.nn.lift import broadcast
from minijax.nn.module import Module, SetupState, _State, _wrap
from minijax.nn.scope import Scope
from minijax.nn.variable import Variable
from minijax.random import LazyRng

__all__ = [
    "add_metadata_axis",
    "broadcast",
    "checkpoint",
    "cond",
    "custom_vjp",
    "fold_rngs",
    "grad",
    "jit",
    "jvp",
    "lift_transform",
    "map_variables",
    "named_call",
    "remat",
    "remat_scan",
    "scan",
    "switch",
    "value_and_grad",
    "vjp",
    "vmap",
    "while_loop",
]

Target = TypeVar("Target")
Fn = Callable[..., Any]


# -- module state across the transform boundary (flax: `_ModuleInternalState.export`) --


def _export(state: _State) -> _State:
    """The state a clone inside the transform starts from: setup must run again there."""
    setup = SetupState.NEW if state.setup_called == SetupState.NEW else SetupState.TRANSFORMED
    return _State(ready=True, in_setup=state.in_setup, in_compact=state.in_compact,
                  setup_called=setup, autoname=dict(state.autoname))


def _reimport(state: _State, inner: _State) -> None:
    """Carry the name counters (and flags) of the inner clone back out."""
    state.in_setup, state.in_compact = inner.in_setup, inner.in_compact
    state.autoname = dict(inner.autoname)


# -- scopes in, scopes out (flax: `get_module_scopes` / `set_module_scopes`) ------------


@dataclasses.dataclass(eq=False)
class _VariablePlaceholder:
    """A `Variable` argument on its way through a jax transform (it has no arrays)."""

    collection: str
    name: str
    unbox: bool
    key: int  # id of the original: one object passed twice is one object inside


@dataclasses.dataclass(eq=False)
class _InstancePlaceholder:
    """A bound module argument on its way through a jax transform."""

    cls: type
    attrs: dict[str, Any]
    key: int


for _cls in (_VariablePlaceholder, _InstancePlaceholder):
    jax.tree_util.register_pytree_node(_cls, lambda x: ((), x), lambda aux, _: aux)


def _fields(module: Module) -> dict[str, Any]:
    return {f.name: getattr(module, f.name) for f in dataclasses.fields(module)
            if f.init and f.name != "parent"}


def _is_bound(x: Any) -> bool:
    return isinstance(x, Module | Variable) and isinstance(x.scope, Scope)


def get_module_scopes(module: Module, args: Any = (), kwargs: Any = None) -> Any:
    """The scopes of `module`, of the modules in its fields and of module/variable args.

    Returns `(scopes, args, kwargs)` with the bound modules and variables among the
    arguments replaced by placeholders a jax transform can carry.
    """
    scopes: list[Scope | None] = []
    memo: dict[int, Any] = {}

    def arg_scope(x: Any) -> Any:
        if not _is_bound(x):
            return x
        if id(x) not in memo:
            scopes.append(x.scope)
            if isinstance(x, Variable):
                memo[id(x)] = _VariablePlaceholder(x.collection, x.name, x.unbox, id(x))
            else:
                attrs = jax.tree.map(arg_scope, _fields(x))
                memo[id(x)] = _InstancePlaceholder(type(x), attrs, id(x))
        return memo[id(x)]

    new_args, new_kwargs = jax.tree.map(arg_scope, (tuple(args), dict(kwargs or {})))

    def module_scopes(m: Module) -> None:
        if id(m) in memo:
            return
        memo[id(m)] = m
        for leaf in jax.tree.leaves(_fields(m)):
            if isinstance(leaf, Module) and _is_bound(leaf):
                module_scopes(leaf)
            elif isinstance(leaf, Variable) and _is_bound(leaf) and id(leaf) not in memo:
                memo[id(leaf)] = leaf
                scopes.append(leaf.scope)
        scopes.append(m.scope)  # None for an unbound module: an empty pytree

    module_scopes(module)
    return scopes, new_args, new_kwargs


def set_module_scopes(module: Module, args: Any, kwargs: Any,
                      scopes: Sequence[Scope | None]) -> Any:
    """Rebind `module`, its field modules and the placeholder args to `scopes`, in the
    order `get_module_scopes` found them. Returns `(module, args, kwargs)`."""
    it = iter(scopes)
    memo: dict[int, Any] = {}

    def set_arg(x: Any) -> Any:
        if not isinstance(x, _VariablePlaceholder | _InstancePlaceholder):
            return x
        if x.key not in memo:
            scope = next(it)
            if isinstance(x, _VariablePlaceholder):
                memo[x.key] = Variable(scope, x.collection, x.name, unbox=x.unbox)
            else:
                attrs = jax.tree.map(set_arg, x.attrs, is_leaf=_is_placeholder)
                memo[x.key] = x.cls(parent=scope, **attrs)
        return memo[x.key]

    new_args, new_kwargs = jax.tree.map(set_arg, (args, kwargs), is_leaf=_is_placeholder)

    def rebind(m: Module) -> Module:
        if id(m) in memo:
            return memo[id(m)]  # type: ignore[no-any-return]

        def inner(x: Any) -> Any:
            if isinstance(x, Module) and _is_bound(x):
                return rebind(x)
            if isinstance(x, Variable) and _is_bound(x):
                if id(x) not in memo:
                    memo[id(x)] = Variable(next(it), x.collection, x.name, unbox=x.unbox)
                return memo[id(x)]
            return x

        attrs = jax.tree.map(inner, _fields(m))
        memo[id(m)] = m.clone(parent=next(it), **attrs)
        return memo[id(m)]  # type: ignore[no-any-return]

    new_module = rebind(module)
    if next(it, None) is not None:
        raise AssertionError("scope list mismatch: more scopes than modules and variables")
    return new_module, new_args, new_kwargs


def _is_placeholder(x: Any) -> bool:
    return isinstance(x, _VariablePlaceholder | _InstancePlaceholder)


def _check_return(tree: Any, method_name: str | None) -> None:
    if any(isinstance(x, Module | Variable) for x in jax.tree.leaves(tree)):
        raise errors.TransformedMethodReturnValueError(
            f"Transformed module method {method_name} cannot return Modules or Variables: "
            "a module bound inside a transform is only valid there. Return arrays, or "
            "call the submodule inside the method.")


# -- lifting a class, a method, a function ----------------------------------------------


def _unbound_fn(method_or_fn: Fn) -> Fn:
    if inspect.ismethod(method_or_fn) and isinstance(method_or_fn.__self__, Module):
        method_or_fn = method_or_fn.__func__
    if not callable(method_or_fn) or inspect.isclass(method_or_fn):
        raise errors.TransformTargetError(
            f"Expected a method or a function of a module, got {method_or_fn!r}.")
    return method_or_fn


def _wrap_once(fn: Fn) -> Fn:
    return fn if getattr(fn, "_minijax_wrapped", False) else _wrap(fn)


def _is_module_class(target: Any) -> bool:
    if isinstance(target, functools.partial):
        return _is_module_class(target.func)
    return inspect.isclass(target) and issubclass(target, Module)


def _method_args(methods: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    if methods is None:
        return {"__call__": (args, kwargs)}
    if isinstance(methods, list | tuple):
        return {m: (args, kwargs) for m in methods}
    if isinstance(methods, dict):
        return {m: ((), dict(v)) for m, v in methods.items()}
    raise ValueError(f"transform methods argument must be None, tuple, list, or dict, "
                     f"got {methods!r}.")


def _run_inner(self: Module, clone: Module, fn: Fn, state: _State, args: Any, kwargs: Any,
               name: str | None) -> Any:
    object.__setattr__(clone, "_state", state)
    res = fn(clone, *args, **kwargs)
    _reimport(self._state, clone._state)
    _check_return(res, name)
    return res


def module_class_lift_transform(transform: Fn, module_class: Any, *trafo_args: Any,
                                methods: Any = None, cached: bool = False,
                                **trafo_kwargs: Any) -> Any:
    """`transform` applied to the methods of a Module class: a new subclass.

    The subclass is named after the transform, as in flax: `nn.scan(Block)` is
    `ScanBlock`, so its instances are auto-named `ScanBlock_0`, ...
    """
    partial_object = module_class if isinstance(module_class, functools.partial) else None
    if partial_object is not None:
        module_class = partial_object.func

    def create(fn_name: str, fn_args: tuple[Any, Any]) -> Fn:
        fn = getattr(module_class, fn_name)
        t_args, t_kwargs = fn_args
        trafo_fn: list[Fn] = []

        @functools.wraps(fn)
        def wrapped_fn(self: Module, *args: Any, **kwargs: Any) -> Any:
            state = _export(self._state)

            def core_fn(scopes: Any, *args: Any, **kwargs: Any) -> Any:
                owner, start = self, state
                if cached:  # the traced function is kept: take the module from the key
                    owner, args = args[0].module, args[1:]
                    start = _export(owner._state)
                cloned = module_class(parent=None, **_fields(owner))
                cloned, args, kwargs = set_module_scopes(cloned, args, kwargs, scopes)
                return _run_inner(owner, cloned, fn, _export(start), args, kwargs, fn_name)

            with _fork_rngs(self) if cached else contextlib.nullcontext():
                if not trafo_fn or not cached:
                    trafo_fn[:] = [transform(core_fn, *t_args, **t_kwargs)]
                scopes, args, kwargs = get_module_scopes(self, args, kwargs)
                extra = (_HashableProxy.from_module(self),) if cached else ()
                return trafo_fn[0](scopes, *extra, *args, **kwargs)

        return wrapped_fn

    fns = {n: create(n, a) for n, a in _method_args(methods, trafo_args, trafo_kwargs).items()}
    cls = type(transform.__name__.capitalize() + module_class.__name__, (module_class,), fns)
    if partial_object is not None:
        return functools.partial(cls, *partial_object.args, **partial_object.keywords)
    return cls


def decorator_lift_transform(transform: Fn, class_fn: Any, *trafo_args: Any,
                             multi_scope: bool = True, cached: bool = False,
                             **trafo_kwargs: Any) -> Fn:
    """`transform` applied to a method (or a function whose first argument is a module)."""
    class_fns = class_fn if isinstance(class_fn, tuple) else (class_fn,)
    prewrapped = [_wrap_once(f) for f in class_fns]
    trafo_fn: list[Fn] = []

    @functools.wraps(prewrapped[0])
    def wrapped_fn(self: Module, *args: Any, **kwargs: Any) -> Any:
        state = _export(self._state)

        def core_fn(pre: Fn, orig: Fn, scopes: Any, *args: Any, **kwargs: Any) -> Any:
            owner, start = self, state
            if cached:  # the traced function is kept: take the module from the key
                owner, args = args[0].module, args[1:]
                start = _export(owner._state)
            if not multi_scope:
                scopes = [scopes]
            cloned, args, kwargs = set_module_scopes(owner, args, kwargs, scopes)
            return _run_inner(owner, cloned, pre, _export(start), args, kwargs,
                              getattr(orig, "__name__", None))

        core_fns = [functools.wraps(orig)(functools.partial(core_fn, pre, orig))
                    for pre, orig in zip(prewrapped, class_fns, strict=True)]
        with _fork_rngs(self) if cached else contextlib.nullcontext():
            if not trafo_fn or not cached:
                trafo_fn[:] = [transform(*core_fns, *trafo_args, **trafo_kwargs)]
            scopes, args, kwargs = get_module_scopes(self, args, kwargs)
            if not multi_scope:
                if len(scopes) != 1:
                    raise NotImplementedError(
                        "This transform does not yet support modules that include other "
                        "modules passed as arguments or fields.")
                scopes = scopes[0]
            extra = (_HashableProxy.from_module(self),) if cached else ()
            return trafo_fn[0](scopes, *extra, *args, **kwargs)

    return wrapped_fn


def lift_transform(transform: Fn, target: Any, *trafo_args: Any, methods: Any = None,
                   **trafo_kwargs: Any) -> Any:
    """Apply a `minijax.nn.lift` transform to a Module class or a method (flax: same name).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> RematDense = lift_transform(lift.checkpoint, nn.Dense)
    >>> RematDense.__name__
    'CheckpointDense'
    """
    if _is_module_class(target):
        return module_class_lift_transform(transform, target, *trafo_args, methods=methods,
                                           **trafo_kwargs)
    if callable(target) and not isinstance(target, Module):
        return decorator_lift_transform(transform, target, *trafo_args, **trafo_kwargs)
    raise errors.TransformTargetError(
        f"Can't transform {target!r}: a lifted transform takes a Module class, a method "
        "or a function whose first argument is a module (pass the class, not an instance).")


def _lift_cached(transform: Fn, target: Any, methods: Any = None, **trafo_kwargs: Any) -> Any:
    if _is_module_class(target):
        return module_class_lift_transform(transform, target, methods=methods, cached=True,
                                           **trafo_kwargs)
    if callable(target) and not isinstance(target, Module):
        return decorator_lift_transform(transform, target, cached=True, **trafo_kwargs)
    raise errors.TransformTargetError(
        f"Can't transform {target!r}: pass a Module class, a method or a function.")


def lift_direct_transform(transform: Fn, targets: tuple[Fn, ...], mdl: Module, *args: Any,
                          multi_scope: bool = True, **kwargs: Any) -> Any:
    """Apply `transform` to functions of `mdl` and call it at once (`nn.cond`, `nn.vjp`)."""
    for target in targets:
        if _is_module_class(target):
            raise ValueError(f"The {transform.__name__} transform can only be applied to a "
                             "module method: a function taking a module as first argument.")
    fns = tuple(_unbound_fn(t) for t in targets)
    def aug(*fs: Fn) -> Fn:
        return functools.partial(transform, *fs)

    return decorator_lift_transform(aug, fns, multi_scope=multi_scope)(mdl, *args, **kwargs)


# -- nn.jit's cache key and rng fork (flax: `_HashableProxy`, `fork_rngs`) --------------


@dataclasses.dataclass(frozen=True)
class _HashableProxy:
    """A static stand-in for a bound module: hashed by its config and scope state."""

    module_ref: Any
    key: Any

    @classmethod
    def from_module(cls, module: Module) -> "_HashableProxy":
        return cls(weakref.ref(module), _fingerprint(module, {}))

    @property
    def module(self) -> Module:
        return self.module_ref()  # type: ignore[no-any-return]

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _HashableProxy) and self.key == other.key


def _fingerprint(obj: Any, seen: dict[int, int]) -> Any:
    if isinstance(obj, str):
        return obj
    if isinstance(obj, Module):
        if id(obj) in seen:
            return type(obj), seen[id(obj)]
        seen[id(obj)] = len(seen)
        fields = tuple((f.name, _fingerprint(getattr(obj, f.name), seen))
                       for f in dataclasses.fields(obj) if f.name not in ("parent", "name"))
        st = obj._state
        state = (st.in_compact, st.in_setup, int(st.setup_called),
                 tuple(sorted(st.autoname.items())))
        scope = obj.scope
        static = None
        if scope is not None:
            n = len(scope.path)
            counts = tuple(sorted((p[n:], tuple(sorted(c.items())))
                                  for p, c in scope.store.counters.items() if p[:n] == scope.path))
            static = (lift._hashable(scope.store.mutable),
                      tuple(sorted(scope.store.flags.items())), counts,
                      tuple(sorted((k, tuple(sorted(map(str, v))))
                                   for k, v in scope.reservations.items())))
        return type(obj), fields, state, static
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return type(obj), tuple((f.name, _fingerprint(getattr(obj, f.name), seen))
                                for f in dataclasses.fields(obj))
    if isinstance(obj, Mapping):
        return tuple((k, _fingerprint(v, seen)) for k, v in obj.items())
    if serialization.is_serializable(obj):
        return type(obj), _fingerprint(serialization.to_state_dict(obj), seen)
    if isinstance(obj, Iterable) and not hasattr(obj, "shape"):
        return tuple(_fingerprint(v, seen) for v in obj)
    try:
        hash(obj)
    except TypeError as e:
        raise ValueError(f"A field value of a jitted module is not hashable: {obj!r:.80} "
                         f"({e}). nn.jit needs hashable module fields.") from e
    return obj


@contextlib.contextmanager
def _fork_rngs(module: Module) -> Any:
    """Give the module fresh root keys for the duration (flax: `fork_rngs`)."""
    scope = module.scope
    if scope is None:
        yield
        return
    saved = dict(scope.rngs)
    scope.rngs = {k: LazyRng.create(module.make_rng(k)) for k in saved}
    try:
        yield
    finally:
        scope.rngs = saved


# -- the transforms ---------------------------------------------------------------------


def vmap(
    target: Target,
    variable_axes: Mapping[CollectionFilter, Any] | None = None,
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: int | None = None,
    axis_name: str | None = None,
    spmd_axis_name: str | None = None,
    metadata_params: Mapping[Any, Any] | None = None,
    methods: Any = None,
) -> Target:
    """A vectorized module: `jax.vmap` over inputs, variables and rngs (flax: `nn.vmap`).

    `variable_axes={"params": 0}` gives every index its own parameters (stacked on
    axis 0; split the `params` stream too, so they differ); `{"params": None}`
    shares them.

    Args:
        target: a Module class, a method or a function of a module.
        variable_axes: `{collection filter: axis or None}`.
        split_rngs: `{stream filter: bool}`.
        in_axes: as in `jax.vmap`, for the arguments after the module.
        out_axes: as in `jax.vmap`.
        axis_size: the batch size, needed when no input is mapped.
        axis_name: a name for the mapped axis (for `lax.psum` and friends).
        spmd_axis_name: as in `jax.vmap`.
        metadata_params: given to partitioning boxes, e.g. `{nn.PARTITION_NAME: "batch"}`.
        methods: the methods to transform (default `__call__`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> VDense = nn.vmap(nn.Dense, variable_axes={"params": 0}, split_rngs={"params": True})
    >>> variables = VDense(2).init(jax.random.key(0), jnp.ones((5, 1, 3)))
    >>> jax.tree.map(jnp.shape, variables["params"])
    {'bias': (5, 2), 'kernel': (5, 3, 2)}
    """
    return lift_transform(  # type: ignore[no-any-return]
        lift.vmap, target, dict(variable_axes or {}), dict(split_rngs or {}), methods=methods,
        in_axes=in_axes, out_axes=out_axes, axis_size=axis_size, axis_name=axis_name,
        spmd_axis_name=spmd_axis_name, metadata_params=metadata_params)


def scan(
    target: Target,
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
    methods: Any = None,
    check_constancy_invariants: bool = True,
) -> Target:
    """A module looped with `lax.scan` (flax: `nn.scan`).

    The method has the form `(self, carry, *xs) -> (carry, ys)`. A stack of $L$
    identical blocks is `nn.scan(Block, variable_axes={"params": 0},
    split_rngs={"params": True}, length=L)`: one traced block, weights stacked on a
    leading axis; an RNN is `nn.scan(Cell, variable_broadcast="params",
    split_rngs={"params": False})`: one set of weights for every step.

    Args:
        target: a Module class, a method or a function of a module.
        variable_axes: the scanned collections, `{filter: axis}`.
        variable_broadcast: the collections every step shares.
        variable_carry: the collections carried from step to step.
        split_rngs: `{stream filter: bool}`: a split stream gives each step its own key.
        in_axes: the scan axis of each input (`nn.broadcast`: not scanned).
        out_axes: the scan axis of each output.
        length: the number of steps, needed when no input is scanned.
        reverse: run from the last step to the first.
        unroll: steps per loop iteration, as in `lax.scan`.
        data_transform: applied to the variable and rng groups in each step.
        metadata_params: given to partitioning boxes, e.g. `{nn.PARTITION_NAME: "layers"}`.
        check_constancy_invariants: run the body once before the loop (see `lift.scan`).
        methods: the methods to transform (default `__call__`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Block(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x, _):
    ...         return nn.relu(nn.Dense(4)(x)), None
    >>> Stack = nn.scan(Block, variable_axes={"params": 0}, split_rngs={"params": True}, length=3)
    >>> variables = Stack().init(jax.random.key(0), jnp.ones((2, 4)), None)
    >>> jax.tree.map(jnp.shape, variables["params"])
    {'Dense_0': {'bias': (3, 4), 'kernel': (3, 4, 4)}}
    """
    return lift_transform(  # type: ignore[no-any-return]
        lift.scan, target, variable_axes=dict(variable_axes or {}),
        variable_broadcast=variable_broadcast, variable_carry=variable_carry,
        split_rngs=dict(split_rngs or {}), in_axes=in_axes, out_axes=out_axes, length=length,
        reverse=reverse, unroll=unroll, data_transform=data_transform,
        metadata_params=metadata_params, methods=methods,
        check_constancy_invariants=check_constancy_invariants)


def checkpoint(
    target: Target,
    variables: CollectionFilter = True,
    rngs: CollectionFilter = True,
    concrete: bool = False,
    prevent_cse: bool = True,
    static_argnums: int | tuple[int, ...] = (),
    policy: Callable[..., bool] | None = None,
    methods: Any = None,
) -> Target:
    """A module whose activations are recomputed in the backward pass (flax: `nn.remat`).

    Memory for a stack of $L$ blocks drops from $O(L)$ activations to the block
    inputs; the forward pass runs twice. `static_argnums` counts the arguments after
    `self` from 1, as in flax.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> RematDense = nn.remat(nn.Dense)
    >>> variables = RematDense(2).init(jax.random.key(0), jnp.ones((1, 3)))
    >>> sorted(variables["params"])
    ['bias', 'kernel']
    """
    statics = jax.tree.map(lambda i: i - 1, static_argnums)
    return lift_transform(  # type: ignore[no-any-return]
        lift.checkpoint, target, variables=variables, rngs=rngs, concrete=concrete,
        static_argnums=statics, prevent_cse=prevent_cse, policy=policy, methods=methods)


remat = checkpoint


def remat_scan(
    target: Target,
    lengths: Sequence[int] = (),
    policy: Callable[..., bool] | None = None,
    variable_broadcast: CollectionFilter = False,
    variable_carry: CollectionFilter = False,
    variable_axes: Mapping[CollectionFilter, Any] | None = None,
    split_rngs: Mapping[CollectionFilter, bool] | None = None,
) -> Target:
    """A module applied $\\prod$ `lengths` times in nested rematted scans (flax: `nn.remat_scan`).

    The method has the form `(self, carry) -> carry`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> Deep = nn.remat_scan(nn.Dense, lengths=(2, 3))
    >>> variables = Deep(4).init(jax.random.key(0), jnp.ones((1, 4)))
    >>> jax.tree.map(jnp.shape, variables["params"])
    {'bias': (2, 3, 4), 'kernel': (2, 3, 4, 4)}
    """
    return lift_transform(  # type: ignore[no-any-return]
        lift.remat_scan, target, lengths=lengths, variable_broadcast=variable_broadcast,
        variable_carry=variable_carry,
        variable_axes=dict(variable_axes) if variable_axes is not None else {True: 0},
        split_rngs=dict(split_rngs) if split_rngs is not None else {True: True},
        policy=policy)


def jit(
    target: Target,
    variables: CollectionFilter = True,
    rngs: CollectionFilter = True,
    static_argnums: int | Iterable[int] = (),
    static_argnames: str | Iterable[str] = (),
    donate_argnums: int | Iterable[int] = (),
    device: Any = None,
    backend: str | None = None,
    methods: Any = None,
) -> Target:
    """A module method compiled with `jax.jit` (flax: `nn.jit`).

    The compiled function is cached by the module's config, its scope's mutability,
    flags and rng counts; as in flax, the module's rng streams are forked (one
    `make_rng` per stream) before the call.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> JitDense = nn.jit(nn.Dense)
    >>> variables = JitDense(2).init(jax.random.key(0), jnp.ones((1, 3)))
    >>> JitDense(2).apply(variables, jnp.ones((1, 3))).shape
    (1, 2)
    """
    return _lift_cached(  # type: ignore[no-any-return]
        lift.jit, target, variables=variables, rngs=rngs, static_argnums=static_argnums,
        static_argnames=static_argnames, donate_argnums=donate_argnums, device=device,
        backend=backend, methods=methods)


def fold_rngs(target: Target, variables: CollectionFilter = True,
              rngs: CollectionFilter = True) -> Target:
    """Run a method on forked rng streams, as `nn.jit` does, without compiling it.

    In flax this is `nn.fold_rngs`: `nn.fold_rngs(f)` and `nn.jit(f)` draw the same keys.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> FDense = nn.fold_rngs(nn.Dense)
    >>> jax.tree.map(jnp.shape, FDense(2).init(jax.random.key(0), jnp.ones((1, 3))))
    {'params': {'bias': (2,), 'kernel': (3, 2)}}
    """
    return _lift_cached(lift.fold_rngs, target, variables=variables,  # type: ignore[no-any-return]
                        rngs=rngs)


def map_variables(
    target: Target,
    mapped_collections: CollectionFilter = True,
    trans_in_fn: Fn = lift._identity,
    trans_out_fn: Fn = lift._identity,
    init: bool = False,
    mutable: bool = False,
    rngs: CollectionFilter = True,
    variables: CollectionFilter = True,
    methods: Any = None,
) -> Target:
    """A module that sees its variables through `trans_in_fn` (flax: `nn.map_variables`).

    `trans_in_fn` maps `{collection: tree}` on the way in; with `mutable=True` (or
    `init=True`) `trans_out_fn` maps what the module wrote on the way out.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> flip = lambda v: jax.tree.map(lambda a: a.T, v)
    >>> Transposed = nn.map_variables(nn.Dense, "params", flip, flip, init=True)
    >>> variables = Transposed(2, use_bias=False).init(jax.random.key(0), jnp.ones((1, 3)))
    >>> jax.tree.map(jnp.shape, variables["params"])
    {'kernel': (2, 3)}
    """
    return lift_transform(  # type: ignore[no-any-return]
        lift.map_variables, target, mapped_collections, trans_in_fn, trans_out_fn, init,
        mutable, rngs, variables, methods=methods)


def vjp(fn: Fn, mdl: Module, *primals: Any, has_aux: bool = False,
        vjp_variables: CollectionFilter = "params", variables: CollectionFilter = True,
        rngs: CollectionFilter = True, multi_scope: bool = False) -> Any:
    """`jax.vjp` of `fn(mdl, *primals)` in the primals and the `vjp_variables` (flax: `nn.vjp`).

    Returns `(y, bwd)` (or `(y, bwd, aux)`); `bwd(cotangent)` gives
    `(variable grads, *input grads)`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Loss(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         dense = nn.Dense(1)
    ...         dense(x)  # create the params first
    ...         y, bwd = nn.vjp(lambda m, x: m(x), dense, x)
    ...         g_params, g_x = bwd(jnp.ones_like(y))
    ...         return jax.tree.map(jnp.shape, g_params)
    >>> Loss().init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0]
    {'params': {'bias': (1,), 'kernel': (3, 1)}}
    """
    return lift_direct_transform(lift.vjp, (fn,), mdl, *primals, multi_scope=multi_scope,
                                 has_aux=has_aux, vjp_variables=vjp_variables,
                                 variables=variables, rngs=rngs)


def value_and_grad(fn: Fn, mdl: Module, *primals: Any, has_aux: bool = False,
                   variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """The value of scalar `fn(mdl, *primals)` and its grads in the primals (flax: same name).

    Returns `(y, grads)` or `((y, aux), grads)`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         dense = nn.Dense(1)
    ...         y, (g,) = nn.value_and_grad(lambda m, x: m(x).sum(), dense, x)
    ...         return g.shape
    >>> Net().init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0]
    (1, 3)
    """
    out = lift_direct_transform(lift.value_and_grad, (fn,), mdl, *primals, has_aux=has_aux,
                                variables=variables, rngs=rngs)
    y = out[0]
    if jax.numpy.shape(y) != ():
        raise ValueError(f"grad can only work on functions with scalar-valued outputs. "
                         f"out shape={jax.numpy.shape(y)}")
    return ((y, out[1]), out[2]) if has_aux else (y, out[1])


def grad(fn: Fn, mdl: Module, *primals: Any, has_aux: bool = False,
         variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """The grads of scalar `fn(mdl, *primals)` in the primals (flax: `nn.grad`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         (g,) = nn.grad(lambda m, x: m(x).sum(), nn.Dense(1), x)
    ...         return g.shape
    >>> Net().init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0]
    (1, 3)
    """
    value, grads = value_and_grad(fn, mdl, *primals, has_aux=has_aux, variables=variables,
                                  rngs=rngs)
    return (grads, value[1]) if has_aux else grads


def jvp(fn: Fn, mdl: Module, primals: Any, tangents: Any, variable_tangents: Any,
        variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`jax.jvp` of `fn(mdl, *primals)` with tangents for inputs and variables (flax: `nn.jvp`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         dense = nn.Dense(1)
    ...         dense(x)  # create the params first
    ...         zeros = jax.tree.map(jnp.zeros_like, dense.variables["params"])
    ...         y, t = nn.jvp(lambda m, x: m(x), dense, (x,), (jnp.ones_like(x),),
    ...                       {"params": zeros})
    ...         return t.shape
    >>> Net().init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0]
    (1, 1)
    """
    return lift_direct_transform(lift.jvp, (fn,), mdl, primals, tangents, variable_tangents,
                                 multi_scope=False, variables=variables, rngs=rngs)


def while_loop(cond_fn: Fn, body_fn: Fn, mdl: Module, init: Any,
               carry_variables: CollectionFilter = False,
               broadcast_variables: CollectionFilter = True,
               split_rngs: Mapping[CollectionFilter, bool] | None = None) -> Any:
    """`lax.while_loop` over a module: `body_fn(mdl, c)` while `cond_fn(mdl, c)` (flax: same).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Halve(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return nn.while_loop(lambda m, x: x > 1.0, lambda m, x: x / 2.0, self, x)
    >>> float(Halve().apply({}, 10.0))
    0.625
    """
    splits = tuple(dict(split_rngs or {}).items())  # pairs: filters need not sort as keys
    return lift_direct_transform(lift.while_loop, (cond_fn, body_fn), mdl, init,
                                 carry_variables, broadcast_variables, splits)


def _cond_wrapper(t_fn: Fn, f_fn: Fn, scope: Any, pred: Any, *ops: Any,
                  variables: Any, rngs: Any) -> Any:
    return lift.cond(pred, t_fn, f_fn, scope, *ops, variables=variables, rngs=rngs)


def cond(pred: Any, true_fun: Fn, false_fun: Fn, mdl: Module, *operands: Any,
         variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`lax.cond` on module functions: both are traced, one runs (flax: `nn.cond`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Either(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x, flag):
    ...         return nn.cond(flag, lambda m, x: m(x), lambda m, x: -m(x), nn.Dense(2), x)
    >>> variables = Either().init(jax.random.key(0), jnp.ones((1, 3)), True)
    >>> sorted(variables["params"])
    ['Dense_0']
    """
    return lift_direct_transform(_cond_wrapper, (true_fun, false_fun), mdl, pred, *operands,
                                 variables=variables, rngs=rngs)


def _switch_wrapper(*args: Any, variables: Any, rngs: Any, n_branches: int) -> Any:
    branches = args[:n_branches]
    scope, index, *operands = args[n_branches:]
    return lift.switch(index, branches, scope, *operands, variables=variables, rngs=rngs)


def switch(index: Any, branches: Sequence[Fn], mdl: Module, *operands: Any,
           variables: CollectionFilter = True, rngs: CollectionFilter = True) -> Any:
    """`lax.switch` on module functions (flax: `nn.switch`).

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Pick(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x, i):
    ...         return nn.switch(i, [lambda m, x: m(x), lambda m, x: 2 * m(x)], nn.Dense(1), x)
    >>> Pick().init_with_output(jax.random.key(0), jnp.ones((1, 3)), 1)[0].shape
    (1, 1)
    """
    return lift_direct_transform(_switch_wrapper, tuple(branches), mdl, index, *operands,
                                 variables=variables, rngs=rngs, n_branches=len(branches))


def _custom_vjp_single(fn: Fn, backward_fn: Fn, grad_vars: CollectionFilter = "params",
                       nondiff_argnums: tuple[int, ...] = ()) -> Fn:
    return lift.custom_vjp(functools.partial(fn, needs_residual=False),
                           functools.partial(fn, needs_residual=True), backward_fn,
                           grad_vars, nondiff_argnums)


def custom_vjp(fn: Fn, forward_fn: Fn, backward_fn: Fn, grad_vars: CollectionFilter = "params",
               nondiff_argnums: tuple[int, ...] = ()) -> Fn:
    """A module function with a hand-written backward pass (flax: `nn.custom_vjp`).

    `forward_fn(mdl, *args) -> (y, residuals)`, `backward_fn(residuals, g) ->
    (variable grads, *input grads)`.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         f = lambda m, x: m(x)
    ...         fwd = lambda m, x: (m(x), m.variables)
    ...         bwd = lambda vs, g: (jax.tree.map(jnp.zeros_like, vs), jnp.zeros((1, 3)))
    ...         return nn.custom_vjp(f, fwd, bwd)(nn.Dense(2), x)
    >>> Net().init_with_output(jax.random.key(0), jnp.ones((1, 3)))[0].shape
    (1, 2)
    """

    def shared(*args: Any, needs_residual: bool, **kwargs: Any) -> Any:
        return forward_fn(*args, **kwargs) if needs_residual else fn(*args, **kwargs)

    return decorator_lift_transform(_custom_vjp_single, shared, backward_fn=backward_fn,
                                    grad_vars=grad_vars, nondiff_argnums=nondiff_argnums,
                                    multi_scope=False)


def named_call(class_fn: Fn, force: bool = True) -> Fn:
    """Run a method under `jax.named_call`, named `ModuleName.method` (flax: `nn.named_call`).

    The name shows in profiles and in the jaxpr.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.named_call
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return nn.Dense(2)(x)
    >>> jax.tree.map(jnp.shape, Net().init(jax.random.key(0), jnp.ones((1, 3))))
    {'params': {'Dense_0': {'bias': (2,), 'kernel': (3, 2)}}}
    """

    @functools.wraps(class_fn)
    def wrapped_fn(self: Module, *args: Any, **kwargs: Any) -> Any:
        if self._state.in_setup:
            return class_fn(self, *args, **kwargs)
        name = getattr(class_fn, "__name__", "__call__")
        full = (self.name or type(self).__name__) + ("" if name == "__call__" else f".{name}")
        return jax.named_call(class_fn, name=full)(self, *args, **kwargs)

    return wrapped_fn


def add_metadata_axis(target: Target, variable_axes: Mapping[CollectionFilter, Any] | None = None,
                      metadata_params: Mapping[Any, Any] | None = None) -> Target:
    """Add an axis to the partitioning boxes of a module's variables (flax: same name).

    Use it inside a hand-written `jax.vmap` over a module to keep the boxes' names in
    step with the arrays.

    >>> import minijax.nn as nn
    >>> add_metadata_axis(nn.Dense, {"params": 0}).__name__
    'Map_variablesDense'
    """
    params = dict(metadata_params or {})
    for col, axis in dict(variable_axes or {}).items():
        target = map_variables(
            target, col, trans_in_fn=lambda x, a=axis: meta.remove_axis(x, a, params),
            trans_out_fn=lambda x, a=axis: meta.add_axis(x, a, params), mutable=True)
    return target
