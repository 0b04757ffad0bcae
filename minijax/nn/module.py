"""`Module`: flax.linen's module system, small enough to read in one sitting.

A module is two things at once:

1. **A config object.** Every subclass is a dataclass whose fields (`features: int`)
   are hyperparameters, followed by the keyword-only `parent` and `name`. It is
   hashable and compared by value; lists given to fields become tuples and dicts
   `FrozenDict`s; setting an attribute after construction raises. It holds no arrays.
2. **While `init`/`apply` runs, a bound view of the variables.** `init` and `apply`
   make a root `Scope` (`scope.py`), bind a clone of the module to it and call the
   method. Every submodule made inside is bound to a child scope (a path such as
   `("Encoder_0", "Dense_1")`); `self.param` reads or creates `params/<path>/<name>`.

How a submodule learns its parent and name (in flax: `Module.__post_init__`): while
a bound module runs a method it is on top of the module stack, and a module
constructed then takes it as its `parent`:

* inside an `@compact` method it is named at once: `name=` if given, else
  `f"{ClassName}_{n}"` from a per-parent, per-class counter that restarts after every
  compact call (so a second call re-creates `Dense_0` and reuses its params);
* inside `setup` it stays unnamed until assigned, `self.dense = Dense(3)`: then
  `__setattr__` names it after the attribute (`dense`; lists and dicts of modules give
  `layers_0`, `blocks_key`);
* a module passed in from outside (a field, a closure) is *adopted* when its holder
  is bound: a clone is bound under the attribute's name, once per call, so that one
  instance given to two parents is one submodule, bound where it was first adopted.

Every method a subclass defines is wrapped (in flax: `_call_wrapped_method`) to run
`setup` lazily first, push the module on the stack, run the method through the
interceptors (`intercept.py`) and, after a compact method, reset the name counters
and rewind the scope's reservations.

>>> import jax, jax.numpy as jnp
>>> class Affine(Module):
...     features: int
...     @compact
...     def __call__(self, x):
...         w = self.param("w", jax.nn.initializers.lecun_normal(), (x.shape[-1], self.features))
...         return x @ w
>>> variables = Affine(2).init(jax.random.key(0), jnp.ones((1, 3)))
>>> jax.tree.map(jnp.shape, variables)
{'params': {'w': (3, 2)}}
"""

import dataclasses
import enum
import functools
import inspect
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, dataclass_transform

from minijax import config, ids
from minijax.core import FrozenDict
from minijax.nn import errors, kw_only_dataclasses
from minijax.nn.functional import InitApply
from minijax.nn.intercept import run_interceptors
from minijax.nn.intermediates import Intermediates
from minijax.nn.module_repr import module_repr
from minijax.nn.scope import Scope, Variable

__all__ = ["Module", "compact", "merge_param", "nowrap"]

_F = TypeVar("_F", bound=Callable[..., Any])
M = TypeVar("M", bound="Module")


def compact(fun: _F) -> _F:
    """Mark the method that may create submodules and params inline (in flax: `nn.compact`).

    >>> import minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return nn.Dense(2)(x)
    """
    fun.compact = True  # type: ignore[attr-defined]
    return fun


def nowrap(fun: _F) -> _F:
    """Leave a method unwrapped: a plain helper, no setup, no stack (in flax: `nn.nowrap`).

    >>> import minijax.nn as nn
    >>> class Net(nn.Module):
    ...     @nn.nowrap
    ...     def width(self):
    ...         return 4
    >>> Net().width()
    4
    """
    fun.nowrap = True  # type: ignore[attr-defined]
    return fun


def merge_param(name: str, a: Any, b: Any) -> Any:
    """The one of a constructor value `a` and a call-time value `b` that is not None.

    In flax this is `nn.merge_param`.

    Raises:
        ValueError: both or neither are None.

    >>> merge_param("deterministic", None, True)
    True
    """
    if (a is None) == (b is None):
        which = "neither" if a is None else "both"
        raise ValueError(
            f'Parameter "{name}" was given {which} to the constructor and at call time: '
            "pass it exactly once."
        )
    return a if b is None else b


class _Context(threading.local):
    def __init__(self) -> None:
        self.module_stack: list[Module] = []  # the modules whose methods are running


_context = _Context()


