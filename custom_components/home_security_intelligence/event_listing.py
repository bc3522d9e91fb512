"""The get_events action: events with their detections and signed image and clip URLs."""

from __future__ import annotations

from pathlib import Path

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse
from homeassistant.util import dt as dt_util
from homeassistant.util.json import JsonObjectType, JsonValueType

from .payload import clip_url
from .pipeline.clip_frames import is_clip_file
from .risk_levels import MIN_SCORE, RiskLevel
from .service_targets import targeted_runtimes
from .store.records import DetectionRecord, EventQuery
from .urls import signed_image_url


async def get_events(call: ServiceCall) -> ServiceResponse:
    """Return the events the call asks for, newest first, with their detections."""
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
    for runtime in targeted_runtimes(hass, call, one=False):
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
                            "frame_offset_s": d.frame_offset_s,
                            **_source_urls(hass, runtime.entry_id, d),
                        }
                        for d in detections
                    ],
                }
            )
    found.sort(key=lambda e: (str(e["started_at"]), str(e["event_id"]).zfill(12)), reverse=True)
    result: list[JsonValueType] = list(found[: query.limit])
    if not call.data["include_filtered"]:
        return {"events": result}
    return {"events": result, "filtered": await _filtered(call, query)}


async def _filtered(call: ServiceCall, query: EventQuery) -> list[JsonValueType]:
    """Return the detections zone filters set aside (cameras, period and limit of `query`)."""
    hass = call.hass
    found: list[JsonObjectType] = []
    for runtime in targeted_runtimes(hass, call, one=False):
        records = await hass.async_add_executor_job(runtime.db.filtered_detections, query)
        found.extend(
            {
                "id": d.id,
                "config_entry_id": runtime.entry_id,
                "camera_id": d.camera_id,
                "object_type": d.object_type,
                "confidence": d.confidence,
                "bbox": list(d.bbox),
                "captured_at": d.detected_at.isoformat(),
                "filtered": d.filtered,
                "frame_offset_s": d.frame_offset_s,
                **_source_urls(hass, runtime.entry_id, d),
            }
            for d in records
        )
    found.sort(key=lambda d: (str(d["captured_at"]), str(d["id"]).zfill(20)), reverse=True)
    return list(found[: query.limit])


def _source_urls(hass: HomeAssistant, entry_id: str, d: DetectionRecord) -> dict[str, str | None]:
    """Return the signed URL of the still or the clip a detection came from."""
    from_clip = is_clip_file(Path(d.file_path))
    return {
        "snapshot_url": None if from_clip else signed_image_url(hass, entry_id, "snapshot", d.id),
        "clip_url": clip_url(hass, entry_id, d.id if from_clip else None),
    }
