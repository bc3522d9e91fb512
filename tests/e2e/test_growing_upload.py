"""An upload that pauses longer than the settle time: refused while incomplete, read on close."""

from __future__ import annotations

from pathlib import Path
import time

from freezegun.api import FrozenDateTimeFactory
import pytest

from homeassistant.core import HomeAssistant

from ..conftest import EntryFactory, ledger, make_jpeg, wait_for
from ..contract_servers import DetectorServer

pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_upload_paused_past_the_settle_time_is_read_once_closed(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Half a JPEG, a pause of 4 settle times, the rest, close: the image is processed."""
    entry = await setup_entry()
    cam = camera_root / "front"
    await hass.async_add_executor_job(cam.mkdir)
    data = make_jpeg(seed=4)
    path = cam / "slow.jpg"
    fh = await hass.async_add_executor_job(path.open, "wb")
    try:
        await hass.async_add_executor_job(fh.write, data[: len(data) // 2])
        await hass.async_add_executor_job(fh.flush)
        await wait_for(hass, lambda: "truncated JPEG" in caplog.text, freezer=freezer)
        await hass.async_add_executor_job(time.sleep, 0.3)
        await hass.async_add_executor_job(fh.write, data[len(data) // 2 :])
    finally:
        await hass.async_add_executor_job(fh.close)

    await wait_for(hass, lambda: _done(hass, entry), freezer=freezer)
    assert len(detector.requests) == 1
    assert "Reading" in caplog.text and "again: it changed after it was refused" in caplog.text


async def _done(hass: HomeAssistant, entry: object) -> bool:
    counts = await ledger(hass, entry)  # type: ignore[arg-type]
    return counts == {"done": 1}
