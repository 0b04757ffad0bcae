"""Import shim and outcome recorder for the conformance runner (``tools/conformance.py``).

Loaded into a pytest process with ``-p conformance_shim``. With ``CONFORMANCE_SHIM=1`` it
puts a finder first on ``sys.meta_path`` that answers every import of ``flax...`` and
``optax...`` with a *proxy module* whose attributes come from minijax only:

* ``flax.linen.recurrent`` looks in ``minijax.nn.recurrent``, then ``minijax.nn``;
* ``optax._src.alias`` looks in ``minijax.optim.alias``, then ``minijax.optim``;
* a name minijax lacks becomes a :class:`Missing` placeholder that raises
  :class:`MissingInMinijax` when used, so that one missing name fails the tests that
  use it, not the whole file at import.

The real flax and optax are never imported for a module under test. The only files
taken from the source tree are test helpers (``optax._src.test_utils`` and test
modules that other tests import), listed in :data:`HELPERS`.

``MissingInMinijax`` derives from ``BaseException``, so ``assertRaises(Exception)``
in a test cannot mistake a missing name for the error it expects.

Every test outcome is appended to the JSON-lines file ``CONFORMANCE_OUT``.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import types
from typing import Any

SHIM = os.environ.get("CONFORMANCE_SHIM") == "1"
SRC = os.environ.get("CONFORMANCE_SRC", "")
OUT = os.environ.get("CONFORMANCE_OUT", "")

# The top of each mirrored tree, and how path parts translate.
ROOTS = {"flax": "minijax", "optax": "minijax.optim"}
RENAME = {
    "linen": "nn",
    "training": "train",
    "train_state": "state",
    "_src": "",
}
# Where a flax module's names live in minijax, when the default rule does not say it.
EXPLICIT = {
    "flax.errors": ["minijax.nn.errors"],
    "flax.core": ["minijax.core", "minijax.nn.meta", "minijax.nn.scope"],
    "flax.core.meta": ["minijax.nn.meta"],
    "flax.core.spmd": ["minijax.nn.spmd"],
    "flax.core.scope": ["minijax.nn.scope"],
    "flax.core.frozen_dict": ["minijax.core"],
    "flax.core.lift": ["minijax.nn.lift"],
    "flax.training.train_state": ["minijax.train.state", "minijax.train"],
    "flax.linen.module": ["minijax.nn.module", "minijax.nn"],
}
# Test helpers loaded from the source tree: they are not under test.
HELPERS = ("optax._src.test_utils",)


class MissingInMinijax(BaseException):
    """A flax/optax name that minijax does not provide was used."""


class Missing:
    """Stands for a name minijax lacks; any use raises :class:`MissingInMinijax`."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise MissingInMinijax(f"minijax has no {object.__getattribute__(self, '_name')}")

    __call__ = _fail
    __mro_entries__ = _fail
    __iter__ = _fail
    __getitem__ = _fail
    __enter__ = _fail
    __bool__ = _fail

    def __getattr__(self, attr: str) -> Any:
        # Private names are introspection (pytest reads `_mock_name` of every
        # module-level name while it collects): a plain AttributeError.
        if attr.startswith("_"):
            raise AttributeError(attr)
        return self._fail()

    def __repr__(self) -> str:
        return f"<missing in minijax: {object.__getattribute__(self, '_name')}>"


def _targets(name: str) -> list[str]:
    """Candidate minijax modules for ``name``, most specific first."""
    if name in EXPLICIT:
        return EXPLICIT[name]
    top, *rest = name.split(".")
    base = ROOTS[top]
    parts = [RENAME.get(p, p) for p in rest]
    parts = [p for p in parts if p]
    out = []
    for i in range(len(parts), -1, -1):
        out.append(".".join([base, *parts[:i]]))
    # A private module such as losses._classification: also try its public package.
    return out


def _try_import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            return None
        raise


def _is_helper(name: str) -> bool:
    return name in HELPERS or name.endswith("_test")


def _is_real_module(name: str) -> bool:
    """Whether ``name`` is a module (not an attribute) in the flax/optax source tree."""
    base = os.path.join(SRC, *name.split("."))
    return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))


class Proxy(types.ModuleType):
    """A flax/optax module name whose attributes come from minijax modules."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []  # a package, so that submodule imports work
        self._targets = _targets(name)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        sub = f"{self.__name__}.{attr}"
        if _is_helper(sub) or _is_real_module(sub):  # a module: answer with its proxy
            return importlib.import_module(sub)
        for target in self._targets:
            module = _try_import(target)
            if module is not None and hasattr(module, attr):
                return getattr(module, attr)
        if sub in sys.modules:
            return sys.modules[sub]
        return Missing(sub)

    def __setattr__(self, attr: str, value: Any) -> None:
        """Setting a name minijax defines sets it in minijax's module (a test that sets
        ``serialization.MAX_CHUNK_SIZE`` or mock-patches ``spmd._with_sharding_constraint``
        reaches the code under test); ``del`` puts the original back."""
        owner = self._owner(attr)
        if owner is None:
            super().__setattr__(attr, value)
            return
        self.__dict__["_originals"].setdefault(attr, (owner, getattr(owner, attr)))
        setattr(owner, attr, value)

    def __delattr__(self, attr: str) -> None:
        saved = self.__dict__.get("_originals", {}).pop(attr, None)
        if saved is None:
            super().__delattr__(attr)
        else:
            setattr(saved[0], attr, saved[1])

    def _owner(self, attr: str) -> types.ModuleType | None:
        if attr.startswith("__") or "_targets" not in self.__dict__:
            return None
        self.__dict__.setdefault("_originals", {})
        for target in self._targets:
            module = _try_import(target)
            if module is not None and hasattr(module, attr):
                return module
        return None

    def __dir__(self) -> list[str]:
        names: set[str] = set()
        for target in self._targets:
            module = _try_import(target)
            if module is not None:
                names.update(dir(module))
        return sorted(names)


class ShimFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        top = fullname.split(".")[0]
        if top not in ROOTS:
            return None
        if _is_helper(fullname):
            file = os.path.join(SRC, *fullname.split(".")) + ".py"
            return importlib.util.spec_from_file_location(fullname, file)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        return Proxy(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


if SHIM:
    for _name in list(sys.modules):
        if _name.split(".")[0] in ROOTS:
            del sys.modules[_name]
    sys.meta_path.insert(0, ShimFinder())


# --- outcome recording ---------------------------------------------------------------


def _record(entry: dict[str, Any]) -> None:
    if OUT:
        with open(OUT, "a") as f:
            f.write(json.dumps(entry) + "\n")


def _reason(report: Any) -> str:
    longrepr = getattr(report, "longrepr", None)
    if longrepr is None:
        return ""
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return str(crash.message).splitlines()[0][:300] if crash.message else ""
    if isinstance(longrepr, tuple):  # skips: (file, line, reason)
        return str(longrepr[-1])[:300]
    return str(longrepr).strip().splitlines()[-1][:300] if str(longrepr).strip() else ""


def pytest_runtest_logreport(report: Any) -> None:
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        _record({"id": report.nodeid, "outcome": report.outcome, "reason": _reason(report)})
    elif report.when == "teardown" and report.outcome == "failed":
        _record({"id": report.nodeid, "outcome": "failed", "reason": _reason(report)})


def pytest_collectreport(report: Any) -> None:
    if report.outcome == "failed":
        _record({"id": report.nodeid, "outcome": "collect-error", "reason": _reason(report)})
