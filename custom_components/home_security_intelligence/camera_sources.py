"""Home Assistant camera entities as sources: their options, camera ids and names.

The option `camera_entities` maps each chosen camera entity to the camera id it was given
when chosen (`camera.front_door` -> `front_door`, `front_door_2` if that id was taken) and
to its optional trigger entity. The id stays the same while the entity stays chosen.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.core import HomeAssistant, split_entity_id

from .const import CONF_CAMERA_ENTITIES, CONF_SNAPSHOT_COUNT, CONF_SNAPSHOT_INTERVAL
from .state import camera_name

DEFAULT_SNAPSHOT_INTERVAL = 2.0
DEFAULT_SNAPSHOT_COUNT = 10
MIN_INTERVAL, MAX_INTERVAL = 0.5, 60.0
MAX_COUNT = 20
TRIGGER_DOMAINS = ("binary_sensor", "event")


@dataclass(frozen=True, slots=True)
class EntityCamera:
    """A camera entity the integration grabs snapshots from."""

    entity_id: str
    camera_id: str
    trigger: str | None
    """A binary_sensor (grab while on) or an event entity (grab when it fires)."""


def entity_cameras(options: Mapping[str, Any]) -> dict[str, EntityCamera]:
    """Return the configured camera entities by camera id."""
    raw: Mapping[str, Mapping[str, str]] = options.get(CONF_CAMERA_ENTITIES) or {}
    return {
        conf["camera_id"]: EntityCamera(entity_id, conf["camera_id"], conf.get("trigger") or None)
        for entity_id, conf in raw.items()
    }


def snapshot_interval(options: Mapping[str, Any]) -> float:
    """Return the seconds between snapshots of a trigger."""
    return float(options.get(CONF_SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_INTERVAL))


def snapshot_count(options: Mapping[str, Any]) -> int:
    """Return the most snapshots one trigger grabs."""
    return int(options.get(CONF_SNAPSHOT_COUNT, DEFAULT_SNAPSHOT_COUNT))


def camera_entities_option(
    chosen: Collection[str],
    triggers: Mapping[str, str | None],
    current: Mapping[str, Any],
    taken: Collection[str],
) -> dict[str, dict[str, str]]:
    """Build the `camera_entities` option for the chosen entities.

    An entity chosen before keeps its camera id; a new one gets the id of its object id,
    made unique against `taken` (the folder cameras) and the other chosen entities.
    """
    before = {c.entity_id: c.camera_id for c in entity_cameras(current).values()}
    kept = {entity_id: before[entity_id] for entity_id in chosen if entity_id in before}
    used = set(taken) | set(kept.values())
    option: dict[str, dict[str, str]] = {}
    for entity_id in chosen:
        if (camera_id := kept.get(entity_id)) is None:
            camera_id = unique_id(split_entity_id(entity_id)[1], used)
            used.add(camera_id)
        option[entity_id] = {"camera_id": camera_id}
        if trigger := triggers.get(entity_id):
            option[entity_id]["trigger"] = trigger
    return option


def unique_id(base: str, used: Collection[str]) -> str:
    """Return `base`, or the first of `base_2`, `base_3`, … not in `used`."""
    candidate, number = base, 2
    while candidate in used:
        candidate = f"{base}_{number}"
        number += 1
    return candidate


def display_name(hass: HomeAssistant, camera: EntityCamera) -> str:
    """Return the camera entity's friendly name, or a name made from its camera id."""
    if (state := hass.states.get(camera.entity_id)) is not None and (
        name := state.attributes.get("friendly_name")
    ):
        return str(name)
    return camera_name(camera.camera_id)
