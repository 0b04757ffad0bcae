"""Testing tools: gradient checks against finite differences, Hypothesis strategies,
and device parametrization (CPU and every GPU)."""

from minijax.testing.devices import device_id, gpu_devices, on_device, test_devices
from minijax.testing.gradcheck import (
    ForwardModeUnavailableError,
    GradientCheckError,
    X64UnavailableError,
    check_grads,
    default_tolerances,
)

__all__ = [
    "ForwardModeUnavailableError",
    "GradientCheckError",
    "X64UnavailableError",
    "check_grads",
    "default_tolerances",
    "device_id",
    "gpu_devices",
    "on_device",
    "test_devices",
]


def __getattr__(name: str) -> object:
    # `minijax.testing.strategies` needs Hypothesis (a test-only dependency), so it is
    # imported on first use rather than with minijax.testing.
    if name == "strategies":
        import importlib

        return importlib.import_module("minijax.testing.strategies")
    raise AttributeError(f"module 'minijax.testing' has no attribute {name!r}")
