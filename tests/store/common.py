"""Helpers shared by the store tests: times, ledger images and stored detections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime, timedelta
import itertools
import sqlite3

from custom_components.home_security_intelligence.pipeline.models import Detection, ImageJob
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import NewImage

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
_names = itertools.count()


def at(seconds: float) -> datetime:
    """Return T0 plus `seconds`."""
    return T0 + timedelta(seconds=seconds)


def new_image(camera_id: str, when: datetime = T0, path: str | None = None) -> NewImage:
    """A ledger entry for an image of `camera_id` (unique path unless given)."""
    return NewImage(
        camera_id=camera_id,
        path=path or f"/cameras/{camera_id}/MDAlarm_{next(_names):06d}.jpg",
        size=1234,
        mtime=when.timestamp(),
        captured_at=when,
    )


def seed_image(db: Database, camera_id: str, when: datetime = T0) -> ImageJob:
    """Record one new image in the ledger; return its job (blocking)."""
    (job,) = db.record_images([new_image(camera_id, when)], when)
    return job


def seed_detections(
    db: Database,
    camera_id: str,
    when: datetime = T0,
    objects: Sequence[str] = ("person",),
) -> list[int]:
    """Store one image of `camera_id` with one detection per object; return their ids (blocking)."""
    job = seed_image(db, camera_id, when)
    found = [Detection(o, 0.9, (10, 20, 30, 40)) for o in objects]
    return db.store_detections(job, found, when, when)


def set_thumbnail(db: Database, detection_ids: Iterable[int], path: str) -> None:
    """Point detections at a thumbnail path, straight in the SQLite file."""
    ids = list(detection_ids)
    with closing(sqlite3.connect(db.path)) as conn, conn:
        conn.execute(
            f"UPDATE detections SET thumbnail_path = ? WHERE id IN ({','.join('?' * len(ids))})",
            [path, *ids],
        )
