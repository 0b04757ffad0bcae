"""Training: `TrainState`, step builders, the fused `lax.scan` loop, `fit`,
metrics, checkpoints and data parallelism.

```python
from minijax.train import TrainState, make_train_step, fit, checkpoint
```

* `TrainState`: flax's `TrainState` (`create`, `apply_gradients`, `replace`).
* `make_train_step` / `make_eval_step`: the jitted `train_step` pattern
  from a `loss_fn(params, state, batch)`.
* `scan_steps`, `scan_repeat`, `scan_epoch`: many steps in one
  compiled call.
* `fit`: epochs, shuffling, evaluation, progress bar, Ctrl-C safe.
* `minijax.train.metrics`: `Mean`, `Accuracy`, `RunningAverage` pytrees.
* `minijax.train.checkpoint`: atomic, checksummed save/restore of any pytree.
* `minijax.train.parallel`: data parallelism over a device mesh.
* `minijax.train.common_utils`: flax's `onehot` and `stack_forest`.
"""

from minijax.optim import apply_updates
from minijax.train import checkpoint, common_utils, metrics, parallel
from minijax.train.fit import History, NonFiniteLossError, fit
from minijax.train.loop import scan_epoch, scan_repeat, scan_steps
from minijax.train.parallel import (
    data_sharding,
    make_data_mesh,
    replicate,
    replicated_sharding,
    shard_batch,
)
from minijax.train.state import TrainState
from minijax.train.step import eval_step_fn, make_eval_step, make_train_step, train_step_fn

__all__ = [
    "History",
    "NonFiniteLossError",
    "TrainState",
    "apply_updates",
    "checkpoint",
    "common_utils",
    "data_sharding",
    "eval_step_fn",
    "fit",
    "make_data_mesh",
    "make_eval_step",
    "make_train_step",
    "metrics",
    "parallel",
    "replicate",
    "replicated_sharding",
    "scan_epoch",
    "scan_repeat",
    "scan_steps",
    "shard_batch",
    "train_step_fn",
]
