"""The one shape of a stored event: bus event, event entity, sensors, get_events and logbook."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant

from .store.records import EventRecord
from .urls import signed_image_url


def event_fields(event: EventRecord) -> dict[str, Any]:
    """Return the stored facts of an event, JSON-ready (what the event entity fires)."""
    return {
        "camera_id": event.camera_id,
        "event_id": event.id,
        "risk_score": event.risk_score,
        "risk_level": event.risk_level,
        "title": event.title,
        "summary": event.summary,
        "llm_summary": event.llm_summary,
        "reasoning": event.reasoning,
        "objects": list(event.objects),
        "started_at": event.started_at.isoformat(),
        "ended_at": event.ended_at.isoformat(),
        "analysis_status": event.analysis_status,
        "breakdown": event.breakdown.as_dict(event.risk_score) if event.breakdown else None,
        "reviewed": event.reviewed,
        "snoozed": event.snoozed,
    }


def image_urls(
    hass: HomeAssistant, entry_id: str, detection_id: int | None, from_clip: bool = False
) -> dict[str, Any]:
    """Return signed thumbnail and snapshot URLs of a detection (None without a thumbnail).

    A detection from a video clip has no still snapshot: its thumbnail is the sampled frame.
    """
    if detection_id is None:
        return {"thumbnail_url": None, "snapshot_url": None}
    return {
        "thumbnail_url": signed_image_url(hass, entry_id, "thumbnail", detection_id),
        "snapshot_url": None
        if from_clip
        else signed_image_url(hass, entry_id, "snapshot", detection_id),
    }


def clip_url(hass: HomeAssistant, entry_id: str, detection_id: int | None) -> str | None:
    """Return the signed URL of the video clip a detection came from (None for a still)."""
    if detection_id is None:
        return None
    return signed_image_url(hass, entry_id, "clip", detection_id)


def event_payload(
    hass: HomeAssistant,
    entry_id: str,
    event: EventRecord,
    camera_name: str,
    device_id: str | None,
) -> dict[str, Any]:
    """Return the `home_security_intelligence_event` payload of a stored event."""
    shown = event.detection_ids[-1] if event.thumbnail_path and event.detection_ids else None
    return {
        "camera_name": camera_name,
        "device_id": device_id,
        **event_fields(event),
        **image_urls(hass, entry_id, shown, shown is not None and shown == event.clip_detection_id),
        "clip_url": clip_url(hass, entry_id, event.clip_detection_id),
    }
