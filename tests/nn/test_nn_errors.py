"""Every module-system error: its class and a message that names the path and the fix."""

import jax
import jax.numpy as jnp
import pytest

import minijax.nn as nn

X = jnp.ones((2, 3))
KEY = jax.random.key(0)


class Net(nn.Module):
    @nn.compact
    def __call__(self, x):  # type: ignore[no-untyped-def]
        x = nn.Dense(4)(x)
        return nn.Dense(2)(x)


def test_all_errors_share_a_base_class() -> None:
    for cls in (
        nn.ParamShapeError,
        nn.MissingParamError,
        nn.MissingRngError,
        nn.DuplicateNameError,
        nn.ImmutableCollectionError,
        nn.VariableNestingError,
        nn.UnboundModuleError,
        nn.AssignSubModuleError,
        nn.SetAttributeError,
    ):
        assert issubclass(cls, nn.MinijaxNNError)
    assert issubclass(nn.ParamShapeError, ValueError)
    assert issubclass(nn.MissingParamError, KeyError)


def test_param_shape_mismatch_names_path_and_shapes() -> None:
    v = Net().init(KEY, X)
    with pytest.raises(nn.ParamShapeError) as info:
        Net().apply(v, jnp.ones((2, 5)))
    msg = str(info.value)
    assert "Dense_0" in msg and "'kernel'" in msg
    assert "(3, 4)" in msg and "(5, 4)" in msg  # stored vs expected
    assert "re-run init" in msg


def test_missing_param_lists_existing_keys() -> None:
    v = Net().init(KEY, X)
    del v["params"]["Dense_1"]["bias"]
    with pytest.raises(nn.MissingParamError) as info:
        Net().apply(v, X)
    msg = str(info.value)
    assert "Dense_1" in msg and "'bias'" in msg and "['kernel']" in msg


def test_missing_collection() -> None:
    model = nn.BatchNorm(use_running_average=True)
    v = model.init(KEY, X)
    with pytest.raises(nn.CollectionNotFoundError, match="no 'batch_stats' collection"):
        model.apply({"params": v["params"]}, X)


def test_missing_rng_stream_message() -> None:
    class M(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Dropout(0.5)(x, deterministic=False)

    v = M().init(KEY, X)
    with pytest.raises(nn.MissingRngError) as info:
        M().apply(v, X)
    assert "Dropout_0 (path Dropout_0) needs an rng for 'dropout'" in str(info.value)
    assert "pass rngs={'dropout': key}" in str(info.value)


def test_duplicate_names() -> None:
    class Dup(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Dense(2, name="a")(x) + nn.Dense(2, name="a")(x)

    with pytest.raises(nn.DuplicateNameError, match="'a' is used twice"):
        Dup().init(KEY, X)

    class DupParam(nn.Module):
        @nn.compact
        def __call__(self, x):  # type: ignore[no-untyped-def]
            self.param("w", nn.initializers.zeros, (1,))
            return self.param("w", nn.initializers.zeros, (1,))

    with pytest.raises(nn.DuplicateNameError, match="<root>: the name 'w'"):
        DupParam().init(KEY, X)


def test_writing_an_immutable_collection() -> None:
    model = nn.BatchNorm(use_running_average=False)
    v = model.init(KEY, X)
    with pytest.raises(nn.ImmutableCollectionError) as info:
        model.apply(v, X)
    assert "batch_stats/mean" in str(info.value)
    assert "pass mutable=['batch_stats']" in str(info.value)


def test_wrong_variable_nesting_is_explained() -> None:
    v = Net().init(KEY, X)
    with pytest.raises(nn.VariableNestingError, match=r"pass \{'params': params\}"):
        Net().apply(v["params"], X)  # params instead of {"params": params}
    with pytest.raises(nn.VariableNestingError, match="wrapped twice"):
        Net().apply({"params": v}, X)
    with pytest.raises(nn.VariableNestingError, match="not a dict"):
        nn.Dense(2).apply({"params": jnp.ones(3)}, X)
    with pytest.raises(nn.VariableNestingError, match="pass \\{'params': params\\}"):
        nn.Dense(2).apply(nn.Dense(2).init(KEY, X)["params"], X)
    with pytest.raises(nn.VariableNestingError, match="dict of collections"):
        nn.Dense(2).apply([v], X)  # type: ignore[arg-type]


def test_calling_a_module_outside_init_apply() -> None:
    with pytest.raises(nn.UnboundModuleError, match=r"outside init/apply.*model.init"):
        nn.Dense(2)(X)

    class Setup(nn.Module):
        def setup(self) -> None:
            self.w = self.param("w", nn.initializers.zeros, (1,))

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return x * self.w

    with pytest.raises(AttributeError, match="only inside init/apply"):
        Setup()(X)
    with pytest.raises(nn.UnboundModuleError, match="param was used outside init/apply"):
        nn.Module().param("w", nn.initializers.zeros, (1,))
    with pytest.raises(nn.UnboundModuleError):
        nn.Module().make_rng("dropout")


def test_submodule_or_param_outside_setup_and_compact() -> None:
    class NotCompact(nn.Module):
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return nn.Dense(2)(x)

    with pytest.raises(nn.AssignSubModuleError, match=r"neither setup\(\) nor .*@nn.compact"):
        NotCompact().init(KEY, X)

    class ParamNotCompact(nn.Module):
        def __call__(self, x):  # type: ignore[no-untyped-def]
            return self.param("w", nn.initializers.zeros, (1,))

    with pytest.raises(nn.AssignSubModuleError, match=r"self\.param\('w', \.\.\.\)"):
        ParamNotCompact().init(KEY, X)


def test_setting_a_field_in_setup_and_two_compact_methods() -> None:
    class SetsField(nn.Module):
        size: int = 2

        def setup(self) -> None:
            self.size = 3

        def __call__(self, x):  # type: ignore[no-untyped-def]
            return x

    with pytest.raises(nn.SetAttributeError, match="never the dataclass fields"):
        SetsField().init(KEY, X)

    with pytest.raises(TypeError, match="several @compact methods"):

        class TwoCompact(nn.Module):
            @nn.compact
            def a(self):  # type: ignore[no-untyped-def]
                pass

            @nn.compact
            def b(self):  # type: ignore[no-untyped-def]
                pass


def test_merge_param() -> None:
    with pytest.raises(ValueError, match="neither"):
        nn.Dropout(0.5).init(KEY, X)
    with pytest.raises(ValueError, match="both"):
        nn.Dropout(0.5, deterministic=True).init(KEY, X, deterministic=True)


def test_embed_rejects_float_ids() -> None:
    e = nn.Embed(4, 3)
    v = e.init(KEY, jnp.arange(2))
    with pytest.raises(ValueError, match="integer ids"):
        e.apply(v, jnp.ones(2))


def test_errors_inside_a_model_name_the_module_path() -> None:
    class Encoder(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            return nn.Conv(3, (3,))(nn.Dense(4)(x))

    class Model(nn.Module):
        @nn.compact
        def __call__(self, x: jax.Array) -> jax.Array:
            return Encoder()(x)

    variables = Model().init(jax.random.key(0), jnp.ones((2, 5, 3)))
    with pytest.raises(nn.ParamShapeError) as info:
        Model().apply(variables, jnp.ones((2, 5, 7)))
    assert info.value.__notes__ == ["(in module Encoder_0/Dense_0, Dense.__call__)"]
    with pytest.raises(ValueError, match="Conv: the input has shape") as info:
        Model().init(jax.random.key(0), jnp.ones((3,)))
    assert info.value.__notes__ == ["(in module Encoder_0/Conv_0, Conv.__call__)"]
