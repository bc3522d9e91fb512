"""Risk events: one per analysed batch, with the detections it covers (blocking)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
import json
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..const import CLIP_SUFFIXES
from ..pipeline.key_frame import KEY_GROUPS
from ..pipeline.models import ClosedBatch, RiskAssessment
from ..pipeline.risk_prior import group_of
from . import schema
from .detections import detection_record
from .engine import SqliteEngine, in_chunks
from .records import (
    AnalysisStatus,
    DetectionRecord,
    EventQuery,
    EventRecord,
    RiskBreakdown,
    Verdict,
    VerdictRecord,
)


class EventStore(SqliteEngine):
    """The `events` table and which detections each event covers."""

    def store_event(
        self,
        batch: ClosedBatch,
        assessment: RiskAssessment | None,
        status: str,
        now: datetime,
        breakdown: RiskBreakdown | None = None,
        snoozed: bool = False,
        title: str | None = None,
        llm_summary: str | None = None,
    ) -> tuple[EventRecord, bool]:
        """Store the event of a batch; idempotent per batch. Return it and whether it is new.

        `snoozed`: the camera's alerts were snoozed (kept with the event for its review).
        The assessment's summary is the one pushed; `llm_summary` is the LLM's own text.
        """
        with self._write() as session:
            if (
                existing := session.scalar(
                    select(schema.Event).where(schema.Event.batch_id == batch.batch_id)
                )
            ) is not None:
                return event_records(session, [existing])[0], False
            times: dict[int, datetime] = {}
            for ids in in_chunks(batch.detection_ids):
                rows = session.execute(
                    select(schema.Detection.id, schema.Detection.detected_at).where(
                        schema.Detection.id.in_(ids)
                    )
                )
                times.update(rows.tuples().all())
            row = schema.Event(
                batch_id=batch.batch_id,
                camera_id=batch.camera_id,
                started_at=min(times.values(), default=batch.started_at),
                ended_at=max(times.values(), default=batch.ended_at),
                risk_score=assessment.risk_score if assessment else None,
                risk_level=assessment.risk_level if assessment else None,
                summary=assessment.summary if assessment else "",
                reasoning=assessment.reasoning if assessment else "",
                analysis_status=status,
                created_at=now,
                snoozed=snoozed,
                title=title,
                llm_summary=llm_summary,
            )
            _set_breakdown(row, breakdown)
            session.add(row)
            session.flush()
            session.add_all(schema.EventDetection(event_id=row.id, detection_id=i) for i in times)
            session.flush()
            return event_records(session, [row])[0], True

    def event_cameras(self, event_ids: Iterable[int]) -> set[str]:
        """Return the cameras the given events belong to (unknown ids add nothing)."""
        found: set[str] = set()
        with self._session() as session:
            for ids in in_chunks(set(event_ids)):
                found.update(
                    session.scalars(
                        select(schema.Event.camera_id).where(schema.Event.id.in_(ids)).distinct()
                    )
                )
        return found

    def event(self, event_id: int) -> EventRecord | None:
        """Return one event."""
        with self._session() as session:
            row = session.get(schema.Event, event_id)
            return None if row is None else event_records(session, [row])[0]

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
            return event_records(session, session.scalars(stmt.limit(query.limit)).all())

    def events_overlapping(self, start: datetime, end: datetime, limit: int) -> list[EventRecord]:
        """Return the events that overlap [start, end), oldest first (the newest `limit`)."""
        stmt = (
            select(schema.Event)
            .where(schema.Event.started_at < end, schema.Event.ended_at >= start)
            .order_by(schema.Event.started_at.desc(), schema.Event.id.desc())
            .limit(limit)
        )
        with self._session() as session:
            return event_records(session, session.scalars(stmt).all()[::-1])

    def unreviewed_counts(self) -> dict[str, int]:
        """Return how many events of each camera are not reviewed yet."""
        stmt = (
            select(schema.Event.camera_id, func.count())
            .where(schema.Event.reviewed.is_(False))
            .group_by(schema.Event.camera_id)
        )
        with self._session() as session:
            return dict(session.execute(stmt).tuples().all())

    def event_detections(self, event_ids: Iterable[int]) -> dict[int, list[DetectionRecord]]:
        """Return the detections of each event (oldest first), for many events in one go."""
        found: dict[int, list[DetectionRecord]] = {}
        with self._session() as session:
            for ids in in_chunks(event_ids):
                rows = session.execute(
                    select(schema.EventDetection.event_id, schema.Detection, schema.Image.path)
                    .join(
                        schema.Detection,
                        schema.Detection.id == schema.EventDetection.detection_id,
                    )
                    .join(schema.Image, schema.Image.id == schema.Detection.image_id)
                    .where(schema.EventDetection.event_id.in_(ids))
                    .order_by(schema.Detection.detected_at, schema.Detection.id)
                )
                for event_id, row, path in rows.tuples():
                    found.setdefault(event_id, []).append(detection_record(row, path))
        return found

    def acknowledge(
        self, event_ids: Iterable[int], note: str | None, verdict: Verdict | None = None
    ) -> int:
        """Mark events reviewed (with an optional note and verdict); return how many exist.

        Without a verdict an earlier one stays.
        """
        count = 0
        values: dict[str, object] = {"reviewed": True, "note": note}
        if verdict is not None:
            values["verdict"] = verdict
        with self._write() as session:
            for ids in in_chunks(event_ids):
                result = session.execute(
                    update(schema.Event).where(schema.Event.id.in_(ids)).values(values)
                )
                count += int(result.rowcount)  # type: ignore[attr-defined]
        return count

    def verdicts(
        self, camera_id: str, since: datetime, before: datetime, limit: int
    ) -> list[VerdictRecord]:
        """Return a camera's verdicts on events started in [since, before), newest first."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Event.id, schema.Event.started_at, schema.Event.verdict)
                .where(
                    schema.Event.camera_id == camera_id,
                    schema.Event.verdict.is_not(None),
                    schema.Event.started_at >= since,
                    schema.Event.started_at < before,
                )
                .order_by(schema.Event.started_at.desc())
                .limit(limit)
            ).all()
            objects: dict[int, set[str]] = {row.id: set() for row in rows}
            for ids in in_chunks(objects):
                found = session.execute(
                    select(schema.EventDetection.event_id, schema.Detection.object_type)
                    .join(
                        schema.Detection,
                        schema.Detection.id == schema.EventDetection.detection_id,
                    )
                    .where(schema.EventDetection.event_id.in_(ids))
                )
                for event_id, object_type in found.tuples():
                    objects[event_id].add(object_type)
        return [
            VerdictRecord(row.started_at, tuple(sorted(objects[row.id])), Verdict(row.verdict))
            for row in rows
            if row.verdict in Verdict
        ]

    def update_assessment(
        self,
        event_id: int,
        assessment: RiskAssessment,
        status: str,
        breakdown: RiskBreakdown | None = None,
        title: str | None = None,
        llm_summary: str | None = None,
    ) -> EventRecord | None:
        """Replace an event's assessment (re-analysis); a title or LLM text given replaces too."""
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
            if title is not None:
                row.title = title
            if llm_summary is not None:
                row.llm_summary = llm_summary
            session.flush()
            return event_records(session, [row])[0]

    def unassessed_events(self, limit: int) -> list[EventRecord]:
        """Return events the LLM has not assessed, oldest first."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Event)
                .where(schema.Event.analysis_status != AnalysisStatus.ANALYZED)
                .order_by(schema.Event.id)
                .limit(limit)
            ).all()
            return event_records(session, rows)


def latest_event(session: Session, camera_id: str) -> EventRecord | None:
    """Return a camera's newest event."""
    row = session.scalar(
        select(schema.Event)
        .where(schema.Event.camera_id == camera_id)
        .order_by(schema.Event.started_at.desc(), schema.Event.id.desc())
        .limit(1)
    )
    return None if row is None else event_records(session, [row])[0]


