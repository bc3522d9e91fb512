"""The facts a batch is scored on: roles from folder names, presence, capture time, lingering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.home_security_intelligence.camera_roles import (
    camera_role,
    chosen_roles,
    default_role,
    suggested_role,
)
from custom_components.home_security_intelligence.const import (
    CONF_ALARM_ENTITY,
    CONF_CAMERA_ROLES,
    CONF_PERSON_ENTITIES,
    NO_ALARM,
)
from custom_components.home_security_intelligence.pipeline.risk_prior import (
    RiskFacts,
    compute_prior,
)
from custom_components.home_security_intelligence.risk_context import build_facts
from custom_components.home_security_intelligence.store.records import DetectionRecord
from homeassistant.core import HomeAssistant
from homeassistant.helpers.sun import is_up
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util


@pytest.mark.parametrize(
    ("folder", "role"),
    [
        ("front_door", "entry_point"),
        ("back_door", "entry_point"),
        ("FrontDoor", "entry_point"),
        ("Entrance-2", "entry_point"),
        ("porch", "entry_point"),
        ("door", "entry_point"),
        ("garage_door", "entry_point"),
        ("driveway", "driveway"),
        ("Garage", "driveway"),
        ("carport_cam", "driveway"),
        ("garden", "yard"),
        ("back_yard", "yard"),
        ("backyard", "yard"),
        ("Patio", "yard"),
        ("street", "street"),
        ("road_side", "street"),
        ("sidewalk", "street"),
        ("cam2", None),
        ("FI9900P_00626E5A1B2C", None),
        ("outdoor", None),
        ("yardstick", None),
    ],
)
def test_folder_names_suggest_roles(folder: str, role: str | None) -> None:
    assert suggested_role(folder) == role
    assert default_role(folder) == (role or "other")


def test_the_users_role_wins_over_the_suggestion() -> None:
    assert camera_role({}, "front_door") == "entry_point"
    assert camera_role({"front_door": "street"}, "front_door") == "street"
    assert camera_role({"front_door": "nonsense"}, "front_door") == "entry_point"
    assert camera_role({}, "cam2") == "other"
    assert camera_role({"cam2": "yard"}, "cam2") == "yard"


def test_only_roles_that_differ_from_the_suggestion_are_stored() -> None:
    submitted = {"front_door": "entry_point", "street": "yard", "cam2": "other", "cam3": "x"}
    assert chosen_roles(submitted) == {"street": "yard"}
    assert chosen_roles({"cam2": "entry_point"}) == {"cam2": "entry_point"}


def _records(camera: str, times: list[datetime], objects: str = "person") -> list[DetectionRecord]:
    return [
        DetectionRecord(n + 1, n + 1, camera, objects, 0.9, (1, 1, 2, 2), when, None, f"/x/{n}.jpg")
        for n, when in enumerate(times)
    ]


def _options(**values: Any) -> Callable[[str], Any]:
    return values.get


def _local(hour: int, minute: int = 15) -> datetime:
    """A winter date at the test home (San Diego): dark at 02:15, light at 12:15."""
    return datetime(2025, 12, 21, hour, minute, tzinfo=dt_util.get_default_time_zone())


async def test_darkness_and_hour_come_from_the_capture_time(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Analysed at noon, frames captured at 02:15: dark, deep night; and the other way round."""
    night, noon = _local(2), _local(12)
    assert not is_up(hass, night)
    assert is_up(hass, noon)

    freezer.move_to(noon)
    facts = build_facts(hass, _options(), "front_door", _records("front_door", [night]), None)
    assert facts.is_dark
    assert facts.local_hour == 2

    freezer.move_to(night + timedelta(hours=1))
    facts = build_facts(hass, _options(), "front_door", _records("front_door", [noon]), None)
    assert not facts.is_dark
    assert facts.local_hour == 12


async def test_lingering_is_time_between_first_and_last_detection(hass: HomeAssistant) -> None:
    """Eight frames over 11 s are a passer-by; two frames 90 s apart are lingering."""
    start = _local(12)
    burst = [start + timedelta(seconds=s) for s in (0, 1, 3, 4, 6, 8, 9, 11)]
    facts = build_facts(hass, _options(), "front_door", _records("front_door", burst), None)
    assert (facts.frames, facts.duration_s) == (8, 11.0)
    assert "lingering" not in {f.name for f in compute_prior(facts).factors}

    # Out of order records still span from the first to the last capture.
    spread = [start + timedelta(seconds=90), start]
    facts = build_facts(hass, _options(), "front_door", _records("front_door", spread), None)
    assert facts.duration_s == 90.0
    lingering = [f for f in compute_prior(facts).factors if f.name == "lingering"]
    assert len(lingering) == 1
    assert lingering[0].contribution > 0
    assert lingering[0].detail == f"there 90 s (2 frames): {lingering[0].contribution:+d}"


