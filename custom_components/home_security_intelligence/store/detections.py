"""Detections: the objects found in each image (blocking: use the executor)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from ..pipeline.models import ClosedBatch, Detection, ImageJob
from . import schema
from .engine import SqliteEngine, in_chunks
from .hot_sql import marks, sql_time, write_connection
from .records import DetectionRecord, EventQuery, ImageState, StoredFrame

_DETECTION_COLUMNS = (
    "image_id, camera_id, object_type, confidence, bbox_x, bbox_y, bbox_width, bbox_height,"
    " detected_at, thumbnail_path, frame_offset_s, filtered"
)


def set_batch(conn: Connection, detection_ids: Iterable[int], batch_id: str) -> None:
    """Point detections at their batch (inside the caller's transaction)."""
    for ids in in_chunks(detection_ids):
        conn.exec_driver_sql(
            f"UPDATE detections SET batch_id = ? WHERE id IN ({marks(len(ids))})",  # noqa: S608 - placeholders only
            (batch_id, *ids),
        )


class DetectionStore(SqliteEngine):
    """The `detections` table."""

    def store_detections(
        self,
        job: ImageJob,
        detections: Sequence[Detection],
        detected_at: datetime,
        now: datetime,
        thumbnail: str | None = None,
        filtered: Sequence[str | None] = (),
    ) -> list[int]:
        """Store a still's detections and mark it done in one transaction (`store_frames`).

        `filtered` gives, per detection, why a zone filter set it aside (None counts);
        empty means every detection counts.
        """
        reasons = filtered or [None] * len(detections)
        return self.store_frames(
            job, [StoredFrame(detections, reasons, detected_at, thumbnail)], now
        )

    def store_frames(
        self, job: ImageJob, frames: Sequence[StoredFrame], now: datetime
    ) -> list[int]:
        """Store the detections of an image's frames, mark it done; return the counted ids.

        One frame for a still, one per sampled frame for a clip. Each frame's thumbnail
        path (named by image id; the file is written at once or on its first request) is
        recorded on its counted detections; filtered ones are stored with their reason.
        Idempotent: an image already done returns its stored counted detection ids. Plain
        SQL, no ORM session: one UPDATE and one multi-row INSERT in one transaction.
        """
        with write_connection(self._engine, self._write_lock) as conn:
            marked = conn.exec_driver_sql(
                "UPDATE images SET state = ?, attempts = attempts + 1, last_error = NULL,"
                " updated_at = ? WHERE id = ? AND state != ?",
                (ImageState.DONE.value, sql_time(now), job.image_id, ImageState.DONE.value),
            )
            if not marked.rowcount:
                # Gone (purged) or already done: return what it stored then.
                return list(
                    conn.exec_driver_sql(
                        "SELECT id FROM detections WHERE image_id = ? AND filtered IS NULL"
                        " ORDER BY id",
                        (job.image_id,),
                    ).scalars()
                )
            rows = [
                (
                    job.image_id,
                    job.camera_id,
                    d.object_type,
                    d.confidence,
                    *d.bbox,
                    sql_time(frame.captured_at),
                    None if reason else frame.thumbnail,
                    frame.offset_s,
                    reason,
                )
                for frame in frames
                for d, reason in zip(frame.detections, frame.filtered, strict=True)
            ]
            if not rows:
                return []
            # One INSERT ... VALUES (...), (...) RETURNING id; ids grow in insertion order.
            ids = sorted(
                conn.exec_driver_sql(
                    f"INSERT INTO detections ({_DETECTION_COLUMNS}) VALUES "  # noqa: S608 - placeholders only
                    + ", ".join([f"({marks(len(rows[0]))})"] * len(rows))
                    + " RETURNING id",
                    tuple(value for row in rows for value in row),
                ).scalars()
            )
            return [i for i, row in zip(ids, rows, strict=True) if row[-1] is None]

    def assign_batch(self, detection_ids: Iterable[int], batch_id: str) -> None:
        """Record which batch detections went to."""
        with write_connection(self._engine, self._write_lock) as conn:
            set_batch(conn, detection_ids, batch_id)

    def unbatched_detections(self) -> dict[str, list[int]]:
        """Return, per camera, detections stored but never added to a batch."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Detection.camera_id, schema.Detection.id)
                .where(schema.Detection.batch_id.is_(None), schema.Detection.filtered.is_(None))
                .order_by(schema.Detection.id)
            )
            found: dict[str, list[int]] = {}
            for camera_id, detection_id in rows.tuples():
                found.setdefault(camera_id, []).append(detection_id)
            return found

    def batches_without_event(self, known: set[str]) -> list[ClosedBatch]:
        """Return, as closed batches, the batches of detections that have no event.

        Batches in `known` (open, queued or being analysed) are left out. For a work
        store that lost its batches: each lost one is analysed after all.
        """
        with self._session() as session:
            rows = session.execute(
                select(
                    schema.Detection.batch_id,
                    schema.Detection.camera_id,
                    schema.Detection.id,
                    schema.Detection.detected_at,
                )
                .where(
                    schema.Detection.batch_id.is_not(None),
                    schema.Detection.batch_id.not_in(select(schema.Event.batch_id)),
                    schema.Detection.id.not_in(select(schema.EventDetection.detection_id)),
                )
                .order_by(schema.Detection.id)
            )
            found: dict[str, tuple[str, list[int], list[datetime]]] = {}
            for batch_id, camera_id, detection_id, detected_at in rows.tuples():
                if batch_id is None or batch_id in known:
                    continue
                _, ids, times = found.setdefault(batch_id, (camera_id, [], []))
                ids.append(detection_id)
                times.append(detected_at)
            return [
                ClosedBatch(batch_id, camera_id, tuple(ids), min(times), max(times))
                for batch_id, (camera_id, ids, times) in found.items()
            ]

    def detections(self, detection_ids: Iterable[int]) -> list[DetectionRecord]:
        """Return detections by id, oldest first."""
        found: list[DetectionRecord] = []
        with self._session() as session:
            for ids in in_chunks(detection_ids):
                rows = session.execute(
                    select(schema.Detection, schema.Image.path)
                    .join(schema.Image, schema.Image.id == schema.Detection.image_id)
                    .where(schema.Detection.id.in_(ids))
                )
                found.extend(detection_record(row, path) for row, path in rows.tuples())
        return sorted(found, key=lambda d: (d.detected_at, d.id))

    def filtered_detections(self, query: EventQuery) -> list[DetectionRecord]:
        """Return detections a zone filter set aside, newest first (cameras, period, limit)."""
        stmt = (
            select(schema.Detection, schema.Image.path)
            .join(schema.Image, schema.Image.id == schema.Detection.image_id)
            .where(schema.Detection.filtered.is_not(None))
        )
        if query.camera_ids:
            stmt = stmt.where(schema.Detection.camera_id.in_(query.camera_ids))
        if query.since is not None:
            stmt = stmt.where(schema.Detection.detected_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(schema.Detection.detected_at <= query.until)
        stmt = stmt.order_by(schema.Detection.detected_at.desc(), schema.Detection.id.desc())
        with self._session() as session:
            rows = session.execute(stmt.limit(query.limit))
            return [detection_record(row, path) for row, path in rows.tuples()]

    def image_detections(self, image_id: int) -> list[DetectionRecord]:
        """Return one image's counted detections, oldest first: what its annotated frame shows."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Detection, schema.Image.path)
                .join(schema.Image, schema.Image.id == schema.Detection.image_id)
                .where(schema.Detection.image_id == image_id, schema.Detection.filtered.is_(None))
                .order_by(schema.Detection.id)
            )
            return [detection_record(row, path) for row, path in rows.tuples()]

    def detection_times(self, camera_id: str, since: datetime, before: datetime) -> list[datetime]:
        """Return when a camera's detections happened in a period (for its rarity baseline)."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(schema.Detection.detected_at).where(
                        schema.Detection.camera_id == camera_id,
                        schema.Detection.detected_at >= since,
                        schema.Detection.detected_at < before,
                        schema.Detection.filtered.is_(None),
                    )
                )
            )


def detection_record(row: schema.Detection, path: str) -> DetectionRecord:
    """Return a stored detection with the path of its image."""
    return DetectionRecord(
        id=row.id,
        image_id=row.image_id,
        camera_id=row.camera_id,
        object_type=row.object_type,
        confidence=row.confidence,
        bbox=(row.bbox_x, row.bbox_y, row.bbox_width, row.bbox_height),
        detected_at=row.detected_at,
        thumbnail_path=row.thumbnail_path,
        file_path=path,
        frame_offset_s=row.frame_offset_s,
        filtered=row.filtered,
    )
