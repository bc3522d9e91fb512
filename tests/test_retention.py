"""Daily retention: old rows and thumbnails go together, 0 keeps all, failures are contained."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import time

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.home_security_intelligence.store.records import EventRecord
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, wait_for
from .helpers import runtime_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")


async def next_day(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Move frozen time on 24 h so the daily retention job runs."""
    freezer.tick(timedelta(hours=24, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await hass.async_add_executor_job(time.sleep, 0.1)  # the job runs as a background task
    await hass.async_block_till_done()


async def event_row(
    hass: HomeAssistant, entry: MockConfigEntry, event: EventRecord
) -> EventRecord | None:
    """The event as stored now."""
    return await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)


async def test_daily_job_purges_old_rows_and_files(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """After a day the job deletes events older than retention_days with their thumbnails."""
    entry = await setup_entry(retention_days=2)
    now = dt_util.now().replace(microsecond=0)
    old = await stored_event(
        hass, entry, camera_root, "front_door", now - timedelta(days=3), freezer=freezer
    )
    new = await stored_event(
        hass, entry, camera_root, "front_door", now - timedelta(hours=1), 1, freezer
    )
    assert old.thumbnail_path and new.thumbnail_path
    exists = hass.async_add_executor_job

    await next_day(hass, freezer)
    await wait_for(hass, lambda: _gone(hass, entry, old), freezer=freezer)
    assert not await exists(Path(old.thumbnail_path).exists)
    assert await exists(runtime_of(entry).db.detections, old.detection_ids) == []
    assert await event_row(hass, entry, new) is not None
    assert await exists(Path(new.thumbnail_path).exists)
    # The original uploads belong to the user and stay.
    assert await exists(Path(old.thumbnail_path).parent.exists)
    uploads = await exists(lambda: sorted(p.name for p in (camera_root / "front_door").iterdir()))
    assert len(uploads) == 2


async def _gone(hass: HomeAssistant, entry: MockConfigEntry, event: EventRecord) -> bool:
    return await event_row(hass, entry, event) is None


async def test_zero_days_keeps_everything(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """retention_days 0 never deletes, however old the event; a limit set later does."""
    entry = await setup_entry(retention_days=0)
    old = await stored_event(
        hass,
        entry,
        camera_root,
        "front_door",
        dt_util.now() - timedelta(days=400),
        freezer=freezer,
    )
    await next_day(hass, freezer)
    await next_day(hass, freezer)
    assert await event_row(hass, entry, old) is not None
    assert old.thumbnail_path
    assert await hass.async_add_executor_job(Path(old.thumbnail_path).exists)
    # The daily job did run: with a limit, the next one deletes the event.
    hass.config_entries.async_update_entry(entry, options={**entry.options, "retention_days": 1})
    await next_day(hass, freezer)
    await wait_for(hass, lambda: _gone(hass, entry, old), freezer=freezer)


async def test_one_undeletable_thumbnail_does_not_orphan_the_others(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Every other purged thumbnail is deleted even when one of them cannot be."""
    entry = await setup_entry(retention_days=0)
    when = dt_util.now() - timedelta(days=3)
    first = await stored_event(hass, entry, camera_root, "front_door", when)
    second = await stored_event(hass, entry, camera_root, "front_door", when, seed=1)
    assert first.thumbnail_path and second.thumbnail_path
    assert first.thumbnail_path < second.thumbnail_path
    blocked = Path(first.thumbnail_path)

    def make_undeletable() -> None:
        blocked.unlink()
        blocked.mkdir()

    await hass.async_add_executor_job(make_undeletable)
    await runtime_of(entry).pipeline.retention.purge(dt_util.utcnow() - timedelta(days=2))
    assert await event_row(hass, entry, second) is None
    assert not await hass.async_add_executor_job(Path(second.thumbnail_path).exists)
