"""Embedded backend (no Redis): batches in the SQLite file, queues in memory.

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

from ..pipeline.models import ClosedBatch, ImageJob, OpenBatch
from .database import BATCH_OPEN, Database

type RunBlocking = Callable[..., Awaitable[Any]]


class EmbeddedWorkStore:
    """WorkStore on the integration's SQLite file."""

    name = "embedded"
    records_membership = True

    def __init__(self, db: Database, run: RunBlocking) -> None:
        """Use `db` through `run` (HA's executor)."""
        self._db = db
        self._run = run
        self._images: deque[ImageJob] = deque()
        self._images_in_flight: set[int] = set()
        self._analysis: deque[ClosedBatch] = deque()

    async def async_close(self) -> None:
        """Nothing to release: the database belongs to the coordinator."""

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

    async def open_batches(self) -> list[OpenBatch]:
        """Return the open batches."""
        found: list[OpenBatch] = await self._run(self._db.batches, BATCH_OPEN)
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
