"""Testing tools: gradient checks against finite differences, Hypothesis strategies,
and device parametrization (CPU and every GPU)."""

from minijax.testing.devices import device_id, gpu_devices, on_device, test_devices

__all__ = ["device_id", "gpu_devices", "on_device", "test_devices"]
