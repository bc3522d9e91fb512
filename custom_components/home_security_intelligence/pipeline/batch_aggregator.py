"""Group detections per camera into batches.

One open batch per camera; it closes a window after its start or after an idle gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from ..store.work_store import WorkStore
from .models import ClosedBatch, ImageJob


class BatchAggregator:
    """Batch policy on top of a WorkStore (Redis or embedded)."""

    def __init__(
        self,
        store: WorkStore,
        window_seconds: Callable[[], float],
        idle_seconds: Callable[[], float],
    ) -> None:
        """Read the window and idle timeout through callables so option changes apply live."""
        self._store = store
        self._window = window_seconds
        self._idle = idle_seconds
        self.open_count = 0

    @property
    def ttl(self) -> int:
        """Lifetime of Redis batch keys: far beyond any batch, short enough to never pin one."""
        return int(max(self._window(), self._idle()) * 4 + 600)

    async def add_detection(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime
    ) -> str:
        """Add one image's detections to the camera's batch; return the batch id."""
        return await self._store.add_detections(camera_id, detection_ids, at, self.ttl)

    async def add_and_take(
        self,
        camera_id: str,
        detection_ids: Sequence[int],
        at: datetime,
        done: ImageJob,
        take_next: bool,
    ) -> tuple[str, ImageJob | None]:
        """Add to the batch, acknowledge `done`, maybe take the next image: one store call."""
        return await self._store.add_detections_and_take(
            camera_id, detection_ids, at, self.ttl, done, take_next
        )

    async def check_batch_timeouts(self, now: datetime) -> list[ClosedBatch]:
        """Close every batch whose window or idle time has passed."""
        window, idle = self._window(), self._idle()
        closed: list[ClosedBatch] = []
        still_open = 0
        for batch in await self._store.open_batches():
            age = (now - batch.started_at).total_seconds()
            quiet = (now - batch.last_activity).total_seconds()
            if age < window and quiet < idle:
                still_open += 1
            elif (done := await self.close_batch(batch.batch_id, now)) is not None:
                closed.append(done)
        self.open_count = still_open
        return closed

    async def close_batch(self, batch_id: str, now: datetime) -> ClosedBatch | None:
        """Close a batch now and queue it for analysis."""
        return await self._store.close_batch(batch_id, now)
