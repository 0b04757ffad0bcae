"""minijax's global switches (in flax: `flax.config`).

* `preserve_adopted_names` (default False): a module passed in from outside keeps
  the `name=` it was constructed with when a parent adopts it, instead of taking
  the attribute's name. A module class can decide for itself with a class
  attribute `preserve_adopted_names = True / False`.
* `return_frozendict` (default False): `init` and `apply` return `FrozenDict`s
  instead of plain dicts (flax's behaviour before 0.7).

Set them with `minijax.config.update(name, value)`; flax's spelling
(`"flax_preserve_adopted_names"`) is accepted too, for code written against flax.

>>> from minijax import config
>>> config.update("preserve_adopted_names", True)
>>> config.preserve_adopted_names, config.flax_preserve_adopted_names
(True, True)
>>> config.update("preserve_adopted_names", False)
"""

from typing import Any

__all__ = ["preserve_adopted_names", "return_frozendict", "update"]

preserve_adopted_names = False
return_frozendict = False

_SWITCHES = ("preserve_adopted_names", "return_frozendict")


def update(name: str, value: bool) -> None:
    """Set switch `name` (with or without flax's `flax_` prefix) to `value`.

    Raises:
        ValueError: there is no such switch.

    >>> update("return_frozendict", False)
    """
    switch = name.removeprefix("flax_")
    if switch not in _SWITCHES:
        raise ValueError(f"minijax.config has no switch {name!r}; the switches: {_SWITCHES}.")
    globals()[switch] = bool(value)


def __getattr__(name: str) -> Any:
    """flax's spelling of a switch: `config.flax_return_frozendict`."""
    if name.startswith("flax_") and name[5:] in _SWITCHES:
        return globals()[name[5:]]
    raise AttributeError(f"module 'minijax.config' has no attribute {name!r}")
