"""Detection: image workers load each queued image, detect, draw its thumbnail, store, batch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import logging
import os
from pathlib import Path
import random
import re

from homeassistant.util import dt as dt_util

from ..const import CONF_CONFIDENCE_THRESHOLD
from ..service_health import ServiceHealth
from ..store.database import Database
from ..store.records import ImageState
from .batching import Batching
from .detector_client import DetectorClient, DetectorError, DetectorRejectedError
from .fs_names import readable
from .image_loader import InvalidImageError, LoadedImage, load_image
from .models import Detection, ImageJob
from .runtime import Runtime
from .thumbnail_generator import RENDER_ERRORS, ThumbnailGenerator
from .work_queue import WorkQueue

_LOGGER = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

IMAGE_WORKERS = 4
DETECTOR_BACKOFF_MAX = 300.0


@dataclass(frozen=True, slots=True)
class DetectedImage:
    """An image whose detections are stored and batched: what detection hands on."""

    job: ImageJob
    detection_ids: tuple[int, ...]
    detections: tuple[Detection, ...]
    thumbnail: str | None
    batch_id: str
    waited: float | None
    """Seconds from the settled upload to its stored detections (None after a restart)."""


@dataclass(slots=True)
class _Turn:
    """A worker's hand-over between images: what to acknowledge, what was already taken."""

    done: ImageJob | None = None
    """Processed, to be acknowledged with the next take."""
    next: ImageJob | None = None
    """Taken by the batch call, to be processed next."""
    acked: bool = False
    """The image in hand was acknowledged by its batch call."""


class DetectionStage:
    """Takes images from the queue; an image with detections becomes a `DetectedImage`."""

    def __init__(
        self,
        runtime: Runtime,
        root: Path,
        db: Database,
        queue: WorkQueue,
        detector: DetectorClient,
        thumbnails: ThumbnailGenerator,
        health: ServiceHealth,
        batching: Batching,
        on_detected: Callable[[DetectedImage], None],
    ) -> None:
        """Read images under `root`, store their detections and hand them to `on_detected`."""
        self._runtime = runtime
        self._root = root
        self._db = db
        self._queue = queue
        self._detector = detector
        self._thumbnails = thumbnails
        self._health = health
        self._batching = batching
        self._on_detected = on_detected
        self._in_flight: set[int] = set()
        self._batch_of: dict[str, str] = {}

    def start(self) -> None:
        """Start the image workers."""
        for index in range(IMAGE_WORKERS):
            self._runtime.start(self._worker(), f"image worker {index}")

    async def _worker(self) -> None:
        """Take one queued image at a time; acknowledge it with the next take.

        An image with detections is acknowledged, and the next one taken, by the same
        store call that adds its detections to their batch (`turn`).
        """
        turn = _Turn()
        while True:
            job = turn.next or await self._queue.take(turn.done)
            turn.done = turn.next = None
            if job is None:
                continue
            if job.image_id in self._in_flight:
                turn.done = job
                continue
            self._in_flight.add(job.image_id)
            turn.acked = False
            try:
                await self._process(job, turn)
            except Exception as err:
                _LOGGER.exception("Unexpected error on %s; marked failed", readable(job.file_path))
                await self._runtime.run(
                    self._db.mark_image,
                    job.image_id,
                    ImageState.FAILED,
                    repr(err),
                    dt_util.utcnow(),
                )
            finally:
                self._in_flight.discard(job.image_id)
                self._queue.waited(job)
            if not turn.acked:
                turn.done = job

    async def _process(self, job: ImageJob, turn: _Turn) -> None:
        """Detect, store and batch one image."""
        loaded = await self._runtime.run(self._load, job)
        if loaded is None:
            return
        try:
            detections = await self._detect(job, loaded)
        except DetectorRejectedError as err:
            _LOGGER.warning("Detector rejected %s: %s", readable(job.file_path), err)
            await self._runtime.run(
                self._db.mark_image, job.image_id, ImageState.INVALID, str(err), dt_util.utcnow()
            )
            return
        ids, thumbnail = await self._runtime.run(self._persist, job, detections)
        if not ids:
            return
        batch_id = await self._add_to_batch(job, ids, turn)
        await self._draw_if_shown(job, loaded, detections, batch_id)
        self._on_detected(
            DetectedImage(
                job,
                tuple(ids),
                tuple(detections),
                thumbnail,
                batch_id,
                self._queue.waited(job),
            )
        )

    async def _add_to_batch(self, job: ImageJob, ids: list[int], turn: _Turn) -> str:
        """Add to the batch, acknowledging `job` and taking the next image in the same call."""
        take = await self._queue.claim()
        try:
            batch_id, turn.next = await self._batching.add_and_take(
                job.camera_id, ids, dt_util.utcnow(), job, take
            )
        except BaseException:
            if take:
                self._queue.release(1)
            raise
        turn.acked = True
        return batch_id

    async def _draw_if_shown(
        self, job: ImageJob, loaded: LoadedImage, detections: list[Detection], batch_id: str
    ) -> None:
        """Render the thumbnail now only if it is shown now; the rest render on first request.

        Shown now: the first image of a batch (the notification links it) and the
        camera's newest (none newer queued, so a burst renders one per camera).
        """
        first = self._batch_of.get(job.camera_id) != batch_id
        self._batch_of[job.camera_id] = batch_id
        if first or self._queue.is_newest(job):
            await self._runtime.run(self._draw, job, loaded, detections)

    def _load(self, job: ImageJob) -> LoadedImage | None:
        """Read the image if the ledger still wants it; mark it invalid if unusable (executor)."""
        if self._db.image_state(job.image_id) != ImageState.PENDING:
            return None
        path = Path(job.file_path)
        try:
            return load_image(path, self._root)
        except InvalidImageError as err:
            _LOGGER.warning("Skipping %s: %s", repr(str(path))[1:-1], err)
            self._db.mark_image(job.image_id, ImageState.INVALID, str(err), dt_util.utcnow())
            return None

    async def _detect(self, job: ImageJob, loaded: LoadedImage) -> list[Detection]:
        """Call the detector until it answers; an outage never counts as 'nothing seen'."""
        attempt = 0
        while True:
            try:
                found = await self._detector.detect_objects(
                    loaded.data,
                    _SAFE_NAME.sub("_", os.path.basename(job.file_path)),
                    loaded.content_type,
                    (loaded.width, loaded.height),
                    float(self._runtime.option(CONF_CONFIDENCE_THRESHOLD)),
                )
            except DetectorRejectedError:
                raise
            except DetectorError as err:
                self._health.set("detector", False, str(err))
                delay = min(DETECTOR_BACKOFF_MAX, 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._health.set("detector", True)
            return found

    def _persist(self, job: ImageJob, detections: list[Detection]) -> tuple[list[int], str | None]:
        """Store the detections with the path their thumbnail has (or will have) (executor)."""
        thumbnail = str(self._thumbnails.get_output_path(job.image_id)) if detections else None
        captured = datetime.fromisoformat(job.timestamp)
        ids = self._db.store_detections(job, detections, captured, dt_util.utcnow(), thumbnail)
        return ids, thumbnail

    def _draw(self, job: ImageJob, loaded: LoadedImage, detections: list[Detection]) -> None:
        """Render and write the thumbnail (executor); a failure is logged, drawn again on request."""
        try:
            self._thumbnails.save(self._thumbnails.render(loaded.data, detections), job.image_id)
        except RENDER_ERRORS as err:
            _LOGGER.warning("Could not draw the thumbnail of %s: %s", job.file_path, err)
