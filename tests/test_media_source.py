"""Media browser: cameras, local days, events and their images, through HA's media_source."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from custom_components.home_security_intelligence.const import DOMAIN
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    Unresolvable,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory
from .contract_servers import DetectorServer, LlmServer
from .helpers import close_batch, drop_and_detect, llm_answer, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")

URI = f"media-source://{DOMAIN}"


async def browse(hass: HomeAssistant, identifier: str) -> list[BrowseMediaSource]:
    """The children of one level, as our source's items."""
    item = await async_browse_media(hass, f"{URI}/{identifier}" if identifier else URI)
    assert item.children is not None
    children = [c for c in item.children if isinstance(c, BrowseMediaSource)]
    assert len(children) == len(item.children)
    return children


def local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A local time `day_offset` days from today."""
    today = dt_util.now().replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today + timedelta(days=day_offset)


async def test_browse_cameras_days_events_images(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each level lists the next one, newest first, with titles, thumbnails and local days."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry(retention_days=0)
    # 23:30 local three days ago is already the next day in UTC (US/Pacific).
    late = local(-3, 23, 30)
    assert dt_util.as_utc(late).date() != late.date()
    llm.script = [llm_answer(40, "medium")]
    late_event = await stored_event(hass, entry, camera_root, "front_door", late)
    llm.script = [llm_answer(10, "low")]
    morning = await stored_event(hass, entry, camera_root, "front_door", local(-1, 8, 5), 1)
    await drop_and_detect(hass, entry, camera_root, "front_door", local(-1, 9, 0), 2)
    await drop_and_detect(hass, entry, camera_root, "front_door", local(-1, 9, 1), 3)
    llm.down = True
    unassessed = await close_batch(hass, entry, "front_door")
    await stored_event(hass, entry, camera_root, "garden", seed=4)

    root = await browse(hass, "")
    assert [(c.identifier, c.title) for c in root] == [
        (f"{entry.entry_id}/front_door", "Front Door"),
        (f"{entry.entry_id}/garden", "Garden"),
    ]
    assert all(c.can_expand and not c.can_play for c in root)

    camera = await browse(hass, f"{entry.entry_id}/front_door")
    days = [late.date() + timedelta(days=2), late.date()]
    assert [c.title for c in camera] == [d.isoformat() for d in days]

    day_id = f"{entry.entry_id}/front_door/{days[0].isoformat()}"
    day = await browse(hass, day_id)
    assert [c.identifier for c in day] == [
        f"{day_id}/{unassessed.id}",
        f"{day_id}/{morning.id}",
    ]
    # Each event folder is titled with the event's own title.
    assert unassessed.title == morning.title == "A person at Front Door"
    assert [c.title for c in day] == [
        f"09:00:00 {unassessed.risk_level} (facts only): A person at Front Door",
        "08:05:00 low: A person at Front Door",
    ]
    thumb = day[0].thumbnail
    assert thumb is not None
    assert thumb.startswith(
        f"/api/{DOMAIN}/{entry.entry_id}/thumbnail/{unassessed.detection_ids[-1]}?authSig="
    )

    old_day = await browse(hass, f"{entry.entry_id}/front_door/{late.date().isoformat()}")
    assert [c.title for c in old_day] == ["23:30:00 medium: A person at Front Door"]
    assert old_day[0].identifier is not None
    assert old_day[0].identifier.endswith(f"/{late_event.id}")

    event_item = await async_browse_media(hass, f"{URI}/{day_id}/{unassessed.id}")
    assert event_item.title == (
        f"09:00:00 {unassessed.risk_level} (facts only): A person at Front Door"
    )
    event = await browse(hass, f"{day_id}/{unassessed.id}")
    assert [c.identifier for c in event] == [
        f"{entry.entry_id}/{kind}/{i}"
        for i in reversed(unassessed.detection_ids)
        for kind in ("image", "annotated", "snapshot")
    ]
    assert [c.title for c in event] == [
        "09:01:00",
        "09:01:00 annotated full size",
        "09:01:00 full snapshot",
        "09:00:00",
        "09:00:00 annotated full size",
        "09:00:00 full snapshot",
    ]
    assert all(c.can_play and c.media_content_type == "image/jpeg" for c in event)

    image_id = unassessed.detection_ids[0]
    played = await async_resolve_media(hass, f"{URI}/{entry.entry_id}/image/{image_id}", None)
    assert played.url == f"/api/{DOMAIN}/{entry.entry_id}/thumbnail/{image_id}"
    assert played.mime_type == "image/jpeg"
    full = await async_resolve_media(hass, f"{URI}/{entry.entry_id}/snapshot/{image_id}", None)
    assert full.url == f"/api/{DOMAIN}/{entry.entry_id}/snapshot/{image_id}"
    assert full.mime_type == "image/jpeg"
    sharp = await async_resolve_media(hass, f"{URI}/{entry.entry_id}/annotated/{image_id}", None)
    assert sharp.url == f"/api/{DOMAIN}/{entry.entry_id}/annotated/{image_id}"
    assert sharp.mime_type == "image/jpeg"
    with pytest.raises(Unresolvable):
        await async_resolve_media(hass, f"{URI}/{entry.entry_id}/snapshot/999999", None)


@pytest.mark.parametrize(
    "identifier",
    [
        "not_an_entry/front_door",
        "{entry}/attic",
        "{entry}/front_door/yesterday",
        "{entry}/front_door/2026-13-01",
        "{entry}/front_door/{day}/999999",
        "{entry}/front_door/{day}/abc",
        "{entry}/garden/{day}/{event}",
        "{entry}/front_door/{day}/{event}/extra",
    ],
)
async def test_bad_identifiers_are_unresolvable(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, identifier: str
) -> None:
    """Unknown entries, cameras, days and events (or another camera's event) are refused."""
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    await stored_event(hass, entry, camera_root, "garden", seed=1)
    day = dt_util.as_local(event.started_at).date().isoformat()
    with pytest.raises((Unresolvable, BrowseError)):
        await async_browse_media(
            hass, f"{URI}/" + identifier.format(entry=entry.entry_id, day=day, event=event.id)
        )


@pytest.mark.parametrize(
    "identifier",
    ["{entry}/image/abc", "{entry}/front_door", "{entry}/thumb/1", "not_an_entry/image/1"],
)
async def test_only_images_resolve(
    hass: HomeAssistant, setup_entry: EntryFactory, identifier: str
) -> None:
    """Folders, non-numeric ids and unknown entries do not resolve to a URL."""
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    with pytest.raises(Unresolvable):
        await async_resolve_media(hass, f"{URI}/" + identifier.format(entry=entry.entry_id), None)


async def test_one_image_per_photo_even_with_several_objects(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
) -> None:
    """Detections of the same photo share a thumbnail, listed once."""
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    detector.objects = [("person", 0.9), ("dog", 0.8)]
    event = await stored_event(hass, entry, camera_root, "front_door")
    assert len(event.detection_ids) == 2
    day = dt_util.as_local(event.started_at).date().isoformat()
    images = await browse(hass, f"{entry.entry_id}/front_door/{day}/{event.id}")
    assert [c.identifier for c in images] == [
        f"{entry.entry_id}/{kind}/{event.detection_ids[-1]}"
        for kind in ("image", "annotated", "snapshot")
    ]
