"""Actions: get_events, acknowledge, analyze_now, analyze_camera, snooze, reanalyze, purge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
import re
from typing import Any

import probatio

from homeassistant.auth.permissions.const import CAT_ENTITIES, POLICY_READ
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
    UnknownUser,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util

from .camera_sources import DEFAULT_SNAPSHOT_INTERVAL, MAX_COUNT, MAX_INTERVAL, MIN_INTERVAL
from .const import DOMAIN, RISK_LEVELS
from .event_listing import get_events
from .service_permissions import check_camera_control
from .service_targets import ATTR_ENTRY, snooze_targets, targeted_runtimes
from .snooze import MAX_SNOOZE, MIN_SNOOZE
from .store.records import Verdict
from .store.work_store import WorkStoreError

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


def _in_range(field: str, low: float, high: float, whole: bool = False) -> Callable[[Any], float]:
    """Validate a number from `low` to `high` (a translated error outside; `whole`: no fraction)."""

    def validate(value: Any) -> float:
        if isinstance(value, bool):
            raise probatio.Invalid(f"expected a number for {field}")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError) as err:
            raise probatio.Invalid(f"expected a number for {field}") from err
        if not low <= number <= high or (whole and not number.is_integer()):
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="value_out_of_range",
                translation_placeholders={
                    "field": field,
                    "value": str(value)[:40],
                    "min": f"{low:g}",
                    "max": f"{high:g}",
                },
            )
        return int(number) if whole else number

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
        probatio.Optional("include_filtered", default=False): cv.boolean,
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


def _snooze_duration(value: Any) -> timedelta:
    """Validate a snooze duration from MIN_SNOOZE to MAX_SNOOZE (a translated error outside)."""
    duration: timedelta = cv.time_period(value)
    if not MIN_SNOOZE <= duration <= MAX_SNOOZE:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="snooze_duration_out_of_range",
            translation_placeholders={
                "value": str(duration)[:40],
                "min": str(MIN_SNOOZE),
                "max": str(MAX_SNOOZE),
            },
        )
    return duration


SNOOZE_SCHEMA = probatio.All(
    probatio.Schema(
        {
            probatio.Optional("device_id"): _bounded_list("device_id", cv.string, MAX_CAMERAS),
            probatio.Optional("entity_id"): _bounded_list("entity_id", cv.entity_id, MAX_CAMERAS),
            probatio.Required("duration"): _snooze_duration,
        }
    ),
    cv.has_at_least_one_key("device_id", "entity_id"),
)
ANALYZE_NOW_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("camera"): cv.string})
ANALYZE_CAMERA_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("entity_id"): cv.entity_domain("camera"),
        probatio.Optional("count", default=1): _in_range("count", 1, MAX_COUNT, whole=True),
        probatio.Optional("interval", default=DEFAULT_SNAPSHOT_INTERVAL): _in_range(
            "interval", MIN_INTERVAL, MAX_INTERVAL
        ),
    }
)
REANALYZE_SCHEMA = probatio.Schema({**_ENTRY, probatio.Required("event_id"): _event_id})
PURGE_SCHEMA = probatio.Schema(
    {
        **_ENTRY,
        probatio.Required("older_than_days"): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=3650)
        ),
    }
)


async def _acknowledge(call: ServiceCall) -> None:
    runtime = targeted_runtimes(call.hass, call, one=True)[0]
    ids = call.data["event_ids"]

    await check_camera_control(call, runtime, partial(runtime.db.event_cameras, ids))
    count = await call.hass.async_add_executor_job(
        runtime.db.acknowledge,
        ids,
        call.data.get("note"),
        Verdict(call.data["verdict"]) if "verdict" in call.data else None,
    )
    await runtime.cameras.refresh_reviews()
    if count != len(set(ids)):
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_events",
            translation_placeholders={"found": str(count), "asked": str(len(set(ids)))},
        )


async def _analyze_now(call: ServiceCall) -> None:
    runtime = targeted_runtimes(call.hass, call, one=True)[0]
    camera = call.data["camera"]
    if camera not in runtime.cameras:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_camera",
            translation_placeholders={"camera": camera},
        )
    await check_camera_control(call, runtime, lambda: {camera})
    try:
        closed = await runtime.pipeline.batching.close_camera(camera)
    except WorkStoreError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="redis_unreachable",
            translation_placeholders={"error": str(err)},
        ) from err
    if not closed:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_open_batch",
            translation_placeholders={"camera": camera},
        )


async def _snooze(call: ServiceCall) -> None:
    until = dt_util.utcnow() + call.data["duration"]
    targets = snooze_targets(call)
    for runtime, camera_id in targets:
        await check_camera_control(call, runtime, {camera_id}.copy)
    for runtime, camera_id in targets:
        runtime.cameras.snoozes.snooze(camera_id, until)


async def _analyze_camera(call: ServiceCall) -> None:
    """Grab snapshots of a camera entity chosen as a source, and analyze them as uploads."""
    entity_id: str = call.data["entity_id"]
    if user_id := call.context.user_id:
        user = await call.hass.auth.async_get_user(user_id)
        if user is None:
            raise UnknownUser(context=call.context, user_id=user_id, permission=POLICY_READ)
        if not user.is_admin and not user.permissions.check_entity(entity_id, POLICY_READ):
            raise Unauthorized(
                context=call.context,
                user_id=user_id,
                entity_id=entity_id,
                permission=POLICY_READ,
                perm_category=CAT_ENTITIES,
            )
    for runtime in targeted_runtimes(call.hass, call, one=False):
        source = runtime.pipeline.camera_source
        if (camera_id := source.camera_of(entity_id)) is not None:
            break
    else:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="camera_entity_not_configured",
            translation_placeholders={"entity_id": entity_id},
        )
    if not await source.analyze(camera_id, call.data["count"], call.data["interval"]):
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="camera_no_image",
            translation_placeholders={"entity_id": entity_id},
        )


async def _reanalyze(call: ServiceCall) -> ServiceResponse:
    runtime = targeted_runtimes(call.hass, call, one=True)[0]
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
    for runtime in targeted_runtimes(call.hass, call, one=False):
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

    acknowledge, analyze_now and snooze need control of the camera's entities, analyze_camera
    read access to the camera entity.
    """
    hass.services.async_register(
        DOMAIN, "get_events", get_events, GET_EVENTS_SCHEMA, SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, "acknowledge", _acknowledge, ACKNOWLEDGE_SCHEMA)
    hass.services.async_register(DOMAIN, "analyze_now", _analyze_now, ANALYZE_NOW_SCHEMA)
    hass.services.async_register(DOMAIN, "snooze", _snooze, SNOOZE_SCHEMA)
    hass.services.async_register(DOMAIN, "analyze_camera", _analyze_camera, ANALYZE_CAMERA_SCHEMA)
    async_register_admin_service(
        hass, DOMAIN, "reanalyze", _reanalyze, REANALYZE_SCHEMA, SupportsResponse.OPTIONAL
    )
    async_register_admin_service(
        hass, DOMAIN, "purge", _purge, PURGE_SCHEMA, SupportsResponse.OPTIONAL
    )
