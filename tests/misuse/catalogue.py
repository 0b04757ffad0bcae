"""The misuse catalogue: mistakes learners and experimenters make, and what minijax says.

Each `Case` runs one mistake. The test (`test_misuse.py`) asserts that it raises
`error` and that the message (with its notes) contains every phrase of `problem`
(what is wrong), `where` (the layer path, parameter or argument) and `fix` (what to
do). `outcome` is "error" (minijax explains it), "debug" (jax semantics make it
undetectable in compiled code; the debug mode named in `reason` catches it) or
"xfail" (not caught yet: a strict xfail whose `reason` says what is missing).
`flax` says what flax/optax do for the same mistake. `tools/safety_table.py` writes
docs/safety.md from this list.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

import minijax.nn as nn
from minijax import optim
from minijax.train import (
    TrainState,
)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    area: str
    mistake: str
    run: Callable[[Path], Any]
    error: type[BaseException] | tuple[type[BaseException], ...]
    problem: tuple[str, ...]
    where: tuple[str, ...]
    fix: tuple[str, ...]
    flax: str
    outcome: str = "error"
    reason: str = ""


CASES: list[Case] = []


def case(
    area: str,
    mistake: str,
    error: Any,
    problem: tuple[str, ...],
    where: tuple[str, ...],
    fix: tuple[str, ...],
    flax: str,
    outcome: str = "error",
    reason: str = "",
) -> Callable[[Callable[[Path], Any]], Callable[[Path], Any]]:
    def register(fn: Callable[[Path], Any]) -> Callable[[Path], Any]:
        CASES.append(
            Case(fn.__name__, area, mistake, fn, error, problem, where, fix, flax, outcome, reason)
        )
        return fn

    return register


KEY = jax.random.key(0)
X = jnp.ones((4, 3))


def init(module: nn.Module, *args: Any, **kwargs: Any) -> Any:
    return module.init({"params": KEY, "dropout": KEY}, *args, **kwargs)


class Model(nn.Module):
    """A two-level model, so that errors name a nested path."""

    inner: nn.Module

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return Block(self.inner, name="block")(x)


class Block(nn.Module):
    layer: nn.Module

    @nn.compact
    def __call__(self, x: Any) -> Any:
        return self.layer(x)


def _state(tx: Any = None) -> TrainState:
    params = {"w": jnp.zeros((3, 1))}
    return TrainState.create(
        apply_fn=lambda v, x: x @ v["params"]["w"], params=params, tx=tx or optim.sgd(0.1)
    )


# The cases, area by area; importing a module registers its cases in CASES.
from . import (  # noqa: E402
    cases_checkpoints,
    cases_layers,
    cases_misc,
    cases_modules,
    cases_optim,
    cases_train,
)

__all__ = [
    "CASES",
    "Case",
    "case",
    "cases_checkpoints",
    "cases_layers",
    "cases_misc",
    "cases_modules",
    "cases_optim",
    "cases_train",
]
