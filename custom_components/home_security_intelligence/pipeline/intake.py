"""Intake: watcher events and the catch-up scan become ledger rows and queued image jobs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
import logging
from pathlib import Path
import time
from typing import Any

from homeassistant.util import dt as dt_util

from ..const import CONF_UPLOAD_SETTLE
from ..store.database import Database
from .file_watcher import FileWatcher
from .models import ImageJob
from .runtime import Runtime
from .upload_settler import UploadSettler
from .work_queue import WorkQueue

_LOGGER = logging.getLogger(__name__)
CATCH_UP_CHUNK = 500


class Intake:
    """Watches the camera root; each settled upload gets a ledger row and a queued job."""

    def __init__(
        self,
        runtime: Runtime,
        root: Path,
        db: Database,
        queue: WorkQueue,
        on_camera: Callable[[str, str], Coroutine[Any, Any, None]],
        horizon: Callable[[], datetime | None],
    ) -> None:
        """Record uploads under `root`; `on_camera` learns of each camera (id, folder name) first."""
        self._runtime = runtime
        self._db = db
        self._queue = queue
        self._on_camera = on_camera
        self._horizon = horizon
        self.watcher = FileWatcher(root, runtime.hass.loop, self._on_file, self._on_folder)
        self.settler = UploadSettler(
            runtime.hass.loop,
            lambda: float(runtime.option(CONF_UPLOAD_SETTLE)),
            self._on_upload_ready,
        )
        self._ready: dict[Path, None] = {}
        self._draining = False

    @property
    def waiting(self) -> int:
        """Uploads seen but not in the ledger yet: still settling, or settled."""
        return self.settler.pending + len(self._ready)

    async def start(self) -> None:
        """Watch the root and catch up, in the background, on what arrived meanwhile."""
        await self._runtime.run(self.watcher.start)
        self._runtime.start(self.catch_up(), "catch-up")

    async def stop(self) -> None:
        """Stop watching; uploads still settling are found again by the next catch-up."""
        self.settler.cancel()
        await self._runtime.run(self.watcher.stop)

    async def rewatch(self) -> None:
        """Watch a root that came back, and catch up on it."""
        await self._runtime.run(self.watcher.stop)
        await self._runtime.run(self.watcher.start)
        await self.catch_up()

    def _on_file(self, path: Path, complete: bool) -> None:
        self.settler.touch(path, complete)

    def _on_folder(self, camera_id: str) -> None:
        label = self.watcher.label_of(camera_id)
        self._runtime.start(self._on_camera(camera_id, label), f"camera {label}")
        self._runtime.start(self.catch_up(self.watcher.folder_of(camera_id)), f"scan of {label}")

    def _on_upload_ready(self, path: Path) -> None:
        self._ready[path] = None
        if not self._draining:
            self._draining = True
            self._runtime.start(self._drain(), "intake")

    async def _drain(self) -> None:
        try:
            while self._ready:
                paths = list(self._ready)
                self._ready.clear()
                await self._record_or_log(
                    paths, "Recording %d uploads failed; the next start finds them"
                )
        finally:
            self._draining = False

    async def catch_up(self, under: Path | None = None) -> None:
        """Record images that arrived while HA was not watching.

        Files changed within the settle time may still be uploading: the settler gets them.
        """
        settle = float(self._runtime.option(CONF_UPLOAD_SETTLE))
        paths, fresh = await self._runtime.run(self._unknown_paths, under, time.time() - settle)
        for path in fresh:
            self.settler.touch(path, False)
        if paths:
            _LOGGER.info("Catching up on %d images that arrived while not watching", len(paths))
            for start in range(0, len(paths), CATCH_UP_CHUNK):
                await self._record_or_log(
                    paths[start : start + CATCH_UP_CHUNK], "Catching up on %d images failed"
                )

    def _unknown_paths(
        self, under: Path | None, settled_before: float
    ) -> tuple[list[Path], list[Path]]:
        """Images on disk the ledger does not know, newer than the retention horizon.

        Returns the settled ones and those modified after `settled_before` (executor).
        """
        known = self._db.known_paths()
        horizon = self._horizon()
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

    async def _record_or_log(self, paths: list[Path], message: str) -> None:
        """Record a group of uploads; a failure is logged and never stops the others."""
        try:
            await self._record(paths)
        except Exception:
            _LOGGER.exception(message, len(paths))

    async def _record(self, paths: list[Path]) -> None:
        jobs = await self._runtime.run(self._ledger_insert, paths)
        for camera_id in {job.camera_id for job in jobs}:
            await self._on_camera(camera_id, self.watcher.label_of(camera_id))
        await self._queue.push(jobs, fresh=True)

    def _ledger_insert(self, paths: list[Path]) -> list[ImageJob]:
        """Stat new uploads and add them to the ledger (executor)."""
        found = self.watcher.new_uploads(paths, dt_util.get_default_time_zone())
        return self._db.record_images(found, dt_util.utcnow())