class _Unspecified:
    """The default `parent`: "the module whose method is running". One object, always:
    copy, deepcopy and pickle keep it, since it reduces to the module global's name."""

    def __repr__(self) -> str:
        return "<parent from context>"

    def __reduce__(self) -> str:
        return "_UNSPECIFIED"


_UNSPECIFIED: Any = _Unspecified()
_NAME_TYPES = (str, "str", str | None, "str | None", "Optional[str]")


class SetupState(enum.IntEnum):
    """Whether `setup` has run: not yet, outside a lifted transform only, or here."""

    NEW = 0
    TRANSFORMED = 1
    DONE = 2


@dataclasses.dataclass
class _State:
    """Per-instance bookkeeping, never part of the config (flax: `_ModuleInternalState`)."""

    ready: bool = False  # construction has finished: attributes are frozen from now on
    in_setup: bool = False
    in_compact: bool = False
    setup_called: SetupState = SetupState.NEW
    autoname: dict[str, int] = dataclasses.field(default_factory=dict)
    children: dict[str, Any] = dataclasses.field(default_factory=dict)  # -> module or collection


class _ParentRef:
    """`module.parent`, held by weak reference: a child never keeps its parent alive, so
    bound module trees have no reference cycles and are freed (tracers too) on return."""

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        ref = obj.__dict__.get("_parent_ref")
        return ref() if isinstance(ref, weakref.ref) else ref

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["_parent_ref"] = weakref.ref(value) if isinstance(value, Module) else value


def _last_fields() -> list[tuple[str, Any, Any]]:
    """`parent` and `name`, the keyword-only fields every module ends with (fresh ones)."""
    return [("parent", Any, dataclasses.field(
        default=_UNSPECIFIED, kw_only=True, repr=False, compare=False, hash=False)),
        ("name", str | None, dataclasses.field(default=None, kw_only=True))]


