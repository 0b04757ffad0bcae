"""The variable store behind ``init`` and ``apply``: collections, paths, rngs, mutability.

One :class:`Store` exists per ``init``/``apply`` call. It holds

* ``variables``: ``{collection: nested dict}``, e.g. ``{"params": {"Dense_0":
  {"kernel": ...}}}``, a private copy of what the caller passed (so writing to it
  never changes the caller's dicts);
* ``rngs``: ``{stream: root key}`` as passed in ``rngs=``;
* ``mutable``: which collections may be written;
* ``counters``: ``{path: {stream: n}}``, how many keys each module has drawn;
* ``initializing``: True inside ``init``.

A :class:`Scope` is a *view* of the store at one module path, e.g.
``("Encoder_0", "Dense_1")``. Every bound module owns one. ``param``,
``variable`` and ``make_rng`` are scope methods; :class:`~minijax.nn.Module`
only forwards to them. A scope also remembers which names were used during the
current method call (``reservations``) to catch duplicates.

flax does the same in ``flax/core/scope.py`` (``Scope``, ``Scope.param``,
``Scope.variable``, ``Scope.make_rng``, ``Scope.push``, ``Scope.rewound``);
there the root scope doubles as the store.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import numpy as np

from minijax import random as mrandom

__all__ = [
    "CollectionNotFoundError",
    "DuplicateNameError",
    "ImmutableCollectionError",
    "MinijaxNNError",
    "MissingParamError",
    "MissingRngError",
    "ParamShapeError",
    "Scope",
    "Store",
    "Variable",
    "VariableNestingError",
]


# --- errors -------------------------------------------------------------------------


class MinijaxNNError(Exception):
    """Base class of every error raised by :mod:`minijax.nn`'s module system."""


class ParamShapeError(MinijaxNNError, ValueError):
    """A stored parameter's shape differs from the shape its init function makes."""


