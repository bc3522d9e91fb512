"""Shared steps for the HA-surface tests: drop uploads, wait for detections and events."""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_schema_suggested_value

from custom_components.home_security_intelligence.const import DOMAIN
from custom_components.home_security_intelligence.data import HsiRuntimeData
from custom_components.home_security_intelligence.store.records import EventRecord
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from .conftest import make_jpeg, wait_for, write_file

TRANSLATIONS = (
    Path(__file__).parent.parent
    / "custom_components"
    / "home_security_intelligence"
    / "translations"
    / "en.json"
)


def runtime_of(entry: MockConfigEntry) -> HsiRuntimeData:
    """The runtime data (running pipeline and its collaborators) of an entry."""
    data: HsiRuntimeData = entry.runtime_data
    return data


def foscam_name(when: datetime, seed: int = 0) -> str:
    """A Foscam upload name carrying a local capture time (seed keeps names apart)."""
    return dt_util.as_local(when).strftime("MDAlarm_%Y%m%d-%H%M%S") + f"_{seed}.jpg"


def llm_answer(score: int, level: str, summary: str = "Someone at the door.") -> str:
    """An LLM answer in the contract's shape."""
    return json.dumps(
        {"risk_score": score, "risk_level": level, "summary": summary, "reasoning": "Test."}
    )


async def drop_and_detect(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    camera_root: Path,
    camera: str,
    when: datetime | None = None,
    seed: int = 0,
    freezer: FrozenDateTimeFactory | None = None,
) -> Path:
    """Upload one photo into a camera folder and wait until its detections are stored."""
    runtime = runtime_of(entry)
    state = runtime.cameras.get(camera)
    previous = state.last_detection if state else None
    path = camera_root / camera / foscam_name(when or dt_util.now(), seed)
    await write_file(hass, path, make_jpeg(seed=seed))

    def published() -> bool:
        current = runtime.cameras.get(camera)
        return current is not None and current.last_detection not in (None, previous)

    await wait_for(hass, published, freezer=freezer, timeout=20)
    return path


async def close_batch(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    camera: str,
    freezer: FrozenDateTimeFactory | None = None,
) -> EventRecord:
    """Close the camera's open batch through `analyze_now`; wait for its stored event."""
    runtime = runtime_of(entry)
    previous = runtime.cameras[camera].latest_event
    await hass.services.async_call(
        DOMAIN,
        "analyze_now",
        {"camera": camera, "config_entry_id": entry.entry_id},
        blocking=True,
    )

    def stored() -> EventRecord | None:
        latest = runtime.cameras[camera].latest_event
        if latest is None or (previous is not None and latest.id == previous.id):
            return None
        return latest

    event: EventRecord = await wait_for(hass, stored, freezer=freezer, timeout=20)
    return event


async def stored_event(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    camera_root: Path,
    camera: str,
    when: datetime | None = None,
    seed: int = 0,
    freezer: FrozenDateTimeFactory | None = None,
) -> EventRecord:
    """One upload, its detection, its batch closed and its event stored."""
    await drop_and_detect(hass, entry, camera_root, camera, when, seed, freezer)
    return await close_batch(hass, entry, camera, freezer)


def entity_id(hass: HomeAssistant, platform: str, entry: MockConfigEntry, key: str) -> str:
    """Entity id of one of the entry's entities by unique-id suffix."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.entry_id}_{key}")
    assert found is not None, key
    return found


def state_of(hass: HomeAssistant, entity: str) -> State:
    """The current state of an entity that must exist."""
    state = hass.states.get(entity)
    assert state is not None, entity
    return state


async def exception_messages(hass: HomeAssistant) -> dict[str, Any]:
    """The `exceptions` section of translations/en.json."""
    text = await hass.async_add_executor_job(TRANSLATIONS.read_text)
    messages: dict[str, Any] = json.loads(text)["exceptions"]
    return messages


def suggested(result: Any) -> dict[str, Any]:
    """The suggested value of every field of a flow's form (None where it has none)."""
    schema = result["data_schema"].schema
    return {str(key): get_schema_suggested_value(schema, str(key)) for key in schema}
