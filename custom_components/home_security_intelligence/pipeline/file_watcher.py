"""Watch the camera root with watchdog and hand upload paths (images, clips) to the loop."""

from __future__ import annotations

from asyncio import AbstractEventLoop
from collections.abc import Callable, Iterator
import logging
import os
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from ..const import UPLOAD_SUFFIXES
from .image_loader import InvalidImageError, load_image

_LOGGER = logging.getLogger(__name__)

type FileCallback = Callable[[Path, bool], None]
"""Called on the loop with (path, complete): complete when the upload was closed or renamed."""
type FolderCallback = Callable[[str], None]
"""Called on the loop with a camera id when a camera folder appears (it may hold images)."""


class FileWatcher:
    """Recursive watchdog observer on the camera root."""

    def __init__(
        self,
        root: Path,
        loop: AbstractEventLoop,
        on_file: FileCallback,
        on_folder: FolderCallback,
    ) -> None:
        """Prepare a watcher; nothing runs until `start`."""
        self.root = root
        self._loop = loop
        self._on_file = on_file
        self._on_folder = on_folder
        self._observer: BaseObserver | None = None

    @staticmethod
    def is_upload_file(path: Path) -> bool:
        """Return True for visible names the pipeline reads: .jpg, .jpeg, .png and clips."""
        return path.suffix.lower() in UPLOAD_SUFFIXES and not path.name.startswith(".")

    @staticmethod
    def is_valid_image(path: Path) -> bool:
        """Return True when the file is a complete, readable image (blocking)."""
        try:
            load_image(path, path.parent)
        except InvalidImageError:
            return False
        return True

    def camera_id_for(self, path: Path) -> str | None:
        """Return the camera id (first folder under the root) or None outside a camera folder."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        return parts[0] if len(parts) >= 2 else None

    def start(self) -> None:
        """Start the observer thread (blocking: run it in the executor)."""
        observer = Observer()
        observer.schedule(_Handler(self), str(self.root), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Stop and join the observer thread (blocking: run it in the executor)."""
        if (observer := self._observer) is None:
            return
        self._observer = None
        observer.stop()
        observer.join()

    def watch_folder(self, folder: Path) -> None:
        """Give a new camera folder a watch of its own (blocking).

        inotify reports a folder moved in from outside the root as created but watchdog
        adds no watch for it; a second watch on a folder it does watch only repeats events,
        which the settler and the ledger absorb. Must not run in the observer thread, which
        holds the lock `schedule` needs.
        """
        if (observer := self._observer) is not None and folder.is_dir():
            observer.schedule(_Handler(self), str(folder), recursive=True)

    def _adopt_folder(self, folder: Path) -> None:
        """Watch a new camera folder, then report it (executor).

        In this order, the catch-up scan the report starts cannot miss an upload: what
        lands before the watch exists is on disk for the scan, what lands after is seen.
        """
        self.watch_folder(folder)
        try:
            self._loop.call_soon_threadsafe(self._on_folder, folder.name)
        except RuntimeError:
            _LOGGER.debug("Event loop closed, dropping the new folder %s", folder)

    def camera_folders(self) -> list[str]:
        """Return the camera folders under the root (blocking)."""
        with os.scandir(self.root) as entries:
            return sorted(
                e.name
                for e in entries
                if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            )

    def scan(self, under: Path | None = None) -> Iterator[Path]:
        """Yield every upload under the camera folders, or one of them (blocking walk)."""
        for dirpath, dirnames, filenames in os.walk(under or self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if dirpath == str(self.root):
                continue
            for name in filenames:
                path = Path(dirpath, name)
                if self.is_upload_file(path):
                    yield path

    def handle_event(self, event: FileSystemEvent) -> None:
        """Turn a watchdog event into a loop callback (runs in the observer thread)."""
        moved = isinstance(event, (FileMovedEvent, DirMovedEvent))
        raw = event.dest_path if moved else event.src_path
        path = Path(os.fsdecode(raw))
        try:
            if event.is_directory:
                if isinstance(event, (DirCreatedEvent, DirMovedEvent)) and path.parent == self.root:
                    self._loop.call_soon_threadsafe(
                        self._loop.run_in_executor, None, self._adopt_folder, path
                    )
                return
            if not self.is_upload_file(path) or self.camera_id_for(path) is None:
                return
            complete = moved or isinstance(event, FileClosedEvent)
            self._loop.call_soon_threadsafe(self._on_file, path, complete)
        except RuntimeError:
            _LOGGER.debug("Event loop closed, dropping watcher event for %s", path)


class _Handler(FileSystemEventHandler):
    """Forwards created, modified, closed and moved events."""

    def __init__(self, watcher: FileWatcher) -> None:
        self._watcher = watcher

    def on_created(self, event: FileSystemEvent) -> None:
        self._watcher.handle_event(event)

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self._watcher.handle_event(event)

    def on_closed(self, event: FileSystemEvent) -> None:
        self._watcher.handle_event(event)

    def on_moved(self, event: FileSystemEvent) -> None:
        self._watcher.handle_event(event)
