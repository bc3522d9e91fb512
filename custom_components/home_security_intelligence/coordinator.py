"""Runs the five stages for one config entry and turns their results into HA updates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from functools import partial
import logging
import os
from pathlib import Path
import random
import re
import time
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import (
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_LLM_BOUND,
    CONF_OCCUPANCY_TIMEOUT,
    CONF_RETENTION_DAYS,
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    DOMAIN,
    EVENT_DETECTION,
    EVENT_RISK,
    SIGNAL_CAMERA_UPDATED,
    SIGNAL_HUB_UPDATED,
    SIGNAL_NEW_CAMERA,
)
from .pipeline.batch_aggregator import BatchAggregator
from .pipeline.detector_client import DetectorClient, DetectorError, DetectorRejectedError
from .pipeline.file_watcher import FileWatcher
from .pipeline.image_loader import InvalidImageError, LoadedImage, load_image
from .pipeline.models import ClosedBatch, Detection, ImageJob
from .pipeline.nemotron_analyzer import NemotronAnalyzer
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .pipeline.upload_settler import UploadSettler
from .risk_analysis import RiskAnalyst
from .risk_scoring import combine
from .service_health import ServiceHealth
from .state import CameraState, DetectionSummary, HubState, camera_name, groups_of
from .store.database import Database
from .store.records import EventRecord, ImageState, PurgeResult
from .store.work_store import WorkStore, WorkStoreError
from .urls import signed_image_url

_LOGGER = logging.getLogger(__name__)
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")

IMAGE_WORKERS = 4
TICK_INTERVAL = timedelta(seconds=1)
RETENTION_INTERVAL = timedelta(hours=24)
FIRST_RETENTION_DELAY = timedelta(minutes=5)
LLM_PROBE_INTERVAL = timedelta(seconds=60)
ROOT_CHECK_INTERVAL = timedelta(seconds=10)
DETECTOR_BACKOFF_MAX = 300.0
STORE_BACKOFF_MAX = 30.0
LLM_RETRY_DELAYS: tuple[float, ...] = (5.0, 15.0, 30.0)
REANALYZE_BATCH = 20


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
        store_url: str = "",
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
        self.health = ServiceHealth(
            hass,
            entry_id,
            {"detector": detector.url, "llm": analyzer.url, "store": store_url},
            self._notify_hub,
        )
        self.cameras: dict[str, CameraState] = {}
        self.hub = HubState()
        self.analyst = RiskAnalyst(
            hass,
            self.option,
            self._run,
            db,
            analyzer,
            self.health,
            self._display_name,
            self._set_llm_latency,
        )
        self._jobs = asyncio.Semaphore(0)
        self._analysis_ready = asyncio.Event()
        self._in_flight: set[int] = set()
        self._analysing: set[str] = set()
        self._ready_at: dict[int, float] = {}
        self._ready_paths: dict[Path, None] = {}
        self._intake_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._blocking: set[asyncio.Future[Any]] = set()
        self._timers: dict[tuple[str, str], CALLBACK_TYPE] = {}
        self._unsubs: list[CALLBACK_TYPE] = []
        self._ticking = False
        self._stopped = False
        self._llm_probed = dt_util.utcnow()
        self._root_checked = dt_util.utcnow()
        self._root_present = True

    def option(self, key: str) -> Any:
        """Return an option, falling back to its default (None for optional ones)."""
        return self._options().get(key, DEFAULT_OPTIONS.get(key))

    async def _run[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work in the executor; stopping waits for it instead of abandoning it."""
        future = self.hass.async_add_executor_job(func, *args)
        self._blocking.add(future)
        future.add_done_callback(self._blocking.discard)
        return await asyncio.shield(future)

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
        for _ in range(await self._with_store(self.store.image_backlog)):
            self._jobs.release()
        await self._rebatch_orphans()
        if await self._with_store(self.store.data_lost):
            await self._rebuild_lost_batches()
        await self._run(self.watcher.start)
        self._start(self._catch_up(), "catch-up")
        for index in range(IMAGE_WORKERS):
            self._start(self._image_worker(), f"image worker {index}")
        self._start(self._analysis_worker(), "analysis worker")
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_tick, TICK_INTERVAL, name="hsi batch timeouts"
            )
        )
        self._unsubs.append(
            async_track_time_interval(
                self.hass, self._async_retention, RETENTION_INTERVAL, name="hsi retention"
            )
        )
        self._start(self._async_tick(dt_util.utcnow()), "first tick")
        self._unsubs.append(
            async_call_later(self.hass, FIRST_RETENTION_DELAY, self._async_retention)
        )

    def _start(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background task of this entry; it forgets itself when done."""
        task = self.hass.async_create_background_task(coro, f"home_security_intelligence {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_stop(self, *_: Any) -> None:
        """Stop everything; unfinished work stays in the ledger and queues for next time."""
        if self._stopped:
            return
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.settler.cancel()
        await self._run(self.watcher.stop)
        tasks = {*self._tasks, *([self._intake_task] if self._intake_task else [])}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._blocking:
            await asyncio.wait(self._blocking)
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        await self.store.async_close()
        await self._run(self.db.close)

    async def _requeue_pending(self) -> int:
        pending = await self._run(self.db.pending_images)
        queued = await self._with_store(self.store.queued_image_ids)
        missing = [job for job in pending if job.image_id not in queued]
        if missing:
            _LOGGER.info("Resuming %d images that were not processed before", len(missing))
            await self._with_store(self.store.push_images, missing)
        return len(missing)

    async def _rebuild_lost_batches(self) -> int:
        """Queue again, as closed batches, the batches a work store lost (Redis restart)."""
        open_ids = {b.batch_id for b in await self._with_store(self.store.open_batches)}
        queued = await self._with_store(self.store.queued_batch_ids)
        lost = await self._run(self.db.batches_without_event, open_ids | queued | self._analysing)
        for batch in lost:
            await self._with_store(self.store.push_analysis, batch)
        if lost:
            _LOGGER.warning("Re-queued %d batches that the batch store had lost", len(lost))
            self._analysis_ready.set()
        return len(lost)

    async def _resync_store(self) -> None:
        """Rebuild the queues and batches of a work store that came back empty."""
        _LOGGER.warning("The batch store lost its data; rebuilding it from the image ledger")
        for _ in range(await self._requeue_pending()):
            self._jobs.release()
        await self._rebuild_lost_batches()

    async def _rebatch_orphans(self) -> None:
        now = dt_util.utcnow()
        for camera_id, ids in (await self._run(self.db.unbatched_detections)).items():
            await self._add_to_batch(camera_id, ids, now)

    # Camera folders

    @callback
    def _on_folder(self, camera_id: str) -> None:
        self.hass.async_create_task(self._async_add_camera(camera_id), eager_start=True)
        self._start(self._catch_up(self.watcher.folder_of(camera_id)), f"scan of {camera_id}")

    async def _async_add_camera(self, camera_id: str) -> None:
        if camera_id in self.cameras:
            return
        state = CameraState(camera_id, camera_name(self.watcher.label_of(camera_id)))
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
            try:
                await self._record(paths)
            except Exception:
                _LOGGER.exception(
                    "Recording %d uploads failed; the next start finds them", len(paths)
                )

    async def _catch_up(self, under: Path | None = None) -> None:
        """Record images that arrived while HA was not watching (runs in the background).

        Files changed within the settle time may still be uploading: the settler gets them.
        """
        settle = float(self.option(CONF_UPLOAD_SETTLE))
        paths, fresh = await self._run(self._unknown_paths, under, time.time() - settle)
        for path in fresh:
            self.settler.touch(path, False)
        if paths:
            _LOGGER.info("Catching up on %d images that arrived while not watching", len(paths))
            for start in range(0, len(paths), 500):
                try:
                    await self._record(paths[start : start + 500])
                except Exception:
                    _LOGGER.exception(
                        "Catching up on %d images failed", len(paths[start : start + 500])
                    )

    def _unknown_paths(
        self, under: Path | None, settled_before: float
    ) -> tuple[list[Path], list[Path]]:
        """Images on disk the ledger does not know, newer than the retention horizon.

        Returns the settled ones and those modified after `settled_before`.
        """
        known = self.db.known_paths()
        horizon = self._retention_horizon()
        oldest = horizon.timestamp() if horizon is not None else float("-inf")
        settled: list[Path] = []
        fresh: list[Path] = []
        for path in self.watcher.scan(under):
            if str(path) in known:
                continue
            try:
                mtime = path.lstat().st_mtime
            except OSError:
                continue
            if mtime >= oldest:
                (fresh if mtime > settled_before else settled).append(path)
        return settled, fresh

    async def _record(self, paths: list[Path]) -> None:
        jobs = await self._run(self._ledger_insert, paths)
        for camera_id in {job.camera_id for job in jobs}:
            await self._async_add_camera(camera_id)
        now = time.monotonic()
        for job in jobs:
            self._ready_at[job.image_id] = now
        await self._with_store(self.store.push_images, jobs)
        for _ in jobs:
            self._jobs.release()

    def _ledger_insert(self, paths: list[Path]) -> list[ImageJob]:
        """Stat new uploads and add them to the ledger (executor)."""
        found = self.watcher.new_uploads(paths, dt_util.get_default_time_zone())
        return self.db.record_images(found, dt_util.utcnow())

    # Detection

    async def _image_worker(self) -> None:
        """Take one queued image per semaphore token; acknowledge it with the next take."""
        done: ImageJob | None = None
        while True:
            if done is not None and self._jobs.locked():
                await self._with_store(self.store.ack_image, done)
                done = None
            await self._jobs.acquire()
            job = await self._with_store(self.store.take_image, done)
            done = None
            if job is None:
                continue
            if job.image_id in self._in_flight:
                done = job
                continue
            self._in_flight.add(job.image_id)
            try:
                await self._process_image(job)
            except Exception as err:
                _LOGGER.exception("Unexpected error on %s; marked failed", job.file_path)
                await self._run(
                    self.db.mark_image, job.image_id, ImageState.FAILED, repr(err), dt_util.utcnow()
                )
            finally:
                self._in_flight.discard(job.image_id)
                self._ready_at.pop(job.image_id, None)
            done = job

    async def _process_image(self, job: ImageJob) -> None:
        loaded = await self._run(self._load, job)
        if loaded is None:
            return
        try:
            detections = await self._detect(job, loaded)
        except DetectorRejectedError as err:
            _LOGGER.warning("Detector rejected %s: %s", job.file_path, err)
            await self._run(
                self.db.mark_image, job.image_id, ImageState.INVALID, str(err), dt_util.utcnow()
            )
            return
        ids, thumbnail = await self._run(self._persist, job, loaded, detections)
        if ids:
            batch_id = await self._add_to_batch(job.camera_id, ids, dt_util.utcnow())
            self._publish_detection(job, ids, detections, thumbnail, batch_id)

    def _load(self, job: ImageJob) -> LoadedImage | None:
        """Read the image if the ledger still wants it; mark it invalid if unusable (executor)."""
        if self.db.image_state(job.image_id) != ImageState.PENDING:
            return None
        path = Path(job.file_path)
        try:
            return load_image(path, self.root)
        except InvalidImageError as err:
            _LOGGER.warning("Skipping %s: %s", _printable(path), err)
            self.db.mark_image(job.image_id, ImageState.INVALID, str(err), dt_util.utcnow())
            return None

    async def _detect(self, job: ImageJob, loaded: LoadedImage) -> list[Detection]:
        """Call the detector until it answers; an outage never counts as 'nothing seen'."""
        attempt = 0
        while True:
            try:
                found = await self.detector.detect_objects(
                    loaded.data,
                    _SAFE_NAME.sub("_", os.path.basename(job.file_path)),
                    loaded.content_type,
                    (loaded.width, loaded.height),
                    float(self.option(CONF_CONFIDENCE_THRESHOLD)),
                )
            except DetectorRejectedError:
                raise
            except DetectorError as err:
                self.health.set("detector", False, str(err))
                delay = min(DETECTOR_BACKOFF_MAX, 2.0**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
                attempt += 1
                await asyncio.sleep(delay)
                continue
            self.health.set("detector", True)
            return found

    def _persist(
        self, job: ImageJob, loaded: LoadedImage, detections: list[Detection]
    ) -> tuple[list[int], str | None]:
        """Write the thumbnail (named by image id), then store the detections (executor).

        A thumbnail that cannot be drawn or written is logged; the detections are kept.
        """
        captured = datetime.fromisoformat(job.timestamp)
        thumbnail: str | None = None
        jpeg: bytes | None = None
        if detections:
            try:
                jpeg = self.thumbnails.render(loaded.data, detections)
            except (OSError, ValueError) as err:
                _LOGGER.warning("Could not draw the thumbnail of %s: %s", job.file_path, err)
        if jpeg is not None:
            try:
                thumbnail = str(self.thumbnails.save(jpeg, job.image_id))
            except OSError as err:
                _LOGGER.warning("Could not save the thumbnail of %s: %s", job.file_path, err)
        ids = self.db.store_detections(job, detections, captured, dt_util.utcnow(), thumbnail)
        return ids, thumbnail

    @callback
    def _publish_detection(
        self,
        job: ImageJob,
        ids: list[int],
        detections: list[Detection],
        thumbnail: str | None,
        batch_id: str,
    ) -> None:
        """Turn occupancy on and fire the detection event, before any batch closes."""
        if (ready := self._ready_at.get(job.image_id)) is not None:
            self.hub.detection_latency_ms = round((time.monotonic() - ready) * 1000, 1)
        state = self.cameras.get(job.camera_id)
        if state is None:
            return
        objects = {d.object_type for d in detections}
        summary = DetectionSummary(
            tuple(ids),
            tuple(sorted(objects)),
            max(d.confidence for d in detections),
            datetime.fromisoformat(job.timestamp),
            thumbnail,
        )
        state.last_detection = summary
        previous = state.batch_started_at
        first = batch_id != state.batch_id
        if first:
            state.batch_id = batch_id
            state.batch_started_at = dt_util.utcnow()
        if thumbnail is not None:
            state.latest_thumbnail = thumbnail
        quiet = float(self.option(CONF_OCCUPANCY_TIMEOUT))
        for group in groups_of(objects):
            state.occupied[group] = True
            key = (job.camera_id, group)
            if (cancel := self._timers.pop(key, None)) is not None:
                cancel()
            self._timers[key] = async_call_later(
                self.hass, quiet, partial(self._clear_occupancy, job.camera_id, group)
            )
        self.hass.bus.async_fire(
            EVENT_DETECTION,
            {
                "camera_id": state.camera_id,
                "camera_name": state.name,
                "objects": list(summary.objects),
                "confidence": summary.confidence,
                "detection_ids": ids,
                "captured_at": summary.captured_at.isoformat(),
                "batch_id": batch_id,
                "first_in_batch": first,
                "previous_batch_started_at": previous.isoformat() if first and previous else None,
                **self._image_urls(ids[0] if thumbnail else None),
            },
        )
        self._notify(job.camera_id)

    @callback
    def _clear_occupancy(self, camera_id: str, group: str, _now: datetime) -> None:
        self._timers.pop((camera_id, group), None)
        self.cameras[camera_id].occupied[group] = False
        self._notify(camera_id)

    def _image_urls(self, detection_id: int | None) -> dict[str, str | None]:
        if detection_id is None:
            return {"thumbnail_url": None, "snapshot_url": None}
        return {
            "thumbnail_url": signed_image_url(self.hass, self.entry_id, "thumbnail", detection_id),
            "snapshot_url": signed_image_url(self.hass, self.entry_id, "snapshot", detection_id),
        }

    async def _add_to_batch(self, camera_id: str, ids: list[int], now: datetime) -> str:
        batch_id = await self._with_store(self.batcher.add_detection, camera_id, ids, now)
        if not self.store.records_membership:
            await self._run(self.db.assign_batch, ids, batch_id)
        return batch_id

    # Batches and analysis

    async def _async_tick(self, now: datetime) -> None:
        if self._ticking:
            return
        self._ticking = True
        try:
            if await self.store.data_lost():
                self._start(self._resync_store(), "store resync")
            closed = await self.batcher.check_batch_timeouts(dt_util.utcnow())
            waiting = await self.store.image_backlog()
        except WorkStoreError as err:
            self.health.set("store", False, str(err))
            return
        finally:
            self._ticking = False
        self.health.set("store", True)
        if closed:
            self._analysis_ready.set()
        self._update_hub(waiting + len(self._ready_paths), self.batcher.open_count)
        now = dt_util.utcnow()
        self.health.check_repairs(now)
        if now - self._root_checked >= ROOT_CHECK_INTERVAL:
            self._root_checked = now
            self._start(self._check_root(), "camera root check")
        if not self.health.up["llm"] and now - self._llm_probed >= LLM_PROBE_INTERVAL:
            self._llm_probed = now
            self._start(self._probe_llm(), "LLM probe")

    async def _check_root(self) -> None:
        """Notice the camera root disappearing and coming back; re-watch and catch up then."""
        present = await self._run(self.root.is_dir)
        if present == self._root_present:
            return
        self._root_present = present
        issue_id = f"camera_root_missing_{self.entry_id}"
        if not present:
            _LOGGER.warning("The camera folder %s is gone; waiting for it to come back", self.root)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="camera_root_missing",
                translation_placeholders={"path": str(self.root)},
            )
            return
        _LOGGER.info("The camera folder %s is back; watching it again", self.root)
        ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        await self._run(self.watcher.stop)
        await self._run(self.watcher.start)
        await self._catch_up()

    async def _probe_llm(self) -> None:
        """While the LLM is down, check it now and then; when back, re-assess what waited."""
        if await self.analyzer.health_check():
            self.health.set("llm", True)
            await self.async_reanalyze_unassessed()

    @callback
    def _update_hub(self, waiting: int, open_batches: int) -> None:
        if (self.hub.images_waiting, self.hub.batches_open) != (waiting, open_batches):
            self.hub.images_waiting = waiting
            self.hub.batches_open = open_batches
            self._notify_hub()

    async def async_close_camera_batch(self, camera_id: str) -> bool:
        """Close a camera's open batch now; return False when it has none."""
        for batch in await self.store.open_batches():
            if batch.camera_id == camera_id and await self.batcher.close_batch(
                batch.batch_id, dt_util.utcnow()
            ):
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
            self._analysing.add(batch.batch_id)
            try:
                await self._analyze(batch)
            except Exception:
                _LOGGER.exception(
                    "Unexpected error analysing batch %s; it is retried at the next start",
                    batch.batch_id,
                )
                continue
            finally:
                self._analysing.discard(batch.batch_id)
            await self._with_store(self.store.ack_analysis, batch)

    async def _analyze(self, batch: ClosedBatch) -> None:
        records = await self._run(self.db.detections, batch.detection_ids)
        if not records:
            _LOGGER.debug("Batch %s has no stored detections; nothing to analyse", batch.batch_id)
            return
        prior = await self.analyst.prior(batch.camera_id, records)
        assessment = await self.analyst.assess(batch.camera_id, records, prior, LLM_RETRY_DELAYS)
        final, breakdown, status = combine(
            prior, assessment, (r.object_type for r in records), int(self.option(CONF_LLM_BOUND))
        )
        event, new = await self._run(
            self.db.store_event, batch, final, status, dt_util.utcnow(), breakdown
        )
        if new:
            self._publish(event)

    async def async_reanalyze(self, event_id: int) -> EventRecord | None:
        """Run the LLM again on a stored event; return it updated, or None if that failed."""
        event = await self._run(self.db.event, event_id)
        if event is None:
            return None
        records = await self._run(self.db.detections, event.detection_ids)
        if not records:
            return None
        prior = event.breakdown or await self.analyst.prior(event.camera_id, records)
        assessment = await self.analyst.assess(event.camera_id, records, prior, ())
        if assessment is None:
            return None
        final, breakdown, status = combine(
            prior, assessment, (r.object_type for r in records), int(self.option(CONF_LLM_BOUND))
        )
        updated = await self._run(self.db.update_assessment, event_id, final, status, breakdown)
        if updated is not None:
            self._publish(updated)
        return updated

    async def async_reanalyze_unassessed(self) -> int:
        """Ask the LLM about events scored from the facts alone; return how many it assessed."""
        done = 0
        for event in await self._run(self.db.unassessed_events, REANALYZE_BATCH):
            if await self.async_reanalyze(event.id) is None:
                break
            done += 1
        if done:
            _LOGGER.info("Re-assessed %d events stored while the LLM was unavailable", done)
        return done

    @callback
    def _publish(self, event: EventRecord) -> None:
        state = self.cameras.get(event.camera_id)
        if state is not None and (state.latest_event is None or state.latest_event.id <= event.id):
            state.latest_event = event
        self.hass.bus.async_fire(EVENT_RISK, self.event_data(event))
        self._notify(event.camera_id)

    def event_data(self, event: EventRecord) -> dict[str, Any]:
        """Return the `home_security_intelligence_event` payload of a stored event."""
        shown = event.detection_ids[-1] if event.thumbnail_path and event.detection_ids else None
        return {
            "camera_id": event.camera_id,
            "camera_name": self._display_name(event.camera_id),
            "event_id": event.id,
            "risk_score": event.risk_score,
            "risk_level": event.risk_level,
            "summary": event.summary,
            "reasoning": event.reasoning,
            "objects": list(event.objects),
            "started_at": event.started_at.isoformat(),
            "ended_at": event.ended_at.isoformat(),
            "analysis_status": event.analysis_status,
            "breakdown": event.breakdown.as_dict(event.risk_score) if event.breakdown else None,
            "reviewed": event.reviewed,
            **self._image_urls(shown),
        }

    def _display_name(self, camera_id: str) -> str:
        state = self.cameras.get(camera_id)
        return state.name if state else camera_id

    @callback
    def _set_llm_latency(self, seconds: float) -> None:
        self.hub.llm_latency_s = seconds
        self._notify_hub()

    # Retention

    def _retention_horizon(self) -> datetime | None:
        days = int(self.option(CONF_RETENTION_DAYS))
        return None if days <= 0 else dt_util.utcnow() - timedelta(days=days)

    async def _async_retention(self, _now: datetime) -> None:
        if (horizon := self._retention_horizon()) is not None:
            await self.async_purge(horizon)

    async def async_purge(self, before: datetime) -> PurgeResult | None:
        """Delete rows and thumbnails older than `before`; a failure is logged, never raised."""
        try:
            result = await self._run(self._purge, before)
        except Exception:
            _LOGGER.exception("Purging events older than %s failed; will try again", before)
            return None
        if result.events or result.detections:
            _LOGGER.info(
                "Purged %d events, %d detections and %d thumbnails older than %s",
                result.events,
                result.detections,
                len(result.files),
                before.date(),
            )
        return result

    def _purge(self, before: datetime) -> PurgeResult:
        result = self.db.purge(before)
        for name in result.files:
            try:
                Path(name).unlink(missing_ok=True)
            except OSError as err:
                _LOGGER.warning("Could not delete thumbnail %s: %s", name, err)
        return result

    # Updates to entities

    @callback
    def _notify(self, camera_id: str) -> None:
        async_dispatcher_send(self.hass, SIGNAL_CAMERA_UPDATED.format(self.entry_id, camera_id))

    @callback
    def _notify_hub(self) -> None:
        async_dispatcher_send(self.hass, SIGNAL_HUB_UPDATED.format(self.entry_id))

    async def _with_store[T](self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Call the work store, waiting out outages with backoff: nothing is dropped."""
        attempt = 0
        while True:
            try:
                result = await func(*args)
            except WorkStoreError as err:
                self.health.set("store", False, str(err))
                await asyncio.sleep(min(STORE_BACKOFF_MAX, 2.0**attempt))
                attempt += 1
                continue
            if attempt:
                self.health.set("store", True)
            return result


def _printable(path: Path) -> str:
    return repr(str(path))[1:-1]
