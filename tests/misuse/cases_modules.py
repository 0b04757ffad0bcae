"""Misuse cases: the module system and rngs. See catalogue.py for what a case is."""

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import minijax.nn as nn
from minijax import debug, random

from .catalogue import KEY, X, case, init

# ======================================================================== module system


class Compact(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return nn.Dense(2)(x)


@case(
    "module system",
    "calling a module outside init/apply",
    nn.errors.UnboundModuleError,
    ("unbound",),
    ("Compact",),
    ("init", "apply"),
    "flax: CallCompactUnboundModuleError 'Can't call compact methods on unbound modules' with a "
    "docs link",
)
def call_unbound(tmp: Path) -> Any:
    return Compact()(X)


@case(
    "module system",
    "apply with the params dict instead of {'params': params}",
    nn.errors.VariableNestingError,
    ("params",),
    ("apply",),
    ("{'params'",),
    'flax: ScopeCollectionNotFound \'Tried to access "kernel" from collection "params" ... the '
    "collection is empty', not saying to wrap the params",
)
def apply_unwrapped_params(tmp: Path) -> Any:
    v = Compact().init(KEY, X)
    return Compact().apply(v["params"], X)


@case(
    "module system",
    "apply with no variables at all",
    nn.errors.ScopeVariableNotFoundError,
    ('"kernel"', "empty or was not passed"),
    ('"Dense_0"',),
    ("Pass the dict that init returned",),
    "flax: ScopeCollectionNotFound naming the param and path, with a docs link",
)
def apply_empty_variables(tmp: Path) -> Any:
    return Compact().apply({"params": {}}, X)


@case(
    "module system",
    "apply with variables of the wrong type (a list)",
    nn.errors.VariableNestingError,
    ("list",),
    ("variables",),
    ("dict",),
    "flax: AttributeError \"'list' object has no attribute 'items'\"",
)
def apply_list_variables(tmp: Path) -> Any:
    return Compact().apply([1, 2], X)  # type: ignore[arg-type]


class TwoSameNames(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return nn.Dense(2, name="d")(nn.Dense(2, name="d")(x))


@case(
    "module system",
    "two submodules with the same name",
    nn.errors.NameInUseError,
    ("Name in use",),
    ('"d"', "TwoSameNames"),
    ("name=",),
    "flax: NameInUseError",
)
def same_name_twice(tmp: Path) -> Any:
    return init(TwoSameNames(), X)


class ParamTwice(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        self.param("w", nn.initializers.zeros, (1,))
        return self.param("w", nn.initializers.zeros, (1,))


@case(
    "module system",
    "self.param twice with one name",
    nn.errors.NameInUseError,
    ("Name in use",),
    ('"w"',),
    ("own name",),
    "flax: NameInUseError 'Could not create param \"w\" in Module PT: Name in use.' with a docs "
    "link",
)
def param_twice(tmp: Path) -> Any:
    return init(ParamTwice(), X)


class SetsAttribute(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        self.hidden = x
        return x


@case(
    "module system",
    "setting an attribute in __call__",
    nn.errors.SetAttributeFrozenModuleError,
    ("frozen",),
    ("SetsAttribute", "hidden"),
    ("setup",),
    "flax: SetAttributeFrozenModuleError",
)
def set_attribute_in_call(tmp: Path) -> Any:
    return init(SetsAttribute(), X)


@case(
    "module system",
    "a field named 'parent'",
    nn.errors.ReservedModuleAttributeError,
    ("declares 'parent' or 'name' as a field",),
    ("Bad",),
    ("Rename the field",),
    "flax: ReservedModuleAttributeError",
)
def reserved_field(tmp: Path) -> Any:
    class Bad(nn.Module):
        parent: int = 0  # type: ignore[assignment]

    return Bad


class PostInit(nn.Module):
    def __post_init__(self) -> None:  # forgets super().__post_init__()
        pass

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return x


@case(
    "module system",
    "__post_init__ without super().__post_init__()",
    nn.errors.IncorrectPostInitOverrideError,
    ("__post_init__",),
    ("PostInit",),
    ("super().__post_init__()",),
    "flax: IncorrectPostInitOverrideError",
)
def post_init_without_super(tmp: Path) -> Any:
    return init(PostInit(), X)


class MakesRng(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return x + jax.random.normal(self.make_rng("noise"), x.shape)


@case(
    "module system",
    "make_rng for a stream that was not passed",
    nn.errors.InvalidRngError,
    ("noise",),
    ("MakesRng",),
    ("rngs=",),
    "flax: InvalidRngError naming the stream",
)
def make_rng_missing(tmp: Path) -> Any:
    return MakesRng().apply({}, X)


@case(
    "module system",
    "a loaded kernel with another shape than the layer makes",
    nn.errors.ScopeParamShapeError,
    ("(5, 2)", "(3, 2)"),
    ("kernel", "Dense_0"),
    ("init",),
    "flax: ScopeParamShapeError naming the param, path and both shapes",
)
def loaded_param_shape(tmp: Path) -> Any:
    v = {"params": {"Dense_0": {"kernel": jnp.ones((5, 2)), "bias": jnp.ones(2)}}}
    return Compact().apply(v, X)


# ======================================================================== rngs


@case(
    "rngs",
    "one key used twice",
    Exception,
    ("Previously-consumed key",),
    ("index 0",),
    (),
    "flax/jax: the same numbers twice, no error; jax.debug_key_reuse catches it",
    outcome="debug",
    reason="minijax.debug.debug_key_reuse",
)
def key_reused(tmp: Path) -> Any:
    with debug.debug_key_reuse():
        k = jax.random.key(1)
        jax.random.normal(k)
        return jax.random.normal(k)


@case(
    "rngs",
    "derive with a float",
    TypeError,
    ("1.5",),
    ("derive",),
    ("strings and ints",),
    "flax: no counterpart",
)
def derive_float(tmp: Path) -> Any:
    return random.derive(KEY, 1.5)  # type: ignore[arg-type]
