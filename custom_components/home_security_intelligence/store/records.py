"""Plain values the database hands back (no ORM objects leave the store)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..const import RISK_LEVELS
from ..pipeline.models import Detection


class Verdict(StrEnum):
    """The household's judgement of an event, given when acknowledging it."""

    FALSE_ALARM = "false_alarm"
    AS_EXPECTED = "as_expected"
    MISSED_THREAT = "missed_threat"


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A past event's verdict, with what the feedback offset groups it by."""

    started_at: datetime
    objects: tuple[str, ...]
    verdict: Verdict


class ImageState(StrEnum):
    """Where an image stands in the ledger."""

    PENDING = "pending"
    DONE = "done"
    INVALID = "invalid"
    FAILED = "failed"


class BatchState(StrEnum):
    """Where a batch stands in the embedded store."""

    OPEN = "open"
    CLOSED = "closed"
    ANALYZED = "analyzed"


class AnalysisStatus(StrEnum):
    """How an event's score was reached: with the LLM's evidence, or from the facts alone."""

    ANALYZED = "analyzed"
    PRIOR_ONLY = "prior_only"


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
    frame_offset_s: float | None = None
    """Seconds into the clip the detection's frame was sampled at; None for a still."""
    filtered: str | None = None
    """Why a zone filter set the detection aside (`zones.FilterReason`); None when it counts."""


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """What one still or sampled clip frame adds to the store."""

    detections: Sequence[Detection]
    filtered: Sequence[str | None]
    """Per detection: why a zone filter set it aside, or None when it counts."""
    captured_at: datetime
    thumbnail: str | None = None
    offset_s: float | None = None


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
    reviewed: bool = False
    note: str | None = None
    verdict: str | None = None
    breakdown: RiskBreakdown | None = None
    clip_detection_id: int | None = None
    """The newest detection of the event that came from a video clip (its clip is linked)."""
    snoozed: bool = False
    title: str = ""
    llm_summary: str = ""
    """The LLM's own summary, pushed (as `summary`) only when it passed the checks."""


@dataclass(frozen=True, slots=True)
class RiskBreakdown:
    """How an event's score came about: the prior, its factors, the LLM's bounded move."""

    prior_score: int
    factors: tuple[tuple[str, int, str], ...]
    llm_score: int | None
    llm_adjustment: int
    llm_belief: tuple[float, float, float, float] | None
    text_source: str | None = None
    """Which summary is pushed: "facts" or "llm" (None: stored before the check existed)."""

    def as_dict(self, final: int | None) -> dict[str, object]:
        """JSON-ready form for events, entities and actions."""
        return {
            "prior": self.prior_score,
            "factors": [
                {"name": name, "contribution": value, "detail": detail}
                for name, value, detail in self.factors
            ],
            "llm_score": self.llm_score,
            "llm_adjustment": self.llm_adjustment,
            "llm_belief": None
            if self.llm_belief is None
            else dict(zip(RISK_LEVELS, (round(p, 3) for p in self.llm_belief), strict=True)),
            "final": final,
            "source": "prior+llm" if self.llm_score is not None else "prior",
            "text_source": self.text_source,
        }


@dataclass(frozen=True, slots=True)
class CameraRecord:
    """A camera with its newest event and snapshot."""

    id: str
    name: str
    latest_event: EventRecord | None
    latest_thumbnail: str | None


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters of `Database.query_events`."""

    camera_ids: tuple[str, ...] = ()
    min_score: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    reviewed: bool | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge removed."""

    events: int
    detections: int
    images: int
    files: tuple[str, ...]
