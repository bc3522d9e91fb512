"""Actions: get_events, acknowledge, analyze_now, reanalyze, purge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
import re
from typing import Any

import probatio

from homeassistant.auth.permissions.const import CAT_ENTITIES, POLICY_CONTROL
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
)
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType, JsonValueType

from .cameras import device_identifier
from .const import DOMAIN, RISK_LEVELS
from .data import HsiConfigEntry, HsiRuntimeData
from .risk_levels import MIN_SCORE, RiskLevel
from .store.records import EventQuery, Verdict
from .urls import signed_image_url

ATTR_ENTRY = "config_entry_id"
MAX_EVENT_IDS = 1000
MAX_CAMERAS = 100
MAX_ID = 2**63 - 1  # SQLite's largest integer
MIN_DATE = datetime(1970, 1, 1)  # noqa: DTZ001 (compared with the wall-clock time given)
MAX_DATE = datetime(2999, 12, 31, 23, 59, 59)  # noqa: DTZ001


def _bounded_list(field: str, item: Callable[[Any], Any], most: int) -> Callable[[Any], list[Any]]:
    """Validate a list of at most `most` items (a translated error past it)."""

    def validate(value: Any) -> list[Any]:
        values = cv.ensure_list(value)
        if len(values) > most:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="too_many_items",
                translation_placeholders={
                    "field": field,
                    "max": str(most),
                    "count": str(len(values)),
                },
            )
        return [item(v) for v in values]

    return validate


def _event_id(value: Any) -> int:
    """Validate an event id: a whole number from 1 to 2**63 - 1 (a translated error otherwise)."""
    if isinstance(value, bool):
        raise probatio.Invalid("expected an event id")
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value, re.ASCII):
        number: int | float = int(value) if len(value) <= 40 else MAX_ID + 1
    elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        number = value
    else:
        raise probatio.Invalid("expected an event id")
    if not 1 <= number <= MAX_ID:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="event_id_out_of_range",
            translation_placeholders={"value": str(value)[:40], "max": str(MAX_ID)},
        )
    return int(number)


def _date(field: str) -> Callable[[Any], datetime]:
    """Validate a date and time between 1970 and 2999 (a translated error outside)."""

    def validate(value: Any) -> datetime:
        when = cv.datetime(value)
        if not MIN_DATE <= when.replace(tzinfo=None) <= MAX_DATE:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="date_out_of_range",
                translation_placeholders={
                    "field": field,
                    "value": str(value)[:40],
                    "min": MIN_DATE.date().isoformat(),
                    "max": MAX_DATE.date().isoformat(),
                },
            )
        return when

    return validate


_ENTRY = {probatio.Optional(ATTR_ENTRY): cv.string}
GET_EVENTS_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Optional("cameras"): _bounded_list("cameras", cv.string, MAX_CAMERAS),
        probatio.Optional("min_level"): probatio.In(RISK_LEVELS),
        probatio.Optional("since"): _date("since"),
        probatio.Optional("until"): _date("until"),
        probatio.Optional("reviewed"): cv.boolean,
        probatio.Optional("limit", default=50): probatio.All(
            probatio.Coerce(int), probatio.Range(min=1, max=500)
        ),
    }
)
ACKNOWLEDGE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("event_ids"): _bounded_list("event_ids", _event_id, MAX_EVENT_IDS),
        probatio.Optional("note"): cv.string,
        probatio.Optional("verdict"): probatio.All(cv.string, probatio.In(tuple(Verdict))),
    }
)
ANALYZE_NOW_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("camera"): cv.string})
REANALYZE_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("event_id"): _event_id})
PURGE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("older_than_days"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=3650)
        ),
    }
)


def _runtimes(hass: HomeAssistant, call: ServiceCall, one: bool) -> list[HsiRuntimeData]:
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


async def _check_camera_control(
    call: ServiceCall, runtime: HsiRuntimeData, cameras: Callable[[], set[str]]
) -> None:
    """Raise Unauthorized unless the caller may control an entity of every camera acted on.

    A call without a user (automation, script) passes, and so does an admin; `cameras`
    (blocking, run in the executor) names the cameras only when someone else asks.
    """
    if not (user_id := call.context.user_id):
        return
    hass = call.hass
    user = await hass.auth.async_get_user(user_id)
    if user is None:
        raise UnknownUser(context=call.context, user_id=user_id, permission=POLICY_CONTROL)
    if user.is_admin:
        return
    devices, entities = dr.async_get(hass), er.async_get(hass)
    for camera_id in await hass.async_add_executor_job(cameras):
        device = devices.async_get_device_by_identifier(
            (DOMAIN, device_identifier(runtime.entry_id, camera_id)), runtime.entry_id
        )
        allowed = device is not None and any(
            user.permissions.check_entity(entry.entity_id, POLICY_CONTROL)
            for entry in er.async_entries_for_device(entities, device.id)
        )
        if not allowed:
            raise Unauthorized(
                context=call.context,
                user_id=user_id,
                permission=POLICY_CONTROL,
                perm_category=CAT_ENTITIES,
            )


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
    for runtime in _runtimes(hass, call, one=False):
        events = await hass.async_add_executor_job(runtime.db.query_events, query)
        by_event = await hass.async_add_executor_job(
            runtime.db.event_detections, [event.id for event in events]
        )
        for event in events:
            detections = by_event.get(event.id, [])
            found.append(
                {
                    **runtime.cameras.payload(event),
                    "config_entry_id": runtime.entry_id,
                    "note": event.note,
                    "verdict": event.verdict,
                    "detections": [
                        {
                            "id": d.id,
                            "object_type": d.object_type,
                            "confidence": d.confidence,
                            "bbox": list(d.bbox),
                            "captured_at": d.detected_at.isoformat(),
                            "thumbnail_url": signed_image_url(
                                hass, runtime.entry_id, "thumbnail", d.id
                            )
                            if d.thumbnail_path
                            else None,
                            "snapshot_url": signed_image_url(
                                hass, runtime.entry_id, "snapshot", d.id
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
    runtime = _runtimes(call.hass, call, one=True)[0]
    ids = call.data["event_ids"]

    def cameras() -> set[str]:
        return {event.camera_id for i in set(ids) if (event := runtime.db.event(i))}

    await _check_camera_control(call, runtime, cameras)
    count = await call.hass.async_add_executor_job(
        runtime.db.acknowledge,
        ids,
        call.data.get("note"),
        Verdict(call.data["verdict"]) if "verdict" in call.data else None,
    )
    if count != len(set(ids)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_events",
            translation_placeholders={"found": str(count), "asked": str(len(set(ids)))},
        )


async def _analyze_now(call: ServiceCall) -> None:
    runtime = _runtimes(call.hass, call, one=True)[0]
    camera = call.data["camera"]
    if camera not in runtime.cameras:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_camera",
            translation_placeholders={"camera": camera},
        )
    await _check_camera_control(call, runtime, lambda: {camera})
    if not await runtime.pipeline.batching.close_camera(camera):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_open_batch",
            translation_placeholders={"camera": camera},
        )


async def _reanalyze(call: ServiceCall) -> ServiceResponse:
    runtime = _runtimes(call.hass, call, one=True)[0]
    event_id = call.data["event_id"]
    before = await call.hass.async_add_executor_job(runtime.db.event, event_id)
    if before is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_event",
            translation_placeholders={"event_id": str(event_id)},
        )
    event = await runtime.pipeline.analysis.reanalyze(event_id)
    if event is None:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="llm_failed",
            translation_placeholders={"error": runtime.health.last_error.get("llm", "")},
        )
    return runtime.cameras.payload(event)


async def _purge(call: ServiceCall) -> ServiceResponse:
    before = dt_util.utcnow() - timedelta(days=call.data["older_than_days"])
    events = detections = images = files = 0
    for runtime in _runtimes(call.hass, call, one=False):
        result = await runtime.pipeline.retention.purge(before)
        if result is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="purge_failed")
        events += result.events
        detections += result.detections
        images += result.images
        files += len(result.files)
    return {"events": events, "detections": detections, "images": images, "files": files}


def async_register_services(hass: HomeAssistant) -> None:
    """Register the integration's actions (purge and reanalyze for admins only).

    acknowledge and analyze_now need control of the camera's entities.
    """
    hass.services.async_register(
        DOMAIN, "get_events", _get_events, GET_EVENTS_SCHEMA, SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, "acknowledge", _acknowledge, ACKNOWLEDGE_SCHEMA)
    hass.services.async_register(DOMAIN, "analyze_now", _analyze_now, ANALYZE_NOW_SCHEMA)
    async_register_admin_service(
        hass, DOMAIN, "reanalyze", _reanalyze, REANALYZE_SCHEMA, SupportsResponse.OPTIONAL
    )
    async_register_admin_service(
        hass, DOMAIN, "purge", _purge, PURGE_SCHEMA, SupportsResponse.OPTIONAL
    )
