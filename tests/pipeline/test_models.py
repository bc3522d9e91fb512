"""Queue payloads of the values that travel between stages."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.home_security_intelligence.pipeline.models import (
    ClosedBatch,
    Detection,
    ImageJob,
    OpenBatch,
    RiskAssessment,
)


def test_image_job_round_trip() -> None:
    """An image job survives to_message/from_message unchanged."""
    job = ImageJob(7, "front", "/cams/front/a.jpg", "2026-11-24T02:15:02+01:00")
    message = job.to_message()
    assert message == {
        "image_id": 7,
        "camera_id": "front",
        "file_path": "/cams/front/a.jpg",
        "timestamp": "2026-11-24T02:15:02+01:00",
    }
    assert ImageJob.from_message(message) == job


def test_image_job_from_message_coerces_types() -> None:
    """Values read back from Redis as strings become the typed fields."""
    job = ImageJob.from_message(
        {"image_id": "12", "camera_id": 5, "file_path": "p", "timestamp": "t"}
    )
    assert job == ImageJob(12, "5", "p", "t")


def test_image_job_from_message_requires_keys() -> None:
    """A payload without an id is rejected, not silently defaulted."""
    with pytest.raises(KeyError):
        ImageJob.from_message({"camera_id": "a", "file_path": "p", "timestamp": "t"})


def test_closed_batch_round_trip_keeps_aware_times() -> None:
    """A closed batch survives the queue with its timezone-aware times and ids."""
    start = datetime(2026, 11, 24, 1, 15, 2, tzinfo=UTC)
    batch = ClosedBatch("b1", "front", (3, 4, 5), start, start + timedelta(seconds=90))
    message = batch.to_message()
    assert message["detection_ids"] == [3, 4, 5]
    assert message["timestamp"] == message["ended_at"] == "2026-11-24T01:16:32+00:00"
    assert message["started_at"] == "2026-11-24T01:15:02+00:00"
    back = ClosedBatch.from_message({**message, "detection_ids": ["3", "4", "5"]})
    assert back == batch
    assert back.started_at.tzinfo is not None


def test_values_are_frozen() -> None:
    """Stage values cannot be changed after creation."""
    det = Detection("person", 0.9, (1, 2, 3, 4))
    with pytest.raises(FrozenInstanceError):
        det.confidence = 0.1  # type: ignore[misc]
    now = datetime.now(UTC)
    batch = OpenBatch("b", "c", now, now)
    with pytest.raises(FrozenInstanceError):
        batch.camera_id = "x"  # type: ignore[misc]
    risk = RiskAssessment(50, "medium", "s", "r")
    with pytest.raises(FrozenInstanceError):
        risk.risk_score = 1  # type: ignore[misc]
