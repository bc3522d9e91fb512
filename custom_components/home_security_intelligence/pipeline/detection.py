"""Detection: image workers load each queued image, detect, draw its thumbnail, store, batch.

A video clip is sampled into frames (one clip decodes at a time), each frame detected and
stored with its offset. Each camera's zones and filters judge the detections before they
are stored: filtered ones are kept with their reason but open no batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import os
from pathlib import Path
import random
import re

from homeassistant.util import dt as dt_util

from ..const import CONF_CONFIDENCE_THRESHOLD, CONF_ZONES
from ..service_health import ServiceHealth
from ..store.database import Database
from ..store.records import ImageState, StoredFrame
from .batching import Batching
from .clip_frames import Clip, ClipFrame, is_clip_file, load_clip
from .detector_client import DetectorClient, DetectorError, DetectorRejectedError
from .fs_names import readable
from .image_loader import InvalidImageError, LoadedImage, load_image
from .models import Detection, ImageJob
from .runtime import Runtime
from .snapshot_files import inside
from .thumbnail_generator import RENDER_ERRORS, ThumbnailGenerator
from .work_queue import WorkQueue
from .zones import ZoneError, ZoneFilter, apply_filter

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
        snapshots: Path | None = None,
    ) -> None:
        """Read images under `root` (or `snapshots`), store detections, hand them on."""
        self._runtime = runtime
        self._root = root
        self._snapshots = snapshots
        self._db = db
        self._queue = queue
        self._detector = detector
        self._thumbnails = thumbnails
        self._health = health
        self._batching = batching
        self._on_detected = on_detected
        self._in_flight: set[int] = set()
        self._clip_slot = asyncio.Semaphore(1)  # one clip decodes at a time: never both cores
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
        """Detect, judge, store and batch one image (a clip: each of its sampled frames)."""
        if is_clip_file(Path(job.file_path)):
            await self._process_clip(job, turn)
            return
        loaded = await self._runtime.run(self._load, job)
        if loaded is None:
            return
        try:
            found = await self._detect(job, loaded)
        except DetectorRejectedError as err:
            await self._rejected(job, err)
            return
        detections, reasons = self._judge(job.camera_id, found, (loaded.width, loaded.height))
        ids, thumbnail = await self._runtime.run(self._persist, job, detections, reasons)
        await self._hand_on(job, ids, detections, reasons, thumbnail, turn, loaded)

    async def _rejected(self, job: ImageJob, err: DetectorRejectedError) -> None:
        _LOGGER.warning("Detector rejected %s: %s", readable(job.file_path), err)
        await self._runtime.run(
            self._db.mark_image, job.image_id, ImageState.INVALID, str(err), dt_util.utcnow()
        )

    async def _hand_on(
        self,
        job: ImageJob,
        ids: list[int],
        detections: list[Detection],
        reasons: list[str | None],
        thumbnail: str | None,
        turn: _Turn,
        loaded: LoadedImage | None,
    ) -> None:
        """Batch the counted detections and publish them; filtered ones go no further.

        A still's thumbnail is drawn now only where it is shown now (`loaded`); a clip's
        frames were drawn when stored.
        """
        if not ids:
            return
        counted = [d for d, reason in zip(detections, reasons, strict=True) if reason is None]
        batch_id = await self._add_to_batch(job, ids, turn)
        if loaded is not None:
            await self._draw_if_shown(job, loaded, counted, batch_id)
        self._on_detected(
            DetectedImage(
                job, tuple(ids), tuple(counted), thumbnail, batch_id, self._queue.waited(job)
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

    def _judge(
        self, camera_id: str, detections: list[Detection], size: tuple[int, int]
    ) -> tuple[list[Detection], list[str | None]]:
        """Return the detections and, for each, why the camera's zones set it aside (or None)."""
        raw = (self._runtime.option(CONF_ZONES) or {}).get(camera_id)
        if not raw:
            return detections, [None] * len(detections)
        try:
            zone = ZoneFilter.from_options(raw)
        except ZoneError as err:
            _LOGGER.warning("Zones of %s are invalid and not applied: %s", camera_id, err)
            return detections, [None] * len(detections)
        verdicts = apply_filter(detections, size, zone)
        return [v.detection for v in verdicts], [v.filtered for v in verdicts]

    async def _process_clip(self, job: ImageJob, turn: _Turn) -> None:
        """Sample the clip, detect and judge each frame, store them all at once, batch."""
        async with self._clip_slot:
            clip = await self._runtime.run(self._load_clip, job)
        if clip is None:
            return
        frames: list[tuple[ClipFrame, list[Detection], list[str | None]]] = []
        for frame in clip.frames:
            name = f"{Path(job.file_path).stem}_{frame.offset_s:.1f}s.jpg"
            try:
                found = await self._detect(job, frame.image, name)
            except DetectorRejectedError as err:
                await self._rejected(job, err)
                return
            size = (frame.image.width, frame.image.height)
            frames.append((frame, *self._judge(job.camera_id, found, size)))
        ids, thumbnail = await self._runtime.run(self._persist_clip, job, frames)
        detections = [d for _, found, _ in frames for d in found]
        reasons = [r for _, _, why in frames for r in why]
        await self._hand_on(job, ids, detections, reasons, thumbnail, turn, None)

    def _load_clip(self, job: ImageJob) -> Clip | None:
        """Sample a clip if the ledger still wants it; mark it invalid if unusable (executor)."""
        if self._db.image_state(job.image_id) != ImageState.PENDING:
            return None
        path = Path(job.file_path)
        shown = readable(path)
        try:
            clip = load_clip(path, self._root)
        except InvalidImageError as err:
            _LOGGER.warning("Skipping %s: %s", shown, err)
            self._db.mark_image(job.image_id, ImageState.INVALID, str(err), dt_util.utcnow())
            return None
        if clip.defect:
            _LOGGER.warning("Clip %s %s; using its %d frames", shown, clip.defect, len(clip.frames))
        return clip

    def _persist_clip(
        self, job: ImageJob, frames: list[tuple[ClipFrame, list[Detection], list[str | None]]]
    ) -> tuple[list[int], str | None]:
        """Draw each frame's thumbnail, then store every frame in one go (executor).

        Returns the counted detection ids and the newest frame thumbnail.
        """
        start = datetime.fromisoformat(job.timestamp)
        stored: list[StoredFrame] = []
        newest: str | None = None
        for index, (frame, detections, reasons) in enumerate(frames):
            counted = [d for d, r in zip(detections, reasons, strict=True) if r is None]
            thumbnail = self._thumbnail(job, frame.image, counted, index)
            newest = thumbnail or newest
            captured = start + timedelta(seconds=frame.offset_s)
            stored.append(StoredFrame(detections, reasons, captured, thumbnail, frame.offset_s))
        ids = self._db.store_frames(job, stored, dt_util.utcnow())
        return ids, newest if ids else None

    def _thumbnail(
        self, job: ImageJob, image: LoadedImage, counted: list[Detection], frame: int
    ) -> str | None:
        """Draw and save a clip frame's thumbnail; None without counted detections or on error."""
        if not counted:
            return None
        try:
            jpeg = self._thumbnails.render(image.data, counted)
            return str(self._thumbnails.save(jpeg, job.image_id, frame))
        except RENDER_ERRORS as err:
            _LOGGER.warning("Could not make the thumbnail of %s: %s", readable(job.file_path), err)
            return None

    def _load(self, job: ImageJob) -> LoadedImage | None:
        """Read the image if the ledger still wants it; mark it invalid if unusable (executor)."""
        if self._db.image_state(job.image_id) != ImageState.PENDING:
            return None
        path = Path(job.file_path)
        folder = self._root
        if self._snapshots is not None and inside(path, self._snapshots):
            folder = self._snapshots
        try:
            return load_image(path, folder)
        except InvalidImageError as err:
            _LOGGER.warning("Skipping %s: %s", repr(str(path))[1:-1], err)
            self._db.mark_image(job.image_id, ImageState.INVALID, str(err), dt_util.utcnow())
            return None

    async def _detect(
        self, job: ImageJob, loaded: LoadedImage, name: str | None = None
    ) -> list[Detection]:
        """Call the detector until it answers; an outage never counts as 'nothing seen'."""
        attempt = 0
        while True:
            try:
                found = await self._detector.detect_objects(
                    loaded.data,
                    _SAFE_NAME.sub("_", name or os.path.basename(job.file_path)),
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

    def _persist(
        self, job: ImageJob, detections: list[Detection], reasons: list[str | None]
    ) -> tuple[list[int], str | None]:
        """Store the detections with the path their thumbnail has, or will have (executor).

        `reasons` says, per detection, why a zone filter set it aside; the thumbnail shows
        only the counted ones, and an image with none counted gets no thumbnail.
        """
        counted = any(reason is None for reason in reasons)
        thumbnail = str(self._thumbnails.get_output_path(job.image_id)) if counted else None
        captured = datetime.fromisoformat(job.timestamp)
        ids = self._db.store_detections(
            job, detections, captured, dt_util.utcnow(), thumbnail, reasons
        )
        return ids, thumbnail

    def _draw(self, job: ImageJob, loaded: LoadedImage, detections: list[Detection]) -> None:
        """Render and write the thumbnail (executor); a failure is logged, drawn again on request."""
        try:
            self._thumbnails.save(self._thumbnails.render(loaded.data, detections), job.image_id)
        except RENDER_ERRORS as err:
            _LOGGER.warning("Could not draw the thumbnail of %s: %s", readable(job.file_path), err)
