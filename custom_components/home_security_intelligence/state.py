"""What the entities show: per-camera state and hub statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .store.records import EventRecord

OCCUPANCY_GROUPS: dict[str, frozenset[str]] = {
    "person": frozenset({"person"}),
    "vehicle": frozenset({"car", "truck", "bus", "motorcycle", "bicycle"}),
    "animal": frozenset(
        {"dog", "cat", "bird", "horse", "sheep", "cow", "bear", "deer", "fox", "raccoon"}
    ),
}


def groups_of(object_types: set[str]) -> set[str]:
    """Return the occupancy groups the object classes belong to."""
    return {group for group, members in OCCUPANCY_GROUPS.items() if object_types & members}


def camera_name(camera_id: str) -> str:
    """Turn a folder name into a display name (`front_door` -> `Front Door`)."""
    return " ".join(camera_id.replace("_", " ").replace("-", " ").split()).title() or camera_id


@dataclass(frozen=True, slots=True)
class DetectionSummary:
    """The newest image with detections of a camera."""

    detection_ids: tuple[int, ...]
    objects: tuple[str, ...]
    confidence: float
    captured_at: datetime
    thumbnail_path: str | None


@dataclass(slots=True)
class CameraState:
    """What the entities of one camera show."""

    camera_id: str
    name: str
    latest_event: EventRecord | None = None
    latest_thumbnail: str | None = None
    last_detection: DetectionSummary | None = None
    batch_id: str | None = None
    batch_started_at: datetime | None = None
    occupied: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(OCCUPANCY_GROUPS, False)
    )
    unreviewed: int = 0
    unreviewed_events: tuple[EventRecord, ...] = ()
    """The newest events not reviewed yet (a few, newest first)."""


@dataclass(slots=True)
class HubState:
    """Pipeline-wide figures for the hub's diagnostic sensors."""

    images_waiting: int = 0
    batches_open: int = 0
    detection_latency_ms: float | None = None
    llm_latency_s: float | None = None
    unreviewed: int = 0
