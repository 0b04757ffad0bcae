"""Shared test set-up: the Hypothesis profiles and the ``device`` parametrization.

Profiles: ``ci`` (the default: derandomized, no deadline, few examples, so every
run tests the same cases and jit does not recompile endlessly) and ``thorough``
(more examples, still reproducible). Choose with ``HYPOTHESIS_PROFILE=thorough``.

A test that takes a ``device`` argument runs once on the CPU and once per GPU;
where there is no GPU, a ``gpu`` case is reported as skipped.
"""

import contextlib
import os

import jax
import pytest
from hypothesis import HealthCheck, settings

from minijax.testing import device_id, gpu_devices, on_device, test_devices

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=10,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    derandomize=True,
    deadline=None,
    max_examples=200,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        params = [pytest.param(d, id=device_id(d)) for d in test_devices()]
        if not gpu_devices():
            params.append(
                pytest.param(None, id="gpu", marks=pytest.mark.skip(reason="no GPU here"))
            )
        metafunc.parametrize("device", params)


class _On:
    """A re-enterable ``with on:`` block (Hypothesis runs a test body many times)."""

    def __init__(self, device: jax.Device) -> None:
        self.device = device
        self._stack: list[contextlib.AbstractContextManager[None]] = []

    def __enter__(self) -> None:
        cm = on_device(self.device)
        cm.__enter__()
        self._stack.append(cm)

    def __exit__(self, *exc: object) -> None:
        self._stack.pop().__exit__(*exc)


@pytest.fixture
def on(device: jax.Device) -> _On:
    """Use as ``def test_x(device, on): with on: ...`` to run on the parametrized device."""
    return _On(device)
