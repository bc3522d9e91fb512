"""Actions driven through HA's service registry against a real pipeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockGroup,
    MockUser,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
    EVENT_RISK,
)
from custom_components.home_security_intelligence.entity import device_identifier
from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.permissions.types import PolicyType
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, Grant, wait_for
from .contract_servers import DetectorServer, LlmServer
from .helpers import (
    close_batch,
    drop_and_detect,
    exception_messages,
    llm_answer,
    runtime_of,
    stored_event,
)

pytestmark = pytest.mark.usefixtures("unload_entries")


async def call(hass: HomeAssistant, service: str, data: dict[str, Any], **kw: Any) -> Any:
    """Call one of the integration's actions and wait for it."""
    return await hass.services.async_call(DOMAIN, service, data, blocking=True, **kw)


async def get_events(hass: HomeAssistant, **data: Any) -> list[dict[str, Any]]:
    """Return the events of `get_events` for these filters."""
    response = await call(hass, "get_events", data, return_response=True)
    events: list[dict[str, Any]] = response["events"]
    return events


async def assert_translated(
    hass: HomeAssistant, err: pytest.ExceptionInfo[HomeAssistantError], key: str
) -> None:
    """The error carries our translation key and en.json has its message."""
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    messages = await exception_messages(hass)
    assert messages[key]["message"]
    assert str(err.value) != key


async def second_entry(
    hass: HomeAssistant, tmp_path: Path, detector: DetectorServer, llm: LlmServer
) -> MockConfigEntry:
    """Set up a second camera root on the same servers."""
    root = tmp_path / "cameras2"
    await hass.async_add_executor_job(root.mkdir)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={CONF_CAMERA_ROOT: str(root), CONF_DETECTOR_URL: detector.url, CONF_LLM_URL: llm.url},
        options={**DEFAULT_OPTIONS, "upload_settle_seconds": 0.2},
        unique_id=str(root),
        title="cameras2",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_get_events_filters(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, llm: LlmServer
) -> None:
    """Cameras, min level, since/until, reviewed and limit select the stored events."""
    entry = await setup_entry()
    now = dt_util.now().replace(microsecond=0)
    llm.script = [llm_answer(72, "high")]
    old = await stored_event(hass, entry, camera_root, "front_door", now - timedelta(hours=2))
    llm.script = [llm_answer(10, "low")]
    mid = await stored_event(hass, entry, camera_root, "garden", now - timedelta(hours=1), 1)
    llm.script = [llm_answer(90, "critical")]
    new = await stored_event(hass, entry, camera_root, "front_door", now, 2)
    await call(hass, "acknowledge", {"event_ids": [old.id], "note": "postman"})

    def ids(events: list[dict[str, Any]]) -> list[int]:
        return [e["event_id"] for e in events]

    everything = await get_events(hass)
    assert ids(everything) == [new.id, mid.id, old.id]
    assert ids(await get_events(hass, cameras=["front_door"])) == [new.id, old.id]
    assert ids(await get_events(hass, min_level="high")) == [new.id, old.id]
    assert ids(await get_events(hass, min_level="critical")) == [new.id]
    assert ids(await get_events(hass, min_level="low")) == [new.id, mid.id, old.id]
    split = (now - timedelta(minutes=90)).isoformat()
    assert ids(await get_events(hass, since=split)) == [new.id, mid.id]
    assert ids(await get_events(hass, until=split)) == [old.id]
    reviewed = await get_events(hass, reviewed=True)
    assert ids(reviewed) == [old.id]
    assert reviewed[0]["reviewed"] is True
    assert reviewed[0]["note"] == "postman"
    assert ids(await get_events(hass, reviewed=False)) == [new.id, mid.id]
    assert ids(await get_events(hass, limit=1)) == [new.id]

    first = everything[0]
    assert first["risk_level"] == "critical"
    assert first["risk_score"] == 90
    assert first["config_entry_id"] == entry.entry_id
    assert first["camera_id"] == "front_door"
    assert len(first["detections"]) == 1
    detection = first["detections"][0]
    assert detection["object_type"] == "person"
    assert detection["id"] == new.detection_ids[0]
    prefix = f"/api/{DOMAIN}/{entry.entry_id}"
    assert detection["thumbnail_url"].startswith(f"{prefix}/thumbnail/{detection['id']}?authSig=")
    assert detection["snapshot_url"].startswith(f"{prefix}/snapshot/{detection['id']}?authSig=")
    assert first["thumbnail_url"].startswith(f"{prefix}/thumbnail/")


