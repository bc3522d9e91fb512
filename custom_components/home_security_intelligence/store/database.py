"""The integration's SQLite file, composed from one part per thing it stores.

engine (file, sessions, upgrades), ledger (images), detections, events, purge and the
embedded batches each live in their own module; this class adds the cameras.
Every method blocks: call it from the executor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from . import schema
from .detections import DetectionStore
from .embedded_store import EmbeddedBatches
from .events import EventStore, latest_event
from .ledger import ImageLedger
from .purge import Purger
from .records import CameraRecord


class Database(ImageLedger, DetectionStore, EventStore, Purger, EmbeddedBatches):
    """SQLAlchemy access to `hsi.db`."""

    def ensure_camera(self, camera_id: str, name: str, now: datetime) -> bool:
        """Add the camera if it is new; return True when it was added."""
        with self._write() as session:
            if session.get(schema.Camera, camera_id) is not None:
                return False
            session.add(schema.Camera(id=camera_id, name=name, created_at=now))
            return True

    def remove_camera(self, camera_id: str) -> bool:
        """Forget a camera (its events stay); return True when it was known."""
        with self._write() as session:
            if (camera := session.get(schema.Camera, camera_id)) is None:
                return False
            session.delete(camera)
            return True

    def cameras(self) -> list[CameraRecord]:
        """Return every camera with its newest event and snapshot."""
        with self._session() as session:
            cameras = session.scalars(select(schema.Camera).order_by(schema.Camera.id)).all()
            return [
                CameraRecord(
                    cam.id,
                    cam.name,
                    latest_event(session, cam.id),
                    session.scalar(
                        select(schema.Detection.thumbnail_path)
                        .where(
                            schema.Detection.camera_id == cam.id,
                            schema.Detection.thumbnail_path.is_not(None),
                        )
                        .order_by(schema.Detection.id.desc())
                        .limit(1)
                    ),
                )
                for cam in cameras
            ]

    def stats(self) -> dict[str, Any]:
        """Row counts for diagnostics."""
        with self._session() as session:
            return {
                table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in (schema.Camera, schema.Image, schema.Detection, schema.Event)
            }
