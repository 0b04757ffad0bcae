"""Every module-system error: flax's class name, a builtin base, and a message that
names the problem, the place (module path, parameter, shapes) and the fix.

Only test-local layers (`_toy.py`) are used.
"""

import inspect
from typing import Any

import flax.errors
import jax
import jax.numpy as jnp
import pytest
from _toy import toy_layers

import minijax.nn as nn
from minijax.nn import errors

toy = toy_layers(nn)
Affine, Scale, Noise, Counter = toy.Affine, toy.Scale, toy.Noise, toy.Counter
X = jnp.ones((2, 3))
KEY = jax.random.key(0)


class Net(nn.Module):
    @nn.compact
    def __call__(self, x: Any) -> Any:
        return Affine(2)(Affine(4)(x))


def test_every_flax_error_class_has_a_counterpart() -> None:
    theirs = {n for n, c in inspect.getmembers(flax.errors, inspect.isclass)
              if issubclass(c, flax.errors.FlaxError) and c.__module__ == "flax.errors"}
    missing = sorted(n for n in theirs if not hasattr(errors, n))
    assert not missing
    for name in theirs:
        assert issubclass(getattr(errors, name), errors.MinijaxNNError), name
    assert errors.FlaxError is errors.MinijaxNNError


def test_builtin_bases_and_minijax_names() -> None:
    assert issubclass(errors.ScopeParamShapeError, ValueError)
    assert issubclass(errors.ScopeParamNotFoundError, KeyError)
    assert issubclass(errors.SetAttributeFrozenModuleError, AttributeError)
    assert issubclass(errors.CallCompactUnboundModuleError, ValueError)
    assert not issubclass(errors.DescriptorAttributeError, AttributeError)
    aliases = {nn.ParamShapeError: errors.ScopeParamShapeError,
               nn.MissingRngError: errors.InvalidRngError,
               nn.DuplicateNameError: errors.NameInUseError,
               nn.ImmutableCollectionError: errors.ModifyScopeVariableError,
               nn.CollectionNotFoundError: errors.ScopeCollectionNotFound,
               nn.SetAttributeError: errors.SetAttributeFrozenModuleError}
    for old, new in aliases.items():
        assert old is new
    assert issubclass(errors.ScopeParamNotFoundError, nn.MissingParamError)


def test_param_shape_mismatch_names_path_and_shapes() -> None:
    v = Net().init(KEY, X)
    with pytest.raises(errors.ScopeParamShapeError) as info:
        Net().apply(v, jnp.ones((2, 5)))
    msg = str(info.value)
    assert 'parameter "w" in "Affine_1"' in msg
    assert "(3, 4)" in msg and "(5, 4)" in msg and "re-run init" in msg
    assert info.value.__notes__ == ["(in module Affine_1, Affine.__call__)"]


def test_missing_param_variable_and_collection() -> None:
    v = Net().init(KEY, X)
    del v["params"]["Affine_0"]["b"]
    with pytest.raises(errors.ScopeParamNotFoundError) as info:
        Net().apply(v, X)
    assert '"b" in scope "Affine_0"' in str(info.value) and "['w']" in str(info.value)
    with pytest.raises(errors.ScopeCollectionNotFound, match='collection "counter"'):
        Counter().apply({}, X)
    with pytest.raises(errors.ScopeVariableNotFoundError, match="mutable=\\['counter'\\]"):
        Counter().apply({"counter": {"other": 1}}, X)


