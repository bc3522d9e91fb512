"""The facts behind a batch's risk prior: its detections plus Home Assistant's own state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from homeassistant.const import STATE_HOME, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers.sun import is_up
from homeassistant.util import dt as dt_util

from .camera_roles import camera_role
from .const import (
    CONF_ALARM_ENTITY,
    CONF_CAMERA_ROLES,
    CONF_DELIVERY_ENTITY,
    CONF_GUESTS_ENTITY,
    CONF_PERSON_ENTITIES,
)
from .pipeline.risk_prior import RiskFacts
from .store.records import DetectionRecord

BASELINE_DAYS = 28


def build_facts(
    hass: HomeAssistant,
    option: Callable[[str], Any],
    camera_id: str,
    records: Sequence[DetectionRecord],
    unusual: float | None,
) -> RiskFacts:
    """Describe a batch: what was seen, how long, when, and the household's situation.

    The alarm is the chosen panel, else HA's only one unless the user cleared the field;
    presence the chosen person entities, else everyone's tracked whereabouts. Times are the
    frames' capture times (a detection's `detected_at` is its image's capture time):
    darkness is HA's sun at the home's location when the first frame was taken, and the
    duration runs from the batch's first to its last detection.
    """
    per_image: dict[int, Counter[str]] = {}
    for record in records:
        per_image.setdefault(record.image_id, Counter())[record.object_type] += 1
    objects: dict[str, int] = {}
    for counts in per_image.values():
        for name, count in counts.items():
            objects[name] = max(objects.get(name, 0), count)
    started = min(record.detected_at for record in records)
    ended = max(record.detected_at for record in records)
    return RiskFacts(
        camera_role=camera_role(option(CONF_CAMERA_ROLES) or {}, camera_id),
        objects=objects,
        frames=len(per_image),
        duration_s=(ended - started).total_seconds(),
        is_dark=not is_up(hass, started),
        local_hour=dt_util.as_local(started).hour,
        unusual=unusual,
        people_home=_people_home(hass, option(CONF_PERSON_ENTITIES) or []),
        alarm_state=_state(hass, alarm_panel(hass, option(CONF_ALARM_ENTITY))),
        guests_expected=_switch(hass, option(CONF_GUESTS_ENTITY)),
        delivery_expected=_switch(hass, option(CONF_DELIVERY_ENTITY)),
    )


def alarm_panel(hass: HomeAssistant, chosen: str | None) -> str | None:
    """Return the chosen panel, none when the user cleared the field, else HA's only one."""
    return only_alarm_panel(hass) if chosen is None else chosen or None


def only_alarm_panel(hass: HomeAssistant) -> str | None:
    """HA's alarm panel when it has exactly one: used until the user chooses one."""
    panels = hass.states.async_entity_ids("alarm_control_panel")
    return panels[0] if len(panels) == 1 else None


def _state(hass: HomeAssistant, entity_id: str | None) -> str | None:
    if not entity_id or (state := hass.states.get(entity_id)) is None:
        return None
    return state.state


def _switch(hass: HomeAssistant, entity_id: str | None) -> bool | None:
    state = _state(hass, entity_id)
    return None if state is None else state == STATE_ON


def _people_home(hass: HomeAssistant, entity_ids: Sequence[str]) -> int | None:
    """People at home: the chosen person entities, else `zone.home`'s count, else unknown.

    Only a person whose whereabouts are known (not `unknown` or `unavailable`, as an
    untracked person is) is presence information: without one, "0 home" means no presence
    tracking, not an empty house.
    """
    persons = list(entity_ids) or hass.states.async_entity_ids("person")
    tracked = [
        e for e in persons if _state(hass, e) not in (None, STATE_UNKNOWN, STATE_UNAVAILABLE)
    ]
    if not tracked:
        return None
    if entity_ids:
        return sum(1 for e in tracked if _state(hass, e) == STATE_HOME)
    zone = _state(hass, "zone.home")
    return int(zone) if zone is not None and zone.isdecimal() else None


def hourly_counts(times: Sequence[datetime]) -> list[int]:
    """Count detections per local hour of day (24 values) for the rarity baseline."""
    counts = [0] * 24
    for when in times:
        counts[dt_util.as_local(when).hour] += 1
    return counts
