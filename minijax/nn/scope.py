r"""The variable store behind `init` and `apply`, and the scopes that view it.

One `Store` exists per `init`/`apply` call (or per `Module.bind`). It holds

* `variables`: `{collection: nested dict}`, e.g. `{"params": {"Dense_0": {"kernel":
  ...}}}`, a private copy of the dict structure the caller passed (writing to it never
  changes the caller's dicts; the arrays are shared, never copied);
* `mutable`: a collection filter (`minijax.nn.filters`): which collections may be written;
* `flags`: `{"initializing": True}` inside `init`;
* `counters`: `{module path: {stream: n}}`, how many keys each module has drawn.

A `Scope` is a view of the store at one module path, e.g. `("Encoder_0", "Dense_1")`.
Every bound module owns one; `param`, `variable` and `make_rng` are scope methods and
`minijax.nn.Module` forwards to them. A scope finds its variables by walking its
parent chain of names from the root scope, holds its rng streams as `LazyRng`s (a
root key plus the names folded in so far) and remembers which names were used in the
current method call (`reservations`) to catch duplicates.

The key of draw $n$ (from 1) of stream $s$ in the module at path $p_1/\dots/p_k$ is

$$\text{derive}(\text{rngs}[s], p_1, \dots, p_k, n),$$

one `fold_in` of the SHA-1 hash of the static parts (`minijax.random.derive`). This
is flax's recipe exactly (`LazyRng`, `Scope.push`, `Scope.make_rng`): the same key
gives the same numbers as flax. The counters live in the store, keyed by path, so a
scope rewound after a `@compact` call keeps counting, as flax's `rng_counters` do.

For lifted transforms (`nn.vmap`, `nn.scan`, ...): `scope.variables()` gives the
subtree per collection, `filters.group_collections` splits it, a new root
`Scope(inner_variables, inner_rngs, mutable=..., path=scope.path, flags=...)` runs the
body inside the jax transform (share `scope.store.counters` with it to keep counting),
and `scope.put_variable` writes the results back. `scope.rngs` are `LazyRng`s a
transform may split (`jax.random.split(r.as_jax_rng(), n)`) or pass on unchanged.

In flax this is `flax/core/scope.py`; there the root scope doubles as the store.

>>> import jax, jax.numpy as jnp
>>> root = Scope({}, {"params": jax.random.key(0)}, mutable=True)
>>> w = root.push("Dense_0").param("w", jax.random.normal, (2,))
>>> jax.tree.map(jnp.shape, root.variables())
{'params': {'Dense_0': {'w': (2,)}}}
"""

import weakref
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from minijax.nn import errors
from minijax.nn.filters import CollectionFilter, DenyList, in_filter
from minijax.nn.variable import Variable
from minijax.random import LazyRng
from minijax.typing import Array, PRNGKeyArray

__all__ = ["Array", "CollectionFilter", "DenyList", "LazyRng", "Scope", "Store", "Variable"]


def _copy_tree(tree: Mapping[str, Any]) -> dict[str, Any]:
    """Copy the dict structure (not the arrays), turning any Mapping into a dict."""
    return {k: _copy_tree(v) if isinstance(v, Mapping) else v for k, v in tree.items()}


class Store:
    """Everything one `init`/`apply` call shares: variables, mutability, flags, counters.

    Args:
        variables: `{collection: nested dict}`; its dict structure is copied.
        mutable: a collection filter of the collections that may be written.
        flags: e.g. `{"initializing": True}`.

    >>> store = Store({"params": {"w": 1.0}}, mutable="batch_stats")
    >>> store.is_mutable("batch_stats"), store.is_mutable("params")
    (True, False)
    """

    def __init__(
        self,
        variables: Mapping[str, Any],
        mutable: CollectionFilter = False,
        flags: Mapping[str, Any] | None = None,
    ) -> None:
        self.variables = _copy_tree(variables)
        self.mutable = mutable
        self.flags = dict(flags or {})
        self.counters: dict[tuple[str, ...], dict[str, int]] = {}
        # id of a module passed in from outside -> its bound clone (Module._register).
        self.adopted: weakref.WeakValueDictionary[Any, Any] = weakref.WeakValueDictionary()
        self.valid = True

    def is_mutable(self, collection: str) -> bool:
        """Whether `collection` may be written in this call."""
        return in_filter(self.mutable, collection)

    def invalidate(self) -> None:
        """End the call: later use raises `InvalidScopeError`; the variables are let go."""
        self.valid, self.variables = False, {}
        self.adopted.clear()


