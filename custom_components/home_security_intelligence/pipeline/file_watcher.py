"""Watch the camera root with watchdog and hand upload paths (images, clips) to the loop."""

from __future__ import annotations

from asyncio import AbstractEventLoop
from collections.abc import Callable, Iterable, Iterator
from datetime import tzinfo
import errno
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
from ..store.records import NewImage
from .capture_time import capture_time
from .clip_frames import clip_capture_time, is_clip_file
from .fs_names import camera_id, readable

_LOGGER = logging.getLogger(__name__)

PATH_MAX = 4096
"""Linux's limit on a path given to the kernel, final NUL included."""

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
        self._folders: dict[str, str] = {}

    @staticmethod
    def is_upload_file(path: Path) -> bool:
        """Return True for visible names the pipeline reads: .jpg, .jpeg, .png and clips."""
        return path.suffix.lower() in UPLOAD_SUFFIXES and not path.name.startswith(".")

    def camera_id_for(self, path: Path) -> str | None:
        """Return the camera id (first folder under the root) or None outside a camera folder."""
        try:
            parts = path.relative_to(self.root).parts
        except ValueError:
            return None
        return self._camera(parts[0]) if len(parts) >= 2 else None

    def _camera(self, folder: str) -> str:
        """Return the camera id of a folder name and remember which folder it names."""
        self._folders[ident := camera_id(folder)] = folder
        return ident

    def folder_of(self, camera: str) -> Path:
        """Return the folder of a camera id (its own name unless the name was not UTF-8)."""
        return self.root / self._folders.get(camera, camera)

    def label_of(self, camera: str) -> str:
        """Return the folder name of a camera fit to show (U+FFFD for undecodable bytes)."""
        return readable(self._folders.get(camera, camera))

    def start(self) -> None:
        """Start the observer thread (blocking: run it in the executor)."""
        observer = Observer()
        observer.daemon = True
        observer.start()
        self._observer = observer
        try:
            self._watch_tree(observer, str(self.root))
        except BaseException:
            self.stop()
            raise

    def _watch_tree(self, observer: BaseObserver, top: str) -> None:
        """Watch a folder and everything under it (blocking).

        inotify refuses a path longer than PATH_MAX, and watchdog then refuses the whole
        tree. A tree holding such a folder is watched folder by folder down to it; the
        folder too deep is logged and left out, the rest is watched.
        """
        deep = _deep_folders(top)
        pending = [top]
        while pending:
            folder = pending.pop()
            if folder not in deep:
                observer.schedule(_Handler(self), folder, recursive=True)
                continue
            observer.schedule(_Handler(self), folder, recursive=False)
            for sub in _subfolders(folder):
                if _too_long(sub):
                    _LOGGER.warning(
                        "Folder %s is not watched: its path is longer than the system allows",
                        readable(sub),
                    )
                else:
                    pending.append(sub)

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
            self._watch_tree(observer, str(folder))

    def _adopt_folder(self, folder: Path) -> None:
        """Watch a new camera folder, then report it (executor).

        In this order, the catch-up scan the report starts cannot miss an upload: what
        lands before the watch exists is on disk for the scan, what lands after is seen.
        """
        self.watch_folder(folder)
        try:
            self._loop.call_soon_threadsafe(self._on_folder, self._camera(folder.name))
        except RuntimeError:
            _LOGGER.debug("Event loop closed, dropping the new folder %s", readable(folder))

    def camera_folders(self) -> list[str]:
        """Return the camera ids of the folders under the root (blocking)."""
        with os.scandir(self.root) as entries:
            return sorted(
                self._camera(e.name)
                for e in entries
                if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            )

    def scan(self, under: Path | None = None) -> Iterator[Path]:
        """Yield every upload under the camera folders, or one of them (blocking walk).

        A folder that cannot be listed (too long a path, no permission) is logged and skipped.
        """
        for dirpath, dirnames, filenames in os.walk(under or self.root, onerror=_unreadable):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if dirpath == str(self.root):
                continue
            for name in filenames:
                path = Path(dirpath, name)
                if self.is_upload_file(path):
                    yield path

    def new_uploads(self, paths: Iterable[Path], tz: tzinfo) -> list[NewImage]:
        """Describe uploads for the ledger (blocking stat; a clip's header may be read).

        Each file on its own: one that vanished, cannot be read or has too long a name is
        logged and left out, the others go on.
        """
        found: list[NewImage] = []
        for path in paths:
            try:
                if (camera := self.camera_id_for(path)) is None:
                    continue
                stat = path.lstat()
                found.append(
                    NewImage(
                        camera,
                        str(path),
                        stat.st_size,
                        stat.st_mtime,
                        clip_capture_time(path, self.root, stat.st_mtime, tz)
                        if is_clip_file(path)
                        else capture_time(path.name, stat.st_mtime, tz),
                    )
                )
            except OSError as err:
                if err.errno == errno.ENAMETOOLONG:
                    _LOGGER.warning(
                        "Upload %s skipped: its path is longer than the system allows",
                        readable(path),
                    )
                else:
                    _LOGGER.debug("Upload %s vanished before it was read: %s", readable(path), err)
            except Exception:
                _LOGGER.exception("Upload %s skipped: unexpected error", readable(path))
        return found

    def handle_event(self, event: FileSystemEvent) -> None:
        """Turn a watchdog event into a loop callback (runs in the observer thread).

        An error is logged for this event only: the observer thread goes on with the others.
        """
        try:
            self._forward(event)
        except Exception:
            _LOGGER.exception("Watcher event %r skipped: unexpected error", event)

    def _forward(self, event: FileSystemEvent) -> None:
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
            _LOGGER.debug("Event loop closed, dropping watcher event for %s", readable(path))


def _too_long(path: str) -> bool:
    """Return True when the kernel refuses the path (PATH_MAX counts the final NUL)."""
    return len(os.fsencode(path)) >= PATH_MAX


def _subfolders(folder: str) -> list[str]:
    """Return the folders directly in `folder`, not following symlinks."""
    try:
        with os.scandir(folder) as entries:
            return [e.path for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError as err:
        _unreadable(err)
        return []


def _deep_folders(top: str) -> set[str]:
    """Return `top` and the folders under it that hold a folder whose path is too long."""
    deep: set[str] = set()
    for dirpath, dirnames, _ in os.walk(top):
        long = [d for d in dirnames if _too_long(os.path.join(dirpath, d))]
        if not long:
            continue
        dirnames[:] = [d for d in dirnames if d not in long]
        folder = dirpath
        while folder not in deep:
            deep.add(folder)
            if folder == top:
                break
            folder = os.path.dirname(folder)
    return deep


def _unreadable(err: OSError) -> None:
    """Log a folder the catch-up scan cannot list."""
    name = readable(os.fsdecode(err.filename)) if err.filename else "?"
    if err.errno == errno.ENAMETOOLONG:
        _LOGGER.warning("Folder %s skipped: its path is longer than the system allows", name)
    else:
        _LOGGER.warning("Folder %s skipped: %s", name, err.strerror or err)


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
