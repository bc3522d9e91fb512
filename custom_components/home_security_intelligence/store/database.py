"""The integration's SQLite file: ledger, detections, events.

Every method blocks: call it from the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
import json
import logging
from pathlib import Path
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, insert, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..pipeline.models import ClosedBatch, Detection, ImageJob, OpenBatch, RiskAssessment
from . import schema
from .records import (
    AnalysisStatus,
    BatchState,
    CameraRecord,
    DetectionRecord,
    EventQuery,
    EventRecord,
    ImageState,
    NewImage,
    PurgeResult,
    RiskBreakdown,
)

_LOGGER = logging.getLogger(__name__)

IMAGE_PENDING = ImageState.PENDING
IMAGE_DONE = ImageState.DONE
IMAGE_INVALID = ImageState.INVALID
IMAGE_FAILED = ImageState.FAILED

BATCH_OPEN = BatchState.OPEN
BATCH_CLOSED = BatchState.CLOSED
BATCH_ANALYZED = BatchState.ANALYZED


class Database:
    """SQLAlchemy access to `hsi.db`."""

    def __init__(self, path: Path) -> None:
        """Remember the path; `open` creates the file."""
        self.path = path
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._write_lock = threading.Lock()

    def open(self) -> None:
        """Create the folder, the file and the tables; turn on WAL."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            f"sqlite:///{self.path}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        schema.Base.metadata.create_all(engine)
        _add_missing_columns(engine)
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        with self._session() as session, session.begin():
            if session.get(schema.SchemaVersion, schema.SCHEMA_VERSION) is None:
                session.execute(delete(schema.SchemaVersion))
                session.add(schema.SchemaVersion(version=schema.SCHEMA_VERSION))

    def close(self) -> None:
        """Dispose of the connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None

    def _session(self) -> Session:
        if self._sessions is None:
            raise RuntimeError("database is closed")
        return self._sessions()

    def _write(self) -> _WriteTx:
        return _WriteTx(self._session(), self._write_lock)

    # Cameras

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
                    self._latest_event(session, cam.id),
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

    # The image ledger

    def known_paths(self) -> set[str]:
        """Return every path already in the ledger."""
        with self._session() as session:
            return set(session.scalars(select(schema.Image.path)))

    def record_images(self, images: Sequence[NewImage], now: datetime) -> list[ImageJob]:
        """Add images not in the ledger yet; return jobs for the ones added."""
        if not images:
            return []
        with self._write() as session:
            known = set(
                session.scalars(
                    select(schema.Image.path).where(schema.Image.path.in_([i.path for i in images]))
                )
            )
            rows = [
                schema.Image(
                    camera_id=i.camera_id,
                    path=i.path,
                    size=i.size,
                    mtime=i.mtime,
                    captured_at=i.captured_at,
                    state=IMAGE_PENDING,
                    attempts=0,
                    updated_at=now,
                )
                for i in {i.path: i for i in images if i.path not in known}.values()
            ]
            session.add_all(rows)
            session.flush()
            return [_job(row) for row in rows]

    def pending_images(self) -> list[ImageJob]:
        """Return the ledger's images that still wait for detection."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Image)
                .where(schema.Image.state == IMAGE_PENDING)
                .order_by(schema.Image.id)
            )
            return [_job(row) for row in rows]

    def image_state(self, image_id: int) -> str | None:
        """Return the ledger state of an image."""
        with self._session() as session:
            return session.scalar(select(schema.Image.state).where(schema.Image.id == image_id))

    def mark_image(self, image_id: int, state: str, error: str | None, now: datetime) -> None:
        """Set an image's state, counting the attempt and keeping the last error."""
        with self._write() as session:
            session.execute(
                update(schema.Image)
                .where(schema.Image.id == image_id)
                .values(
                    state=state,
                    last_error=error,
                    attempts=schema.Image.attempts + 1,
                    updated_at=now,
                )
            )

    def image_counts(self) -> dict[str, int]:
        """Return how many images are in each ledger state."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Image.state, func.count()).group_by(schema.Image.state)
            )
            return dict(rows.tuples().all())

    # Detections

    def store_detections(
        self,
        job: ImageJob,
        detections: Sequence[Detection],
        detected_at: datetime,
        now: datetime,
        thumbnail: Callable[[int], str | None] | None = None,
    ) -> list[int]:
        """Store an image's detections and mark it done in one transaction; return their ids.

        `thumbnail` is called with the first detection id and returns the thumbnail's path
        (or None), recorded on every detection of the image. Idempotent: an image already
        done returns its stored detection ids.
        """
        with self._write() as session:
            state = session.scalar(
                select(schema.Image.state).where(schema.Image.id == job.image_id)
            )
            if state is None:
                return []
            if state == IMAGE_DONE:
                return list(
                    session.scalars(
                        select(schema.Detection.id).where(schema.Detection.image_id == job.image_id)
                    )
                )
            ids: list[int] = []
            if detections:
                ids = list(
                    session.scalars(
                        insert(schema.Detection).returning(
                            schema.Detection.id, sort_by_parameter_order=True
                        ),
                        [
                            {
                                "image_id": job.image_id,
                                "camera_id": job.camera_id,
                                "object_type": d.object_type,
                                "confidence": d.confidence,
                                "bbox_x": d.bbox[0],
                                "bbox_y": d.bbox[1],
                                "bbox_width": d.bbox[2],
                                "bbox_height": d.bbox[3],
                                "detected_at": detected_at,
                            }
                            for d in detections
                        ],
                    )
                )
                if thumbnail is not None and (path := thumbnail(ids[0])) is not None:
                    session.execute(
                        update(schema.Detection)
                        .where(schema.Detection.image_id == job.image_id)
                        .values(thumbnail_path=path)
                    )
            session.execute(
                update(schema.Image)
                .where(schema.Image.id == job.image_id)
                .values(
                    state=IMAGE_DONE,
                    attempts=schema.Image.attempts + 1,
                    last_error=None,
                    updated_at=now,
                )
            )
            return ids

    def assign_batch(self, detection_ids: Iterable[int], batch_id: str) -> None:
        """Record which batch detections went to."""
        with self._write() as session:
            session.execute(
                update(schema.Detection)
                .where(schema.Detection.id.in_(list(detection_ids)))
                .values(batch_id=batch_id)
            )

    def unbatched_detections(self) -> dict[str, list[int]]:
        """Return, per camera, detections stored but never added to a batch."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Detection.camera_id, schema.Detection.id)
                .where(schema.Detection.batch_id.is_(None))
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
        with self._session() as session:
            rows = session.execute(
                select(schema.Detection, schema.Image.path)
                .join(schema.Image, schema.Image.id == schema.Detection.image_id)
                .where(schema.Detection.id.in_(list(detection_ids)))
                .order_by(schema.Detection.detected_at, schema.Detection.id)
            )
            return [_detection(row, path) for row, path in rows.tuples()]

    # Events

    def store_event(
        self,
        batch: ClosedBatch,
        assessment: RiskAssessment | None,
        status: str,
        now: datetime,
        breakdown: RiskBreakdown | None = None,
    ) -> tuple[EventRecord, bool]:
        """Store the event of a batch; idempotent per batch. Return it and whether it is new."""
        with self._write() as session:
            if (
                existing := session.scalar(
                    select(schema.Event).where(schema.Event.batch_id == batch.batch_id)
                )
            ) is not None:
                return self._event(session, existing), False
            ids = list(
                session.scalars(
                    select(schema.Detection.id).where(
                        schema.Detection.id.in_(list(batch.detection_ids))
                    )
                )
            )
            times = session.execute(
                select(
                    func.min(schema.Detection.detected_at), func.max(schema.Detection.detected_at)
                ).where(schema.Detection.id.in_(ids))
            ).one()
            row = schema.Event(
                batch_id=batch.batch_id,
                camera_id=batch.camera_id,
                started_at=times[0] or batch.started_at,
                ended_at=times[1] or batch.ended_at,
                risk_score=assessment.risk_score if assessment else None,
                risk_level=assessment.risk_level if assessment else None,
                summary=assessment.summary if assessment else "",
                reasoning=assessment.reasoning if assessment else "",
                analysis_status=status,
                created_at=now,
            )
            _set_breakdown(row, breakdown)
            session.add(row)
            session.flush()
            session.add_all(schema.EventDetection(event_id=row.id, detection_id=i) for i in ids)
            session.flush()
            return self._event(session, row), True

    def latest_event(self, camera_id: str) -> EventRecord | None:
        """Return the camera's newest event."""
        with self._session() as session:
            return self._latest_event(session, camera_id)

    def _latest_event(self, session: Session, camera_id: str) -> EventRecord | None:
        row = session.scalar(
            select(schema.Event)
            .where(schema.Event.camera_id == camera_id)
            .order_by(schema.Event.started_at.desc(), schema.Event.id.desc())
            .limit(1)
        )
        return None if row is None else self._event(session, row)

    def _event(self, session: Session, row: schema.Event) -> EventRecord:
        dets = session.execute(
            select(
                schema.Detection.id,
                schema.Detection.object_type,
                schema.Detection.thumbnail_path,
            )
            .join(schema.EventDetection, schema.EventDetection.detection_id == schema.Detection.id)
            .where(schema.EventDetection.event_id == row.id)
            .order_by(schema.Detection.id)
        ).all()
        thumbs = [t for _, _, t in dets if t]
        return EventRecord(
            id=row.id,
            batch_id=row.batch_id,
            camera_id=row.camera_id,
            started_at=row.started_at,
            ended_at=row.ended_at,
            risk_score=row.risk_score,
            risk_level=row.risk_level,
            summary=row.summary,
            reasoning=row.reasoning,
            analysis_status=row.analysis_status,
            created_at=row.created_at,
            objects=tuple(sorted({o for _, o, _ in dets})),
            detection_ids=tuple(i for i, _, _ in dets),
            thumbnail_path=thumbs[-1] if thumbs else None,
            reviewed=row.reviewed,
            note=row.note,
            breakdown=_breakdown(row),
        )

    def event(self, event_id: int) -> EventRecord | None:
        """Return one event."""
        with self._session() as session:
            row = session.get(schema.Event, event_id)
            return None if row is None else self._event(session, row)

    def detection_times(self, camera_id: str, since: datetime, before: datetime) -> list[datetime]:
        """Return when a camera's detections happened in a period (for its rarity baseline)."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(schema.Detection.detected_at).where(
                        schema.Detection.camera_id == camera_id,
                        schema.Detection.detected_at >= since,
                        schema.Detection.detected_at < before,
                    )
                )
            )

    def event_times(self, camera_id: str) -> list[datetime]:
        """Return the start times of a camera's events (for grouping by day)."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(schema.Event.started_at).where(schema.Event.camera_id == camera_id)
                )
            )

    def query_events(self, query: EventQuery) -> list[EventRecord]:
        """Return events matching the filters, newest first."""
        stmt = select(schema.Event)
        if query.camera_ids:
            stmt = stmt.where(schema.Event.camera_id.in_(query.camera_ids))
        if query.min_score is not None:
            stmt = stmt.where(schema.Event.risk_score >= query.min_score)
        if query.since is not None:
            stmt = stmt.where(schema.Event.started_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(schema.Event.started_at <= query.until)
        if query.reviewed is not None:
            stmt = stmt.where(schema.Event.reviewed.is_(query.reviewed))
        stmt = stmt.order_by(schema.Event.started_at.desc(), schema.Event.id.desc())
        with self._session() as session:
            rows = session.scalars(stmt.limit(query.limit)).all()
            return [self._event(session, row) for row in rows]

    def acknowledge(self, event_ids: Iterable[int], note: str | None) -> int:
        """Mark events reviewed (with an optional note); return how many exist."""
        with self._write() as session:
            result = session.execute(
                update(schema.Event)
                .where(schema.Event.id.in_(list(event_ids)))
                .values(reviewed=True, note=note)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def update_assessment(
        self,
        event_id: int,
        assessment: RiskAssessment,
        status: str,
        breakdown: RiskBreakdown | None = None,
    ) -> EventRecord | None:
        """Replace an event's assessment (re-analysis)."""
        with self._write() as session:
            row = session.get(schema.Event, event_id)
            if row is None:
                return None
            row.risk_score = assessment.risk_score
            row.risk_level = assessment.risk_level
            row.summary = assessment.summary
            row.reasoning = assessment.reasoning
            row.analysis_status = status
            if breakdown is not None:
                _set_breakdown(row, breakdown)
            session.flush()
            return self._event(session, row)

    def unassessed_events(self, limit: int) -> list[EventRecord]:
        """Return events the LLM has not assessed, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Event)
                .where(schema.Event.analysis_status != AnalysisStatus.ANALYZED)
                .order_by(schema.Event.id)
                .limit(limit)
            ).all()
            return [self._event(session, row) for row in rows]

    def purge(self, before: datetime) -> PurgeResult:
        """Delete events, detections and ledger rows older than `before`.

        Returns the thumbnail files to delete; open batches and images still
        waiting for detection are kept.
        """
        with self._write() as session:
            old_events = select(schema.Event.id).where(schema.Event.started_at < before)
            thumbs = set(
                session.scalars(
                    select(schema.Detection.thumbnail_path).where(
                        schema.Detection.detected_at < before,
                        schema.Detection.thumbnail_path.is_not(None),
                        schema.Detection.batch_id.is_not(None),
                    )
                )
            )
            events = session.execute(
                delete(schema.EventDetection).where(schema.EventDetection.event_id.in_(old_events))
            )
            events = session.execute(delete(schema.Event).where(schema.Event.started_at < before))
            open_batches = select(schema.Batch.id).where(schema.Batch.state != BATCH_ANALYZED)
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
                    schema.Image.state != IMAGE_PENDING,
                    schema.Image.id.not_in(select(schema.Detection.image_id)),
                )
            )
            session.execute(
                delete(schema.Batch).where(
                    schema.Batch.state == BATCH_ANALYZED, schema.Batch.last_activity < before
                )
            )
            kept = set(
                session.scalars(
                    select(schema.Detection.thumbnail_path).where(
                        schema.Detection.thumbnail_path.in_(thumbs)
                    )
                )
            )
            return PurgeResult(
                events=int(events.rowcount),  # type: ignore[attr-defined]
                detections=int(detections.rowcount),  # type: ignore[attr-defined]
                images=int(images.rowcount),  # type: ignore[attr-defined]
                files=tuple(sorted(t for t in thumbs - kept if t)),
            )

    # Embedded batches

    def batch_add(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime, new_id: str
    ) -> str:
        """Add detections to the camera's open batch (opening `new_id` if none) atomically.

        One transaction, so a close can never fall between choosing the batch and
        recording its members.
        """
        with self._write() as session:
            batch = session.scalar(
                select(schema.Batch).where(
                    schema.Batch.camera_id == camera_id, schema.Batch.state == BATCH_OPEN
                )
            )
            if batch is None:
                batch = schema.Batch(
                    id=new_id,
                    camera_id=camera_id,
                    state=BATCH_OPEN,
                    started_at=at,
                    last_activity=at,
                )
                session.add(batch)
            else:
                batch.last_activity = at
            session.execute(
                update(schema.Detection)
                .where(schema.Detection.id.in_(list(detection_ids)))
                .values(batch_id=batch.id)
            )
            return batch.id

    def batches(self, state: str) -> list[OpenBatch]:
        """Return batches in a state, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Batch)
                .where(schema.Batch.state == state)
                .order_by(schema.Batch.started_at)
            )
            return [OpenBatch(r.id, r.camera_id, r.started_at, r.last_activity) for r in rows]

    def batch_close(self, batch_id: str, closed_at: datetime) -> ClosedBatch | None:
        """Close an open batch; None if it is not open."""
        with self._write() as session:
            batch = session.get(schema.Batch, batch_id)
            if batch is None or batch.state != BATCH_OPEN:
                return None
            batch.state = BATCH_CLOSED
            batch.closed_at = closed_at
            return self._closed(session, batch)

    def closed_batches(self) -> list[ClosedBatch]:
        """Return closed batches still waiting for analysis."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Batch)
                .where(schema.Batch.state == BATCH_CLOSED)
                .order_by(schema.Batch.closed_at)
            ).all()
            return [self._closed(session, row) for row in rows]

    def batch_analyzed(self, batch_id: str) -> None:
        """Mark a closed batch as analysed."""
        with self._write() as session:
            session.execute(
                update(schema.Batch).where(schema.Batch.id == batch_id).values(state=BATCH_ANALYZED)
            )

    def _closed(self, session: Session, batch: schema.Batch) -> ClosedBatch:
        ids = session.scalars(
            select(schema.Detection.id)
            .where(schema.Detection.batch_id == batch.id)
            .order_by(schema.Detection.id)
        )
        return ClosedBatch(
            batch.id, batch.camera_id, tuple(ids), batch.started_at, batch.last_activity
        )

    def stats(self) -> dict[str, Any]:
        """Row counts for diagnostics."""
        with self._session() as session:
            return {
                table.__tablename__: session.scalar(select(func.count()).select_from(table))
                for table in (schema.Camera, schema.Image, schema.Detection, schema.Event)
            }


class _WriteTx:
    """A session in a transaction, serialised with other writers of this process."""

    def __init__(self, session: Session, lock: threading.Lock) -> None:
        self._session = session
        self._lock = lock

    def __enter__(self) -> Session:
        self._lock.acquire()
        self._session.begin()
        return self._session

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._session.commit()
            else:
                self._session.rollback()
        finally:
            self._session.close()
            self._lock.release()


def _add_missing_columns(engine: Engine) -> None:
    """Upgrade a file made by an older version: add the columns it lacks (all nullable)."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in schema.Base.metadata.sorted_tables:
            have = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                default = "" if column.nullable else " DEFAULT 0"
                conn.exec_driver_sql(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} "
                    f"{column.type.compile(engine.dialect)}{default}"
                )
                _LOGGER.info("Database upgrade: added %s.%s", table.name, column.name)


def _set_breakdown(row: schema.Event, breakdown: RiskBreakdown | None) -> None:
    if breakdown is None:
        return
    row.prior_score = breakdown.prior_score
    row.llm_score = breakdown.llm_score
    row.llm_adjustment = breakdown.llm_adjustment
    row.factors = json.dumps([list(f) for f in breakdown.factors])
    row.llm_belief = None if breakdown.llm_belief is None else json.dumps(breakdown.llm_belief)


def _breakdown(row: schema.Event) -> RiskBreakdown | None:
    if row.prior_score is None:
        return None
    factors = tuple((str(n), int(c), str(d)) for n, c, d in json.loads(row.factors or "[]"))
    belief = json.loads(row.llm_belief) if row.llm_belief else None
    return RiskBreakdown(
        row.prior_score,
        factors,
        row.llm_score,
        row.llm_adjustment or 0,
        None if belief is None else (belief[0], belief[1], belief[2], belief[3]),
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _job(row: schema.Image) -> ImageJob:
    return ImageJob(row.id, row.camera_id, row.path, row.captured_at.isoformat())


def _detection(row: schema.Detection, path: str) -> DetectionRecord:
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
    )
