"""The facts behind a batch's prior, read from real Home Assistant states and config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from custom_components.home_security_intelligence.const import (
    CONF_ALARM_ENTITY,
    CONF_CAMERA_ROLES,
    CONF_DELIVERY_ENTITY,
    CONF_GUESTS_ENTITY,
    CONF_PERSON_ENTITIES,
)
from custom_components.home_security_intelligence.risk_context import build_facts, hourly_counts
from custom_components.home_security_intelligence.store.records import DetectionRecord
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

# The test instance sits in San Diego (US/Pacific, UTC-7 in summer).
NOON = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 12:00 local, sun up
NIGHT = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # 03:00 local, sun down


def detection(image_id: int, object_type: str, when: datetime, camera: str = "porch") -> Any:
    return DetectionRecord(
        id=image_id * 10 + len(object_type),
        image_id=image_id,
        camera_id=camera,
        object_type=object_type,
        confidence=0.9,
        bbox=(0, 0, 10, 10),
        detected_at=when,
        thumbnail_path=None,
        file_path=f"/cams/{camera}/{image_id}.jpg",
    )


def facts(hass: HomeAssistant, records: list[DetectionRecord], **options: Any) -> Any:
    return build_facts(hass, options.get, "porch", records, None)


async def test_what_was_seen_for_how_long(hass: HomeAssistant) -> None:
    """Objects count as the most of a kind in one frame; frames are images; duration spans them."""
    records = [
        detection(1, "person", NOON),
        detection(1, "person", NOON),
        detection(1, "car", NOON),
        detection(2, "person", NOON + timedelta(seconds=12)),
        detection(3, "dog", NOON + timedelta(seconds=30)),
    ]

    result = build_facts(hass, {}.get, "porch", records, 0.4)

    assert result.objects == {"person": 2, "car": 1, "dog": 1}
    assert result.frames == 3
    assert result.duration_s == 30.0
    assert result.unusual == 0.4


async def test_nothing_configured_means_unknown(hass: HomeAssistant) -> None:
    """Without options, entities or zone.home, the household facts are unknown (None).

    No role was chosen: a folder name that suggests nothing is "other"; "porch" keeps
    its suggestion.
    """
    records = [detection(1, "person", NOON, camera="cam7")]
    result = build_facts(hass, {}.get, "cam7", records, None)

    assert result.camera_role == "other"
    assert facts(hass, [detection(1, "person", NOON)]).camera_role == "entry_point"
    assert (result.people_home, result.alarm_state) == (None, None)
    assert (result.guests_expected, result.delivery_expected) == (None, None)


async def test_camera_role_from_options(hass: HomeAssistant) -> None:
    roles = {CONF_CAMERA_ROLES: {"porch": "entry_point", "street": "street"}}
    assert facts(hass, [detection(1, "person", NOON)], **roles).camera_role == "entry_point"


async def test_people_home_from_person_entities(hass: HomeAssistant) -> None:
    """The chosen persons at home are counted; away or missing ones are not."""
    hass.states.async_set("person.ann", "home")
    hass.states.async_set("person.bob", "not_home")
    hass.states.async_set("person.cat", "home")
    hass.states.async_set("zone.home", "7")
    chosen = {CONF_PERSON_ENTITIES: ["person.ann", "person.bob", "person.gone"]}

    assert facts(hass, [detection(1, "person", NOON)], **chosen).people_home == 1
    hass.states.async_set("person.bob", "home")
    assert facts(hass, [detection(1, "person", NOON)], **chosen).people_home == 2
    hass.states.async_set("person.ann", "not_home")
    hass.states.async_set("person.bob", "work")
    assert facts(hass, [detection(1, "person", NOON)], **chosen).people_home == 0


async def test_people_home_from_zone_home_without_persons(hass: HomeAssistant) -> None:
    """Without chosen persons, zone.home's count is used; a non-count state is unknown.

    zone.home counts only when HA has person entities; without any it is unknown.
    """
    records = [detection(1, "person", NOON)]
    hass.states.async_set("zone.home", "2")
    assert facts(hass, records).people_home is None  # no person entities: no presence
    hass.states.async_set("person.ann", "home")
    assert facts(hass, records).people_home == 2
    hass.states.async_set("zone.home", "0")
    assert facts(hass, records).people_home == 0
    hass.states.async_set("zone.home", "unavailable")
    assert facts(hass, records).people_home is None
    hass.states.async_remove("zone.home")
    assert facts(hass, records).people_home is None


async def test_alarm_panel_state(hass: HomeAssistant) -> None:
    """The alarm panel's state passes as it is; a configured but missing panel is unknown."""
    records = [detection(1, "person", NOON)]
    alarm = {CONF_ALARM_ENTITY: "alarm_control_panel.house"}
    assert facts(hass, records, **alarm).alarm_state is None
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    assert facts(hass, records, **alarm).alarm_state == "armed_away"
    hass.states.async_set("alarm_control_panel.house", "disarmed")
    assert facts(hass, records, **alarm).alarm_state == "disarmed"


@pytest.mark.parametrize(
    ("key", "fact"),
    [(CONF_GUESTS_ENTITY, "guests_expected"), (CONF_DELIVERY_ENTITY, "delivery_expected")],
)
async def test_expected_visitors_from_input_booleans(
    hass: HomeAssistant, key: str, fact: str
) -> None:
    """An input boolean on means expected, off means not; missing or unavailable is unknown."""
    records = [detection(1, "person", NOON)]
    option = {key: "input_boolean.expected"}
    assert getattr(facts(hass, records, **option), fact) is None
    hass.states.async_set("input_boolean.expected", "on")
    assert getattr(facts(hass, records, **option), fact) is True
    hass.states.async_set("input_boolean.expected", "off")
    assert getattr(facts(hass, records, **option), fact) is False
    hass.states.async_set("input_boolean.expected", "unavailable")
    assert getattr(facts(hass, records, **option), fact) is False
    assert getattr(facts(hass, records), fact) is None, "not configured"


async def test_darkness_and_local_hour_follow_the_home(hass: HomeAssistant) -> None:
    """The sun at the home's coordinates when the batch started, and its local hour."""
    day = facts(
        hass, [detection(1, "person", NOON), detection(2, "person", NIGHT + timedelta(days=1))]
    )
    night = facts(hass, [detection(1, "person", NIGHT)])

    assert (day.is_dark, day.local_hour) == (False, 12)
    assert (night.is_dark, night.local_hour) == (True, 3)

    hass.config.latitude, hass.config.longitude = -33.87, 151.21  # Sydney: noon here is night
    assert facts(hass, [detection(1, "person", NOON)]).is_dark is True


async def test_hourly_counts_use_the_local_hour(hass: HomeAssistant) -> None:
    """Times count per local hour of day, across days."""
    times = [NOON, NOON + timedelta(days=3, minutes=59), NIGHT, NIGHT - timedelta(days=1)]

    counts = hourly_counts(times)

    assert len(counts) == 24
    assert (counts[12], counts[3], sum(counts)) == (2, 2, 4)
    assert dt_util.as_local(NOON).hour == 12
    assert hourly_counts([]) == [0] * 24
