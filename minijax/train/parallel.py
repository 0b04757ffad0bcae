"""Data parallelism with jax's own engine: a mesh, two shardings and a plain `jax.jit`.

Data parallel training copies the state to every device and gives each device a
slice of the batch. In jax that is only a matter of *where the arrays live*:

* a 1-D `jax.sharding.Mesh` of the devices, with one axis named `"data"`;
* the batch sharded along its first axis: `NamedSharding(mesh, P("data"))`;
* the state replicated: `NamedSharding(mesh, P())`.

Then the *unchanged* jitted train step runs on all devices: the compiler (GSPMD)
sees that the loss averages over a sharded axis and inserts the all-reduce of
the gradients itself. minijax writes no communication:

```python
mesh = make_data_mesh()                      # all devices
state = replicate(state, mesh)
for batch in loader:
    state, metrics = train_step(state, shard_batch(batch, mesh))
```

The result equals the single-device step up to float rounding (the sums are
reduced in a different order). The mesh uses `AxisType.Auto` axes, so eager
operations on sharded arrays work without `jax.set_mesh`. On several hosts,
call `jax.distributed.initialize()` first; `shard_batch` then builds
the global batch from each process's local part (see docs/data-parallel.md).
"""

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

__all__ = [
    "DATA_AXIS",
    "data_sharding",
    "make_data_mesh",
    "replicate",
    "replicated_sharding",
    "shard_batch",
]

DATA_AXIS = "data"


def make_data_mesh(
    num_devices: int | None = None,
    *,
    axis_name: str = DATA_AXIS,
    devices: Sequence[jax.Device] | None = None,
) -> Mesh:
    """A 1-D mesh over `num_devices` devices (default: all of them) named `axis_name`.

    `devices` picks the devices explicitly (default: `jax.devices()`, every
    device of every process).

    >>> import jax
    >>> from minijax.train import make_data_mesh
    >>> mesh = make_data_mesh(1)                 # the first device; make_data_mesh(): all
    >>> mesh.axis_names, mesh.shape["data"]
    (('data',), 1)
    >>> make_data_mesh(len(jax.devices()) + 1)
    Traceback (most recent call last):
    ValueError: num_devices=... but there are ... devices (...).
    """
    all_devices = list(devices) if devices is not None else jax.devices()
    n = len(all_devices) if num_devices is None else int(num_devices)
    if not 1 <= n <= len(all_devices):
        raise ValueError(
            f"num_devices={num_devices} but there are {len(all_devices)} devices "
            f"({all_devices[0].platform if all_devices else 'none'})."
        )
    return jax.make_mesh((n,), (axis_name,), axis_types=(AxisType.Auto,), devices=all_devices[:n])


def data_sharding(mesh: Mesh, axis_name: str | None = None) -> NamedSharding:
    """Split the leading (batch) axis over the mesh's data axis: `P("data")`.

    >>> from jax.sharding import PartitionSpec as P
    >>> from minijax.train import data_sharding, make_data_mesh
    >>> data_sharding(make_data_mesh(1)).spec == P("data")
    True
    """
    return NamedSharding(mesh, P(axis_name or mesh.axis_names[0]))  # type: ignore[no-untyped-call]


def replicated_sharding(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of the mesh: `P()`.

    >>> from jax.sharding import PartitionSpec as P
    >>> from minijax.train import make_data_mesh, replicated_sharding
    >>> replicated_sharding(make_data_mesh(1)).spec == P()
    True
    """
    return NamedSharding(mesh, P())  # type: ignore[no-untyped-call]


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Put every array leaf of `tree` (e.g. a `TrainState`) on every device of `mesh`.

    >>> import jax.numpy as jnp
    >>> from minijax.train import make_data_mesh, replicate
    >>> params = replicate({"w": jnp.ones((2, 3))}, make_data_mesh(1))
    >>> params["w"].sharding.is_fully_replicated
    True
    """
    return jax.device_put(tree, replicated_sharding(mesh))


def shard_batch(batch: Any, mesh: Mesh, axis_name: str | None = None) -> Any:
    """Split every leaf of `batch` along its first axis across the mesh's devices.

    The leading size of every leaf must be divisible by the number of devices on
    the axis; otherwise a `ValueError` names the leaf, its size and the device
    count. With several processes (`jax.process_count() > 1`), `batch` is
    this process's part and the global batch is assembled with
    `jax.make_array_from_process_local_data`.

    >>> import jax.numpy as jnp
    >>> from jax.sharding import PartitionSpec as P
    >>> from minijax.train import make_data_mesh, shard_batch
    >>> x, y = shard_batch((jnp.ones((4, 3)), jnp.zeros(4)), make_data_mesh(1))
    >>> x.sharding.spec == P("data"), x.shape
    (True, (4, 3))
    >>> shard_batch(jnp.float32(1.0), make_data_mesh(1))
    Traceback (most recent call last):
    ValueError: batch leaf <batch> is a scalar: it has no batch axis to shard.
    """
    sharding = data_sharding(mesh, axis_name)
    axis = axis_name or mesh.axis_names[0]
    n_dev = mesh.shape[axis]
    multi = jax.process_count() > 1
    n_local = n_dev // jax.process_count() if multi else n_dev
    for path, leaf in jax.tree_util.tree_flatten_with_path(batch)[0]:
        shape = np.shape(leaf)
        name = jax.tree_util.keystr(path) or "<batch>"
        if not shape:
            raise ValueError(f"batch leaf {name} is a scalar: it has no batch axis to shard.")
        if shape[0] % n_local:
            raise ValueError(
                f"batch leaf {name} has {shape[0]} examples, not divisible by the "
                f"{n_local} devices of mesh axis {axis!r} (remainder {shape[0] % n_local}). "
                f"Use a batch size that is a multiple of {n_local} "
                "(e.g. drop_last=True in the loader)."
            )
    if multi:
        return jax.tree.map(
            lambda x: jax.make_array_from_process_local_data(  # type: ignore[no-untyped-call]
                sharding, np.asarray(x)
            ),
            batch,
        )
    return jax.device_put(batch, sharding)
