"""Embedded backend (no Redis): batches in the SQLite file, queues in memory.

`EmbeddedBatches` is the `batches` table (part of `Database`); `EmbeddedWorkStore` is the
work store on top of it.

The queues need no persistence of their own: the image ledger and the `batches` table
already hold every pending image and every closed, unanalysed batch, and `recover()`
reloads the analysis queue from them at start-up.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..pipeline.models import ClosedBatch, ImageJob, OpenBatch
from . import schema
from .detections import set_batch
from .engine import SqliteEngine
from .hot_sql import sql_time, write_connection
from .records import BatchState

type RunBlocking = Callable[..., Awaitable[Any]]


class EmbeddedBatches(SqliteEngine):
    """The `batches` table: each camera's open batch and the closed ones awaiting analysis.

    Every method blocks: call it from the executor.
    """

    def batch_add(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime, new_id: str
    ) -> str:
        """Add detections to the camera's open batch (opening `new_id` if none) atomically.

        One transaction, so a close can never fall between choosing the batch and
        recording its members.
        """
        with write_connection(self._engine, self._write_lock) as conn:
            batch_id = conn.exec_driver_sql(
                "SELECT id FROM batches WHERE camera_id = ? AND state = ?",
                (camera_id, BatchState.OPEN.value),
            ).scalar()
            when = sql_time(at)
            if batch_id is None:
                batch_id = new_id
                conn.exec_driver_sql(
                    "INSERT INTO batches (id, camera_id, state, started_at, last_activity)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (new_id, camera_id, BatchState.OPEN.value, when, when),
                )
            else:
                conn.exec_driver_sql(
                    "UPDATE batches SET last_activity = ? WHERE id = ?", (when, batch_id)
                )
            set_batch(conn, detection_ids, batch_id)
            return str(batch_id)

    def batches(self, state: BatchState) -> list[OpenBatch]:
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
            if batch is None or batch.state != BatchState.OPEN:
                return None
            batch.state = BatchState.CLOSED
            batch.closed_at = closed_at
            return _closed(session, batch)

    def closed_batches(self) -> list[ClosedBatch]:
        """Return closed batches still waiting for analysis."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Batch)
                .where(schema.Batch.state == BatchState.CLOSED)
                .order_by(schema.Batch.closed_at)
            ).all()
            return [_closed(session, row) for row in rows]

    def batch_analyzed(self, batch_id: str) -> None:
        """Mark a closed batch as analysed."""
        with self._write() as session:
            session.execute(
                update(schema.Batch)
                .where(schema.Batch.id == batch_id)
                .values(state=BatchState.ANALYZED)
            )


def _closed(session: Session, batch: schema.Batch) -> ClosedBatch:
    ids = session.scalars(
        select(schema.Detection.id)
        .where(schema.Detection.batch_id == batch.id)
        .order_by(schema.Detection.id)
    )
    return ClosedBatch(batch.id, batch.camera_id, tuple(ids), batch.started_at, batch.last_activity)


class EmbeddedWorkStore:
    """WorkStore on the integration's SQLite file."""

    name = "embedded"
    records_membership = True

    def __init__(self, db: EmbeddedBatches, run: RunBlocking) -> None:
        """Use `db` through `run` (HA's executor)."""
        self._db = db
        self._run = run
        self._images: deque[ImageJob] = deque()
        self._images_in_flight: set[int] = set()
        self._analysis: deque[ClosedBatch] = deque()

    async def async_close(self) -> None:
        """Nothing to release: the database belongs to the entry (the pipeline closes it)."""

    async def recover(self) -> int:
        """Queue the closed batches the database says were never analysed."""
        self._images.clear()
        self._images_in_flight.clear()
        pending: list[ClosedBatch] = await self._run(self._db.closed_batches)
        self._analysis = deque(pending)
        return len(pending)

    async def data_lost(self) -> bool:
        """Never: batches live in the SQLite file and `recover()` reloads the queues."""
        return False

    async def queued_batch_ids(self) -> set[str]:
        """Ids of closed batches waiting for analysis."""
        return {batch.batch_id for batch in self._analysis}

    async def push_analysis(self, batch: ClosedBatch) -> None:
        """Queue a closed batch."""
        self._analysis.append(batch)

    async def push_images(self, jobs: Sequence[ImageJob]) -> None:
        """Queue images."""
        self._images.extend(jobs)

    async def queued_image_ids(self) -> set[int]:
        """Ids of queued or in-flight images."""
        return {job.image_id for job in self._images} | self._images_in_flight

    async def take_image(self, done: ImageJob | None = None) -> ImageJob | None:
        """Forget `done` (if given) and take the oldest image."""
        if done is not None:
            self._images_in_flight.discard(done.image_id)
        if not self._images:
            return None
        job = self._images.popleft()
        self._images_in_flight.add(job.image_id)
        return job

    async def ack_image(self, job: ImageJob) -> None:
        """Forget a processed image."""
        self._images_in_flight.discard(job.image_id)

    async def image_backlog(self) -> int:
        """Queued plus in-flight images."""
        return len(self._images) + len(self._images_in_flight)

    async def add_detections(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime, ttl: int
    ) -> str:
        """Add detections to the camera's open batch and record membership, atomically."""
        batch_id: str = await self._run(
            self._db.batch_add, camera_id, detection_ids, at, uuid.uuid4().hex
        )
        return batch_id

    async def add_detections_and_take(
        self,
        camera_id: str,
        detection_ids: Sequence[int],
        at: datetime,
        ttl: int,
        done: ImageJob,
        take_next: bool,
    ) -> tuple[str, ImageJob | None]:
        """Add to the batch (one SQLite transaction), forget `done`, take the next image."""
        batch_id = await self.add_detections(camera_id, detection_ids, at, ttl)
        self._images_in_flight.discard(done.image_id)
        return batch_id, await self.take_image() if take_next else None

    async def open_batches(self) -> list[OpenBatch]:
        """Return the open batches."""
        found: list[OpenBatch] = await self._run(self._db.batches, BatchState.OPEN)
        return found

    async def close_batch(self, batch_id: str, closed_at: datetime) -> ClosedBatch | None:
        """Close a batch in the database and queue it."""
        batch: ClosedBatch | None = await self._run(self._db.batch_close, batch_id, closed_at)
        if batch is not None:
            self._analysis.append(batch)
        return batch

    async def take_analysis(self) -> ClosedBatch | None:
        """Take the oldest closed batch."""
        return self._analysis.popleft() if self._analysis else None

    async def ack_analysis(self, batch: ClosedBatch) -> None:
        """Mark the batch analysed."""
        await self._run(self._db.batch_analyzed, batch.batch_id)