class MissingParamError(MinijaxNNError, KeyError):
    """``apply`` was given variables that lack a parameter the module asks for."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class CollectionNotFoundError(MissingParamError):
    """``apply`` was given no collection of that name at all."""


class MissingRngError(MinijaxNNError, ValueError):
    """``make_rng`` was called for a stream that was not passed in ``rngs=``."""


class DuplicateNameError(MinijaxNNError, ValueError):
    """Two submodules or variables of one module got the same name in one call."""


class ImmutableCollectionError(MinijaxNNError, ValueError):
    """A variable of a collection not listed in ``mutable=`` was written."""


class VariableNestingError(MinijaxNNError, ValueError):
    """The variables passed to ``apply`` are not ``{collection: {...}}``."""


def path_text(path: tuple[str, ...]) -> str:
    """``("Encoder_0", "Dense_1")`` -> ``"Encoder_0/Dense_1"``; the root is ``"<root>"``."""
    return "/".join(path) if path else "<root>"


# --- mutability ---------------------------------------------------------------------

CollectionFilter = bool | str | Iterable[str] | Callable[[str], bool]


def is_in_filter(mutable: CollectionFilter, collection: str) -> bool:
    """``mutable`` as in flax: False (none), True (all), a name, or a list of names.

    A predicate ``collection -> bool`` works too (``init`` uses "all but
    intermediates", flax's ``DenyList('intermediates')``).
    """
    if callable(mutable):
        return bool(mutable(collection))
    if isinstance(mutable, bool):
        return mutable
    if isinstance(mutable, str):
        return collection == mutable
    return collection in tuple(mutable)


def _copy_tree(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Copy the dict structure (not the arrays), turning any Mapping into a dict."""
    return {k: _copy_tree(v) if isinstance(v, Mapping) else v for k, v in tree.items()}


def check_variables(variables: Any) -> None:
    """Catch the common nesting mistakes before they become a confusing missing-param error."""
    if not isinstance(variables, Mapping):
        raise VariableNestingError(
            f"variables must be a dict of collections such as {{'params': ...}}, got "
            f"{type(variables).__name__}."
        )
    for col, tree in variables.items():
        if not isinstance(tree, Mapping):
            raise VariableNestingError(
                f"variables[{col!r}] is a {type(tree).__name__}, not a dict: variables must "
                "be nested as {collection: {module: {name: array}}}. If you passed the "
                "params alone, pass {'params': params} instead."
            )
    params = variables.get("params")
    if isinstance(params, Mapping) and "params" in params and len(params) == 1:
        raise VariableNestingError(
            "variables['params'] contains 'params' again: the variables were wrapped twice. "
            "Pass the dict that init returned as it is (apply(variables, x)), not "
            "{'params': variables}."
        )
    if "params" not in variables:
        looks_like_params = [
            k for k in variables if k in ("kernel", "bias", "embedding", "scale")
            or (k[:1].isupper() and k.rpartition("_")[2].isdigit())
        ]
        if looks_like_params:
            raise VariableNestingError(
                f"variables has keys {sorted(variables)}, which look like module or "
                f"parameter names ({looks_like_params}), not collections. You passed the "
                "params alone: pass {'params': params} (the dict init returned), e.g. "
                "model.apply({'params': params}, x)."
            )


# --- the store ----------------------------------------------------------------------


class Store:
    """Everything one ``init``/``apply`` call shares: variables, rngs, counters, flags."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        rngs: Mapping[str, Any],
        mutable: CollectionFilter,
        initializing: bool,
    ) -> None:
        self.variables: dict[str, Any] = _copy_tree(variables)
        self.rngs = dict(rngs)
        self.mutable = mutable
        self.initializing = initializing
        self.counters: dict[tuple[str, ...], dict[str, int]] = {}
        self.adopted: dict[int, Any] = {}  # id(unbound module) -> its bound clone

    def is_mutable(self, collection: str) -> bool:
        return is_in_filter(self.mutable, collection)

    def mutated(self) -> dict[str, Any]:
        """The mutable collections, as plain dicts: what ``init``/``apply`` hand back."""
        return {c: t for c, t in self.variables.items() if self.is_mutable(c)}


class Scope:
    """A view of a :class:`Store` at one module path."""

    def __init__(self, store: Store, path: tuple[str, ...] = ()) -> None:
        self.store = store
        self.path = path
        self.reservations: dict[str, set[str | None]] = {}

    # -- naming ------------------------------------------------------------------

    def reserve(self, name: str, collection: str | None = None) -> None:
        """Claim ``name`` for a submodule (collection None) or a variable of ``collection``.

        Two variables may share a name in different collections (flax allows
        ``params/mean`` next to ``batch_stats/mean``); anything else is a duplicate.
        """
        taken = self.reservations.setdefault(name, set())
        if taken and (collection is None or None in taken or collection in taken):
            what = "submodule" if collection is None else f"variable in {collection!r}"
            raise DuplicateNameError(
                f"{path_text(self.path)}: the name {name!r} is used twice (now for a {what}) "
                "in one call. Give each submodule / variable its own name (name=...)."
            )
        taken.add(collection)

    def push(self, name: str) -> "Scope":
        """The scope of the child called ``name`` (flax: ``Scope.push``)."""
        self.reserve(name)
        return Scope(self.store, (*self.path, name))

    def rewound(self) -> "Scope":
        """The same path with no names reserved: used after each ``@compact`` call, so
        that calling the method again re-creates ``Dense_0`` and reuses its variables."""
        return Scope(self.store, self.path)

    # -- variables ---------------------------------------------------------------

    def _subtree(self, collection: str, create: bool = False) -> dict[str, Any] | None:
        node = self.store.variables.get(collection)
        if node is None:
            if not create:
                return None
            node = self.store.variables[collection] = {}
        for part in self.path:
            child = node.get(part)
            if not isinstance(child, dict):
                if not create:
                    return None
                child = node[part] = {}
            node = child
        return node

    def has_variable(self, collection: str, name: str) -> bool:
        node = self._subtree(collection)
        return node is not None and name in node

    def get_variable(self, collection: str, name: str, default: Any = None) -> Any:
        node = self._subtree(collection)
        return default if node is None else node.get(name, default)

    def put_variable(self, collection: str, name: str, value: Any) -> None:
        if not self.store.is_mutable(collection):
            raise ImmutableCollectionError(
                f"{path_text(self.path)}: cannot write {collection}/{name}: the collection "
                f"{collection!r} is immutable in this call: pass mutable=[{collection!r}] to "
                "apply, which then returns (output, updated_collections)."
            )
        node = self._subtree(collection, create=True)
        assert node is not None
        node[name] = value

    def _missing(self, collection: str, name: str) -> MissingParamError:
        where = path_text(self.path)
        if collection not in self.store.variables:
            return CollectionNotFoundError(
                f"{where}: needs {collection}/{name}, but the variables have no "
                f"{collection!r} collection (they have {sorted(self.store.variables)}). "
                f"Pass the dict that init returned, e.g. apply({{{collection!r}: ...}}, x)."
            )
        node = self._subtree(collection)
        have = sorted(node) if node is not None else []
        return MissingParamError(
            f"{where}: no variable {name!r} in collection {collection!r}; keys at this "
            f"path: {have}. Were the variables made by init of this same model (same "
            "layer names and structure)?"
        )

    def param(
        self, name: str, init_fn: Callable[..., Any], *init_args: Any, unbox: bool = True,
        **kw: Any,
    ) -> Any:
        """Create (at init) or read (at apply) the parameter ``name`` (flax: ``Scope.param``).

        ``init_fn(key, *init_args)`` gets a fresh key of the ``params`` stream. On read,
        the stored shape is compared with what ``init_fn`` would make (computed
        abstractly with ``jax.eval_shape``, so it costs no FLOPs). A boxed value
        (``nn.with_partitioning``) is stored boxed and returned unboxed unless
        ``unbox=False``.
        """
        self.reserve(name, "params")
        if self.has_variable("params", name):
            value = self.get_variable("params", name)
            expected = jax.eval_shape(lambda: init_fn(jax.random.key(0), *init_args, **kw))
            for got, want in zip(
                jax.tree.leaves(value), jax.tree.leaves(expected), strict=False
            ):
                if np.shape(got) != want.shape:
                    raise ParamShapeError(
                        f"{path_text(self.path)}: param {name!r} has stored shape "
                        f"{np.shape(got)} but the module expects {want.shape} for these "
                        "inputs. The params come from a model with another configuration "
                        "or input size: re-run init with the inputs you apply to."
                    )
            return _unboxed(value) if unbox else value
        if not self.store.is_mutable("params"):
            raise self._missing("params", name)
        value = init_fn(self.make_rng("params"), *init_args, **kw)
        self.put_variable("params", name, value)
        return _unboxed(value) if unbox else value

    def variable(
        self, collection: str, name: str, init_fn: Callable[..., Any] | None, *init_args: Any
    ) -> "Variable":
        """A handle on ``collection/name``, created with ``init_fn(*init_args)`` if missing."""
        self.reserve(name, collection)
        if not self.has_variable(collection, name):
            if init_fn is None or not self.store.is_mutable(collection):
                raise self._missing(collection, name)
            self.put_variable(collection, name, init_fn(*init_args))
        return Variable(self, collection, name)

    # -- rngs --------------------------------------------------------------------

    def has_rng(self, stream: str) -> bool:
        return stream in self.store.rngs

    def make_rng(self, stream: str = "params") -> Any:
        """A fresh key: ``derive(root[stream], *path, n)`` for the ``n``-th draw (from 1).

        ``n`` counts the keys this module has drawn from this stream in this call.
        The key depends only on the root key, the path and ``n``, so adding a layer
        elsewhere never changes this one; all of that is static, so the hash is a
        constant and each key costs one ``fold_in``. This is flax's recipe exactly
        (``Scope.make_rng``): the same root key gives the same keys as flax. A stream
        that was not passed falls back to ``params`` (as in flax), at init and apply.
        """
        if stream not in self.store.rngs and "params" in self.store.rngs:
            stream = "params"
        root = self.store.rngs.get(stream)
        if root is None:
            module = self.path[-1] if self.path else "the root module"
            raise MissingRngError(
                f"{module} (path {path_text(self.path)}) needs an rng for {stream!r}: pass "
                f"rngs={{{stream!r}: key}} to apply (or to init)."
            )
        counts = self.store.counters.setdefault(self.path, {})
        counts[stream] = count = counts.get(stream, 0) + 1
        return mrandom.derive(root, *self.path, count)


def _unboxed(value: Any) -> Any:
    from minijax.nn import meta  # lazy: meta's boxes build on this module's errors

    return meta.unbox(value)


class Variable:
    """A handle on one variable: read and write it through ``.value`` (flax: ``Variable``).

    Reading always goes to the store, so after ``v.value = ...`` every handle on the
    same variable sees the new value. Writing needs the collection to be mutable.
    """

    def __init__(self, scope: Scope, collection: str, name: str) -> None:
        self.scope, self.collection, self.name = scope, collection, name

    @property
    def value(self) -> Any:
        return self.scope.get_variable(self.collection, self.name)

    @value.setter
    def value(self, new: Any) -> None:
        self.scope.put_variable(self.collection, self.name, new)

    def is_mutable(self) -> bool:
        return self.scope.store.is_mutable(self.collection)

    def __repr__(self) -> str:
        return f"Variable({path_text(self.scope.path)}/{self.collection}/{self.name})"