async def test_get_events_across_entries(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    tmp_path: Path,
    detector: DetectorServer,
    llm: LlmServer,
) -> None:
    """Without an entry id every loaded entry answers; with one only it does."""
    first = await setup_entry()
    second = await second_entry(hass, tmp_path, detector, llm)
    one = await stored_event(hass, first, camera_root, "porch")
    two = await stored_event(hass, second, tmp_path / "cameras2", "yard", seed=3)

    both = await get_events(hass)
    assert {(e["config_entry_id"], e["event_id"]) for e in both} == {
        (first.entry_id, one.id),
        (second.entry_id, two.id),
    }
    only = await get_events(hass, config_entry_id=second.entry_id)
    assert [(e["config_entry_id"], e["camera_id"]) for e in only] == [(second.entry_id, "yard")]

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "acknowledge", {"event_ids": [one.id]})
    await assert_translated(hass, err, "entry_required")
    await call(hass, "acknowledge", {"event_ids": [one.id], "config_entry_id": first.entry_id})
    assert (await get_events(hass, reviewed=True))[0]["event_id"] == one.id


async def test_unknown_or_missing_entry(hass: HomeAssistant, setup_entry: EntryFactory) -> None:
    """An unknown entry id and no loaded entry are refused with translated errors."""
    entry = await setup_entry()
    with pytest.raises(ServiceValidationError) as err:
        await get_events(hass, config_entry_id="nope")
    await assert_translated(hass, err, "entry_not_loaded")
    assert "nope" in str(err.value)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await get_events(hass)
    await assert_translated(hass, err, "no_entries")
    with pytest.raises(ServiceValidationError) as err:
        await get_events(hass, config_entry_id=entry.entry_id)
    await assert_translated(hass, err, "entry_not_loaded")


async def test_acknowledge_marks_reviewed_and_refuses_unknown_ids(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Known events get reviewed with the note; unknown ids raise a translated error."""
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    await call(hass, "acknowledge", {"event_ids": [event.id], "note": "a neighbour"})
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert (stored.reviewed, stored.note) == (True, "a neighbour")

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "acknowledge", {"event_ids": [event.id, event.id + 100]})
    await assert_translated(hass, err, "unknown_events")
    assert err.value.translation_placeholders == {"found": "1", "asked": "2"}


async def test_analyze_now_closes_the_open_batch(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, llm: LlmServer
) -> None:
    """The open batch is analysed at once; the stored event reaches the bus."""
    entry = await setup_entry()
    events = async_capture_events(hass, EVENT_RISK)
    await drop_and_detect(hass, entry, camera_root, "front_door")
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    assert not llm.prompts
    assert len(await runtime_of(entry).store.open_batches()) == 1

    event = await close_batch(hass, entry, "front_door")
    assert len(event.detection_ids) == 2
    assert event.risk_score == 72
    await wait_for(hass, lambda: events)
    assert events[0].data["event_id"] == event.id
    assert await runtime_of(entry).store.open_batches() == []


async def test_analyze_now_refuses_unknown_camera_and_no_open_batch(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """An unknown camera and a camera without an open batch are validation errors."""
    entry = await setup_entry()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "analyze_now", {"camera": "attic"})
    await assert_translated(hass, err, "unknown_camera")
    assert "attic" in str(err.value)

    await stored_event(hass, entry, camera_root, "front_door")
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "analyze_now", {"camera": "front_door"})
    await assert_translated(hass, err, "no_open_batch")


async def test_reanalyze_updates_event_and_fires_again(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, llm: LlmServer
) -> None:
    """A new LLM answer replaces the stored risk; the bus event fires again."""
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    assert event.risk_level == "high"
    events = async_capture_events(hass, EVENT_RISK)
    llm.content = llm_answer(15, "low", "A person walked past the door.")

    response = await call(hass, "reanalyze", {"event_id": event.id}, return_response=True)
    assert response["event_id"] == event.id
    assert (response["risk_score"], response["risk_level"]) == (15, "low")
    assert response["summary"] == response["llm_summary"] == "A person walked past the door."
    assert [e.data["risk_score"] for e in events] == [15]
    assert events[0].data["event_id"] == event.id
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert (stored.risk_score, stored.risk_level) == (15, "low")


async def test_reanalyze_errors(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, llm: LlmServer
) -> None:
    """A failing LLM is a HomeAssistantError; an unknown event a validation error."""
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    llm.down = True
    with pytest.raises(HomeAssistantError) as err:
        await call(hass, "reanalyze", {"event_id": event.id})
    assert not isinstance(err.value, ServiceValidationError)
    await assert_translated(hass, err, "llm_failed")
    assert "503" in str(err.value)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert stored.risk_score == 72

    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "reanalyze", {"event_id": event.id + 100})
    await assert_translated(hass, err, "unknown_event")


async def test_purge_removes_rows_and_files_together(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Old events go with their detections, images and thumbnails; 0 days takes the rest."""
    entry = await setup_entry(retention_days=0)
    runtime = runtime_of(entry)
    now = dt_util.now().replace(microsecond=0)
    old = await stored_event(hass, entry, camera_root, "front_door", now - timedelta(days=3))
    new = await stored_event(hass, entry, camera_root, "front_door", now - timedelta(hours=1), 1)
    assert old.thumbnail_path and new.thumbnail_path
    exists = hass.async_add_executor_job

    response = await call(hass, "purge", {"older_than_days": 2}, return_response=True)
    assert response == {"events": 1, "detections": 1, "images": 1, "files": 1}
    assert not await exists(Path(old.thumbnail_path).exists)
    assert await exists(Path(new.thumbnail_path).exists)
    assert await exists(runtime.db.event, old.id) is None
    assert await exists(runtime.db.event, new.id) is not None
    assert await exists(runtime.db.detections, old.detection_ids) == []

    response = await call(hass, "purge", {"older_than_days": 0}, return_response=True)
    assert response == {"events": 1, "detections": 1, "images": 1, "files": 1}
    assert not await exists(Path(new.thumbnail_path).exists)
    stats = await exists(runtime.db.stats)
    assert stats == {
        "cameras": 1,
        "images": 0,
        "detections": 0,
        "events": 0,
    }, (stats, await exists(runtime.db.image_counts))
    assert await get_events(hass) == []


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"since": "0001-01-01"}, "date_out_of_range"),
        ({"since": "0001-01-01T00:00:00"}, "date_out_of_range"),
        ({"until": "1969-12-31T23:59:59"}, "date_out_of_range"),
        ({"until": "9999-12-31T23:59:59+14:00"}, "date_out_of_range"),
        ({"cameras": [f"cam{i}" for i in range(101)]}, "too_many_items"),
    ],
)
async def test_get_events_refuses_absurd_dates_and_lists(
    hass: HomeAssistant, setup_entry: EntryFactory, data: dict[str, Any], key: str
) -> None:
    """Dates outside 1970-2999 and oversized lists are translated validation errors."""
    await setup_entry()
    with pytest.raises(ServiceValidationError) as err:
        await get_events(hass, **data)
    await assert_translated(hass, err, key)


