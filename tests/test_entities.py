"""Entity states and bus events from a real pipeline: fast occupancy, then risk."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
import io
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.home_security_intelligence import risk_analysis
from custom_components.home_security_intelligence.const import DOMAIN, EVENT_DETECTION, EVENT_RISK
from custom_components.home_security_intelligence.event import RiskEventEntity
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from custom_components.home_security_intelligence.sensor import CameraSensor, RiskSensor
from homeassistant.components.camera import async_get_image
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, Grant, make_jpeg, wait_for, write_file
from .contract_servers import DetectorServer, LlmServer
from .helpers import (
    close_batch,
    drop_and_detect,
    entity_id,
    foscam_name,
    llm_answer,
    runtime_of,
    state_of,
    stored_event,
)

pytestmark = pytest.mark.usefixtures("unload_entries")


@pytest.fixture
def fast_llm_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """One immediate retry instead of 5/15/30 s."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))


async def test_occupancy_on_at_detection_off_after_quiet_time(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Person, vehicle and animal turn on before the batch closes and off after the quiet time."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    entry = await setup_entry(occupancy_timeout_seconds=10)
    detector.objects = [("person", 0.9), ("car", 0.8), ("dog", 0.7)]
    occupancy = {
        group: entity_id(hass, "binary_sensor", entry, f"front_door_{group}_occupancy")
        for group in ("person", "vehicle", "animal")
    }
    assert {state_of(hass, e).state for e in occupancy.values()} == {STATE_OFF}

    await drop_and_detect(hass, entry, camera_root, "front_door", freezer=freezer)
    assert {state_of(hass, e).state for e in occupancy.values()} == {STATE_ON}
    assert not llm.prompts
    assert len(await runtime_of(entry).store.open_batches()) == 1

    detector.objects = [("person", 0.95)]
    freezer.tick(timedelta(seconds=6))
    async_fire_time_changed(hass)
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, occupancy["vehicle"]).state == STATE_OFF
    assert state_of(hass, occupancy["animal"]).state == STATE_OFF
    assert state_of(hass, occupancy["person"]).state == STATE_ON

    freezer.tick(timedelta(seconds=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, occupancy["person"]).state == STATE_OFF
    assert not llm.prompts


async def test_camera_shows_newest_thumbnail(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """The camera entity has no image before a detection, then the newest thumbnail."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    entry = await setup_entry()
    camera = entity_id(hass, "camera", entry, "front_door_snapshot")
    with pytest.raises(HomeAssistantError):
        await async_get_image(hass, camera)
    await drop_and_detect(hass, entry, camera_root, "front_door")
    first = await async_get_image(hass, camera)
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=40)
    image = await async_get_image(hass, camera)
    assert image.content_type == "image/jpeg"
    assert image.content != first.content
    thumbnail = runtime_of(entry).cameras["front_door"].latest_thumbnail
    assert thumbnail is not None
    assert image.content == await hass.async_add_executor_job(Path(thumbnail).read_bytes)


async def test_camera_renders_the_size_asked_for(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """With a size the camera draws the newest frame to fit it, never above the original."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    entry = await setup_entry()
    camera = entity_id(hass, "camera", entry, "front_door_snapshot")
    await drop_and_detect(hass, entry, camera_root, "front_door")
    sizes = {}
    for width, height in ((1920, 1080), (480, 480), (200, None), (None, 120)):
        image = await async_get_image(hass, camera, width=width, height=height)
        assert image.content_type == "image/jpeg"
        with Image.open(io.BytesIO(image.content)) as frame:
            sizes[width, height] = frame.size
    assert sizes == {
        (1920, 1080): (640, 480),
        (480, 480): (480, 360),
        (200, None): (200, 150),
        (None, 120): (160, 120),
    }
    again = await async_get_image(hass, camera, width=480, height=480)
    assert (await async_get_image(hass, camera, width=480, height=480)).content == again.content
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=40)
    newer = await async_get_image(hass, camera, width=480, height=480)
    assert newer.content != again.content


async def test_camera_draws_a_missing_thumbnail_again(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Without a size, a thumbnail file not drawn yet (or gone) is drawn and kept."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    entry = await setup_entry()
    camera = entity_id(hass, "camera", entry, "front_door_snapshot")
    await drop_and_detect(hass, entry, camera_root, "front_door")
    first = await async_get_image(hass, camera)
    thumbnail = Path(runtime_of(entry).cameras["front_door"].latest_thumbnail or "")
    await hass.async_add_executor_job(thumbnail.unlink)

    again = await async_get_image(hass, camera)

    assert again.content == first.content
    assert await hass.async_add_executor_job(thumbnail.read_bytes) == first.content


async def test_last_detection_sensor(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, detector: DetectorServer
) -> None:
    """The sensor shows the capture time with the objects, confidence and ids."""
    entry = await setup_entry()
    events = async_capture_events(hass, EVENT_DETECTION)
    when = dt_util.now().replace(microsecond=0) - timedelta(minutes=3)
    detector.objects = [("person", 0.81), ("dog", 0.66)]
    await drop_and_detect(hass, entry, camera_root, "front_door", when)
    state = state_of(hass, entity_id(hass, "sensor", entry, "front_door_last_detection"))
    assert datetime.fromisoformat(state.state) == when
    assert state.attributes["objects"] == ["dog", "person"]
    assert state.attributes["confidence"] == 0.81
    assert state.attributes["detection_ids"] == events[0].data["detection_ids"]
    assert len(state.attributes["detection_ids"]) == 2
    assert state.attributes["device_class"] == "timestamp"


@pytest.mark.usefixtures("fast_llm_retries")
async def test_risk_sensors_and_event_entity(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path, llm: LlmServer
) -> None:
    """Unknown before any event and after an unassessed one; the event fires only when assessed."""
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "front_door")
    score = entity_id(hass, "sensor", entry, "front_door_risk_score")
    level = entity_id(hass, "sensor", entry, "front_door_risk_level")
    event_entity = entity_id(hass, "event", entry, "front_door_risk_event")
    assert state_of(hass, score).state == STATE_UNKNOWN
    assert state_of(hass, level).state == STATE_UNKNOWN
    assert state_of(hass, event_entity).state == STATE_UNKNOWN
    fired: list[Event[Any]] = []
    hass.bus.async_listen(
        "state_changed",
        lambda e: fired.append(e) if e.data["entity_id"] == event_entity else None,
    )

    llm.script = [llm_answer(88, "critical", "Someone tried the door handle.")]
    first = await close_batch(hass, entry, "front_door")
    assert state_of(hass, score).state == "88"
    assert state_of(hass, level).state == "critical"
    attrs = state_of(hass, score).attributes
    assert attrs["event_id"] == first.id
    assert attrs["summary"] == "Someone tried the door handle."
    assert attrs["analysis_status"] == "analyzed"
    assert len(fired) == 1
    event_state = state_of(hass, event_entity)
    assert event_state.attributes["event_type"] == "critical"
    assert event_state.attributes["event_id"] == first.id
    assert event_state.attributes["summary"] == "Someone tried the door handle."

    llm.down = True
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    unassessed = await close_batch(hass, entry, "front_door")
    assert unassessed.analysis_status == "prior_only"
    assert len(llm.prompts) == 3  # one answer, then two attempts while down
    assert unassessed.breakdown is not None
    assert unassessed.risk_score == unassessed.breakdown.prior_score
    assert state_of(hass, score).state == str(unassessed.risk_score)
    assert state_of(hass, level).state == unassessed.risk_level
    assert state_of(hass, score).attributes["analysis_status"] == "prior_only"
    assert state_of(hass, score).attributes["event_id"] == unassessed.id
    assert len(fired) == 2
    assert state_of(hass, event_entity).attributes["event_id"] == unassessed.id
    assert state_of(hass, event_entity).attributes["analysis_status"] == "prior_only"

    llm.down = False
    llm.content = llm_answer(20, "low")
    second = await stored_event(hass, entry, camera_root, "front_door", seed=2)
    assert len(fired) == 3
    assert state_of(hass, event_entity).attributes["event_type"] == "low"
    assert state_of(hass, event_entity).attributes["event_id"] == second.id


async def test_hub_sensors_follow_the_queue_and_batches(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Images waiting counts held uploads; batches open counts open batches."""
    entry = await setup_entry()
    waiting = entity_id(hass, "sensor", entry, "images_waiting")
    batches = entity_id(hass, "sensor", entry, "batches_open")
    assert state_of(hass, waiting).state == "0"
    assert state_of(hass, batches).state == "0"

    detector.hold = asyncio.Event()
    now = dt_util.now()
    for seed in range(6):
        await write_file(hass, camera_root / "front_door" / foscam_name(now, seed), make_jpeg())
    await wait_for(hass, lambda: state_of(hass, waiting).state == "6", freezer=freezer)
    detector.hold.set()
    detector.hold = None
    await wait_for(
        hass,
        lambda: (state_of(hass, waiting).state, state_of(hass, batches).state) == ("0", "1"),
        freezer=freezer,
    )
    await hass.services.async_call(
        "home_security_intelligence", "analyze_now", {"camera": "front_door"}, blocking=True
    )
    await wait_for(hass, lambda: state_of(hass, batches).state == "0", freezer=freezer)


@pytest.mark.usefixtures("fast_llm_retries")
async def test_connectivity_sensors_follow_outages(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
) -> None:
    """Detector and LLM connectivity go off on failures and on again when they answer."""
    entry = await setup_entry()
    sensors = {
        name: entity_id(hass, "binary_sensor", entry, f"{name}_connected")
        for name in ("detector", "llm", "store")
    }
    assert {state_of(hass, e).state for e in sensors.values()} == {STATE_ON}
    history: list[tuple[str, str]] = []

    def follow(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is not None and event.data["entity_id"] in sensors.values():
            history.append((event.data["entity_id"], new.state))

    hass.bus.async_listen("state_changed", follow)

    detector.script = ["500"]
    await drop_and_detect(hass, entry, camera_root, "front_door")
    assert history == [(sensors["detector"], STATE_OFF), (sensors["detector"], STATE_ON)]

    llm.down = True
    await close_batch(hass, entry, "front_door")
    assert state_of(hass, sensors["llm"]).state == STATE_OFF
    llm.down = False
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    await close_batch(hass, entry, "front_door")
    assert state_of(hass, sensors["llm"]).state == STATE_ON
    assert history[2:] == [(sensors["llm"], STATE_OFF), (sensors["llm"], STATE_ON)]
    assert state_of(hass, sensors["store"]).state == STATE_ON


async def test_bus_events_carry_documented_fields(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Detection events mark the first of a batch and the previous batch's start."""
    entry = await setup_entry()
    detections = async_capture_events(hass, EVENT_DETECTION)
    risks = async_capture_events(hass, EVENT_RISK)
    when = dt_util.now().replace(microsecond=0)
    await drop_and_detect(hass, entry, camera_root, "front_door", when)
    await drop_and_detect(hass, entry, camera_root, "front_door", when, seed=1)
    first_batch_started = runtime_of(entry).cameras["front_door"].batch_started_at
    event = await close_batch(hass, entry, "front_door")
    await drop_and_detect(hass, entry, camera_root, "front_door", when, seed=2)

    first, second, third = (e.data for e in detections)
    assert set(first) == {
        "camera_id",
        "camera_name",
        "device_id",
        "objects",
        "confidence",
        "detection_ids",
        "captured_at",
        "batch_id",
        "first_in_batch",
        "previous_batch_started_at",
        "snoozed",
        "thumbnail_url",
        "snapshot_url",
        "clip_url",
    }
    assert first["clip_url"] is None  # a still
    assert (first["camera_id"], first["camera_name"]) == ("front_door", "Front Door")
    device = dr.async_get(hass).async_get(first["device_id"])
    assert device is not None
    assert (DOMAIN, f"{entry.entry_id}:front_door") in device.identifiers
    assert first["objects"] == ["person"]
    assert first["confidence"] == 0.92
    assert datetime.fromisoformat(first["captured_at"]) == when
    assert first["first_in_batch"] is True
    assert first["previous_batch_started_at"] is None
    assert second["first_in_batch"] is False
    assert second["batch_id"] == first["batch_id"]
    assert second["previous_batch_started_at"] is None
    assert third["first_in_batch"] is True
    assert third["batch_id"] != first["batch_id"]
    assert first_batch_started is not None
    assert third["previous_batch_started_at"] == first_batch_started.isoformat()
    assert first["snapshot_url"].startswith("/api/home_security_intelligence/")

    assert len(risks) == 1
    risk = risks[0].data
    assert {
        "camera_id",
        "camera_name",
        "event_id",
        "risk_score",
        "risk_level",
        "summary",
        "reasoning",
        "objects",
        "started_at",
        "ended_at",
        "analysis_status",
    } <= set(risk)
    assert risk["event_id"] == event.id
    assert (risk["risk_score"], risk["risk_level"], risk["analysis_status"]) == (
        72,
        "high",
        "analyzed",
    )
    assert risk["objects"] == ["person"]
    assert (risk["camera_id"], risk["camera_name"]) == ("front_door", "Front Door")
    assert risk["device_id"] == first["device_id"]
    assert datetime.fromisoformat(risk["started_at"]) == when
    shown = event.detection_ids[-1]
    assert risk["snapshot_url"].startswith(
        f"/api/home_security_intelligence/{entry.entry_id}/snapshot/{shown}?authSig="
    )


async def test_long_texts_are_not_recorded(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Summaries, reasoning, objects and ids stay out of the recorder's attribute table."""
    assert RiskSensor._unrecorded_attributes == frozenset(
        {"summary", "reasoning", "objects", "top_factors"}
    )
    assert RiskEventEntity._unrecorded_attributes == frozenset(
        {"summary", "llm_summary", "reasoning", "objects", "breakdown"}
    )
    assert CameraSensor._unrecorded_attributes == frozenset({"detection_ids"})
    entry = await setup_entry()
    await stored_event(hass, entry, camera_root, "front_door")
    for platform, key, hidden in (
        ("sensor", "front_door_risk_score", {"summary", "reasoning", "objects"}),
        ("sensor", "front_door_risk_level", {"summary", "reasoning", "objects"}),
        ("event", "front_door_risk_event", {"summary", "objects"}),
        ("sensor", "front_door_last_detection", {"detection_ids"}),
    ):
        state = state_of(hass, entity_id(hass, platform, entry, key))
        assert hidden <= set(state.attributes), key
        assert state.state_info is not None
        assert hidden <= state.state_info["unrecorded_attributes"], key


async def test_hub_store_figures_unavailable_while_store_down(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    redis_user: tuple[str, Grant],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Images waiting and batches open show unavailable, not stale figures, while Redis refuses."""
    url, grant = redis_user
    entry = await setup_entry(redis=url)
    waiting = entity_id(hass, "sensor", entry, "images_waiting")
    batches = entity_id(hass, "sensor", entry, "batches_open")
    store = entity_id(hass, "binary_sensor", entry, "store_connected")
    assert (state_of(hass, waiting).state, state_of(hass, batches).state) == ("0", "0")

    await grant(["-@all"])
    await wait_for(hass, lambda: state_of(hass, store).state == STATE_OFF, freezer=freezer)
    assert state_of(hass, waiting).state == STATE_UNAVAILABLE
    assert state_of(hass, batches).state == STATE_UNAVAILABLE

    await grant(["+@all"])
    await wait_for(hass, lambda: state_of(hass, store).state == STATE_ON, freezer=freezer)
    assert (state_of(hass, waiting).state, state_of(hass, batches).state) == ("0", "0")


@pytest.mark.usefixtures("fast_llm_retries")
async def test_unexpected_analysis_error_stores_the_event_prior_only(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug on the LLM path still stores the batch's event, scored from the facts alone."""
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "front_door")

    def broken(*_: Any) -> str:
        raise RuntimeError("prompt bug")

    monkeypatch.setattr(risk_analysis, "build_prompt", broken)
    event = await close_batch(hass, entry, "front_door")

    assert event.analysis_status == "prior_only"
    assert event.breakdown is not None
    assert event.breakdown.llm_score is None
    assert event.risk_score == event.breakdown.prior_score
    assert llm.prompts == []
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None and stored.analysis_status == "prior_only"
    assert (
        await hass.async_add_executor_job(runtime_of(entry).db.batches_without_event, set()) == []
    )


async def test_camera_entity_uses_its_translated_name(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """The camera entity is named by its translation ("Snapshot"), not after the device alone."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    entry = await setup_entry()

    camera = entity_id(hass, "camera", entry, "front_door_snapshot")

    assert camera == "camera.front_door_snapshot"
    assert state_of(hass, camera).attributes["friendly_name"] == "Front Door Snapshot"