def test_missing_rng_stream_and_invalid_rngs() -> None:
    class Wrapper(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Noise()(x)

    with pytest.raises(errors.InvalidRngError) as info:
        Wrapper().apply({}, X)
    assert 'Module Noise_0 needs PRNG for "dropout"' in str(info.value)
    assert "rngs={'dropout': key}" in str(info.value)
    with pytest.raises(errors.InvalidRngError, match="but rngs are: test"):
        Net().init("test", X)  # type: ignore[arg-type]
    with pytest.raises(errors.InvalidRngError, match=r"rngs\['params'\] = 'test'"):
        Net().apply({}, X, rngs={"params": "test"})


def test_duplicate_names() -> None:
    class DupModules(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Affine(2, name="a")(x) + Affine(2, name="a")(x)

    class DupParam(nn.Module):
        def setup(self) -> None:
            self.w = self.param("w", jax.nn.initializers.zeros, (1,))
            self.w2 = self.param("w", jax.nn.initializers.zeros, (1,))

    class ParamThenModule(nn.Module):
        def setup(self) -> None:
            self.bias = self.param("bias", jax.nn.initializers.zeros, (1,))
            self.bias = Scale()

    with pytest.raises(errors.NameInUseError, match='submodule "a" in Module DupModules'):
        DupModules().init(KEY, X)
    with pytest.raises(errors.NameInUseError, match='param "w" in Module DupParam: Name in use'):
        DupParam().init(KEY, X, method=lambda m, x: m.w)
    with pytest.raises(errors.NameInUseError):
        ParamThenModule().init(KEY, X, method=lambda m, x: m.bias)
    # a variable may share its name with a variable of another collection
    class TwoCollections(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            self.variable("a", "v", lambda: 1)
            return self.variable("b", "v", lambda: 2).value

    assert TwoCollections().init(KEY, X) == {"a": {"v": 1}, "b": {"v": 2}}


def test_writing_an_immutable_collection() -> None:
    v = Counter().init(KEY, X)
    with pytest.raises(errors.ModifyScopeVariableError) as info:
        Counter().apply(v, X)
    assert 'variable "n" in "<root>"' in str(info.value)
    assert "Pass mutable=['counter']" in str(info.value)


def test_wrong_variable_nesting_is_explained() -> None:
    v = Net().init(KEY, X)
    with pytest.raises(errors.ApplyScopeInvalidVariablesStructureError,
                       match=r"pass \{'params': params\}"):
        Net().apply(v["params"], X)
    with pytest.raises(errors.ApplyScopeInvalidVariablesStructureError, match="wrapped twice"):
        Net().apply({"params": v}, X)
    with pytest.raises(errors.ApplyScopeInvalidVariablesTypeError, match="not a dict"):
        Affine(2).apply({"params": jnp.ones(3)}, X)
    with pytest.raises(errors.ApplyScopeInvalidVariablesTypeError, match="dict of collections"):
        Affine(2).apply([v], X)  # type: ignore[arg-type]


def test_unbound_modules() -> None:
    class Plain(nn.Module):
        def setup(self) -> None:
            self.w = 2

        def read(self) -> Any:
            return self.w

    with pytest.raises(errors.CallCompactUnboundModuleError,
                       match="Can't call compact methods on unbound modules"):
        Affine(2)(X)
    with pytest.raises(AttributeError, match=r'no attribute "w"\..*only inside init/apply'):
        Plain().read()
    for use in (lambda m: m.param("w", jax.nn.initializers.zeros, (1,)),
                lambda m: m.make_rng("dropout"), lambda m: m.variables,
                lambda m: m.has_variable("c", "n"), lambda m: m.path):
        with pytest.raises(errors.UnboundModuleError, match=r"on unbound modules.*model\.init"):
            use(Plain())
    with pytest.raises(errors.CallUnbindOnUnboundModuleError):
        Plain().unbind()
    with pytest.raises(errors.CallShareScopeOnUnboundModuleError):
        nn.share_scope(Plain(), Plain())


def test_submodule_or_param_outside_setup_and_compact() -> None:
    class NotCompact(nn.Module):
        def __call__(self, x: Any) -> Any:
            return Affine(2)(x)

    class ParamNotCompact(nn.Module):
        def __call__(self, x: Any) -> Any:
            return self.param("w", jax.nn.initializers.zeros, (1,))

    with pytest.raises(errors.AssignSubModuleError,
                       match=r"Submodule Affine must be defined in `setup\(\)` or in a method "
                             "wrapped in `@compact`.*at <root>"):
        NotCompact().init(KEY, X)
    with pytest.raises(ValueError, match=r'Param "w" must be initialized in `setup\(\)`'):
        ParamNotCompact().init(KEY, X)


def test_frozen_attributes() -> None:
    class SetsField(nn.Module):
        size: int = 2

        def setup(self) -> None:
            self.size = 3

        def __call__(self, x: Any) -> Any:
            return x

    class SetsLater(nn.Module):
        def __call__(self, x: Any) -> Any:
            self.i = 2
            return x

    with pytest.raises(errors.SetAttributeInModuleSetupError, match="dataclass field"):
        SetsField().init(KEY, X)
    with pytest.raises(errors.SetAttributeFrozenModuleError,
                       match="Can't set i=2 for Module of type SetsLater: Module instance is "
                             "frozen outside of setup method"):
        SetsLater().init(KEY, X)


def test_class_and_post_init_mistakes() -> None:
    class ForgetsSuper(nn.Module):
        x: float

        def __post_init__(self) -> None:
            self.y = 2 * self.x

        def __call__(self, v: Any) -> Any:
            return v

    with pytest.raises(errors.InvalidInstanceModuleError, match=r"Model\(\.\.\.\)\.init"):
        Net.init(KEY, X)  # type: ignore[arg-type]
    with pytest.raises(errors.IncorrectPostInitOverrideError, match=r"super\(\)\.__post_init__"):
        ForgetsSuper(1.0).init(KEY, X)
    with pytest.raises(errors.ReservedModuleAttributeError):
        class BadName(nn.Module):
            name: int  # type: ignore[assignment]


def test_a_failing_property_is_reported_as_such() -> None:
    class Prop(nn.Module):
        @property
        def prop(self) -> Any:
            return self.non_existent

        def __call__(self) -> Any:
            return self.prop

    with pytest.raises(errors.DescriptorAttributeError, match=r"Prop\.prop"):
        Prop().apply({})


def test_errors_inside_a_model_name_the_module_path() -> None:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Affine(3)(Affine(4)(x))

    class Model(nn.Module):
        @nn.compact
        def __call__(self, x: Any) -> Any:
            return Encoder()(x)

    v = Model().init(KEY, X)
    with pytest.raises(errors.ScopeParamShapeError) as info:
        Model().apply(v, jnp.ones((2, 7)))
    assert info.value.__notes__ == ["(in module Encoder_0/Affine_1, Affine.__call__)"]


def test_merge_param() -> None:
    with pytest.raises(ValueError, match="neither"):
        nn.merge_param("deterministic", None, None)
    with pytest.raises(ValueError, match="both"):
        nn.merge_param("deterministic", True, False)
    assert nn.merge_param("deterministic", None, False) is False
