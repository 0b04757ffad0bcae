"""minijax: flax.linen, optax and flax's TrainState rebuilt from scratch on JAX.

Import the parts by name, as you would flax and optax:

```python
import minijax.nn as nn          # flax.linen
import minijax.optim as optax    # optax
from minijax.train import TrainState
from minijax import data, losses, random, struct, testing, typing
```

`import minijax` alone imports nothing heavy: each subpackage is a lazy
attribute (PEP 562), imported on first use, so `minijax.nn.Dense` works after a
bare `import minijax` and costs nothing until then.

>>> import minijax
>>> minijax.nn.Dense(3).features
3
>>> minijax.optim.sgd(0.1, momentum=0.9).init({"w": 1.0})[0].trace
{'w': Array(0., dtype=float32, weak_type=True)}
>>> "optim" in dir(minijax)
True
"""

import importlib
import pkgutil
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: The subpackages and modules of minijax, found on disk (so a new one is an attribute
#: without editing this file). `cli` and private modules are not part of the API.
_SUBMODULES = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
)

__all__ = ["__version__", *(name for name in _SUBMODULES if name != "cli")]

if TYPE_CHECKING:  # type checkers see ordinary imports; at run time they are lazy
    from minijax import data as data
    from minijax import losses as losses
    from minijax import nn as nn
    from minijax import optim as optim
    from minijax import random as random
    from minijax import struct as struct
    from minijax import testing as testing
    from minijax import train as train
    from minijax import typing as typing


def __getattr__(name: str) -> types.ModuleType:
    """Import `minijax.<name>` on first access (PEP 562)."""
    if name in _SUBMODULES:
        module = importlib.import_module(f"minijax.{name}")
        globals()[name] = module  # later lookups skip this function
        return module
    raise AttributeError(f"module 'minijax' has no attribute {name!r}{_hint(name)}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _hint(name: str) -> str:
    """Where a name that is not a subpackage lives, e.g. `Dense` -> `minijax.nn.Dense`."""
    for package in ("nn", "optim", "train", "data", "losses", "random", "struct", "typing"):
        module = __getattr__(package)
        if name in getattr(module, "__all__", ()):
            return f"; it is `minijax.{package}.{name}`"
    return f"; the subpackages are {', '.join(n for n in __all__ if n != '__version__')}"
