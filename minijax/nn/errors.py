"""Every error of the module system, the messages it raises, and the input checks.

In flax this is `flax/errors.py`. Each flax error class has a counterpart here under
its flax name, so an `except` clause written for flax catches minijax's error. Each
minijax class also derives from the builtin that fits (`ValueError`, `KeyError`,
`TypeError`, `AttributeError`), and from `MinijaxNNError`, the base of them all.
The messages are minijax's own: they say what went wrong, where (the module path,
the parameter, the shapes) and how to fix it.

The functions below the classes build the messages, so that `scope.py` and
`module.py` say only *when* an error is raised. `check_variables` and `check_rngs`
look at what `init` and `apply` were given before anything runs.

>>> import jax, jax.numpy as jnp
>>> import minijax.nn as nn
>>> from minijax.nn import errors
>>> variables = nn.Dense(2).init(jax.random.key(0), jnp.ones((1, 3)))
>>> try:
...     nn.Dense(2).apply(variables, jnp.ones((1, 4)))
... except errors.ScopeParamShapeError as e:
...     print(str(e).splitlines()[0][:60])
For parameter "kernel" in "<root>", the initializer makes sh
"""

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "AlreadyExistsError",
    "ApplyModuleInvalidMethodError",
    "ApplyScopeInvalidVariablesStructureError",
    "ApplyScopeInvalidVariablesTypeError",
    "AssignSubModuleError",
    "CallCompactUnboundModuleError",
    "CallSetupUnboundModuleError",
    "CallShareScopeOnUnboundModuleError",
    "CallUnbindOnUnboundModuleError",
    "CollectionNotFoundError",
    "CursorFindError",
    "DescriptorAttributeError",
    "DuplicateNameError",
    "FlaxError",
    "ImmutableCollectionError",
    "ImmutableVariableError",
    "IncorrectPostInitOverrideError",
    "InvalidCheckpointError",
    "InvalidFilterError",
    "InvalidInstanceModuleError",
    "InvalidRngError",
    "InvalidScopeError",
    "JaxTransformError",
    "LazyInitError",
    "MPACheckpointingRequiredError",
    "MPARestoreDataCorruptedError",
    "MPARestoreTargetRequiredError",
    "MinijaxNNError",
    "MissingParamError",
    "MissingRngError",
    "ModifyScopeVariableError",
    "MultipleMethodsCompactError",
    "NameInUseError",
    "ParamShapeError",
    "PartitioningUnspecifiedError",
    "ReservedModuleAttributeError",
    "ScopeCollectionNotFound",
    "ScopeParamNotFoundError",
    "ScopeParamShapeError",
    "ScopeVariableNotFoundError",
    "SetAttributeError",
    "SetAttributeFrozenModuleError",
    "SetAttributeInModuleSetupError",
    "TraceContextError",
    "TransformTargetError",
    "TransformedMethodReturnValueError",
    "TraverseTreeError",
    "UnboundModuleError",
    "VariableNestingError",
    "check_rngs",
    "check_variables",
    "path_text",
]


class MinijaxNNError(Exception):
    """The base class of every error in this file (in flax: `FlaxError`).

    >>> issubclass(NameInUseError, MinijaxNNError)
    True
    """


FlaxError = MinijaxNNError


# --- variables and rngs (flax/core/scope.py) -----------------------------------------


class InvalidRngError(MinijaxNNError, ValueError):
    """A stream a module asks for was not passed, or `rngs=` is not a key or a dict of keys.

    >>> import jax, minijax.nn as nn
    >>> class Noise(nn.Module):
    ...     def __call__(self):
    ...         return self.make_rng("noise")
    >>> try:
    ...     Noise().apply({})
    ... except InvalidRngError as e:
    ...     print(str(e).split(" (")[0])
    Module None needs PRNG for "noise"
    """


class VariableNestingError(MinijaxNNError, ValueError):
    """The `variables` given to `apply` are not `{collection: {name: value}}`.

    >>> import jax.numpy as jnp, minijax.nn as nn
    >>> try:
    ...     nn.Dense(2).apply({"kernel": jnp.ones((3, 2))}, jnp.ones((1, 3)))
    ... except VariableNestingError:
    ...     print("caught")
    caught
    """