def _freeze_attr(value: Any) -> Any:
    """Lists become tuples and dicts `FrozenDict`s, recursively, so configs hash."""
    if isinstance(value, dict):
        return FrozenDict({k: _freeze_attr(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        items = [_freeze_attr(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return value


def _map_modules(fn: Callable[[str, "Module"], Any], value: Any, suffix: str = "") -> Any:
    """`fn(suffix, module)` for the modules in nested lists, tuples and dicts (sorted keys).

    `suffix` names the place: `_0` for item 0 of a list, `_key_1` deeper down.
    """
    if isinstance(value, Module):
        return fn(suffix, value)
    if isinstance(value, Mapping):
        mapped = {k: _map_modules(fn, value[k], f"{suffix}_{k}") for k in sorted(value, key=str)}
        return {k: mapped[k] for k in value}
    if isinstance(value, list | tuple):
        items = [_map_modules(fn, v, f"{suffix}_{i}") for i, v in enumerate(value)]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    return value


def _get_local_method_names(cls: type, exclude: Any = ()) -> tuple[str, ...]:
    """The methods `cls` defines itself: not inherited, not static or class methods."""
    return tuple(n for n, f in vars(cls).items() if inspect.isfunction(f) and n not in exclude)


def _wrap(fun: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fun)
    def wrapped(self: "Module", *args: Any, **kwargs: Any) -> Any:
        return self._call_wrapped(fun, args, kwargs)

    wrapped._minijax_wrapped = True  # type: ignore[attr-defined]
    return wrapped


def _checked_hash(hash_fn: Callable[[Any], int]) -> Callable[[Any], int]:
    @functools.wraps(hash_fn)
    def __hash__(self: "Module") -> int:
        if self.scope is not None:
            raise TypeError("Can't call __hash__ on modules that hold variables.")
        return hash_fn(self)

    return __hash__


def _is_descriptor(cls: type, attr: str) -> bool:
    return any(attr in vars(k) and hasattr(vars(k)[attr], "__get__")
               and not callable(vars(k)[attr]) for k in cls.__mro__)


@dataclass_transform(field_specifiers=(dataclasses.field,))
class _ModuleBase:
    """Tells type checkers that `Module` and its subclasses are dataclasses."""

    if TYPE_CHECKING:  # per-instance attributes, not fields
        _id: ids.Id
        _state: "_State"
        _compact_name_scope_methods: tuple[str, ...]


class Module(_ModuleBase, InitApply, Intermediates):
    """The base class of every layer and model (in flax: `flax.linen.Module`).

    Attributes:
        parent: the module (or root `Scope`) this one is bound to; by default the
            module whose method is running when it is constructed, else None.
        name: the name under its parent; by default the attribute name (in `setup`)
            or `ClassName_n` (in `@compact` methods).
        scope: the `Scope` while bound, else None.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class AutoEncoder(nn.Module):
    ...     def setup(self):
    ...         self.encoder, self.decoder = nn.Dense(2), nn.Dense(3)
    ...     def __call__(self, x):
    ...         return self.decoder(self.encoder(x))
    >>> variables = AutoEncoder().init(jax.random.key(0), jnp.ones((1, 3)))
    >>> sorted(variables["params"])
    ['decoder', 'encoder']
    """

    scope = None  # type: Scope | None
    if TYPE_CHECKING:  # the fields every subclass gets (see `_last_fields`)
        name: str | None = dataclasses.field(default=None, kw_only=True)
        parent: Any = dataclasses.field(default=None, kw_only=True)

    def __init_subclass__(cls, kw_only: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = inspect.get_annotations(cls)
        if "parent" in own or own.get("name", str) not in _NAME_TYPES:
            raise errors.ReservedModuleAttributeError(
                f"{cls.__name__} declares 'parent' or 'name' as a field ({own}): every module "
                "has them already (name: str | None, parent). Rename the field."
            )
        cls._make_dataclass(kw_only)
        fields = [f.name for f in dataclasses.fields(cls)]
        for attr in _get_local_method_names(cls, exclude=fields):
            fun = vars(cls)[attr]
            if ((attr == "__call__" or not attr.startswith("__"))
                    and not getattr(fun, "nowrap", False)
                    and not getattr(fun, "_minijax_wrapped", False)):
                setattr(cls, attr, _wrap(fun))
        cls._compact_name_scope_methods = tuple(
            n for n in dir(cls) if getattr(getattr(cls, n, None), "compact_name_scope", False))

    @classmethod
    def _make_dataclass(cls, kw_only: bool) -> None:
        for f in vars(cls).values():  # init=False fields are set in setup: not config
            if isinstance(f, dataclasses.Field) and not f.init:
                f.compare, f.hash, f.repr = False, False, False
        kw_only_dataclasses.dataclass(cls, _last_fields(), eq=True, repr=False, kw_only=kw_only,
                                      unsafe_hash="__hash__" not in cls.__dict__)
        cls.__hash__ = _checked_hash(cls.__hash__)  # type: ignore[method-assign,assignment]
        cls.parent = _ParentRef()

    # -- construction and binding -------------------------------------------------------

    def __post_init__(self) -> None:
        object.__setattr__(self, "_id", ids.uuid())
        object.__setattr__(self, "_state", _State())
        if self.parent is _UNSPECIFIED:
            stack = _context.module_stack
            object.__setattr__(self, "parent", stack[-1] if stack else None)
        parent = self.parent
        if not (isinstance(parent, Module) and parent._state.in_setup and self.name is None):
            self._bind(check=True)  # in setup, an unnamed submodule waits for its attribute
        self._state.ready = True

    def _bind(self, check: bool) -> None:
        """Attach to the parent (a module or a root scope), then adopt the field modules."""
        parent = self.parent
        if isinstance(parent, Module):
            parent._attach(self, check)
        elif isinstance(parent, Scope):
            object.__setattr__(self, "scope", parent)
        elif parent is not None:
            raise ValueError(f"parent must be a Module, a Scope or None, got {parent!r:.80}.")
        if self.scope is not None:
            for f in dataclasses.fields(self):
                if f.init and f.name not in ("parent", "name"):
                    self._register(f.name, self.__dict__[f.name])

    def _attach(self, child: "Module", check: bool) -> None:
        """Make `child` the submodule of `self` called `child.name` (or `Class_n`)."""
        state, cls = self._state, type(self).__name__
        if check and state.ready and not (state.in_setup or state.in_compact):
            path = self.scope.path if self.scope is not None else ()
            raise errors.assign_outside_setup(
                f"Submodule {type(child).__name__}", "defined", cls, path)
        assert self.scope is not None, "a parent is bound before its children"
        name = child.name
        if name is None:
            prefix = type(child).__name__
            n = state.autoname.get(prefix, 0)
            state.autoname[prefix] = n + 1
            name = f"{prefix}_{n}"
            object.__setattr__(child, "name", name)
        # Inside a lifted transform, setup re-creates submodules whose scopes the
        # transform has already brought in (flax: `reuse_scopes`).
        reuse = state.in_setup and state.setup_called == SetupState.TRANSFORMED
        if not reuse and self.scope.name_reserved(name):
            raise errors.name_in_use("submodule", name, cls, self.scope.path)
        state.children[name] = child
        object.__setattr__(child, "scope", self.scope.push(name, reuse=reuse))

    def _register(self, attr: str, value: Any) -> None:
        """Set `attr` to `value`, first naming and binding the modules inside it."""
        assert self.scope is not None
        store, queue = self.scope.store, []
        keep_names = getattr(type(self), "preserve_adopted_names", None)
        keep_names = config.preserve_adopted_names if keep_names is None else keep_names

        def adopt(suffix: str, sub: Module) -> Module:
            name = None
            if sub.parent is None:  # made outside any module: bind a clone, once per call
                name = sub.name if keep_names else None
                clone = store.adopted.get(sub._id)
                if clone is None:
                    clone = store.adopted[sub._id] = sub.clone(name=None)
                sub = clone
            if sub.name is None:  # not attached yet
                object.__setattr__(sub, "parent", self)
                object.__setattr__(sub, "name", name or f"{attr}{suffix}")
                queue.append(sub)
            return sub

        object.__setattr__(self, attr, _freeze_attr(_map_modules(adopt, value)))
        for sub in queue:
            sub._bind(check=False)

    def _try_setup(self) -> None:
        """Run `setup` once, lazily, the first time a bound module is used."""
        state = self._state
        if self.scope is None or state.in_setup or state.setup_called == SetupState.DONE:
            return
        state.in_setup = True
        try:
            self.setup()
            for name in type(self)._compact_name_scope_methods:
                getattr(type(self), name).make_scope(self)
        finally:
            state.in_setup, state.setup_called = False, SetupState.DONE

    def _call_wrapped(self, fun: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> Any:
        """Run a user method: setup first, then the method with `self` on the stack."""
        state, name, cls = self._state, getattr(fun, "__name__", "?"), type(self).__name__
        is_setup, is_compact = name == "setup", getattr(fun, "compact", False)
        recurrent = False
        if is_setup:
            if self.scope is None:
                raise errors.unbound(cls, "call setup", errors.CallSetupUnboundModuleError)
            recurrent, state.in_setup = state.in_setup, True
        else:
            self._try_setup()
        if is_compact:
            if self.scope is None:
                raise errors.unbound(
                    cls, "call compact methods", errors.CallCompactUnboundModuleError)
            recurrent, state.in_compact = state.in_compact, True
        _context.module_stack.append(self)
        try:
            return run_interceptors(fun, self, args, kwargs)
        except Exception as error:
            errors.note_where(error, self.scope, f"{cls}.{name}")
            raise
        finally:
            _context.module_stack.pop()
            if is_compact:
                object.__setattr__(self, "scope", self.scope.rewound())  # type: ignore[union-attr]
            if (is_compact or is_setup) and not recurrent:
                state.in_compact = state.in_setup = False
                state.autoname = {}

    def setup(self) -> None:
        """Override to create submodules and params as attributes (run lazily, once).

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Scale(nn.Module):
        ...     def setup(self):
        ...         self.dense = nn.Dense(2)              # named after the attribute
        ...         self.scale = self.param("scale", nn.initializers.ones, (2,))
        ...     def __call__(self, x):
        ...         return self.dense(x) * self.scale
        >>> params = Scale().init(jax.random.key(0), jnp.ones((1, 3)))["params"]
        >>> sorted(params), sorted(params["dense"])
        (['dense', 'scale'], ['bias', 'kernel'])
        """

    # -- frozen attributes --------------------------------------------------------------

    def __setattr__(self, attr: str, value: Any) -> None:
        state = self.__dict__.get("_state")
        if state is None or not state.ready or attr.startswith("__"):
            object.__setattr__(self, attr, _freeze_attr(value))  # the dataclass __init__
            return
        field = self.__dataclass_fields__.get(attr)
        if not state.in_setup or (field is not None and field.init):
            raise errors.frozen(type(self).__name__, attr, value, state.in_setup)
        self._register(attr, value)

    def __getattr__(self, attr: str) -> Any:
        """Only called for missing attributes: run setup, which may define them."""
        if "_state" not in self.__dict__:
            raise AttributeError(attr)
        msg = f'"{type(self).__name__}" object has no attribute "{attr}".'
        if attr.startswith("__"):
            raise AttributeError(msg)
        if _is_descriptor(type(self), attr):
            raise errors.DescriptorAttributeError(
                f"Trying to access a property that raised AttributeError: "
                f"{type(self).__name__}.{attr} uses an attribute that does not exist.")
        self._try_setup()
        if attr in self.__dict__:
            return self.__dict__[attr]
        if self.scope is None:
            msg += (f' If "{attr}" is defined in setup(), it exists only inside init/apply '
                    "(or on a module bound with module.bind(variables)).")
        raise AttributeError(msg)

    def __dir__(self) -> list[str]:
        self._try_setup()
        return list(object.__dir__(self))

    def __repr__(self) -> str:
        return module_repr(self)

    # -- variables, rngs ----------------------------------------------------------------

    def _bound(self, what: str) -> Scope:
        if self.scope is None:
            raise errors.unbound(type(self).__name__, what)
        return self.scope

    def _creation_scope(self, kind: str, name: str, col: str) -> Scope:
        scope, state, cls = self._bound(f"create {kind}s"), self._state, type(self).__name__
        if state.ready and not (state.in_setup or state.in_compact):
            raise errors.assign_outside_setup(
                f'{kind.capitalize()} "{name}"', "initialized", cls, scope.path)
        if scope.name_reserved(name, col):
            raise errors.name_in_use(kind, name, cls, scope.path)
        self._state.children[name] = col
        return scope

    @property
    def path(self) -> tuple[str, ...]:
        """The module's path from the root, e.g. `("Encoder_0", "Dense_1")`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Outer(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         inner = nn.Dense(2)
        ...         return inner(x), inner.path
        >>> (y, path), _ = Outer().init_with_output(jax.random.key(0), jnp.ones((1, 3)))
        >>> path
        ('Dense_0',)
        """
        return self._bound("access module paths").path

    @property
    def variables(self) -> dict[str, Any]:
        """This module's variables: `{collection: subtree at this path}`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> variables = nn.Dense(2).init(jax.random.key(0), jnp.ones((1, 3)))
        >>> bound = nn.Dense(2).bind(variables)
        >>> jax.tree.map(jnp.shape, bound.variables)
        {'params': {'bias': (2,), 'kernel': (3, 2)}}
        """
        return self._bound("use variables").variables()

    def param(self, name: str, init_fn: Callable[..., Any], *init_args: Any,
              unbox: bool = True, **init_kwargs: Any) -> Any:
        """Create (init) or read (apply) `params/<path>/<name>`; `init_fn(key, *init_args)`.

        At `init` the value is `init_fn(self.make_rng("params"), *init_args)`; at `apply`
        it is read back, and a stored value whose shape differs from what `init_fn`
        would make raises `ScopeParamShapeError` (in flax: `Module.param`).

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Bias(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         b = self.param("b", nn.initializers.zeros, (x.shape[-1],))
        ...         return x + b
        >>> variables = Bias().init(jax.random.key(0), jnp.ones((1, 3)))
        >>> variables["params"]["b"]
        Array([0., 0., 0.], dtype=float32)
        >>> Bias().apply({"params": {"b": jnp.ones(3)}}, jnp.ones((1, 3)))
        Array([[2., 2., 2.]], dtype=float32)
        """
        scope = self._creation_scope("param", name, "params")
        return scope.param(name, init_fn, *init_args, unbox=unbox, **init_kwargs)

    def variable(self, col: str, name: str, init_fn: Callable[..., Any] | None = None,
                 *init_args: Any, unbox: bool = True, **init_kwargs: Any) -> Variable[Any]:
        """A `Variable` (`.value`) in `col`, made by `init_fn(*init_args)` if missing.

        No key is passed to `init_fn`; writing `.value` needs `col` to be mutable
        (`apply(..., mutable=[col])`). In flax: `Module.variable`.

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Counter(nn.Module):
        ...     @nn.compact
        ...     def __call__(self):
        ...         count = self.variable("counter", "count", jnp.zeros, (), jnp.int32)
        ...         count.value += 1
        ...         return count.value
        >>> variables = Counter().init(jax.random.key(0))
        >>> y, updates = Counter().apply(variables, mutable=["counter"])
        >>> int(variables["counter"]["count"]), int(y), int(updates["counter"]["count"])
        (1, 2, 2)
        """
        scope = self._creation_scope("variable", name, col)
        return scope.variable(col, name, init_fn, *init_args, unbox=unbox, **init_kwargs)

    def make_rng(self, name: str = "params") -> Any:
        """A fresh key of stream `name`, unique to this module path and draw.

        A stream that was not passed falls back to `params`; with neither, it raises
        `InvalidRngError` (in flax: `Module.make_rng`).

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Noise(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         a = jax.random.normal(self.make_rng("noise"), x.shape)
        ...         b = jax.random.normal(self.make_rng("noise"), x.shape)
        ...         return a, b
        >>> a, b = Noise().apply({}, jnp.zeros(3), rngs={"noise": jax.random.key(0)})
        >>> bool((a == b).all())                      # two draws, two keys
        False
        """
        return self._bound("use RNGs").make_rng(name)

    def has_rng(self, name: str) -> bool:
        """Whether stream `name` was passed to `init`/`apply`."""
        return self._bound("use RNGs").has_rng(name)

    def is_initializing(self) -> bool:
        """True inside `init` (e.g. BatchNorm does not update its statistics then).

        >>> import jax, jax.numpy as jnp, minijax.nn as nn
        >>> class Probe(nn.Module):
        ...     @nn.compact
        ...     def __call__(self):
        ...         return self.is_initializing()
        >>> Probe().init_with_output(jax.random.key(0))[0], Probe().apply({})
        (True, False)
        """
        return bool(self._bound("check initialization").store.flags.get("initializing"))

    def is_mutable_collection(self, col: str) -> bool:
        return self._bound("check mutability").is_mutable_collection(col)

    def has_variable(self, col: str, name: str) -> bool:
        return self._bound("use variables").has_variable(col, name)

    def get_variable(self, col: str, name: str, default: Any = None) -> Any:
        return self._bound("use variables").get_variable(col, name, default)

    def put_variable(self, col: str, name: str, value: Any) -> None:
        self._bound("use variables").put_variable(col, name, value)

    # -- copies -------------------------------------------------------------------------

    def clone(self: M, *, parent: Any = None, _deep_clone: bool | dict[Any, Any] = False,
              _reset_names: bool = False, **updates: Any) -> M:
        """A copy with the same config (and `updates`), unbound unless `parent` is given.

        `_deep_clone` clones the submodules in the fields too, once each (a dict given
        here is the cache that keeps shared submodules shared); `_reset_names` also
        clears their names.

        >>> import minijax.nn as nn
        >>> wide = nn.Dense(2).clone(features=8)
        >>> wide.features, wide == nn.Dense(8)
        (8, True)
        """
        attrs = {f.name: self.__dict__[f.name] for f in dataclasses.fields(self)
                 if f.init and f.name != "parent"}
        attrs.update(parent=parent, **updates)
        if _deep_clone is not False:
            cache = {} if isinstance(_deep_clone, bool) else _deep_clone

            def clone_one(_: str, m: Module) -> Module:
                if m._id not in cache:
                    reset = {"name": None} if _reset_names else {}
                    cache[m._id] = m.clone(_deep_clone=cache, _reset_names=_reset_names, **reset)
                return cache[m._id]  # type: ignore[no-any-return]

            attrs = {k: v if k == "parent" else _map_modules(clone_one, v)
                     for k, v in attrs.items()}
        return type(self)(**attrs)

    def copy(self: M, *, parent: Any = _UNSPECIFIED, name: str | None = None,
             **updates: Any) -> M:
        """A deep copy, by default a new submodule of the running module (in flax: `copy`)."""
        return self.clone(parent=parent, name=name, _deep_clone=True, **updates)


Module._make_dataclass(kw_only=False)
