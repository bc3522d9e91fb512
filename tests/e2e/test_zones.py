"""Zones and filters through the real pipeline: filtered detections are stored, and go no further."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import (
    DOMAIN,
    EVENT_BATCH_STARTED,
    EVENT_DETECTION,
    EVENT_RISK,
)
from homeassistant.core import HomeAssistant

from ..conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer
from ..helpers import close_batch, entity_id, runtime_of, state_of

pytestmark = pytest.mark.usefixtures("unload_entries")

# The test detector's box fills the middle of the frame: a quarter of its area, standing
# (bottom centre) at x 0.5, y 0.75.


async def _get_events(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "get_events", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def _upload_and_settle(
    hass: HomeAssistant, entry: MockConfigEntry, path: Path, count: int = 1
) -> None:
    await write_file(hass, path, make_jpeg(seed=count))
    await wait_for(hass, lambda: _all_done(hass, entry, count))


async def _all_done(hass: HomeAssistant, entry: MockConfigEntry, count: int) -> bool:
    return await ledger(hass, entry) == {"done": count}


@pytest.mark.parametrize(
    ("zone", "reason"),
    [
        pytest.param({"min_confidence": {"person": 0.95}}, "low_confidence", id="confidence"),
        pytest.param({"min_size": 0.3}, "too_small", id="size"),
        pytest.param({"ignore_areas": [[0, 0.5, 1, 1]]}, "ignore_area", id="area"),
    ],
)
async def test_each_filter_stores_the_detection_as_filtered_and_nothing_follows(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    hass_client: ClientSessionGenerator,
    zone: dict[str, Any],
    reason: str,
) -> None:
    """A filtered person opens no batch, sets no occupancy, fires nothing; include_filtered shows it."""
    entry = await setup_entry(zones={"lawn": zone})
    runtime = runtime_of(entry)
    fired = [async_capture_events(hass, e) for e in (EVENT_DETECTION, EVENT_BATCH_STARTED)]
    await _upload_and_settle(hass, entry, camera_root / "lawn" / "snap.jpg")

    assert len(detector.requests) == 1
    [stored] = await hass.async_add_executor_job(runtime.db.detections, [1])
    assert (stored.object_type, stored.filtered, stored.thumbnail_path) == ("person", reason, None)
    assert await hass.async_add_executor_job(runtime.db.unbatched_detections) == {}
    assert await runtime.pipeline.queue.store.open_batches() == []
    assert all(not events for events in fired)
    state = runtime.cameras["lawn"]
    assert state.last_detection is None
    assert state.occupied["person"] is False
    assert (
        state_of(hass, entity_id(hass, "binary_sensor", entry, "lawn_person_occupancy")).state
        == "off"
    )

    assert await _get_events(hass) == {"events": []}
    shown = await _get_events(hass, include_filtered=True)
    assert shown["events"] == []
    [filtered] = shown["filtered"]
    assert (filtered["camera_id"], filtered["object_type"], filtered["filtered"]) == (
        "lawn",
        "person",
        reason,
    )
    assert filtered["confidence"] == 0.92
    assert "/snapshot/" in filtered["snapshot_url"]
    assert filtered["clip_url"] is None
    other = await _get_events(hass, include_filtered=True, cameras=["porch"])
    assert other["filtered"] == []
    client = await hass_client()
    base = f"/api/{DOMAIN}/{entry.entry_id}"
    assert (await client.get(f"{base}/snapshot/{stored.id}")).status == 200
    assert (await client.get(f"{base}/clip/{stored.id}")).status == 404  # a still is no clip

    # After a restart, recovery does not batch the filtered detection either.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert await runtime_of(entry).pipeline.queue.store.open_batches() == []


async def test_counted_and_filtered_side_by_side(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
) -> None:
    """A low-confidence person is filtered while the car in the same frame makes the event.

    The README's street example (0,0,1,0.4 ignores the top 40 %) keeps the car standing
    lower in the frame.
    """
    detector.objects = [("person", 0.55), ("car", 0.9)]
    entry = await setup_entry(
        zones={"drive": {"min_confidence": {"person": 0.6}, "ignore_areas": "0,0,1,0.4"}}
    )
    runtime = runtime_of(entry)
    risk = async_capture_events(hass, EVENT_RISK)
    await _upload_and_settle(hass, entry, camera_root / "drive" / "snap.jpg")
    await wait_for(hass, lambda: runtime.cameras["drive"].last_detection)

    state = runtime.cameras["drive"]
    assert state.last_detection is not None
    assert state.last_detection.objects == ("car",)
    assert state.occupied == {**state.occupied, "vehicle": True, "person": False}
    event = await close_batch(hass, entry, "drive")
    assert event.objects == ("car",)
    assert len(event.detection_ids) == 1
    await wait_for(hass, lambda: risk)
    assert risk[-1].data["objects"] == ["car"]

    shown = await _get_events(hass, include_filtered=True)
    [found] = shown["events"]
    assert [d["object_type"] for d in found["detections"]] == ["car"]
    assert [(d["object_type"], d["filtered"]) for d in shown["filtered"]] == [
        ("person", "low_confidence")
    ]
