"""The full soak, driven through pytest so the integration runs in a real test HA."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeassistant.core import HomeAssistant

from .soak_run import SoakConfig, report, run_soak


@pytest.fixture
def soak_config(request: pytest.FixtureRequest) -> SoakConfig:
    """Size the run from the command line."""
    return SoakConfig(
        seconds=request.config.getoption("--soak-seconds"),
        cameras=request.config.getoption("--soak-cameras"),
        rate=request.config.getoption("--soak-rate"),
    )


async def test_soak(
    hass: HomeAssistant,
    tmp_path: Path,
    soak_config: SoakConfig,
    socket_enabled: None,
    request: pytest.FixtureRequest,
) -> None:
    """Faults on a schedule lose nothing and duplicate nothing."""
    result = await run_soak(hass, tmp_path, soak_config)
    lines = report(result)
    print("\n" + "\n".join(lines))  # noqa: T201 - the soak's output
    if target := request.config.getoption("--soak-result"):
        await hass.async_add_executor_job(Path(target).write_text, "\n".join(lines) + "\n")
    assert result.lost == 0, result.line
    assert result.duplicated == 0, result.line
