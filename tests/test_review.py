"""Review: the events calendar, the Unreviewed events sensors and the acknowledge button."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import DOMAIN
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, wait_for
from .contract_servers import LlmServer
from .helpers import entity_id, llm_answer, runtime_of, state_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")


def count_of(hass: HomeAssistant, entity: str) -> int:
    """A count sensor's state as a number."""
    return int(state_of(hass, entity).state)


async def acknowledge(hass: HomeAssistant, ids: list[int], **kw: Any) -> None:
    """Call the acknowledge action."""
    await hass.services.async_call(DOMAIN, "acknowledge", {"event_ids": ids}, blocking=True, **kw)


async def test_calendar_lists_events_in_a_range(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """calendar.get_events and /api/calendars return the events overlapping the range."""
    entry = await setup_entry()
    now = dt_util.now().replace(microsecond=0)
    llm.script = [llm_answer(72, "high", "A person lingered at the door.")]
    early = await stored_event(hass, entry, camera_root, "front_door", now - timedelta(hours=3))
    llm.script = [llm_answer(10, "low", "Only the cat.")]
    late = await stored_event(hass, entry, camera_root, "garage", now - timedelta(hours=1), seed=1)
    assert early.started_at < late.started_at
    calendar = entity_id(hass, "calendar", entry, "events")

    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": calendar,
            "start_date_time": now - timedelta(hours=4),
            "end_date_time": now - timedelta(hours=2),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    items: Any = response[calendar]
    assert len(items["events"]) == 1
    item = items["events"][0]
    # The calendar shows the event's stored title (the same on every surface).
    assert item["summary"] == early.title == "A person at Front Door"
    assert dt_util.parse_datetime(item["start"]) == early.started_at
    assert dt_util.parse_datetime(item["end"]) == early.ended_at
    assert item["location"] == "Front Door"
    description = item["description"]
    assert "Level: high (score 72)" in description
    assert "A person lingered at the door." in description
    assert f"/api/home_security_intelligence/{entry.entry_id}/snapshot/" in description
    assert "authSig=" in description

    client = await hass_client()
    answer = await client.get(
        f"/api/calendars/{calendar}",
        params={
            "start": (now - timedelta(hours=5)).isoformat(),
            "end": now.isoformat(),
        },
    )
    assert answer.status == 200
    listed = await answer.json()
    assert [i["summary"] for i in listed] == ["A person at Front Door", "A person at Garage"]
    assert "Level: low (score 10)" in listed[1]["description"]
    assert listed[1]["uid"] == f"{entry.entry_id}_{late.id}"
    # The image link in the description loads without a login (signed).
    link = next(
        line.removeprefix("Image: ")
        for line in listed[1]["description"].splitlines()
        if line.startswith("Image: ")
    )
    image = await (await hass_client_no_auth()).get(link)
    assert image.status == 200
    assert (await image.read())[:2] == b"\xff\xd8"

    # Nothing in a range before the events; the entity shows the newest event.
    empty = await client.get(
        f"/api/calendars/{calendar}",
        params={
            "start": (now - timedelta(days=2)).isoformat(),
            "end": (now - timedelta(days=1)).isoformat(),
        },
    )
    assert await empty.json() == []
    assert state_of(hass, calendar).attributes["message"] == late.title == "A person at Garage"


async def test_unreviewed_counts_go_down_on_acknowledge_and_the_button(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Per camera and per entry; the button acknowledges the newest unreviewed event."""
    entry = await setup_entry()
    first = await stored_event(hass, entry, camera_root, "front_door")
    second = await stored_event(hass, entry, camera_root, "front_door", seed=1)
    await stored_event(hass, entry, camera_root, "garage", seed=2)
    front = entity_id(hass, "sensor", entry, "front_door_unreviewed_events")
    garage = entity_id(hass, "sensor", entry, "garage_unreviewed_events")
    total = entity_id(hass, "sensor", entry, "unreviewed_events")
    await wait_for(hass, lambda: count_of(hass, total) == 3)
    assert (count_of(hass, front), count_of(hass, garage)) == (2, 1)
    listed = state_of(hass, front).attributes["events"]
    assert [e["event_id"] for e in listed] == [second.id, first.id]
    assert "authSig=" in listed[0]["thumbnail_url"]

    await acknowledge(hass, [first.id])
    assert (count_of(hass, front), count_of(hass, total)) == (1, 2)
    assert [e["event_id"] for e in state_of(hass, front).attributes["events"]] == [second.id]

    button = entity_id(hass, "button", entry, "front_door_acknowledge_latest")
    await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    assert (count_of(hass, front), count_of(hass, garage), count_of(hass, total)) == (0, 1, 1)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, second.id)
    assert stored is not None
    assert stored.reviewed
    assert state_of(hass, front).attributes["events"] == []

    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    assert err.value.translation_key == "nothing_to_acknowledge"

    # A new event counts again.
    await stored_event(hass, entry, camera_root, "front_door", seed=3)
    await wait_for(hass, lambda: count_of(hass, total) == 2)
    assert count_of(hass, front) == 1


async def test_counts_survive_a_restart_and_the_button_needs_control(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_read_only_user: MockUser,
) -> None:
    """Counts are read from the database at start; a read-only user's press is refused."""
    entry = await setup_entry()
    await stored_event(hass, entry, camera_root, "front_door")
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    front = entity_id(hass, "sensor", entry, "front_door_unreviewed_events")
    assert count_of(hass, front) == 1
    button = entity_id(hass, "button", entry, "front_door_acknowledge_latest")
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "button",
            "press",
            {"entity_id": button},
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert count_of(hass, front) == 1


async def test_purge_updates_the_counts(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Purged unreviewed events no longer count."""
    entry: MockConfigEntry = await setup_entry()
    await stored_event(hass, entry, camera_root, "front_door")
    total = entity_id(hass, "sensor", entry, "unreviewed_events")
    await wait_for(hass, lambda: count_of(hass, total) == 1)
    await hass.services.async_call(
        DOMAIN, "purge", {"older_than_days": 0}, blocking=True, return_response=True
    )
    assert count_of(hass, total) == 0
