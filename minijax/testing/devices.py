"""Run the same test on the CPU and on every GPU that exists.

`jax.devices("gpu")` raises where there is no GPU; `test_devices` wraps
it. `on_device` makes a device the default for a block and, on GPU, pins
float32 matmuls to full float32: since Ampere, XLA uses TF32 (10-bit mantissa)
for float32 matmuls by default, which is far too coarse for gradient checks.
"""

import contextlib
from collections.abc import Iterator

import jax

__all__ = ["device_id", "gpu_devices", "on_device", "test_devices"]


def gpu_devices() -> list[jax.Device]:
    """The GPUs jax can see; an empty list where there are none.

    >>> from minijax.testing import gpu_devices
    >>> all(d.platform == "gpu" for d in gpu_devices())
    True
    """
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:
        return []


def test_devices() -> list[jax.Device]:
    """The first CPU device followed by every GPU.

    >>> from minijax.testing import gpu_devices, test_devices
    >>> devices = test_devices()
    >>> devices[0].platform, len(devices) == 1 + len(gpu_devices())
    ('cpu', True)
    """
    return [jax.devices("cpu")[0], *gpu_devices()]


def device_id(device: jax.Device) -> str:
    """A short name for test ids: `cpu`, `gpu0`, `gpu1`...

    >>> import jax
    >>> from minijax.testing import device_id
    >>> device_id(jax.devices("cpu")[0])
    'cpu'
    """
    return f"{device.platform}{device.id}" if device.platform != "cpu" else "cpu"


@contextlib.contextmanager
def on_device(device: jax.Device) -> Iterator[None]:
    """Make `device` the default device; on GPU, use full-float32 matmuls.

    >>> import jax, jax.numpy as jnp
    >>> from minijax.testing import on_device
    >>> cpu = jax.devices("cpu")[0]
    >>> with on_device(cpu):
    ...     x = jnp.ones(3)
    >>> x.devices() == {cpu}
    True
    """
    precision = "highest" if device.platform != "cpu" else None
    with jax.default_device(device), jax.default_matmul_precision(precision):
        yield
