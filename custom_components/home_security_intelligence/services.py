"""Actions: get_events, acknowledge, analyze_now, reanalyze, purge."""

from __future__ import annotations

from datetime import timedelta

import probatio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType, JsonValueType

from .const import DOMAIN, RISK_LEVELS
from .data import HsiConfigEntry, HsiRuntimeData
from .risk_levels import MIN_SCORE, RiskLevel
from .store.records import EventQuery
from .urls import signed_image_url

ATTR_ENTRY = "config_entry_id"

_ENTRY = {probatio.Optional(ATTR_ENTRY): cv.string}
GET_EVENTS_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Optional("cameras"): probatio.All(cv.ensure_list, [cv.string]),
        probatio.Optional("min_level"): probatio.In(RISK_LEVELS),
        probatio.Optional("since"): cv.datetime,
        probatio.Optional("until"): cv.datetime,
        probatio.Optional("reviewed"): cv.boolean,
        probatio.Optional("limit", default=50): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=500)
        ),
    }
)
ACKNOWLEDGE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("event_ids"): probatio.All(cv.ensure_list, [probatio.Coerce(int)]),
        probatio.Optional("note"): cv.string,
    }
)
ANALYZE_NOW_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("camera"): cv.string})
REANALYZE_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("event_id"): probatio.Coerce(int)})
PURGE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("older_than_days"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=3650)
        ),
    }
)


def _coordinators(hass: HomeAssistant, call: ServiceCall, one: bool) -> list[HsiRuntimeData]:
    """Return the runtime data of the entries the call targets (one: exactly one is needed)."""
    entries: list[HsiConfigEntry] = [
        e for e in hass.config_entries.async_entries(DOMAIN) if e.state is ConfigEntryState.LOADED
    ]
    if (entry_id := call.data.get(ATTR_ENTRY)) is not None:
        entries = [e for e in entries if e.entry_id == entry_id]
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"entry_id": entry_id},
            )
    if not entries:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_entries")
    if one and len(entries) > 1:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="entry_required")
    return [e.runtime_data for e in entries]


async def _get_events(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    since, until = call.data.get("since"), call.data.get("until")
    query = EventQuery(
        camera_ids=tuple(call.data.get("cameras", ())),
        min_score=MIN_SCORE[RiskLevel(call.data["min_level"])]
        if "min_level" in call.data
        else None,
        since=dt_util.as_utc(since) if since else None,
        until=dt_util.as_utc(until) if until else None,
        reviewed=call.data.get("reviewed"),
        limit=call.data["limit"],
    )
    found: list[JsonObjectType] = []
    for coordinator in _coordinators(hass, call, one=False):
        events = await hass.async_add_executor_job(coordinator.db.query_events, query)
        by_event = await hass.async_add_executor_job(
            coordinator.db.event_detections, [event.id for event in events]
        )
        for event in events:
            detections = by_event.get(event.id, [])
            found.append(
                {
                    **coordinator.cameras.payload(event),
                    "config_entry_id": coordinator.entry_id,
                    "note": event.note,
                    "detections": [
                        {
                            "id": d.id,
                            "object_type": d.object_type,
                            "confidence": d.confidence,
                            "bbox": list(d.bbox),
                            "captured_at": d.detected_at.isoformat(),
                            "thumbnail_url": signed_image_url(
                                hass, coordinator.entry_id, "thumbnail", d.id
                            )
                            if d.thumbnail_path
                            else None,
                            "snapshot_url": signed_image_url(
                                hass, coordinator.entry_id, "snapshot", d.id
                            ),
                        }
                        for d in detections
                    ],
                }
            )
    found.sort(key=lambda e: (str(e["started_at"]), str(e["event_id"]).zfill(12)), reverse=True)
    result: list[JsonValueType] = list(found[: query.limit])
    return {"events": result}


async def _acknowledge(call: ServiceCall) -> None:
    coordinator = _coordinators(call.hass, call, one=True)[0]
    ids = call.data["event_ids"]
    count = await call.hass.async_add_executor_job(
        coordinator.db.acknowledge, ids, call.data.get("note")
    )
    if count != len(set(ids)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_events",
            translation_placeholders={"found": str(count), "asked": str(len(set(ids)))},
        )


async def _analyze_now(call: ServiceCall) -> None:
    coordinator = _coordinators(call.hass, call, one=True)[0]
    camera = call.data["camera"]
    if camera not in coordinator.cameras:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_camera",
            translation_placeholders={"camera": camera},
        )
    if not await coordinator.pipeline.batching.close_camera(camera):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_open_batch",
            translation_placeholders={"camera": camera},
        )


async def _reanalyze(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinators(call.hass, call, one=True)[0]
    event_id = call.data["event_id"]
    before = await call.hass.async_add_executor_job(coordinator.db.event, event_id)
    if before is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_event",
            translation_placeholders={"event_id": str(event_id)},
        )
    event = await coordinator.pipeline.analysis.reanalyze(event_id)
    if event is None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="llm_failed",
            translation_placeholders={"error": coordinator.health.last_error.get("llm", "")},
        )
    return coordinator.cameras.payload(event)


async def _purge(call: ServiceCall) -> ServiceResponse:
    before = dt_util.utcnow() - timedelta(days=call.data["older_than_days"])
    events = detections = images = files = 0
    for coordinator in _coordinators(call.hass, call, one=False):
        result = await coordinator.pipeline.retention.purge(before)
        if result is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="purge_failed")
        events += result.events
        detections += result.detections
        images += result.images
        files += len(result.files)
    return {"events": events, "detections": detections, "images": images, "files": files}


def async_register_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN, "get_events", _get_events, GET_EVENTS_SCHEMA, SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, "acknowledge", _acknowledge, ACKNOWLEDGE_SCHEMA)
    hass.services.async_register(DOMAIN, "analyze_now", _analyze_now, ANALYZE_NOW_SCHEMA)
    hass.services.async_register(
        DOMAIN, "reanalyze", _reanalyze, REANALYZE_SCHEMA, SupportsResponse.OPTIONAL
    )
    hass.services.async_register(DOMAIN, "purge", _purge, PURGE_SCHEMA, SupportsResponse.OPTIONAL)
