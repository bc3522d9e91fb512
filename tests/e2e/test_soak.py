"""The soak's short version: faults on a schedule, nothing lost, nothing duplicated."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeassistant.core import HomeAssistant
from soak.soak_run import SoakConfig, report, run_soak

from ..fault_servers import RedisProcess


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_short_soak_loses_and_duplicates_nothing(
    hass: HomeAssistant, tmp_path: Path, socket_enabled: None
) -> None:
    """4 cameras, 3 images/s for 25 s: 5xx, drops, holds, LLM outage, Redis restart, reload."""
    assert RedisProcess.available(), "redis-server is needed (PY314_PACKAGES=redis-server)"
    result = await run_soak(hass, tmp_path, SoakConfig(seconds=25, cameras=4, rate=3.0))
    assert result.images == 75
    assert result.lost == 0, "\n".join(report(result))
    assert result.duplicated == 0, "\n".join(report(result))
    assert result.drained, "\n".join(report(result))
    assert result.detections == result.images
