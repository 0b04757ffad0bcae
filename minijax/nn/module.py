"""``Module``: flax.linen's module system, small enough to read in one sitting.

A module is two things at once:

1. **A config object.** Every subclass is a dataclass; its fields (``features:
   int``) are hyperparameters. It is hashable and compared by value (like flax,
   ``eq=True`` with a field hash), lists given to fields become tuples, and
   setting an attribute after construction raises. It holds no arrays.

2. **While ``init``/``apply`` runs, a bound view of the variables.** ``init`` and
   ``apply`` create a :class:`~minijax.nn.scope.Store` (the variables, rng keys,
   which collections may be written), clone the module with a root
   :class:`~minijax.nn.scope.Scope`, and call the method. Every submodule made
   inside is bound to a child scope (a path such as ``("Encoder_0",
   "Dense_1")``); ``self.param`` reads or creates ``params/<path>/<name>``.

How a submodule learns its parent and name (flax: ``Module.__post_init__``):
while a bound module runs a method, it sits on top of ``_module_stack``. A
module constructed then takes that module as its ``parent``:

* inside an ``@compact`` method it is named at once: ``name=`` if given, else
  ``f"{ClassName}_{n}"`` from a per-parent, per-class counter that restarts after
  every call of the compact method (so a second call re-creates ``Dense_0`` and
  reuses its params);
* inside ``setup`` it stays unnamed until it is assigned, ``self.dense =
  Dense(3)``: then ``__setattr__`` names it after the attribute (``dense``;
  lists and dicts of modules give ``layers_0``, ``blocks_key``).

Every method a subclass defines is wrapped (flax: ``Module._call_wrapped_method``)
to run ``setup`` lazily first, push the module on the stack, and, after a compact
method, reset the name counters and the scope's reservations.
"""

import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, dataclass_transform

from minijax import random as mrandom
from minijax.nn.scope import (
    CollectionFilter,
    MinijaxNNError,
    Scope,
    Store,
    Variable,
    check_variables,
    path_text,
)

__all__ = [
    "AssignSubModuleError",
    "Module",
    "SetAttributeError",
    "UnboundModuleError",
    "compact",
    "merge_param",
    "nowrap",
]

_F = TypeVar("_F", bound=Callable[..., Any])


class UnboundModuleError(MinijaxNNError, RuntimeError):
    """A module was used outside ``init``/``apply`` (it has no variables to read)."""


class AssignSubModuleError(MinijaxNNError, TypeError):
    """A submodule or variable was created outside ``setup`` and ``@compact`` methods."""


class SetAttributeError(MinijaxNNError, AttributeError):
    """A module attribute was set outside ``setup`` (modules are frozen config)."""


def compact(fun: _F) -> _F:
    """Mark the method that may create submodules and params inline (flax: ``nn.compact``)."""
    fun.compact = True  # type: ignore[attr-defined]
    return fun


def nowrap(fun: _F) -> _F:
    """Leave a method unwrapped: a plain helper, no setup, no stack (flax: ``nn.nowrap``)."""
    fun.nowrap = True  # type: ignore[attr-defined]
    return fun


def merge_param(name: str, a: Any, b: Any) -> Any:
    """The one of a constructor value ``a`` and a call-time value ``b`` that is not None."""
    if (a is None) == (b is None):
        which = "neither" if a is None else "both"
        raise ValueError(
            f'Parameter "{name}" was given {which} to the constructor and at call time: '
            "pass it exactly once."
        )
    return a if b is None else b


def _note_where(error: Exception, module: "Module", method: str) -> None:
    """Add the module path to an error raised inside a module, once (at the innermost).

    A shape error from ``Dense.__call__`` then says *which* Dense of the model it was:
    ``(in module Encoder_0/Dense_1, Dense.__call__)`` below the message.
    """
    if not getattr(error, "_minijax_where", False):
        where = path_text(module.scope.path) if module.scope is not None else "<unbound>"
        error.add_note(f"(in module {where}, {type(module).__name__}.{method})")
        error._minijax_where = True  # type: ignore[attr-defined]


_module_stack: list["Module"] = []  # the modules whose methods are running
# summary.py listens here: hook(module, method_name) at entry returns done(output).
_call_hooks: list[Callable[[Any, str], Callable[[Any], None]]] = []
_UNSPECIFIED: Any = type("_Unspecified", (), {"__repr__": lambda self: "<parent from context>"})()


@dataclasses.dataclass
class _State:
    """Per-instance bookkeeping, never part of the config (flax: ``_ModuleInternalState``)."""

    ready: bool = False  # __post_init__ has finished: attributes are frozen from now on
    in_setup: bool = False
    in_compact: bool = False
    setup_done: bool = False
    autoname: dict[str, int] = dataclasses.field(default_factory=dict)


