"""Snooze: the Alerts switch, the snooze action, the automatic return and the snoozed flag."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_capture_events,
    async_fire_time_changed,
    mock_restore_cache,
)

from custom_components.home_security_intelligence.const import (
    DOMAIN,
    EVENT_BATCH_STARTED,
    EVENT_DETECTION,
    EVENT_RISK,
)
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, wait_for
from .helpers import (
    close_batch,
    drop_and_detect,
    entity_id,
    exception_messages,
    runtime_of,
    state_of,
)

pytestmark = pytest.mark.usefixtures("unload_entries")


def camera_device(hass: HomeAssistant, entry: MockConfigEntry, camera: str) -> str:
    """Device registry id of a camera of the entry."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:{camera}"), entry.entry_id
    )
    assert device is not None
    return device.id


async def snooze(hass: HomeAssistant, data: dict[str, Any], **kw: Any) -> None:
    """Call the snooze action and wait for it."""
    await hass.services.async_call(DOMAIN, "snooze", data, blocking=True, **kw)


async def camera_entry(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> MockConfigEntry:
    """An entry with a front_door camera folder present at setup."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    return await setup_entry()


async def test_snooze_turns_alerts_off_until_the_time_then_on_again(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """snooze (device, 1 h) turns the switch off with snoozed_until; an hour later it is on."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    assert state_of(hass, switch).state == "on"
    assert state_of(hass, switch).attributes["snoozed_until"] is None

    start = dt_util.utcnow()
    await snooze(
        hass, {"device_id": camera_device(hass, entry, "front_door"), "duration": {"hours": 1}}
    )
    state = state_of(hass, switch)
    assert state.state == "off"
    until = dt_util.parse_datetime(state.attributes["snoozed_until"])
    assert until == start + timedelta(hours=1)

    freezer.tick(timedelta(minutes=59))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, switch).state == "off"

    freezer.tick(timedelta(minutes=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    state = state_of(hass, switch)
    assert state.state == "on"
    assert state.attributes["snoozed_until"] is None


async def test_switch_by_hand_snoozes_indefinitely_and_the_action_takes_the_switch(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Off by hand has no end; on clears a timed snooze; the action also takes the switch."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    switch = entity_id(hass, "switch", entry, "front_door_alerts")

    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    assert state_of(hass, switch).state == "off"
    assert state_of(hass, switch).attributes["snoozed_until"] is None
    freezer.tick(timedelta(days=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, switch).state == "off"

    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert state_of(hass, switch).state == "on"

    await snooze(hass, {"entity_id": switch, "duration": "00:10:00"})
    assert state_of(hass, switch).state == "off"
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    assert state_of(hass, switch).state == "on"
    # The cleared snooze's timer is gone: nothing flips later.
    await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
    freezer.tick(timedelta(minutes=11))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, switch).state == "off"


async def test_snooze_survives_a_restart_and_a_passed_one_is_dropped(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The switch restores its snooze and its end; a snooze that ended while down is on again."""
    until = dt_util.utcnow() + timedelta(minutes=30)
    mock_restore_cache(
        hass,
        [
            State("switch.front_door_alerts", "off", {"snoozed_until": until.isoformat()}),
            State(
                "switch.garage_alerts",
                "off",
                {"snoozed_until": (dt_util.utcnow() - timedelta(minutes=1)).isoformat()},
            ),
            State("switch.street_alerts", "off", {"snoozed_until": None}),
        ],
    )
    for camera in ("front_door", "garage", "street"):
        await hass.async_add_executor_job((camera_root / camera).mkdir)
    entry = await setup_entry()
    front, garage, street = (
        entity_id(hass, "switch", entry, f"{camera}_alerts")
        for camera in ("front_door", "garage", "street")
    )
    assert (front, garage, street) == (
        "switch.front_door_alerts",
        "switch.garage_alerts",
        "switch.street_alerts",
    )
    assert state_of(hass, front).state == "off"
    assert dt_util.parse_datetime(state_of(hass, front).attributes["snoozed_until"]) == until
    assert state_of(hass, garage).state == "on"
    assert state_of(hass, street).state == "off"
    assert runtime_of(entry).cameras.snoozes.active("front_door")

    freezer.tick(timedelta(minutes=31))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, front).state == "on"
    assert state_of(hass, street).state == "off"


async def test_snooze_survives_a_reload(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Reloading the entry keeps a timed snooze (the switch's last state is restored)."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    await snooze(hass, {"entity_id": switch, "duration": {"hours": 2}})
    until = state_of(hass, switch).attributes["snoozed_until"]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, switch).state == "off"
    assert state_of(hass, switch).attributes["snoozed_until"] == until


async def test_snoozed_camera_still_records_and_events_say_snoozed(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """Detections, batch start and the stored event carry snoozed: true; get_events too."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    detections = async_capture_events(hass, EVENT_DETECTION)
    started = async_capture_events(hass, EVENT_BATCH_STARTED)
    risks = async_capture_events(hass, EVENT_RISK)
    device = camera_device(hass, entry, "front_door")

    await snooze(hass, {"device_id": device, "duration": {"minutes": 30}})
    await drop_and_detect(hass, entry, camera_root, "front_door")
    snoozed = await close_batch(hass, entry, "front_door")
    assert snoozed.snoozed
    await wait_for(hass, lambda: risks)
    assert detections[-1].data["snoozed"] is True
    assert started[-1].data["snoozed"] is True
    assert risks[-1].data["snoozed"] is True
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, snoozed.id)
    assert stored is not None
    assert stored.snoozed

    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    alerting = await close_batch(hass, entry, "front_door")
    assert not alerting.snoozed
    await wait_for(hass, lambda: len(risks) == 2)
    assert detections[-1].data["snoozed"] is False
    assert risks[-1].data["snoozed"] is False

    response = await hass.services.async_call(
        DOMAIN, "get_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    flags = {e["event_id"]: e["snoozed"] for e in response["events"]}  # type: ignore[union-attr]
    assert flags == {snoozed.id: True, alerting.id: False}


@pytest.mark.parametrize(
    ("duration", "accepted"),
    [
        ({"seconds": 59}, False),
        ({"minutes": 1}, True),
        ({"days": 7}, True),
        ({"days": 7, "seconds": 1}, False),
        ("-01:00:00", False),
    ],
)
async def test_snooze_duration_is_bounded(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    duration: Any,
    accepted: bool,
) -> None:
    """From one minute to seven days; outside, a translated error and the switch stays on."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    if accepted:
        await snooze(hass, {"entity_id": switch, "duration": duration})
        assert state_of(hass, switch).state == "off"
        return
    with pytest.raises(ServiceValidationError) as err:
        await snooze(hass, {"entity_id": switch, "duration": duration})
    assert err.value.translation_key == "snooze_duration_out_of_range"
    assert (await exception_messages(hass))["snooze_duration_out_of_range"]["message"]
    assert state_of(hass, switch).state == "on"


async def test_snooze_refuses_what_is_not_a_camera(
    hass: HomeAssistant, setup_entry: EntryFactory, camera_root: Path
) -> None:
    """The hub device, another entity or an unknown id is a translated error; none snoozes."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    hub = runtime_of(entry).hub_device_id
    other = entity_id(hass, "sensor", entry, "front_door_risk_score")
    for data in ({"device_id": hub}, {"device_id": "nope"}, {"entity_id": other}):
        with pytest.raises(ServiceValidationError) as err:
            await snooze(hass, {**data, "duration": {"hours": 1}})
        assert err.value.translation_key == "not_a_camera"
    with pytest.raises(probatio.Invalid):
        await snooze(hass, {"duration": {"hours": 1}})
    assert not runtime_of(entry).cameras.snoozes.active("front_door")


async def test_read_only_user_may_not_snooze(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    hass_read_only_user: MockUser,
) -> None:
    """Without control of the camera's entities: Unauthorized, alerts stay on."""
    entry = await camera_entry(hass, setup_entry, camera_root)
    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    context = Context(user_id=hass_read_only_user.id)
    with pytest.raises(Unauthorized):
        await snooze(
            hass,
            {"device_id": camera_device(hass, entry, "front_door"), "duration": {"hours": 1}},
            context=context,
        )
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            "switch", "turn_off", {"entity_id": switch}, blocking=True, context=context
        )
    assert state_of(hass, switch).state == "on"