async def test_role_is_the_users_else_the_suggestion_for_any_camera(hass: HomeAssistant) -> None:
    """A camera that appears after the options were saved still gets its suggestion."""
    when = [_local(12)]
    roles = {CONF_CAMERA_ROLES: {"garden": "street"}}
    for camera, role in (("porch", "entry_point"), ("garden", "street"), ("cam7", "other")):
        facts = build_facts(hass, _options(**roles), camera, _records(camera, when), None)
        assert facts.camera_role == role


async def test_presence_unknown_without_person_entities(hass: HomeAssistant) -> None:
    """zone.home says 0 in a house without person entities: unknown, not 'nobody home'."""
    assert await async_setup_component(hass, "zone", {})
    assert hass.states.get("zone.home") is not None
    records = _records("front_door", [_local(2)])

    facts = build_facts(hass, _options(), "front_door", records, None)
    assert facts.people_home is None
    factors = {f.name: f for f in compute_prior(facts).factors}
    assert factors["people_home"].contribution == 0
    assert factors["people_home"].detail == "presence unknown: +0"

    # A person entity behind zone.home: its count is presence information.
    hass.states.async_set("person.ann", "not_home")
    hass.states.async_set("zone.home", "0", {"persons": []})
    facts = build_facts(hass, _options(), "front_door", records, None)
    assert facts.people_home == 0
    factors = {f.name: f for f in compute_prior(facts).factors}
    assert factors["people_home"].detail.startswith("nobody home:")
    hass.states.async_set("zone.home", "1", {"persons": ["person.ann"]})
    assert build_facts(hass, _options(), "front_door", records, None).people_home == 1

    # Chosen person entities count by themselves.
    hass.states.async_set("person.bob", "home")
    chosen = _options(**{CONF_PERSON_ENTITIES: ["person.ann", "person.bob"]})
    assert build_facts(hass, chosen, "front_door", records, None).people_home == 1


def test_presence_unknown_is_said_only_where_it_would_count() -> None:
    """An animal's score never depends on presence, so the breakdown does not mention it."""
    cat = RiskFacts("yard", {"cat": 1}, 3, 30, True, 2, None, None, None, None, None)
    assert "people_home" not in {f.name for f in compute_prior(cat).factors}
    person = replace(cat, objects={"person": 1})
    assert "people_home" in {f.name for f in compute_prior(person).factors}


async def test_untracked_person_is_no_presence_information(hass: HomeAssistant) -> None:
    """A person without a tracker (state unknown, as HA's owner is after onboarding) does
    not make an empty house: presence stays unknown until someone's whereabouts are known."""
    assert await async_setup_component(hass, "zone", {})
    records = _records("front_door", [_local(2)])
    hass.states.async_set("person.owner", "unknown")
    hass.states.async_set("zone.home", "0", {"persons": []})
    assert build_facts(hass, _options(), "front_door", records, None).people_home is None
    chosen = _options(**{CONF_PERSON_ENTITIES: ["person.owner"]})
    assert build_facts(hass, chosen, "front_door", records, None).people_home is None

    hass.states.async_set("person.owner", "not_home")
    assert build_facts(hass, _options(), "front_door", records, None).people_home == 0
    assert build_facts(hass, chosen, "front_door", records, None).people_home == 0


async def test_alarm_is_the_chosen_panel_else_has_only_one(hass: HomeAssistant) -> None:
    """A house with one alarm panel is scored with it out of the box; with two, only the
    one the user chose counts, as the integration cannot tell which guards the cameras."""
    records = _records("front_door", [_local(2)])
    assert build_facts(hass, _options(), "front_door", records, None).alarm_state is None

    hass.states.async_set("alarm_control_panel.house", "armed_away")
    facts = build_facts(hass, _options(), "front_door", records, None)
    assert facts.alarm_state == "armed_away"
    assert "alarm armed away" in {f.detail.split(":")[0] for f in compute_prior(facts).factors}

    hass.states.async_set("alarm_control_panel.shed", "disarmed")
    assert build_facts(hass, _options(), "front_door", records, None).alarm_state is None
    chosen = _options(**{CONF_ALARM_ENTITY: "alarm_control_panel.shed"})
    assert build_facts(hass, chosen, "front_door", records, None).alarm_state == "disarmed"


async def test_a_cleared_alarm_field_leaves_even_the_only_panel_out(hass: HomeAssistant) -> None:
    """The household can opt out: a cleared field (stored as NO_ALARM) is no panel at all."""
    records = _records("front_door", [_local(2)])
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    cleared = _options(**{CONF_ALARM_ENTITY: NO_ALARM})
    facts = build_facts(hass, cleared, "front_door", records, None)
    assert facts.alarm_state is None
    assert not {f.name for f in compute_prior(facts).factors} & {"alarm"}
