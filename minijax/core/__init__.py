"""`minijax.core`: the pieces of `flax.core` that user code touches.

`FrozenDict`, `freeze`, `unfreeze`, `copy`, `pop` and `pretty_repr`
(`frozen_dict.py`). The scope and the variable store that flax keeps in
`flax.core.scope` are `minijax.nn.scope`.

>>> from minijax.core import freeze, unfreeze
>>> unfreeze(freeze({"params": {}}))
{'params': {}}
"""

from minijax.core.frozen_dict import FrozenDict, copy, freeze, pop, pretty_repr, unfreeze

__all__ = ["FrozenDict", "copy", "freeze", "pop", "pretty_repr", "unfreeze"]
