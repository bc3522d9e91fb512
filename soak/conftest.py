"""Pytest options of the soak; the shared fixtures come from tests/conftest.py."""

from __future__ import annotations

import pytest

from tests import conftest as shared

# The shared fixtures, registered here too (the soak lives outside tests/).
auto_enable_custom_integrations = shared.auto_enable_custom_integrations
hass_config_dir = shared.hass_config_dir
no_blocking_calls = shared.no_blocking_calls


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --soak-seconds, --soak-cameras, --soak-rate and --soak-result."""
    group = parser.getgroup("soak")
    group.addoption("--soak-seconds", type=float, default=150.0, help="upload for N seconds")
    group.addoption("--soak-cameras", type=int, default=4, help="number of camera folders")
    group.addoption("--soak-rate", type=float, default=3.0, help="images per second in all")
    group.addoption("--soak-result", default="", help="write the verdict line to this file")