async def test_get_events_accepts_dates_at_the_bounds(
    hass: HomeAssistant, setup_entry: EntryFactory
) -> None:
    """1970-01-01 and 2999-12-31 are fine."""
    await setup_entry()
    assert await get_events(hass, since="1970-01-01T00:00:00", until="2999-12-31T00:00:00") == []


@pytest.mark.parametrize(
    ("service", "data", "key"),
    [
        ("acknowledge", {"event_ids": list(range(1, 1002))}, "too_many_items"),
        ("acknowledge", {"event_ids": list(range(1, 300_001))}, "too_many_items"),
        ("acknowledge", {"event_ids": [2**63]}, "event_id_out_of_range"),
        ("acknowledge", {"event_ids": [1, 10**400]}, "event_id_out_of_range"),
        ("acknowledge", {"event_ids": ["9" * 5000]}, "event_id_out_of_range"),
        ("acknowledge", {"event_ids": [0]}, "event_id_out_of_range"),
        ("acknowledge", {"event_ids": ["-1"]}, "event_id_out_of_range"),
        ("reanalyze", {"event_id": 2**63}, "event_id_out_of_range"),
        ("reanalyze", {"event_id": -5}, "event_id_out_of_range"),
    ],
)
async def test_event_ids_and_lists_are_bounded(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    """Too many ids, or ids outside SQLite's 1..2**63-1, are translated validation errors."""
    await setup_entry()
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data)
    await assert_translated(hass, err, key)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, "\u0661", "1.5", [1]])
async def test_event_ids_that_are_not_numbers_are_invalid(
    hass: HomeAssistant, setup_entry: EntryFactory, value: Any
) -> None:
    """Non-numbers (and non-ASCII digits) are schema errors, never OverflowError."""
    await setup_entry()
    with pytest.raises(probatio.Invalid):
        await call(hass, "reanalyze", {"event_id": value})


