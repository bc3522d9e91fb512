"""Runs the five stages for one config entry and turns their results into HA updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import os
from pathlib import Path
import random
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    EVENT_RISK,
    SIGNAL_CAMERA_UPDATED,
    SIGNAL_NEW_CAMERA,
)
from .pipeline.batch_aggregator import BatchAggregator
from .pipeline.capture_time import capture_time
from .pipeline.detector_client import DetectorClient, DetectorError, DetectorRejectedError
from .pipeline.file_watcher import FileWatcher
from .pipeline.image_loader import InvalidImageError, LoadedImage, load_image
from .pipeline.models import ClosedBatch, Detection, ImageJob
from .pipeline.nemotron_analyzer import AnalyzerError, NemotronAnalyzer
from .pipeline.prompts import build_prompt
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .pipeline.upload_settler import UploadSettler
from .store.database import IMAGE_INVALID, IMAGE_PENDING, Database
from .store.records import DetectionRecord, EventRecord, NewImage
from .store.work_store import WorkStore, WorkStoreError

_LOGGER = logging.getLogger(__name__)

IMAGE_WORKERS = 4
TICK_INTERVAL = timedelta(seconds=1)
DETECTOR_BACKOFF_MAX = 300.0
STORE_BACKOFF_MAX = 30.0
LLM_RETRY_DELAYS: tuple[float, ...] = (5.0, 15.0, 30.0)

STATUS_ANALYZED = "analyzed"
STATUS_UNAVAILABLE = "unavailable"


def camera_name(camera_id: str) -> str:
    """Turn a folder name into a display name (`front_door` -> `Front Door`)."""
    return " ".join(camera_id.replace("_", " ").replace("-", " ").split()).title() or camera_id


@dataclass(slots=True)
class CameraState:
    """What the entities of one camera show."""

    camera_id: str
    name: str
    latest_event: EventRecord | None = None
    latest_thumbnail: str | None = None


class HsiCoordinator:
    """Owns watcher, detector client, batcher, analyzer and thumbnails of one entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        options: Callable[[], dict[str, Any]],
        root: Path,
        db: Database,
        store: WorkStore,
        detector: DetectorClient,
        analyzer: NemotronAnalyzer,
        thumbnails: ThumbnailGenerator,
    ) -> None:
        """Wire the stages; nothing runs until `async_start`."""
        self.hass = hass
        self.entry_id = entry_id
        self._options = options
        self.root = root
        self.db = db
        self.store = store
        self.detector = detector
        self.analyzer = analyzer
        self.thumbnails = thumbnails
        self.watcher = FileWatcher(root, hass.loop, self._on_file, self._on_folder)
        self.settler = UploadSettler(
            hass.loop, lambda: float(self.option(CONF_UPLOAD_SETTLE)), self._on_upload_ready
        )
        self.batcher = BatchAggregator(
            store,
            lambda: float(self.option(CONF_BATCH_WINDOW)),
            lambda: float(self.option(CONF_BATCH_IDLE)),
        )
        self.cameras: dict[str, CameraState] = {}
        self.service_up: dict[str, bool] = {"detector": True, "llm": True, "store": True}
        self._image_ready = asyncio.Event()
        self._analysis_ready = asyncio.Event()
        self._in_flight: set[int] = set()
        self._ready_paths: dict[Path, None] = {}
        self._intake_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._unsub_tick: CALLBACK_TYPE | None = None
        self._ticking = False

    def option(self, key: str) -> Any:
        """Return an option, falling back to its default."""
        return self._options().get(key, DEFAULT_OPTIONS[key])

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        return await self.hass.async_add_executor_job(func, *args)

    # Lifecycle

    async def async_load(self) -> None:
        """Load known cameras and the folders present now (before the platforms set up)."""
        for record in await self._run(self.db.cameras):
            self.cameras[record.id] = CameraState(
                record.id, record.name, record.latest_event, record.latest_thumbnail
            )
        for folder in await self._run(self.watcher.camera_folders):
            await self._async_add_camera(folder)

    async def async_start(self) -> None:
        """Recover unfinished work, start watching, and start the workers."""
        await self.store.recover()
        await self._requeue_pending()
        await self._rebatch_orphans()
        await self._run(self.watcher.start)
        self._start(self._catch_up(), "catch-up")
        for index in range(IMAGE_WORKERS):
            self._start(self._image_worker(), f"image worker {index}")
        self._start(self._analysis_worker(), "analysis worker")
        self._unsub_tick = async_track_time_interval(
            self.hass, self._async_tick, TICK_INTERVAL, name=f"{self.entry_id} batch timeouts"
        )
        self.hass.async_create_task(self._async_tick(dt_util.utcnow()), eager_start=True)

    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(
            self.hass.async_create_background_task(coro, f"home_security_intelligence {name}")
        )

    async def async_stop(self) -> None:
        """Stop everything; unfinished work stays in the ledger and queues for next time."""
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None
        self.settler.cancel()
        await self._run(self.watcher.stop)
        if self._intake_task is not None:
            self._tasks.append(self._intake_task)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.store.async_close()
        await self._run(self.db.close)

    async def _requeue_pending(self) -> None:
        pending = await self._run(self.db.pending_images)
        queued = await self.store.queued_image_ids()
        missing = [job for job in pending if job.image_id not in queued]
        if missing:
            _LOGGER.info("Resuming %d images that were not processed before", len(missing))
            await self.store.push_images(missing)

    async def _rebatch_orphans(self) -> None:
        now = dt_util.utcnow()
        for camera_id, ids in (await self._run(self.db.unbatched_detections)).items():
            await self._add_to_batch(camera_id, ids, now)

    # Camera folders

    @callback
    def _on_folder(self, camera_id: str) -> None:
        self.hass.async_create_task(self._async_add_camera(camera_id), eager_start=True)

    async def _async_add_camera(self, camera_id: str) -> None:
        if camera_id in self.cameras:
            return
        state = CameraState(camera_id, camera_name(camera_id))
        self.cameras[camera_id] = state
        await self._run(self.db.ensure_camera, camera_id, state.name, dt_util.utcnow())
        async_dispatcher_send(self.hass, SIGNAL_NEW_CAMERA.format(self.entry_id), camera_id)

    # Intake: watcher events -> settled uploads -> ledger -> detection queue

    @callback
    def _on_file(self, path: Path, complete: bool) -> None:
        self.settler.touch(path, complete)

    @callback
    def _on_upload_ready(self, path: Path) -> None:
        self._ready_paths[path] = None
        if self._intake_task is None or self._intake_task.done():
            self._intake_task = self.hass.async_create_background_task(
                self._drain_ready(), "home_security_intelligence intake"
            )

    async def _drain_ready(self) -> None:
        while self._ready_paths:
            paths = list(self._ready_paths)
            self._ready_paths.clear()
            await self._record(paths)

    async def _catch_up(self) -> None:
        """Record images that arrived while HA was not watching (runs in the background)."""
        paths = await self._run(self._unknown_paths)
        if paths:
            _LOGGER.info("Catching up on %d images that arrived while not watching", len(paths))
            for start in range(0, len(paths), 500):
                await self._record(paths[start : start + 500])

    def _unknown_paths(self) -> list[Path]:
        known = self.db.known_paths()
        return [p for p in self.watcher.scan() if str(p) not in known]

    async def _record(self, paths: list[Path]) -> None:
        jobs = await self._run(self._ledger_insert, paths)
        for camera_id in {job.camera_id for job in jobs}:
            await self._async_add_camera(camera_id)
        await self._with_store(self.store.push_images, jobs)
        self._image_ready.set()

    def _ledger_insert(self, paths: list[Path]) -> list[ImageJob]:
        """Stat new uploads and add them to the ledger (executor)."""
        tz = dt_util.get_default_time_zone()
        root = self.root.resolve()
        found: list[NewImage] = []
        for path in paths:
            camera_id = self.watcher.camera_id_for(path)
            try:
                stat = path.stat()
                inside = path.resolve().is_relative_to(root)
            except OSError as err:
                _LOGGER.debug("Upload %s vanished before it was read: %s", path, err)
                continue
            if camera_id is None or not inside:
                _LOGGER.warning("Ignoring %s: it points outside the camera folder", path)
                continue
            found.append(
                NewImage(
                    camera_id,
                    str(path),
                    stat.st_size,
                    stat.st_mtime,
                    capture_time(path.name, stat.st_mtime, tz),
                )
            )
        return self.db.record_images(found, dt_util.utcnow())

    # Detection

    async def _image_worker(self) -> None:
        while True:
            self._image_ready.clear()
            job = await self._with_store(self.store.take_image)
            if job is None:
                await self._image_ready.wait()
                continue
            if job.image_id in self._in_flight:
                await self._with_store(self.store.ack_image, job)
                continue
            self._in_flight.add(job.image_id)
            try:
                await self._process_image(job)
            finally:
                self._in_flight.discard(job.image_id)
            await self._with_store(self.store.ack_image, job)

    async def _process_image(self, job: ImageJob) -> None:
        loaded = await self._run(self._load, job)
        if loaded is None:
            return
        try:
            detections = await self._detect(job, loaded)
        except DetectorRejectedError as err:
            _LOGGER.warning("Detector rejected %s: %s", job.file_path, err)
            await self._run(
                self.db.mark_image, job.image_id, IMAGE_INVALID, str(err), dt_util.utcnow()
            )
            return
        ids, thumbnail = await self._run(self._persist, job, loaded, detections)
        if thumbnail is not None and (state := self.cameras.get(job.camera_id)):
            state.latest_thumbnail = thumbnail
            self._notify(job.camera_id)
        if ids:
            await self._add_to_batch(job.camera_id, ids, dt_util.utcnow())

    def _load(self, job: ImageJob) -> LoadedImage | None:
        """Read the image if the ledger still wants it; mark it invalid if unusable (executor)."""
        if self.db.image_state(job.image_id) != IMAGE_PENDING:
            return None
        path = Path(job.file_path)
        try:
            return load_image(path, self.root)
        except InvalidImageError as err:
            _LOGGER.warning("Skipping %s: %s", _printable(path), err)
            self.db.mark_image(job.image_id, IMAGE_INVALID, str(err), dt_util.utcnow())
            return None

    async def _detect(self, job: ImageJob, loaded: LoadedImage) -> list[Detection]:
        """Call the detector until it answers; an outage never counts as 'nothing seen'."""
        attempt = 0
        while True:
            try:
                found = await self.detector.detect_objects(
                    loaded.data,
                    os.path.basename(job.file_path),
                    loaded.content_type,
                    (loaded.width, loaded.height),
                    float(self.option(CONF_CONFIDENCE_THRESHOLD)),
                )
            except DetectorRejectedError:
                raise
            except DetectorError as err:
                self._set_service("detector", False, str(err))
                delay = min(DETECTOR_BACKOFF_MAX, 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self._set_service("detector", True)
            return found

    def _persist(
        self, job: ImageJob, loaded: LoadedImage, detections: list[Detection]
    ) -> tuple[list[int], str | None]:
        """Store detections (marking the image done), then draw the thumbnail (executor)."""
        captured = datetime.fromisoformat(job.timestamp)
        ids = self.db.store_detections(job, detections, captured, dt_util.utcnow())
        if not ids:
            return ids, None
        try:
            path = self.thumbnails.generate_thumbnail(loaded.data, detections, ids[0])
        except (OSError, ValueError) as err:
            _LOGGER.warning("Could not draw the thumbnail of %s: %s", job.file_path, err)
            return ids, None
        self.db.set_thumbnail(ids, str(path))
        return ids, str(path)

    async def _add_to_batch(self, camera_id: str, ids: list[int], now: datetime) -> None:
        batch_id = await self._with_store(self.batcher.add_detection, camera_id, ids, now)
        await self._run(self.db.assign_batch, ids, batch_id)

    # Batches and analysis

    async def _async_tick(self, now: datetime) -> None:
        if self._ticking:
            return
        self._ticking = True
        try:
            closed = await self.batcher.check_batch_timeouts(dt_util.utcnow())
        except WorkStoreError as err:
            self._set_service("store", False, str(err))
            return
        finally:
            self._ticking = False
        self._set_service("store", True)
        if closed:
            self._analysis_ready.set()

    async def async_close_camera_batch(self, camera_id: str) -> bool:
        """Close a camera's open batch now; return False when it has none."""
        for batch in await self.store.open_batches():
            if batch.camera_id == camera_id:
                if await self.batcher.close_batch(batch.batch_id, dt_util.utcnow()):
                    self._analysis_ready.set()
                    return True
        return False

    async def _analysis_worker(self) -> None:
        while True:
            self._analysis_ready.clear()
            batch = await self._with_store(self.store.take_analysis)
            if batch is None:
                await self._analysis_ready.wait()
                continue
            await self._analyze(batch)
            await self._with_store(self.store.ack_analysis, batch)

    async def _analyze(self, batch: ClosedBatch) -> None:
        records = await self._run(self.db.detections, batch.detection_ids)
        if not records:
            _LOGGER.debug("Batch %s has no stored detections; nothing to analyse", batch.batch_id)
            return
        prompt = self._prompt(batch.camera_id, records)
        assessment = None
        for delay in (*LLM_RETRY_DELAYS, None):
            try:
                assessment = await self.analyzer.analyze_batch(prompt)
            except AnalyzerError as err:
                self._set_service("llm", False, str(err))
                if delay is None:
                    break
                await asyncio.sleep(delay)
            else:
                self._set_service("llm", True)
                break
        status = STATUS_ANALYZED if assessment is not None else STATUS_UNAVAILABLE
        event, new = await self._run(
            self.db.store_event, batch, assessment, status, dt_util.utcnow()
        )
        if new:
            self._publish(event)

    def _prompt(self, camera_id: str, records: list[DetectionRecord]) -> str:
        state = self.cameras.get(camera_id)
        local = [dt_util.as_local(r.detected_at) for r in records]
        return build_prompt(
            state.name if state else camera_id,
            local[0].strftime("%Y-%m-%d %H:%M:%S %Z"),
            local[-1].strftime("%Y-%m-%d %H:%M:%S %Z"),
            [
                (when.strftime("%H:%M:%S"), r.object_type, r.confidence)
                for when, r in zip(local, records, strict=True)
            ],
        )

    @callback
    def _publish(self, event: EventRecord) -> None:
        state = self.cameras.get(event.camera_id)
        if state is not None:
            state.latest_event = event
            if event.thumbnail_path:
                state.latest_thumbnail = event.thumbnail_path
        self.hass.bus.async_fire(EVENT_RISK, self.event_data(event))
        self._notify(event.camera_id)

    def event_data(self, event: EventRecord) -> dict[str, Any]:
        """Return the `home_security_intelligence_event` payload of a stored event."""
        state = self.cameras.get(event.camera_id)
        return {
            "camera_id": event.camera_id,
            "camera_name": state.name if state else event.camera_id,
            "event_id": event.id,
            "risk_score": event.risk_score,
            "risk_level": event.risk_level,
            "summary": event.summary,
            "reasoning": event.reasoning,
            "objects": list(event.objects),
            "started_at": event.started_at.isoformat(),
            "ended_at": event.ended_at.isoformat(),
            "analysis_status": event.analysis_status,
        }

    @callback
    def _notify(self, camera_id: str) -> None:
        async_dispatcher_send(self.hass, SIGNAL_CAMERA_UPDATED.format(self.entry_id, camera_id))

    # Service health

    async def _with_store[T](self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Call the work store, waiting out outages with backoff: nothing is dropped."""
        attempt = 0
        while True:
            try:
                result = await func(*args)
            except WorkStoreError as err:
                self._set_service("store", False, str(err))
                await asyncio.sleep(min(STORE_BACKOFF_MAX, 2.0**attempt))
                attempt += 1
                continue
            if attempt:
                self._set_service("store", True)
            return result

    @callback
    def _set_service(self, name: str, up: bool, error: str = "") -> None:
        if self.service_up[name] == up:
            return
        self.service_up[name] = up
        if up:
            _LOGGER.info("The %s is reachable again; resuming", _SERVICE_NAMES[name])
        else:
            _LOGGER.warning(
                "The %s is unavailable (%s); work waits and is retried",
                _SERVICE_NAMES[name],
                error,
            )


_SERVICE_NAMES = {"detector": "detector", "llm": "LLM", "store": "batch store"}


def _printable(path: Path) -> str:
    return repr(str(path))[1:-1]
