"""The store-backed image queue, and patient calls to the work store for every stage."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
import time
from typing import Any

from ..service_health import ServiceHealth
from ..store.work_store import WorkStore, WorkStoreError
from .models import ImageJob

STORE_BACKOFF_MAX = 30.0


class WorkQueue:
    """Images waiting for detection, one semaphore token per queued image.

    Every store call goes through `call`, which waits out outages with backoff and reports
    the store's health; while `patient` is False (during start-up) it raises instead.
    """

    def __init__(self, store: WorkStore, health: ServiceHealth) -> None:
        """Queue images in `store`; report its reachability to `health`."""
        self.store = store
        self.patient = False
        self._health = health
        self._tokens = asyncio.Semaphore(0)
        self._ready_at: dict[int, float] = {}
        self._newest: dict[str, int] = {}

    async def call[T](self, func: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Call the work store, waiting out outages with backoff: nothing is dropped."""
        attempt = 0
        while True:
            try:
                result = await func(*args)
            except WorkStoreError as err:
                self._health.set("store", False, str(err))
                if not self.patient:
                    raise
                await asyncio.sleep(min(STORE_BACKOFF_MAX, 2.0**attempt))
                attempt += 1
                continue
            if attempt:
                self._health.set("store", True)
            return result

    async def push(self, jobs: Sequence[ImageJob], *, fresh: bool = False) -> None:
        """Queue images for detection; `fresh` ones (new uploads) are timed for latency."""
        if fresh:
            now = time.monotonic()
            self._ready_at.update((job.image_id, now) for job in jobs)
        self.note_newest(jobs)
        await self.call(self.store.push_images, jobs)
        self.release(len(jobs))

    def release(self, count: int) -> None:
        """Wake workers for `count` images already in the store."""
        for _ in range(count):
            self._tokens.release()

    async def take(self, done: ImageJob | None) -> ImageJob | None:
        """Wait for an image and take it, acknowledging `done` in the same round trip.

        When no image is waiting, `done` is acknowledged on its own first, so an idle
        worker holds nothing in flight.
        """
        if done is not None and self._tokens.locked():
            await self.call(self.store.ack_image, done)
            done = None
        await self._tokens.acquire()
        return await self.call(self.store.take_image, done)

    async def claim(self) -> bool:
        """Take a token without waiting, for a take that rides on another store call.

        False when no image waits; after a claim the caller must take one image (or
        `release(1)` when its call failed).
        """
        if self._tokens.locked():
            return False
        await self._tokens.acquire()  # an unlocked semaphore is acquired without suspending
        return True

    def note_newest(self, jobs: Sequence[ImageJob]) -> None:
        """Remember each camera's newest image among `jobs` (queued, or queued again)."""
        for job in jobs:
            if job.image_id > self._newest.get(job.camera_id, 0):
                self._newest[job.camera_id] = job.image_id

    def is_newest(self, job: ImageJob) -> bool:
        """Tell whether no newer image of the job's camera was queued in this run."""
        return job.image_id >= self._newest.get(job.camera_id, 0)

    def waited(self, job: ImageJob) -> float | None:
        """Seconds since a fresh upload was queued (None for others); forgets it."""
        ready = self._ready_at.pop(job.image_id, None)
        return None if ready is None else time.monotonic() - ready
