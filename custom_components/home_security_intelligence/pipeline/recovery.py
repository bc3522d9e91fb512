"""Recovery: resume unfinished work at start-up, and rebuild a work store that lost its data."""

from __future__ import annotations

import logging

from homeassistant.util import dt as dt_util

from ..store.database import Database
from .analysis import AnalysisStage
from .batching import Batching
from .runtime import Runtime
from .work_queue import WorkQueue

_LOGGER = logging.getLogger(__name__)


class Recovery:
    """Compares the ledger with the work store and queues again what the store lacks."""

    def __init__(
        self,
        runtime: Runtime,
        db: Database,
        queue: WorkQueue,
        batching: Batching,
        analysis: AnalysisStage,
    ) -> None:
        """Recover into `queue`, `batching` and `analysis` from the ledger in `db`."""
        self._runtime = runtime
        self._db = db
        self._queue = queue
        self._batching = batching
        self._analysis = analysis

    async def start_up(self) -> None:
        """Resume what the last run left: taken work, pending images, orphans, lost batches."""
        store = self._queue.store
        await store.recover()
        await self._requeue_pending()
        self._queue.release(await self._queue.call(store.image_backlog))
        now = dt_util.utcnow()
        for camera_id, ids in (await self._runtime.run(self._db.unbatched_detections)).items():
            await self._batching.add(camera_id, ids, now)
        if await self._queue.call(store.data_lost):
            await self._rebuild_lost_batches()

    async def resync(self) -> None:
        """Rebuild the queues and batches of a work store that came back empty."""
        _LOGGER.warning("The batch store lost its data; rebuilding it from the image ledger")
        self._queue.release(await self._requeue_pending())
        await self._rebuild_lost_batches()

    async def _requeue_pending(self) -> int:
        pending = await self._runtime.run(self._db.pending_images)
        self._queue.note_newest(pending)
        queued = await self._queue.call(self._queue.store.queued_image_ids)
        missing = [job for job in pending if job.image_id not in queued]
        if missing:
            _LOGGER.info("Resuming %d images that were not processed before", len(missing))
            await self._queue.call(self._queue.store.push_images, missing)
        return len(missing)

    async def _rebuild_lost_batches(self) -> None:
        """Queue again, as closed batches, the batches a work store lost (Redis restart)."""
        store = self._queue.store
        open_ids = {b.batch_id for b in await self._queue.call(store.open_batches)}
        queued = await self._queue.call(store.queued_batch_ids)
        known = open_ids | queued | self._analysis.analysing
        lost = await self._runtime.run(self._db.batches_without_event, known)
        for batch in lost:
            await self._queue.call(store.push_analysis, batch)
        if lost:
            _LOGGER.warning("Re-queued %d batches that the batch store had lost", len(lost))
            self._analysis.wake()
