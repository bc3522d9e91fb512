"""Decide when an upload is complete: closed or renamed at once, else quiet for a while."""

from __future__ import annotations

from asyncio import AbstractEventLoop, TimerHandle
from collections.abc import Callable
from pathlib import Path


class UploadSettler:
    """Debounces watcher events per path and calls `on_ready` once an upload is complete."""

    def __init__(
        self,
        loop: AbstractEventLoop,
        settle_seconds: Callable[[], float],
        on_ready: Callable[[Path], None],
    ) -> None:
        """Create a settler; `settle_seconds` is read on every event so option changes apply."""
        self._loop = loop
        self._settle_seconds = settle_seconds
        self._on_ready = on_ready
        self._timers: dict[Path, TimerHandle] = {}
        self._closed = False

    @property
    def pending(self) -> int:
        """Number of uploads still settling."""
        return len(self._timers)

    def touch(self, path: Path, complete: bool) -> None:
        """Note activity on `path`; complete means it was closed after writing or renamed.

        After `cancel` nothing is noted: the next start's catch-up finds the file.
        """
        if self._closed:
            return
        if (timer := self._timers.pop(path, None)) is not None:
            timer.cancel()
        if complete:
            self._on_ready(path)
            return
        self._timers[path] = self._loop.call_later(self._settle_seconds(), self._settled, path)

    def _settled(self, path: Path) -> None:
        self._timers.pop(path, None)
        self._on_ready(path)

    def cancel(self) -> None:
        """Drop every pending timer and note nothing more (on unload).

        The next start's catch-up finds those files again.
        """
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