async def member(hass: HomeAssistant, policy: PolicyType | None = None) -> MockUser:
    """A non-admin household member (HA's users group, or a group with `policy`)."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    if policy is not None:
        group = MockGroup(name="limited")
        group.policy = policy
        group.add_to_hass(hass)
    assert group is not None
    return MockUser(name="member", groups=[group]).add_to_hass(hass)


async def token_of(hass: HomeAssistant, user: MockUser) -> str:
    """An access token of `user`."""
    refresh = await hass.auth.async_create_refresh_token(user, "https://example.com/app")
    return hass.auth.async_create_access_token(refresh)


async def camera_entity_ids(hass: HomeAssistant, entry: MockConfigEntry, camera: str) -> list[str]:
    """The entity ids of one camera's device."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, device_identifier(entry.entry_id, camera)), entry.entry_id
    )
    assert device is not None
    return [e.entity_id for e in er.async_entries_for_device(er.async_get(hass), device.id)]


async def test_member_may_acknowledge_and_analyze_but_not_purge_or_reanalyze(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """A non-admin with control of the camera acknowledges; purge and reanalyze are admin-only."""
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    user = await member(hass)
    context = Context(user_id=user.id)

    await call(hass, "acknowledge", {"event_ids": [event.id]}, context=context)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert stored.reviewed
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    await call(hass, "analyze_now", {"camera": "front_door"}, context=context)

    with pytest.raises(Unauthorized):
        await call(hass, "purge", {"older_than_days": 0}, context=context, return_response=True)
    with pytest.raises(Unauthorized):
        await call(hass, "reanalyze", {"event_id": event.id}, context=context)
    assert await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)


async def test_read_only_user_may_not_acknowledge_or_analyze(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_read_only_user: MockUser,
) -> None:
    """HA's read-only group lacks control of the camera's entities: Unauthorized, nothing changed."""
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    context = Context(user_id=hass_read_only_user.id)

    with pytest.raises(Unauthorized):
        await call(hass, "acknowledge", {"event_ids": [event.id]}, context=context)
    with pytest.raises(Unauthorized):
        await call(hass, "analyze_now", {"camera": "front_door"}, context=context)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert not stored.reviewed
    assert len(await runtime_of(entry).store.open_batches()) == 1


async def test_control_is_checked_per_camera(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """A user who controls only the front door's entities cannot act on the garage."""
    entry = await setup_entry()
    front = await stored_event(hass, entry, camera_root, "front_door")
    garage = await stored_event(hass, entry, camera_root, "garage", seed=1)
    allowed = await camera_entity_ids(hass, entry, "front_door")
    assert allowed
    user = await member(hass, {"entities": {"entity_ids": dict.fromkeys(allowed, True)}})
    context = Context(user_id=user.id)

    await call(hass, "acknowledge", {"event_ids": [front.id]}, context=context)
    with pytest.raises(Unauthorized):
        await call(hass, "acknowledge", {"event_ids": [front.id, garage.id]}, context=context)
    await drop_and_detect(hass, entry, camera_root, "garage", seed=2)
    with pytest.raises(Unauthorized):
        await call(hass, "analyze_now", {"camera": "garage"}, context=context)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, garage.id)
    assert stored is not None
    assert not stored.reviewed


async def test_purge_over_websocket_and_rest_needs_an_admin(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    """A non-admin's purge over the websocket or REST is refused and deletes nothing."""
    assert await async_setup_component(hass, "api", {})
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    tokens = [hass_read_only_access_token, await token_of(hass, await member(hass))]
    for token in tokens:
        ws = await hass_ws_client(hass, token)
        await ws.send_json_auto_id(
            {
                "type": "call_service",
                "domain": DOMAIN,
                "service": "purge",
                "service_data": {"older_than_days": 0},
                "return_response": True,
            }
        )
        answer = await ws.receive_json()
        assert not answer["success"]
        assert answer["error"]["message"] == "Unauthorized"
        client = await hass_client(token)
        response = await client.post(f"/api/services/{DOMAIN}/purge", json={"older_than_days": 0})
        assert response.status == 401
    assert await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)


async def test_analyze_now_while_redis_refuses_is_a_translated_error(
    hass: HomeAssistant, setup_entry: EntryFactory, redis_user: tuple[str, Grant]
) -> None:
    """With the batch store refusing, analyze_now says so in words, not a raw store error."""
    url, grant = redis_user
    entry = await setup_entry(redis=url)
    await runtime_of(entry).cameras.add("front_door")
    await grant(["-@all"])
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "analyze_now", {"camera": "front_door"}, blocking=True
        )
    assert err.value.translation_key == "redis_unreachable"
    assert not isinstance(err.value, ServiceValidationError)