def _freeze(value: Any) -> Any:
    """Lists become tuples, recursively (flax: ``_freeze_attr``), so configs hash."""
    if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
        return tuple(_freeze(v) for v in value)
    return value


def _wrap(fun: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fun)
    def wrapped(self: "Module", *args: Any, **kwargs: Any) -> Any:
        return self._call_wrapped(fun, args, kwargs)

    wrapped._minijax_wrapped = True  # type: ignore[attr-defined]
    return wrapped


@dataclass_transform(field_specifiers=(dataclasses.field,))
@dataclasses.dataclass(eq=False, repr=False)
class Module:
    """Base class of every layer and model (flax: ``flax.linen.Module``)."""

    parent: Any = dataclasses.field(
        default=_UNSPECIFIED, kw_only=True, repr=False, compare=False, hash=False
    )
    name: str | None = dataclasses.field(default=None, kw_only=True)

    # Not dataclass fields (no annotation): ``scope`` is set per instance when bound,
    # ``_state`` (a _State) in __post_init__.
    scope = None  # type: Scope | None

    # -- class creation: dataclass + method wrapping ------------------------------

    def __init_subclass__(cls, kw_only: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        compact_methods = [n for n, f in vars(cls).items() if getattr(f, "compact", False)]
        if len(compact_methods) > 1:
            raise TypeError(
                f"{cls.__name__} has several @compact methods {compact_methods}: only one "
                "method may create submodules inline. Use setup() for the others."
            )
        fields = vars(cls).get("__annotations__", {})  # defaults such as kernel_init=fn
        for attr, fun in list(vars(cls).items()):
            if (
                inspect.isfunction(fun)
                and attr not in fields
                and (attr == "__call__" or not attr.startswith("__"))
                and attr != "setup"
                and not getattr(fun, "nowrap", False)
                and not getattr(fun, "_minijax_wrapped", False)
            ):
                setattr(cls, attr, _wrap(fun))
        unsafe_hash = "__hash__" not in vars(cls)
        dataclasses.dataclass(cls, eq=True, unsafe_hash=unsafe_hash, kw_only=kw_only)

    # -- construction and binding ---------------------------------------------------

    def __post_init__(self) -> None:
        object.__setattr__(self, "_state", _State())
        if self.parent is _UNSPECIFIED:
            object.__setattr__(self, "parent", _module_stack[-1] if _module_stack else None)
        parent = self.parent
        if isinstance(parent, Scope):  # the root of init/apply
            object.__setattr__(self, "scope", parent)
        elif isinstance(parent, Module):
            if not (parent._state.in_setup and self.name is None):  # setup: named on assign
                parent._attach(self, self.name)
        elif parent is not None:
            raise TypeError(f"parent must be a Module, a Scope or None, got {parent!r}")
        self._state.ready = True

    def _attach(self, child: "Module", name: str | None) -> None:
        """Make ``child`` a submodule of ``self`` called ``name`` (or ``Class_n``)."""
        state = self._state
        if not (state.in_setup or state.in_compact):
            raise AssignSubModuleError(
                f"{type(child).__name__} was created inside a method of "
                f"{type(self).__name__} ({path_text(self.path)}) that is neither setup() nor "
                "decorated with @nn.compact. Create submodules in setup(), or mark the "
                "method @nn.compact."
            )
        if name is None:
            prefix = type(child).__name__
            count = state.autoname.get(prefix, 0)
            state.autoname[prefix] = count + 1
            name = f"{prefix}_{count}"
        assert self.scope is not None
        object.__setattr__(child, "parent", self)
        object.__setattr__(child, "name", name)
        object.__setattr__(child, "scope", self.scope.push(name))

    def _register(self, attr: str, value: Any, suffix: str = "") -> Any:
        """Name and bind the modules found in ``value`` (a module, or lists/dicts of them)."""
        if isinstance(value, Module):
            if value.parent is None:  # made outside (e.g. a field): bind a copy, once
                adopted = self.scope.store.adopted  # type: ignore[union-attr]
                if id(value) not in adopted:
                    adopted[id(value)] = value.clone(parent=None, name=None)
                value = adopted[id(value)]
            if value.scope is None and value.name is None:  # not attached anywhere yet
                self._attach(value, f"{attr}{suffix}")
            return value
        if isinstance(value, list | tuple) and not hasattr(value, "_fields"):
            return tuple(self._register(attr, v, f"{suffix}_{i}") for i, v in enumerate(value))
        if isinstance(value, dict):
            return {k: self._register(attr, v, f"{suffix}_{k}") for k, v in value.items()}
        return value

    def _try_setup(self) -> None:
        """Run ``setup`` once, lazily, the first time a bound module is used."""
        state = self._state
        if self.scope is None or state.setup_done or state.in_setup:
            return
        state.in_setup = True
        _module_stack.append(self)
        try:
            for f in dataclasses.fields(self):  # submodules passed as fields
                if f.name not in ("parent", "name"):
                    object.__setattr__(self, f.name, self._register(f.name, self.__dict__[f.name]))
            self.setup()
            state.setup_done = True
        finally:
            _module_stack.pop()
            state.in_setup = False
            state.autoname = {}

    def _call_wrapped(self, fun: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> Any:
        """Run a user method: setup first, then the method with ``self`` on the stack."""
        is_compact = getattr(fun, "compact", False)
        if self.scope is None:
            if is_compact:
                raise UnboundModuleError(
                    f"{type(self).__name__}.{fun.__name__} was called outside init/apply, so "
                    "it has no variables. Call model.init(key, x) / model.apply(variables, x), "
                    "or create the submodule inside the parent's setup() or @nn.compact method."
                )
            return fun(self, *args, **kwargs)
        self._try_setup()
        state = self._state
        outer_compact = state.in_compact  # a compact method calling super().__call__
        if is_compact:
            state.in_compact = True
        _module_stack.append(self)
        try:
            on_exit = [hook(self, fun.__name__) for hook in _call_hooks]
            y = fun(self, *args, **kwargs)
            for done in on_exit:
                done(y)
            return y
        except Exception as error:
            _note_where(error, self, fun.__name__)
            raise
        finally:
            _module_stack.pop()
            if is_compact and not outer_compact:
                state.in_compact = False
                state.autoname = {}
                object.__setattr__(self, "scope", self.scope.rewound())

    def setup(self) -> None:
        """Override to create submodules and params as attributes (run lazily, once)."""

    def clone(self, *, parent: Any = None, **updates: Any) -> "Module":
        """A copy with the same config (and ``updates``), unbound unless ``parent`` is given."""
        attrs = {f.name: self.__dict__[f.name] for f in dataclasses.fields(self) if f.init}
        attrs.update(parent=parent, **updates)
        return type(self)(**attrs)

    # -- frozen attributes ----------------------------------------------------------

    def __setattr__(self, attr: str, value: Any) -> None:
        state = self.__dict__.get("_state")
        if state is None or not state.ready:  # the dataclass __init__
            object.__setattr__(self, attr, _freeze(value))
        elif state.in_setup and attr not in {f.name for f in dataclasses.fields(self)}:
            object.__setattr__(self, attr, self._register(attr, value))
        else:
            raise SetAttributeError(
                f"cannot set {type(self).__name__}.{attr}: modules are frozen config. Set "
                "attributes only in setup() (and never the dataclass fields); use "
                "module.clone(field=value) for a changed copy."
            )

    def __getattr__(self, attr: str) -> Any:
        """Only called for missing attributes: run setup, which may define them."""
        if attr.startswith("__") or attr == "_state" or "_state" not in self.__dict__:
            raise AttributeError(attr)
        self._try_setup()
        if attr in self.__dict__:
            return self.__dict__[attr]
        hint = ""
        if self.scope is None:
            hint = " Attributes made in setup() exist only inside init/apply."
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}.{hint}")

    # -- variables, rngs --------------------------------------------------------------

    def _bound_scope(self, what: str) -> Scope:
        if self.scope is None:
            raise UnboundModuleError(
                f"{type(self).__name__}.{what} was used outside init/apply: the module has no "
                "variables. Call it through model.init(key, x) or model.apply(variables, x)."
            )
        return self.scope

    def _creation_scope(self, what: str, name: str) -> Scope:
        scope = self._bound_scope(what)
        if not (self._state.in_setup or self._state.in_compact):
            raise AssignSubModuleError(
                f"{path_text(scope.path)}: self.{what}({name!r}, ...) was called in a method "
                f"of {type(self).__name__} that is neither setup() nor @nn.compact. Declare "
                "params and variables in setup() or in the @nn.compact method."
            )
        return scope

    @property
    def path(self) -> tuple[str, ...]:
        """The module's path from the root, e.g. ``("Encoder_0", "Dense_1")``."""
        return self._bound_scope("path").path

    def param(self, name: str, init_fn: Callable[..., Any], *init_args: Any, **kw: Any) -> Any:
        """Create (init) or read (apply) ``params/<path>/<name>``; ``init_fn(key, *init_args)``."""
        return self._creation_scope("param", name).param(name, init_fn, *init_args, **kw)

    def variable(
        self,
        collection: str,
        name: str,
        init_fn: Callable[..., Any] | None = None,
        *init_args: Any,
    ) -> Variable:
        """A :class:`Variable` (``.value``) in ``collection``, made by ``init_fn(*init_args)``."""
        scope = self._creation_scope("variable", name)
        return scope.variable(collection, name, init_fn, *init_args)

    def make_rng(self, name: str = "params") -> Any:
        """A fresh key of stream ``name``, unique to this module path and call."""
        return self._bound_scope("make_rng").make_rng(name)

    def has_rng(self, name: str) -> bool:
        return self._bound_scope("has_rng").has_rng(name)

    def is_initializing(self) -> bool:
        """True inside ``init`` (e.g. BatchNorm does not update its statistics then)."""
        return self.scope is not None and self.scope.store.initializing

    def is_mutable_collection(self, collection: str) -> bool:
        return self._bound_scope("is_mutable_collection").store.is_mutable(collection)

    def has_variable(self, collection: str, name: str) -> bool:
        return self._bound_scope("has_variable").has_variable(collection, name)

    def get_variable(self, collection: str, name: str, default: Any = None) -> Any:
        return self._bound_scope("get_variable").get_variable(collection, name, default)

    def put_variable(self, collection: str, name: str, value: Any) -> None:
        self._bound_scope("put_variable").put_variable(collection, name, value)

    def sow(self, collection: str, name: str, value: Any) -> bool:
        """Append ``value`` to the tuple ``collection/name`` if the collection is mutable."""
        scope = self._bound_scope("sow")
        if not scope.store.is_mutable(collection):
            return False
        scope.put_variable(collection, name, (*scope.get_variable(collection, name, ()), value))
        return True

    @property
    def variables(self) -> dict[str, Any]:
        """This module's variables: ``{collection: subtree at this path}``."""
        scope = self._bound_scope("variables")
        out = {c: scope._subtree(c) for c in scope.store.variables}
        return {c: t for c, t in out.items() if t is not None}

    # -- init / apply ---------------------------------------------------------------

    def _run(
        self,
        variables: Mapping[str, Any],
        rngs: Any,
        method: Any,
        mutable: CollectionFilter,
        initializing: bool,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
    ) -> tuple[Any, dict[str, Any]]:
        store = Store(variables, _rng_streams(rngs), mutable, initializing)
        root = self.clone(parent=Scope(store), name=self.name)
        if method is None:
            fun = type(self).__call__
        elif isinstance(method, str):
            fun = getattr(type(self), method)
        elif inspect.ismethod(method):
            fun = method.__func__
        else:
            fun = method
        y = fun(root, *args, **kwargs)
        return y, store.mutated()

    def init_with_output(
        self,
        rngs: Any,
        *args: Any,
        method: Any = None,
        mutable: CollectionFilter = lambda c: c != "intermediates",
        **kwargs: Any,
    ) -> tuple[Any, dict[str, Any]]:
        """``(output, variables)`` of a first call that creates every variable."""
        return self._run({}, rngs, method, mutable, True, args, kwargs)

    def init(
        self,
        rngs: Any,
        *args: Any,
        method: Any = None,
        mutable: CollectionFilter = lambda c: c != "intermediates",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Create the variables: ``{"params": {...}, "batch_stats": {...}, ...}``.

        ``rngs`` is a key (used for the ``params`` stream) or ``{stream: key}``.
        """
        return self.init_with_output(rngs, *args, method=method, mutable=mutable, **kwargs)[1]

    def apply(
        self,
        variables: Mapping[str, Any],
        *args: Any,
        rngs: Any = None,
        method: Any = None,
        mutable: CollectionFilter = False,
        **kwargs: Any,
    ) -> Any:
        """Run ``method`` (default ``__call__``) with ``variables``.

        Returns the output, or ``(output, {collection: ...})`` when ``mutable`` names
        collections to update (``True``, a name, or a list of names).
        """
        check_variables(variables)
        y, updates = self._run(variables, rngs, method, mutable, False, args, kwargs)
        return (y, updates) if mutable is not False else y

    def tabulate(self, rngs: Any, *args: Any, **kwargs: Any) -> str:
        """A text table of every submodule: path, output shapes, params (see ``summary.py``)."""
        from minijax.nn.summary import summary

        return summary(self, rngs, *args, **kwargs)

    def bind(
        self, variables: Mapping[str, Any], *, rngs: Any = None, mutable: CollectionFilter = False
    ) -> "Module":
        """A bound copy for interactive use: ``model.bind(variables).encoder(x)``."""
        check_variables(variables)
        store = Store(variables, _rng_streams(rngs), mutable, False)
        return self.clone(parent=Scope(store), name=self.name)


def _rng_streams(rngs: Any) -> dict[str, Any]:
    """``rngs`` as ``{stream: key}``: None is no streams, a lone key is ``params``'s."""
    if rngs is None:
        return {}
    if not isinstance(rngs, Mapping):
        rngs = {"params": rngs}
    return {k: mrandom.as_key(v) for k, v in rngs.items()}