def event_records(session: Session, rows: Sequence[schema.Event]) -> list[EventRecord]:
    """Turn event rows into records, fetching the detections of all of them in one query."""
    members: dict[int, list[tuple[int, str, str | None, str, float]]] = {row.id: [] for row in rows}
    for ids in in_chunks(members):
        found = session.execute(
            select(
                schema.EventDetection.event_id,
                schema.Detection.id,
                schema.Detection.object_type,
                schema.Detection.thumbnail_path,
                schema.Image.path,
                schema.Detection.confidence,
            )
            .join(schema.Detection, schema.Detection.id == schema.EventDetection.detection_id)
            .join(schema.Image, schema.Image.id == schema.Detection.image_id)
            .where(schema.EventDetection.event_id.in_(ids))
            .order_by(schema.Detection.id)
        )
        for event_id, detection_id, object_type, thumbnail, path, confidence in found.tuples():
            members[event_id].append((detection_id, object_type, thumbnail, path, confidence))
    return [_record(row, members[row.id]) for row in rows]


def _record(row: schema.Event, dets: list[tuple[int, str, str | None, str, float]]) -> EventRecord:
    clips = [i for i, _, _, path, _ in dets if Path(path).suffix.lower() in CLIP_SUFFIXES]
    # The event's picture: its key detection with a thumbnail (people and vehicles first,
    # then the most confident, then the newest), not whichever frame came last.
    shown = max(
        (d for d in dets if d[2]),
        key=lambda d: (group_of(d[1]) in KEY_GROUPS, d[4], d[0]),
        default=None,
    )
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
        objects=tuple(sorted({d[1] for d in dets})),
        detection_ids=tuple(d[0] for d in dets),
        thumbnail_path=shown[2] if shown else None,
        shown_detection_id=shown[0] if shown else None,
        reviewed=row.reviewed,
        note=row.note,
        verdict=row.verdict,
        breakdown=_breakdown(row),
        clip_detection_id=clips[-1] if clips else None,
        snoozed=row.snoozed,
        title=row.title or "",
        llm_summary=row.llm_summary or "",
    )


def _set_breakdown(row: schema.Event, breakdown: RiskBreakdown | None) -> None:
    if breakdown is None:
        return
    row.prior_score = breakdown.prior_score
    row.llm_score = breakdown.llm_score
    row.llm_adjustment = breakdown.llm_adjustment
    row.factors = json.dumps([list(f) for f in breakdown.factors])
    row.llm_belief = None if breakdown.llm_belief is None else json.dumps(breakdown.llm_belief)
    row.text_source = breakdown.text_source


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
        row.text_source,
    )