class Scope:
    """A view of a `Store` at one module path (in flax: `flax.core.Scope`).

    Args:
        variables: a dict of collections (this scope is then a new root with its own
            `Store`), or the `Store` of the parent scope.
        rngs: `{stream: key or LazyRng}`.
        name: the last part of the path (None at the root).
        mutable: for a new root: the collections that may be written.
        parent: the parent scope (None at the root).
        path: the module path; a root may start at a path other than `()`.
        flags: for a new root: e.g. `{"initializing": True}`.
        debug_path: the path with the lifted transforms around each module named, e.g.
            `("b1", "remat(c1)")` (flax: `Scope.debug_path`); default `path`.

    >>> import jax
    >>> scope = Scope({}, {"params": jax.random.key(0)}, mutable=True)
    >>> scope.push("a").push("b").path
    ('a', 'b')
    """

    def __init__(
        self,
        variables: Mapping[str, Any] | Store,
        rngs: Mapping[str, Any] | None = None,
        name: str | None = None,
        mutable: CollectionFilter = False,
        parent: "Scope | None" = None,
        path: tuple[str, ...] | list[str] = (),
        flags: Mapping[str, Any] | None = None,
        debug_path: tuple[str, ...] = (),
    ) -> None:
        self.store = variables if isinstance(variables, Store) else Store(variables, mutable, flags)
        self.rngs = {k: LazyRng.create(v) for k, v in (rngs or {}).items()}
        self.name, self.parent, self.path = name, parent, tuple(path)
        self.debug_path = tuple(debug_path) or self.path  # with transform names: remat(c1)
        self.reservations: dict[str, set[str | None]] = {}

    def _check_valid(self) -> None:
        if not self.store.valid:
            raise errors.InvalidScopeError(
                f'The scope "{errors.path_text(self.path)}" is no longer valid: its '
                "init/apply call has returned. Keep the variables it returned instead of "
                "bound modules, or use module.bind(variables) for interactive use."
            )

    # -- names ----------------------------------------------------------------------

    def name_reserved(self, name: str, col: str | None = None) -> bool:
        """Whether `name` is taken for a submodule (`col=None`) or a variable of `col`.

        Two variables may share a name in different collections (`params/mean` next to
        `batch_stats/mean`); a submodule name clashes with everything.
        """
        taken = self.reservations.get(name, set())
        return bool(taken) and (col is None or None in taken or col in taken)

    def reserve(self, name: str, col: str | None = None) -> None:
        """Claim `name` for a submodule or a variable of `col` in this call."""
        if self.name_reserved(name, col):
            kind = "submodule" if col is None else f"variable in {col!r}"
            raise errors.name_in_use(kind, name, errors.path_text(self.path), self.path)
        self.reservations.setdefault(name, set()).add(col)

    def push(self, name: str, reuse: bool = False) -> "Scope":
        """The scope of the child called `name`; its rngs fold `name` in (flax: `push`).

        >>> import jax, jax.numpy as jnp
        >>> from minijax.nn.scope import Scope
        >>> root = Scope({}, {"params": jax.random.key(0)}, mutable=True)
        >>> child = root.push("Dense_0")
        >>> child.path, child.rngs["params"].suffix
        (('Dense_0',), ('Dense_0',))
        """
        self._check_valid()
        if not (reuse and name in self.reservations):
            self.reserve(name)
        rngs = {k: LazyRng.create(r, name) for k, r in self.rngs.items()}
        return Scope(self.store, rngs, name, parent=self, path=(*self.path, name),
                     debug_path=(*self.debug_path, name))

    def rewound(self) -> "Scope":
        """The same path with no names reserved: each `@compact` call starts fresh, so
        calling it again re-creates `Dense_0` and reuses its variables. The rng counters
        carry on (they live in the store)."""
        self._check_valid()
        return Scope(self.store, self.rngs, self.name, parent=self.parent, path=self.path,
                     debug_path=self.debug_path)

    # -- variables ------------------------------------------------------------------

    def _collection(self, col: str, create: bool = False) -> dict[str, Any] | None:
        """This scope's dict in collection `col`, found through the parent chain."""
        if self.parent is None:
            if col not in self.store.variables and create:
                self.store.variables[col] = {}
            return self.store.variables.get(col)
        outer = self.parent._collection(col, create)
        if outer is None:
            return None
        name = self.name or ""
        if not isinstance(outer.get(name), dict) and create:
            outer[name] = {}
        node = outer.get(name)
        return node if isinstance(node, dict) else None

    def variables(self) -> dict[str, Any]:
        """`{collection: this scope's subtree}`; by reference, so writes show up.

        >>> import jax, jax.numpy as jnp
        >>> from minijax.nn.scope import Scope
        >>> scope = Scope({"params": {"Dense_0": {"bias": jnp.zeros(2)}}}).push("Dense_0")
        >>> jax.tree.map(jnp.shape, scope.variables())
        {'params': {'bias': (2,)}}
        """
        trees = {c: self._collection(c) for c in self.store.variables}
        return {c: t for c, t in trees.items() if t is not None}

    def mutable_variables(self) -> dict[str, Any]:
        """The mutable collections only: what `init` and `apply` return."""
        return {c: t for c, t in self.variables().items() if self.store.is_mutable(c)}

    def is_mutable_collection(self, col: str) -> bool:
        return self.store.is_mutable(col)

    def has_variable(self, col: str, name: str) -> bool:
        return name in (self._collection(col) or {})

    def get_variable(self, col: str, name: str, default: Any = None) -> Any:
        return (self._collection(col) or {}).get(name, default)

    def put_variable(self, col: str, name: str, value: Any) -> None:
        """Write `col/<path>/name`; raises `ModifyScopeVariableError` if `col` is immutable.

        >>> import jax, jax.numpy as jnp
        >>> from minijax.nn.scope import Scope
        >>> scope = Scope({}, mutable=["batch_stats"])
        >>> scope.put_variable("batch_stats", "mean", jnp.zeros(3))
        >>> jax.tree.map(jnp.shape, scope.mutable_variables())
        {'batch_stats': {'mean': (3,)}}
        >>> scope.put_variable("params", "w", jnp.zeros(3))
        Traceback (most recent call last):
        minijax.nn.errors.ModifyScopeVariableError: ...
        """
        self._check_valid()
        if not self.store.is_mutable(col):
            raise errors.immutable(col, name, self.path)
        node = self._collection(col, create=True)
        assert node is not None
        node[name] = value

    def _missing(self, col: str, name: str) -> errors.ScopeVariableNotFoundError:
        have = sorted(self._collection(col) or {})
        empty = not self.store.variables.get(col)
        return errors.missing_variable(col, name, self.path, have, empty)

    def variable(
        self,
        col: str,
        name: str,
        init_fn: Callable[..., Any] | None = None,
        *init_args: Any,
        unbox: bool = True,
        **init_kwargs: Any,
    ) -> Variable[Any]:
        """A handle on `col/name`, created with `init_fn(*init_args)` if missing and mutable."""
        self.reserve(name, col)
        if not self.has_variable(col, name):
            if init_fn is None or not self.store.is_mutable(col):
                raise self._missing(col, name)
            self.put_variable(col, name, init_fn(*init_args, **init_kwargs))
        return Variable(self, col, name, unbox=unbox)

    def param(
        self,
        name: str,
        init_fn: Callable[..., Any],
        *init_args: Any,
        unbox: bool = True,
        **init_kwargs: Any,
    ) -> Any:
        """Create (at init) or read (at apply) the parameter `name` (flax: `Scope.param`).

        `init_fn(key, *init_args)` gets a fresh key of the `params` stream. On read, the
        stored shape is compared with what `init_fn` would make (computed abstractly
        with `jax.eval_shape`, so it costs no FLOPs). `unbox` is flax's switch for
        partitioning metadata boxes (`minijax.nn.meta`).
        """
        # >>> TASK A4.1
        self.reserve(name, "params")
        if self.has_variable("params", name):
            value = self.get_variable("params", name)
            made = jax.eval_shape(lambda: init_fn(jax.random.key(0), *init_args, **init_kwargs))
            for got, want in zip(jax.tree.leaves(value), jax.tree.leaves(made), strict=False):
                if np.shape(got) != np.shape(want):
                    raise errors.param_shape(name, self.path, np.shape(got), np.shape(want))
            return _unboxed(value) if unbox else value
        if not self.store.is_mutable("params"):
            raise self._missing("params", name)
        value = init_fn(self.make_rng("params"), *init_args, **init_kwargs)
        self.put_variable("params", name, value)
        return _unboxed(value) if unbox else value
        # <<< TASK A4.1

    # -- rngs -----------------------------------------------------------------------

    def has_rng(self, name: str) -> bool:
        return name in self.rngs

    def make_rng(self, name: str = "params") -> PRNGKeyArray:
        """A fresh key: `derive(rngs[name], *path, n)` for this module's `n`-th draw.

        A stream that was not passed falls back to `params`, as in flax; with neither,
        it raises `InvalidRngError`.
        """
        # >>> TASK A4.2
        if name not in self.rngs:
            if "params" not in self.rngs:
                raise errors.missing_rng(self.name, self.path, name)
            name = "params"
        self._check_valid()
        counts = self.store.counters.setdefault(self.path, {})
        counts[name] = n = counts.get(name, 0) + 1
        return LazyRng.create(self.rngs[name], n).as_jax_rng()
        # <<< TASK A4.2


def _unboxed(value: Any) -> Any:
    from minijax.nn import meta  # lazy: meta's boxes build on this module's errors

    return meta.unbox(value)
