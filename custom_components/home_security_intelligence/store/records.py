"""Plain values the database hands back (no ORM objects leave the store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NewImage:
    """An image found on disk, not yet in the ledger."""

    camera_id: str
    path: str
    size: int
    mtime: float
    captured_at: datetime


@dataclass(frozen=True, slots=True)
class DetectionRecord:
    """A stored detection."""

    id: int
    image_id: int
    camera_id: str
    object_type: str
    confidence: float
    bbox: tuple[int, int, int, int]
    detected_at: datetime
    thumbnail_path: str | None
    file_path: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored risk event."""

    id: int
    batch_id: str
    camera_id: str
    started_at: datetime
    ended_at: datetime
    risk_score: int | None
    risk_level: str | None
    summary: str
    reasoning: str
    analysis_status: str
    created_at: datetime
    objects: tuple[str, ...]
    detection_ids: tuple[int, ...]
    thumbnail_path: str | None


@dataclass(frozen=True, slots=True)
class CameraRecord:
    """A camera with its newest event and snapshot."""

    id: str
    name: str
    latest_event: EventRecord | None
    latest_thumbnail: str | None
