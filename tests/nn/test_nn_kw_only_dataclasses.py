"""nn.kw_only_dataclasses: keyword-only fields last, inherited ones too; flax's module
of the same name is the oracle for the field order and the defaults."""

import dataclasses
import inspect
from typing import ClassVar

import pytest
from flax.linen import kw_only_dataclasses as flax_kw

import minijax.nn as nn
from minijax.nn import kw_only_dataclasses as kw


def _params(cls):
    """`{name: default}` of `cls.__init__`, in order (without `self`)."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return [(p.name, p.default) for p in params]


def _build(lib):
    """The same hierarchy, built with `lib` (minijax's or flax's module)."""

    @lib.dataclass
    class A:
        x: int = lib.field(default=1, kw_only=True)

    @lib.dataclass
    class B(A):
        size: float
        y: int = lib.field(default=3, kw_only=True)
        x: int = 2

    @lib.dataclass
    class C(B):
        label: str

    @lib.dataclass
    class D:
        x: float
        _: lib.KW_ONLY
        a: int = 5
        b: int = lib.field(default=2)

    @lib.dataclass
    class E(D):
        z: str

    return A, B, C, D, E


@pytest.mark.parametrize("index", range(5))
def test_fields_and_defaults_equal_flax(index):
    ours, theirs = _build(kw)[index], _build(flax_kw)[index]
    assert [f.name for f in dataclasses.fields(ours)] == [
        f.name for f in dataclasses.fields(theirs)]
    assert _params(ours) == _params(theirs)


def test_keyword_only_fields_are_keyword_only():
    _, _, C, _, E = _build(kw)
    assert dataclasses.asdict(C(4.0, "c", y=7)) == {"size": 4.0, "x": 2, "y": 7, "label": "c"}
    assert dataclasses.asdict(E(1.0, "e", a=0)) == {"x": 1.0, "a": 0, "b": 2, "z": "e"}
    with pytest.raises(TypeError, match="positional"):
        C(4.0, "c", 5)
    kinds = {p.name: p.kind for p in inspect.signature(C).parameters.values()}
    assert kinds["x"] is kinds["y"] is inspect.Parameter.KEYWORD_ONLY


def test_a_keyword_only_field_may_be_required():
    @kw.dataclass
    class Config:
        tag: str = kw.field(kw_only=True)
        size: int

    assert Config(3, tag="t") == Config(size=3, tag="t")
    with pytest.raises(TypeError, match="tag"):
        Config(3)


def test_decorator_arguments_pass_through():
    @kw.dataclass(frozen=True)
    class Frozen:
        a: int
        b: int = kw.field(default=0, kw_only=True)

    with pytest.raises(dataclasses.FrozenInstanceError):
        Frozen(1).a = 2  # type: ignore[misc]


def test_class_variables_after_the_marker_stay_class_variables():
    @kw.dataclass
    class WithClassVar:
        _: kw.KW_ONLY
        count: ClassVar[int] = 3
        a: int = 1

    assert [f.name for f in dataclasses.fields(WithClassVar)] == ["a"]
    assert WithClassVar.count == 3


def test_extra_fields_come_last_and_bases_are_restored():
    @kw.dataclass
    class Base:
        a: int = kw.field(default=0, kw_only=True)

    extra = [("tag", str, dataclasses.field(default="", kw_only=True))]

    @kw.dataclass(extra_fields=extra)
    class Child(Base):
        b: int

    assert [f.name for f in dataclasses.fields(Child)] == ["b", "a", "tag"]
    assert [f.name for f in dataclasses.fields(Base)] == ["a"]


def test_module_fields_end_with_parent_and_name():
    class Block(nn.Module):
        features: int
        scale: float = nn.kw_only_dataclasses.field(default=1.0, kw_only=True)

    class Wider(Block):
        extra: int

    assert [f.name for f in dataclasses.fields(Wider)] == [
        "features", "extra", "scale", "parent", "name"]
    assert Wider(2, 3, scale=0.5).scale == 0.5


@pytest.mark.parametrize("bad", [("tag", str, ""), ("tag", str), (1, str, dataclasses.field())])
def test_bad_extra_fields(bad):
    with pytest.raises(TypeError, match=r"extra_fields must be \(name, annotation, "
                       r"dataclasses.Field\) triples"):
        kw.dataclass(type("Bad", (), {}), extra_fields=[bad])


def test_two_markers():
    with pytest.raises(TypeError, match="more than one KW_ONLY marker"):
        kw.dataclass(type("Two", (), {"__annotations__": {"_": kw.KW_ONLY, "__": kw.KW_ONLY}}))
