"""The contract both batch/queue backends (Redis and embedded) fulfil."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ..pipeline.models import ClosedBatch, ImageJob, OpenBatch


class WorkStoreError(Exception):
    """The backend cannot be reached; callers wait and retry, nothing is dropped."""


class WorkStore(Protocol):
    """Batches per camera plus the detection and analysis queues."""

    name: str
    records_membership: bool
    """True when `add_detections` also sets the detections' batch in the database."""

    async def async_close(self) -> None:
        """Release connections."""

    async def recover(self) -> int:
        """Return items taken but never acknowledged to their queues; return how many."""

    async def data_lost(self) -> bool:
        """Return True when the backend lost its data since the last call (and at the first).

        A Redis restarted without persistence comes back empty: its queues and open
        batches are gone and must be rebuilt from the SQLite ledger.
        """

    async def queued_batch_ids(self) -> set[str]:
        """Ids of closed batches queued or in flight for analysis."""

    async def push_analysis(self, batch: ClosedBatch) -> None:
        """Queue a closed batch for analysis (one rebuilt from the database)."""

    async def push_images(self, jobs: Sequence[ImageJob]) -> None:
        """Queue images for detection."""

    async def queued_image_ids(self) -> set[int]:
        """Ids of images queued or in flight."""

    async def take_image(self, done: ImageJob | None = None) -> ImageJob | None:
        """Acknowledge `done` (if given) and take the next image, or None, in one round trip.

        The taken image stays in flight until it is acknowledged.
        """

    async def ack_image(self, job: ImageJob) -> None:
        """Forget an image whose detection is stored."""

    async def image_backlog(self) -> int:
        """Return how many images are queued or in flight."""

    async def add_detections(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime, ttl: int
    ) -> str:
        """Add detections to the camera's open batch (opening one); return its id."""

    async def add_detections_and_take(
        self,
        camera_id: str,
        detection_ids: Sequence[int],
        at: datetime,
        ttl: int,
        done: ImageJob,
        take_next: bool,
    ) -> tuple[str, ImageJob | None]:
        """`add_detections`, acknowledge `done` and, if `take_next`, take the next image.

        One round trip (Redis: one script), so a worker that finished an image and has
        a queued image to go on with pays one request for both. Returns the batch id
        and the taken image (None when not asked for or none waits).
        """

    async def open_batches(self) -> list[OpenBatch]:
        """Return every open batch."""

    async def close_batch(self, batch_id: str, closed_at: datetime) -> ClosedBatch | None:
        """Close a batch and queue it for analysis in one atomic step; None if already closed."""

    async def take_analysis(self) -> ClosedBatch | None:
        """Take the next closed batch (kept in flight until `ack_analysis`), or None."""

    async def ack_analysis(self, batch: ClosedBatch) -> None:
        """Forget a batch whose event is stored."""
