"""Batching: each camera's detections join its open batch; due batches close for analysis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from homeassistant.util import dt as dt_util

from ..store.database import Database
from .batch_aggregator import BatchAggregator
from .models import ClosedBatch, ImageJob
from .runtime import Runtime
from .work_queue import WorkQueue


class Batching:
    """Adds detections to batches and closes them; `on_closed` wakes the analysis."""

    def __init__(
        self,
        runtime: Runtime,
        db: Database,
        queue: WorkQueue,
        aggregator: BatchAggregator,
        on_closed: Callable[[], None],
    ) -> None:
        """Batch through `aggregator`; record membership in `db` when the store does not."""
        self._runtime = runtime
        self._db = db
        self._queue = queue
        self._aggregator = aggregator
        self._on_closed = on_closed

    @property
    def open_count(self) -> int:
        """Open batches at the last tick."""
        return self._aggregator.open_count

    async def add(self, camera_id: str, detection_ids: list[int], now: datetime) -> str:
        """Add one image's detections to the camera's batch; return the batch id."""
        batch_id = await self._queue.call(
            self._aggregator.add_detection, camera_id, detection_ids, now
        )
        if not self._queue.store.records_membership:
            await self._runtime.run(self._db.assign_batch, detection_ids, batch_id)
        return batch_id

    async def add_and_take(
        self, camera_id: str, detection_ids: list[int], now: datetime, done: ImageJob, take: bool
    ) -> tuple[str, ImageJob | None]:
        """`add`, acknowledging the finished image `done` and taking the next if `take`."""
        batch_id, taken = await self._queue.call(
            self._aggregator.add_and_take, camera_id, detection_ids, now, done, take
        )
        if not self._queue.store.records_membership:
            await self._runtime.run(self._db.assign_batch, detection_ids, batch_id)
        return batch_id, taken

    async def close_due(self) -> list[ClosedBatch]:
        """Close the batches whose window or idle time has passed (raises WorkStoreError)."""
        closed = await self._aggregator.check_batch_timeouts(dt_util.utcnow())
        if closed:
            self._on_closed()
        return closed

    async def close_camera(self, camera_id: str) -> bool:
        """Close a camera's open batch now; return False when it has none."""
        for batch in await self._queue.store.open_batches():
            if batch.camera_id == camera_id and await self._aggregator.close_batch(
                batch.batch_id, dt_util.utcnow()
            ):
                self._on_closed()
                return True
        return False
