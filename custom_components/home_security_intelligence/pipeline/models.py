"""Typed values that travel between the pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Detection:
    """One object the detector found, bbox in source pixels as (x, y, width, height)."""

    object_type: str
    confidence: float
    bbox: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class ImageJob:
    """An image waiting for detection (the seed's `detection_queue` payload plus its ledger id)."""

    image_id: int
    camera_id: str
    file_path: str
    timestamp: str

    def to_message(self) -> dict[str, Any]:
        """Return the queue payload."""
        return {
            "image_id": self.image_id,
            "camera_id": self.camera_id,
            "file_path": self.file_path,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> ImageJob:
        """Build a job from a queue payload."""
        return cls(
            image_id=int(data["image_id"]),
            camera_id=str(data["camera_id"]),
            file_path=str(data["file_path"]),
            timestamp=str(data["timestamp"]),
        )


@dataclass(frozen=True, slots=True)
class OpenBatch:
    """A batch still collecting detections."""

    batch_id: str
    camera_id: str
    started_at: datetime
    last_activity: datetime


@dataclass(frozen=True, slots=True)
class ClosedBatch:
    """Everything analysis needs about a closed batch (the `analysis_queue` payload)."""

    batch_id: str
    camera_id: str
    detection_ids: tuple[int, ...]
    started_at: datetime
    ended_at: datetime

    def to_message(self) -> dict[str, Any]:
        """Return the queue payload."""
        return {
            "batch_id": self.batch_id,
            "camera_id": self.camera_id,
            "detection_ids": list(self.detection_ids),
            "timestamp": self.ended_at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> ClosedBatch:
        """Build a batch from a queue payload."""
        return cls(
            batch_id=str(data["batch_id"]),
            camera_id=str(data["camera_id"]),
            detection_ids=tuple(int(i) for i in data["detection_ids"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            ended_at=datetime.fromisoformat(data["ended_at"]),
        )


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """A validated answer from the LLM."""

    risk_score: int
    risk_level: str
    summary: str
    reasoning: str
    # Calibrated P(low, medium, high, critical); None when the server gives no probabilities.
    belief: tuple[float, float, float, float] | None = None