class ApplyScopeInvalidVariablesTypeError(VariableNestingError):
    """`variables` is not a dict of dicts with string keys.

    >>> issubclass(ApplyScopeInvalidVariablesTypeError, ValueError)
    True
    """


class ApplyScopeInvalidVariablesStructureError(VariableNestingError):
    """`variables` was wrapped twice: `{"params": {"params": ...}}`.

    >>> issubclass(ApplyScopeInvalidVariablesStructureError, VariableNestingError)
    True
    """


class ScopeVariableNotFoundError(MinijaxNNError, KeyError):
    """`apply` was given variables that lack one the module reads.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> v = nn.Dense(2).init(jax.random.key(0), jnp.ones((1, 3)))
    >>> del v["params"]["bias"]
    >>> try:
    ...     nn.Dense(2).apply(v, jnp.ones((1, 3)))
    ... except ScopeVariableNotFoundError as e:
    ...     print(str(e).split(";")[0])
    Could not find parameter named "bias" in scope "<root>"
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ScopeParamNotFoundError(ScopeVariableNotFoundError):
    """A parameter is missing from `variables["params"]`.

    >>> issubclass(ScopeParamNotFoundError, KeyError)
    True
    """


class ScopeCollectionNotFound(ScopeVariableNotFoundError):
    """The collection a module reads was not passed at all.

    >>> issubclass(ScopeCollectionNotFound, ScopeVariableNotFoundError)
    True
    """


class ScopeParamShapeError(MinijaxNNError, ValueError):
    """A stored parameter's shape differs from the shape its init function makes.

    >>> issubclass(ScopeParamShapeError, ValueError)
    True
    """


class InvalidFilterError(MinijaxNNError, TypeError):
    """A collection filter is not a bool, a name, a collection of names or a predicate.

    >>> from minijax.nn.filters import in_filter
    >>> try:
    ...     in_filter(3.5, "params")
    ... except InvalidFilterError as e:
    ...     print(type(e).__name__)
    InvalidFilterError
    """


class InvalidScopeError(MinijaxNNError, RuntimeError):
    """A scope (or a module bound to it) was used after its `init`/`apply` returned.

    >>> issubclass(InvalidScopeError, RuntimeError)
    True
    """


class ModifyScopeVariableError(MinijaxNNError, ValueError):
    """A variable of a collection that is not mutable in this call was written.

    >>> issubclass(ModifyScopeVariableError, ValueError)
    True
    """


class ImmutableVariableError(MinijaxNNError, ValueError):
    """A variable marked read-only was written (flax raises it in its NNX API).

    >>> issubclass(ImmutableVariableError, ValueError)
    True
    """


class JaxTransformError(MinijaxNNError, TypeError):
    """A bound module was passed through a plain jax transform; use the lifted one.

    >>> issubclass(JaxTransformError, TypeError)
    True
    """


class TraceContextError(MinijaxNNError, RuntimeError):
    """State was changed from inside a jax trace it does not belong to.

    >>> issubclass(TraceContextError, RuntimeError)
    True
    """


class LazyInitError(MinijaxNNError, ValueError):
    """`lazy_init` found a variable that depends on an input given only by its shape.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class CopiesInput(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         return self.param("k", lambda _: x)
    >>> try:
    ...     CopiesInput().lazy_init(jax.random.key(0), jax.ShapeDtypeStruct((2,), jnp.float32))
    ... except LazyInitError:
    ...     print("caught")
    caught
    """


class PartitioningUnspecifiedError(MinijaxNNError, ValueError):
    """A partitioned variable got a new axis from a transform without a `partition_name`.

    >>> issubclass(PartitioningUnspecifiedError, ValueError)
    True
    """


# --- modules (flax/linen/module.py) -----------------------------------------------


class NameInUseError(MinijaxNNError, ValueError):
    """Two submodules, params or variables of one module got the same name in one call.

    >>> import jax, jax.numpy as jnp, minijax.nn as nn
    >>> class Twice(nn.Module):
    ...     @nn.compact
    ...     def __call__(self, x):
    ...         self.param("w", nn.initializers.zeros, (1,))
    ...         return self.param("w", nn.initializers.zeros, (1,))
    >>> try:
    ...     Twice().init(jax.random.key(0), jnp.ones(1))
    ... except NameInUseError as e:
    ...     print(str(e).split(":")[0])
    Could not create param "w" in Module Twice
    """


class AssignSubModuleError(MinijaxNNError, ValueError):
    """A submodule, param or variable was created outside `setup` and `@compact` methods.

    >>> issubclass(AssignSubModuleError, ValueError)
    True
    """


class SetAttributeFrozenModuleError(MinijaxNNError, AttributeError):
    """A module attribute was set outside `setup` (modules are frozen config).

    >>> import minijax.nn as nn
    >>> try:
    ...     nn.Dense(3).features = 4
    ... except SetAttributeFrozenModuleError as e:
    ...     print(str(e).split(":")[0])
    Can't set features=4 for Module of type Dense
    """


class SetAttributeInModuleSetupError(SetAttributeFrozenModuleError):
    """`setup` assigned one of the module's dataclass fields.

    >>> issubclass(SetAttributeInModuleSetupError, AttributeError)
    True
    """


class MultipleMethodsCompactError(MinijaxNNError, TypeError):
    """Kept for `except` clauses written for old flax: several `@compact` methods are allowed.

    >>> issubclass(MultipleMethodsCompactError, TypeError)
    True
    """


class ReservedModuleAttributeError(MinijaxNNError, TypeError):
    """A module declared `parent` or `name` as a field of another type.

    >>> import minijax.nn as nn
    >>> try:
    ...     class Bad(nn.Module):
    ...         name: int
    ... except ReservedModuleAttributeError:
    ...     print("caught")
    caught
    """


class ApplyModuleInvalidMethodError(MinijaxNNError, TypeError):
    """`method=` is not a function of the module (it takes no `self` argument).

    >>> issubclass(ApplyModuleInvalidMethodError, TypeError)
    True
    """


class UnboundModuleError(MinijaxNNError, ValueError):
    """A module was used outside `init`/`apply`, so it has no variables to read.

    >>> import jax.numpy as jnp, minijax.nn as nn
    >>> try:
    ...     nn.Dense(2)(jnp.ones((1, 3)))
    ... except UnboundModuleError:
    ...     print("caught")
    caught
    """


class CallCompactUnboundModuleError(UnboundModuleError):
    """A `@compact` method was called on a module that is not bound.

    >>> issubclass(CallCompactUnboundModuleError, UnboundModuleError)
    True
    """


class CallSetupUnboundModuleError(UnboundModuleError):
    """`setup` was called by hand on a module that is not bound.

    >>> issubclass(CallSetupUnboundModuleError, UnboundModuleError)
    True
    """


class CallUnbindOnUnboundModuleError(UnboundModuleError):
    """`unbind()` was called on a module that is not bound.

    >>> issubclass(CallUnbindOnUnboundModuleError, UnboundModuleError)
    True
    """


class CallShareScopeOnUnboundModuleError(UnboundModuleError):
    """`share_scope` was called with a module that is not bound.

    >>> issubclass(CallShareScopeOnUnboundModuleError, UnboundModuleError)
    True
    """


class InvalidInstanceModuleError(MinijaxNNError, TypeError):
    """`init`/`apply` was called on the class (`Model.init`) rather than an instance.

    >>> import jax, minijax.nn as nn
    >>> try:
    ...     nn.Dense.init(jax.random.key(0), None)
    ... except InvalidInstanceModuleError:
    ...     print("caught")
    caught
    """


class IncorrectPostInitOverrideError(MinijaxNNError, TypeError):
    """A module overrides `__post_init__` without calling `super().__post_init__()`.

    >>> issubclass(IncorrectPostInitOverrideError, TypeError)
    True
    """


class DescriptorAttributeError(MinijaxNNError):
    """A property of a module raised `AttributeError`.

    It is not an `AttributeError` itself: Python would take that for a missing
    attribute and call `__getattr__`, hiding where the error came from.

    >>> issubclass(DescriptorAttributeError, AttributeError)
    False
    """


# --- checkpoints, transforms, cursors, traversals --------------------------------


class InvalidCheckpointError(MinijaxNNError, ValueError):
    """A checkpoint file is missing or unreadable.

    >>> issubclass(InvalidCheckpointError, ValueError)
    True
    """


class MPACheckpointingRequiredError(MinijaxNNError, ValueError):
    """A multi-process array is saved without multi-process checkpointing.

    >>> issubclass(MPACheckpointingRequiredError, ValueError)
    True
    """


class MPARestoreTargetRequiredError(MinijaxNNError, ValueError):
    """A multi-process array is restored without a target to restore into.

    >>> issubclass(MPARestoreTargetRequiredError, ValueError)
    True
    """


class MPARestoreDataCorruptedError(MinijaxNNError, ValueError):
    """The saved data of a multi-process array is incomplete.

    >>> issubclass(MPARestoreDataCorruptedError, ValueError)
    True
    """


class TransformedMethodReturnValueError(MinijaxNNError, TypeError):
    """A method under a lifted transform returned a module.

    >>> issubclass(TransformedMethodReturnValueError, TypeError)
    True
    """


class TransformTargetError(MinijaxNNError, TypeError):
    """A lifted transform was applied to something that is not a module class or method.

    >>> issubclass(TransformTargetError, TypeError)
    True
    """


class AlreadyExistsError(MinijaxNNError, FileExistsError):
    """A file would be overwritten.

    >>> issubclass(AlreadyExistsError, FileExistsError)
    True
    """


class CursorFindError(MinijaxNNError, ValueError):
    """A cursor search found no object, or more than one.

    >>> issubclass(CursorFindError, ValueError)
    True
    """


class TraverseTreeError(MinijaxNNError, ValueError):
    """A tree traversal was given a path that does not exist.

    >>> issubclass(TraverseTreeError, ValueError)
    True
    """


# minijax's first names for some of these classes.
CollectionNotFoundError = ScopeCollectionNotFound
DuplicateNameError = NameInUseError
ImmutableCollectionError = ModifyScopeVariableError
MissingParamError = ScopeVariableNotFoundError
MissingRngError = InvalidRngError
ParamShapeError = ScopeParamShapeError
SetAttributeError = SetAttributeFrozenModuleError


# --- messages ----------------------------------------------------------------------


def path_text(path: tuple[str, ...]) -> str:
    """A module path for messages: `("Encoder_0", "Dense_1")` is `"Encoder_0/Dense_1"`.

    >>> path_text(("Encoder_0", "Dense_1")), path_text(())
    ('Encoder_0/Dense_1', '<root>')
    """
    return "/".join(path) if path else "<root>"


def note_where(error: Exception, scope: Any, method: str) -> None:
    """Add the module path to an error raised inside a module, once (at the innermost).

    A shape error from `Dense.__call__` then says *which* Dense of the model it was:
    `(in module Encoder_0/Dense_1, Dense.__call__)` below the message.
    """
    if not getattr(error, "_minijax_where", False):
        where = path_text(scope.path) if scope is not None else "<unbound>"
        error.add_note(f"(in module {where}, {method})")
        error._minijax_where = True  # type: ignore[attr-defined]


def name_in_use(kind: str, name: str, module: str, path: tuple[str, ...]) -> NameInUseError:
    return NameInUseError(
        f'Could not create {kind} "{name}" in Module {module}: Name in use (at '
        f"{path_text(path)}, the name is already taken by a submodule, param or variable "
        "in this call). Give each one its own name (name=...); to share a submodule, "
        "call the same instance twice."
    )


def assign_outside_setup(
    what: str, verb: str, module: str, path: tuple[str, ...]
) -> AssignSubModuleError:
    return AssignSubModuleError(
        f"{what} must be {verb} in `setup()` or in a method wrapped in `@compact` "
        f"(it was created in a method of {module} at {path_text(path)} that is neither). "
        "Create it in setup(), or decorate the method with @nn.compact."
    )


def frozen(module: str, attr: str, value: Any, in_setup_field: bool) -> AttributeError:
    if in_setup_field:
        return SetAttributeInModuleSetupError(
            f"Can't set {attr} in setup() of {module}: {attr!r} is a dataclass field, and "
            "fields are the module's frozen configuration. Set it when constructing the "
            f"module ({module}({attr}=...)), or give the attribute made in setup() another name."
        )
    return SetAttributeFrozenModuleError(
        f"Can't set {attr}={value!r} for Module of type {module}: Module instance is frozen "
        "outside of setup method. Modules are frozen config: assign attributes in setup() "
        "only, and use module.clone(field=value) for a changed copy."
    )


def unbound(module: str, what: str, cls: type[UnboundModuleError] = UnboundModuleError
            ) -> UnboundModuleError:
    """`what` is e.g. "use variables" or "call compact methods"."""
    return cls(
        f"Can't {what} on unbound modules: this {module} has no variables outside "
        "init/apply. Call model.init(key, x) or model.apply(variables, x) (or bind it: "
        "model.bind(variables)), or create the module inside the parent's setup() or "
        "@nn.compact method."
    )


def not_a_module(obj: Any, call: str) -> InvalidInstanceModuleError:
    return InvalidInstanceModuleError(
        f"{call} was called with {type(obj).__name__} {obj!r:.60} as the module: it was "
        f"called on the class, not on an instance. Construct the module first: "
        f"Model(...).{call}(...), not Model.{call}(...)."
    )


def post_init_not_called(module: str) -> IncorrectPostInitOverrideError:
    return IncorrectPostInitOverrideError(
        f"{module} overrides __post_init__ without calling super().__post_init__(), so it "
        "was never set up as a module. Call super().__post_init__() at the end of it."
    )


def invalid_method(method: Any) -> ApplyModuleInvalidMethodError:
    return ApplyModuleInvalidMethodError(
        f"Cannot call apply() with method={method!r}: it must be a method of the module, "
        "its name, or a function whose first argument is the (bound) module, e.g. "
        "method=lambda module, x: module.encode(x)."
    )


def missing_perturbation(collection: str, name: str, path: tuple[str, ...]) -> ValueError:
    return ValueError(
        f"Perturbation collection {collection!r} present, but missing perturbation variable "
        f"{name!r} at {path_text(path)}. Pass the {collection!r} collection that init "
        "returned, or leave it out to disable the perturbations."
    )


def missing_rng(name: str | None, path: tuple[str, ...], stream: str) -> InvalidRngError:
    return InvalidRngError(
        f'Module {name} needs PRNG for "{stream}" (module path {path_text(path)}): pass '
        f"rngs={{{stream!r}: key}} to apply (or to init, where a 'params' key also feeds "
        "every other stream)."
    )


def missing_variable(
    collection: str, name: str, path: tuple[str, ...], have: list[str], empty: bool
) -> ScopeVariableNotFoundError:
    where = path_text(path)
    if empty:
        return ScopeCollectionNotFound(
            f'Tried to access "{name}" from collection "{collection}" in "{where}" but the '
            f"collection is empty or was not passed. Pass the dict that init returned, e.g. "
            f"apply({{{collection!r}: ...}}, x), or make it mutable=[{collection!r}] to "
            "create it."
        )
    if collection == "params":
        return ScopeParamNotFoundError(
            f'Could not find parameter named "{name}" in scope "{where}"; keys at this '
            f"path: {have}. Were the variables made by init of this same model (same layer "
            "names and structure)?"
        )
    return ScopeVariableNotFoundError(
        f'No Variable named "{name}" for collection "{collection}" exists in "{where}"; '
        f"keys at this path: {have}. Make the collection mutable=[{collection!r}] to create "
        "it, or pass the variables that init returned."
    )


def param_shape(
    name: str, path: tuple[str, ...], stored: tuple[int, ...], expected: tuple[int, ...]
) -> ScopeParamShapeError:
    return ScopeParamShapeError(
        f'For parameter "{name}" in "{path_text(path)}", the initializer makes shape '
        f"{expected}, but the stored parameter has shape {stored}. The params come from a "
        "model with another configuration or input size: re-run init with the inputs you "
        "apply to."
    )


def immutable(collection: str, name: str, path: tuple[str, ...]) -> ModifyScopeVariableError:
    return ModifyScopeVariableError(
        f'Cannot update variable "{name}" in "{path_text(path)}" because collection '
        f'"{collection}" is immutable ({collection}/{name}). Pass mutable=[{collection!r}] '
        "to apply, which then returns (output, updated_collections)."
    )


# --- input checks --------------------------------------------------------------------


def check_variables(variables: Any) -> None:
    """Catch the common nesting mistakes before they become a confusing missing-param error.

    Raises:
        ApplyScopeInvalidVariablesTypeError: `variables` is not `{collection: dict}`.
        ApplyScopeInvalidVariablesStructureError: `variables` holds params alone, or
            `{"params": {"params": ...}}`.

    >>> check_variables({"params": {"kernel": 1.0}})
    >>> try:
    ...     check_variables({"kernel": 1.0})
    ... except VariableNestingError as e:
    ...     print(str(e).split(":")[0])
    variables["kernel"] is a float, not a dict
    """
    if not isinstance(variables, Mapping):
        raise ApplyScopeInvalidVariablesTypeError(
            f"variables must be a dict of collections such as {{'params': ...}}, got "
            f"{type(variables).__name__}."
        )
    for col, tree in variables.items():
        if not isinstance(col, str) or not isinstance(tree, Mapping):
            raise ApplyScopeInvalidVariablesTypeError(
                f'variables["{col}"] is a {type(tree).__name__}, not a dict: variables must '
                "be nested as {collection: {module: {name: array}}}. If you passed the "
                "params alone, pass {'params': params} instead."
            )
    params = variables.get("params")
    if isinstance(params, Mapping) and "params" in params and len(params) == 1:
        raise ApplyScopeInvalidVariablesStructureError(
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
            raise ApplyScopeInvalidVariablesStructureError(
                f"variables has keys {sorted(variables)}, which look like module or "
                f"parameter names ({looks_like_params}), not collections. You passed the "
                "params alone: pass {'params': params} (the dict init returned), e.g. "
                "model.apply({'params': params}, x)."
            )


def _is_key(x: Any) -> bool:
    """A typed key (`jax.random.key`) or a raw `uint32[2]` key (`jax.random.PRNGKey`)."""
    if not isinstance(x, jax.Array | np.ndarray):
        return False
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        return x.shape == ()
    return x.shape == (2,) and x.dtype == np.uint32


def check_rngs(rngs: Any, module: str, call: str) -> None:
    """`rngs` must be a key, an int seed, or a dict `{stream: key or seed}`.

    Raises:
        InvalidRngError: naming what was given and the forms that work.

    >>> import jax
    >>> check_rngs({"params": jax.random.key(0)}, "MLP", "init")
    >>> try:
    ...     check_rngs("seed", "MLP", "init")
    ... except InvalidRngError as e:
    ...     print(str(e).split(".")[0])
    RNGs should be of shape (2,) or PRNGKey in Module MLP, but rngs are: seed
    """
    def ok(x: Any) -> bool:
        return _is_key(x) or (isinstance(x, int | np.integer) and not isinstance(x, bool))

    if isinstance(rngs, Mapping):
        bad = {k: v for k, v in rngs.items() if not (isinstance(k, str) and ok(v))}
        if bad:
            raise InvalidRngError(
                f"{module}.{call}: rngs[{next(iter(bad))!r}] = {next(iter(bad.values()))!r} is "
                "not a PRNG key. Each value of the rngs dict must be a jax.random.key(...) "
                "(or a raw PRNGKey of shape (2,), or an int seed), e.g. "
                "{'params': jax.random.key(0), 'dropout': jax.random.key(1)}."
            )
    elif not ok(rngs):
        raise InvalidRngError(
            f"RNGs should be of shape (2,) or PRNGKey in Module {module}, but rngs are: "
            f"{rngs}. Pass {call} a jax.random.key(0) (or an int seed), or a dict "
            "{'params': key, 'dropout': key}."
        )
