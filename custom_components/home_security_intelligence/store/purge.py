"""Retention: delete old events, detections and ledger rows (blocking: use the executor)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from . import schema
from .engine import SqliteEngine, in_chunks
from .records import BatchState, ImageState, PurgeResult


class Purger(SqliteEngine):
    """Deletes what is older than a horizon, keeping work in progress."""

    def purge(self, before: datetime) -> PurgeResult:
        """Delete events, detections and ledger rows older than `before`.

        Returns the thumbnail files to delete; open batches and images still
        waiting for detection are kept. Ids are never handed out again.
        """
        with self._write() as session:
            old_events = select(schema.Event.id).where(schema.Event.started_at < before)
            thumbs = {
                path
                for path in session.scalars(
                    select(schema.Detection.thumbnail_path).where(
                        schema.Detection.detected_at < before,
                        schema.Detection.batch_id.is_not(None),
                    )
                )
                if path
            }
            session.execute(
                delete(schema.EventDetection).where(schema.EventDetection.event_id.in_(old_events))
            )
            events = session.execute(delete(schema.Event).where(schema.Event.started_at < before))
            open_batches = select(schema.Batch.id).where(schema.Batch.state != BatchState.ANALYZED)
            detections = session.execute(
                delete(schema.Detection).where(
                    schema.Detection.detected_at < before,
                    schema.Detection.batch_id.is_not(None),
                    schema.Detection.batch_id.not_in(open_batches),
                    schema.Detection.id.not_in(select(schema.EventDetection.detection_id)),
                )
            )
            images = session.execute(
                delete(schema.Image).where(
                    schema.Image.captured_at < before,
                    schema.Image.state != ImageState.PENDING,
                    schema.Image.id.not_in(select(schema.Detection.image_id)),
                )
            )
            session.execute(
                delete(schema.Batch).where(
                    schema.Batch.state == BatchState.ANALYZED, schema.Batch.last_activity < before
                )
            )
            kept: set[str | None] = set()
            for paths in in_chunks(thumbs):
                kept.update(
                    session.scalars(
                        select(schema.Detection.thumbnail_path).where(
                            schema.Detection.thumbnail_path.in_(paths)
                        )
                    )
                )
            return PurgeResult(
                events=int(events.rowcount),  # type: ignore[attr-defined]
                detections=int(detections.rowcount),  # type: ignore[attr-defined]
                images=int(images.rowcount),  # type: ignore[attr-defined]
                files=tuple(sorted(thumbs.difference(kept))),
            )
