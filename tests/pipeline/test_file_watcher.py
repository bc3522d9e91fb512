"""The watcher on a real folder with a real watchdog observer and HA's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import logging
import os
from pathlib import Path
import threading

import pytest
from watchdog.events import FileClosedEvent, FileCreatedEvent, FileMovedEvent
from watchdog.observers.api import BaseObserver, EventEmitter

from custom_components.home_security_intelligence.pipeline.file_watcher import FileWatcher
from custom_components.home_security_intelligence.pipeline.image_loader import (
    InvalidImageError,
    load_image,
)
from homeassistant.core import HomeAssistant

from ..conftest import make_jpeg, wait_for, write_file


class Recorder:
    """Collects watcher callbacks (they run on the loop)."""

    def __init__(self) -> None:
        self.files: list[tuple[Path, bool]] = []
        self.folders: list[str] = []
        self.thread_ok = True

    def on_file(self, path: Path, complete: bool) -> None:
        self.thread_ok &= threading.current_thread() is threading.main_thread()
        self.files.append((path, complete))

    def on_folder(self, camera_id: str) -> None:
        self.thread_ok &= threading.current_thread() is threading.main_thread()
        self.folders.append(camera_id)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A camera root with a `front` camera folder."""
    (tmp_path / "cams" / "front").mkdir(parents=True)
    return tmp_path / "cams"


@pytest.fixture
async def running(hass: HomeAssistant, root: Path) -> AsyncGenerator[tuple[FileWatcher, Recorder]]:
    """A started watcher, stopped (and its thread joined) after the test."""
    rec = Recorder()
    watcher = FileWatcher(root, hass.loop, rec.on_file, rec.on_folder)
    await hass.async_add_executor_job(watcher.start)
    yield watcher, rec
    await hass.async_add_executor_job(watcher.stop)


async def _rename(hass: HomeAssistant, src: Path, dst: Path) -> None:
    await hass.async_add_executor_job(os.rename, src, dst)


async def test_jpeg_written_in_camera_folder_is_complete(
    hass: HomeAssistant, root: Path, running: tuple[FileWatcher, Recorder]
) -> None:
    """Created then closed: the close event reports the upload as complete, on the loop."""
    _, rec = running
    path = root / "front" / "MDAlarm_20261124-021502.jpg"
    await write_file(hass, path, make_jpeg())
    await wait_for(hass, lambda: (path, True) in rec.files)
    assert rec.files[0] == (path, False)
    assert {p for p, _ in rec.files} == {path}
    assert rec.thread_ok


async def test_rename_tmp_to_jpg_is_complete(
    hass: HomeAssistant, root: Path, running: tuple[FileWatcher, Recorder]
) -> None:
    """An uploader writing x.tmp and renaming it to x.jpg gives (x.jpg, True)."""
    _, rec = running
    tmp = root / "front" / "x.tmp"
    await write_file(hass, tmp, make_jpeg())
    await _rename(hass, tmp, root / "front" / "x.jpg")
    await wait_for(hass, lambda: rec.files)
    assert rec.files == [(root / "front" / "x.jpg", True)]


async def test_ignored_names_and_root_files(
    hass: HomeAssistant, root: Path, running: tuple[FileWatcher, Recorder]
) -> None:
    """Non-image names, hidden files and files straight in the root give no callback."""
    _, rec = running
    await write_file(hass, root / "front" / "notes.txt", b"hello")
    await write_file(hass, root / "front" / ".hidden.jpg", make_jpeg())
    await write_file(hass, root / "loose.jpg", make_jpeg())
    await _rename(hass, root / "front" / "notes.txt", root / "front" / "notes.log")
    # The last event: once it arrives, the earlier ones have been handled.
    sentinel = root / "front" / "zz.png"
    await write_file(hass, sentinel, b"png-ish")
    await wait_for(hass, lambda: (sentinel, True) in rec.files)
    assert {p for p, _ in rec.files} == {sentinel}
    assert rec.folders == []


async def test_new_camera_folder_calls_on_folder(
    hass: HomeAssistant, root: Path, tmp_path: Path, running: tuple[FileWatcher, Recorder]
) -> None:
    """Folders created or moved into the root are new cameras; nested ones are not."""
    _, rec = running
    await hass.async_add_executor_job((root / "garage").mkdir)
    await wait_for(hass, lambda: rec.folders)
    await hass.async_add_executor_job((root / "front" / "nested").mkdir)
    await _rename(hass, root / "garage", root / "carport")
    await wait_for(hass, lambda: len(rec.folders) >= 2)
    staged = tmp_path / "staged"
    await hass.async_add_executor_job(staged.mkdir)
    await _rename(hass, staged, root / "porch")
    await wait_for(hass, lambda: len(rec.folders) >= 3)
    sentinel = root / "carport" / "s.jpg"
    await write_file(hass, sentinel, make_jpeg())
    await wait_for(hass, lambda: (sentinel, True) in rec.files)
    assert rec.folders == ["garage", "carport", "porch"]


async def test_upload_into_folder_moved_in_from_outside(
    hass: HomeAssistant, root: Path, tmp_path: Path, running: tuple[FileWatcher, Recorder]
) -> None:
    """Uploads into a camera folder that was moved into the root are seen."""
    _, rec = running
    staged = tmp_path / "staged"
    await hass.async_add_executor_job(staged.mkdir)
    await _rename(hass, staged, root / "porch")
    await wait_for(hass, lambda: rec.folders)
    upload = root / "porch" / "later.jpg"
    await write_file(hass, upload, make_jpeg())
    await wait_for(hass, lambda: (upload, True) in rec.files, timeout=3)


async def test_stop_twice_and_before_start_is_safe(hass: HomeAssistant, root: Path) -> None:
    """stop() without start and a second stop() do nothing; stop joins the watchdog threads."""
    rec = Recorder()
    watcher = FileWatcher(root, hass.loop, rec.on_file, rec.on_folder)
    await hass.async_add_executor_job(watcher.stop)
    await hass.async_add_executor_job(watcher.start)
    assert _watchdog_threads()
    await hass.async_add_executor_job(watcher.stop)
    assert not _watchdog_threads()
    await hass.async_add_executor_job(watcher.stop)
    # A second, running watcher on the same folder sees the upload: once it has, the
    # stopped one would have too, had it still been watching.
    witness = Recorder()
    other = FileWatcher(root, hass.loop, witness.on_file, witness.on_folder)
    await hass.async_add_executor_job(other.start)
    try:
        after = root / "front" / "after.jpg"
        await write_file(hass, after, make_jpeg())
        await wait_for(hass, lambda: (after, True) in witness.files)
    finally:
        await hass.async_add_executor_job(other.stop)
    assert rec.files == []


def _watchdog_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, (BaseObserver, EventEmitter))]


async def test_scan_finds_nested_images_and_skips_hidden(hass: HomeAssistant, root: Path) -> None:
    """The catch-up walk yields images in camera folders at any depth, nothing hidden."""
    files = {
        root / "front" / "a.jpg": True,
        root / "front" / "b.JPEG": True,
        root / "front" / "2026" / "11" / "c.png": True,
        root / "front" / ".d.jpg": False,
        root / "front" / ".cache" / "e.jpg": False,
        root / ".trash" / "cam" / "f.jpg": False,
        root / "top.jpg": False,
        root / "front" / "notes.txt": False,
    }

    def build() -> list[Path]:
        for path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        watcher = FileWatcher(root, hass.loop, lambda p, c: None, lambda c: None)
        return list(watcher.scan())

    found = await hass.async_add_executor_job(build)
    assert sorted(found) == sorted(p for p, keep in files.items() if keep)


async def test_camera_folders(hass: HomeAssistant, root: Path, tmp_path: Path) -> None:
    """Camera folders are the visible real directories in the root, sorted."""

    def build() -> list[str]:
        (root / "back").mkdir()
        (root / ".snapshots").mkdir()
        (root / "file.jpg").write_bytes(b"x")
        (tmp_path / "elsewhere").mkdir()
        (root / "linked").symlink_to(tmp_path / "elsewhere")
        return FileWatcher(root, hass.loop, lambda p, c: None, lambda c: None).camera_folders()

    assert await hass.async_add_executor_job(build) == ["back", "front"]


async def test_camera_id_for(hass: HomeAssistant, root: Path, tmp_path: Path) -> None:
    """The camera id is the first folder under the root."""
    watcher = FileWatcher(root, hass.loop, lambda p, c: None, lambda c: None)
    assert watcher.camera_id_for(root / "front" / "a.jpg") == "front"
    assert watcher.camera_id_for(root / "front" / "x" / "y" / "a.jpg") == "front"
    assert watcher.camera_id_for(root / "a.jpg") is None
    assert watcher.camera_id_for(root) is None
    assert watcher.camera_id_for(tmp_path / "other" / "a.jpg") is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jpg", True), ("a.JPG", True), ("a.jpeg", True), ("a.png", True), ("a.gif", False),
     ("a.jpg.tmp", False), (".a.jpg", False), ("jpg", False), ("a", False),
     ("a.mp4", True), ("a.MKV", True), ("a.avi", True), ("a.mov", True), ("a.mp4.part", False),
     (".a.mp4", False), ("a.webm", False)],
)  # fmt: skip
def test_is_upload_file(name: str, expected: bool) -> None:
    """Only visible .jpg/.jpeg/.png names and .mp4/.mkv/.avi/.mov clips are uploads."""
    assert FileWatcher.is_upload_file(Path("/cams/front", name)) is expected


async def test_settled_upload_is_checked_by_the_image_loader(
    hass: HomeAssistant, root: Path
) -> None:
    """What the watcher hands on is judged by the loader: a complete JPEG is valid; a truncated
    one and a missing file are not."""
    data = make_jpeg()

    def valid(path: Path) -> bool:
        try:
            load_image(path, path.parent)
        except InvalidImageError:
            return False
        return True

    def check() -> tuple[bool, bool, bool]:
        good, cut = root / "front" / "good.jpg", root / "front" / "cut.jpg"
        good.write_bytes(data)
        cut.write_bytes(data[: len(data) // 2])
        return (valid(good), valid(cut), valid(root / "front" / "missing.jpg"))

    assert await hass.async_add_executor_job(check) == (True, False, False)


async def test_event_after_loop_closed_is_dropped(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An event arriving after the loop closed is logged and dropped, not raised."""
    loop = asyncio.new_event_loop()
    loop.close()
    rec = Recorder()
    watcher = FileWatcher(root, loop, rec.on_file, rec.on_folder)
    path = root / "front" / "late.jpg"
    with caplog.at_level(logging.DEBUG, "custom_components.home_security_intelligence"):
        watcher.handle_event(FileClosedEvent(str(path)))
    assert "dropping watcher event" in caplog.text
    assert str(path) in caplog.text
    with caplog.at_level(logging.DEBUG, "custom_components.home_security_intelligence"):
        watcher._adopt_folder(root / "front")  # a folder reported as the loop closed
    assert "dropping the new folder" in caplog.text


async def test_handle_event_kinds(hass: HomeAssistant, root: Path) -> None:
    """Created is incomplete, closed and moved are complete; bytes paths are decoded."""
    rec = Recorder()
    watcher = FileWatcher(root, hass.loop, rec.on_file, rec.on_folder)
    a = root / "front" / "a.jpg"
    watcher.handle_event(FileCreatedEvent(os.fsencode(a)))
    watcher.handle_event(FileClosedEvent(str(a)))
    watcher.handle_event(FileMovedEvent(str(root / "front" / "b.part"), str(a)))
    watcher.handle_event(FileMovedEvent(str(a), str(root / "front" / "a.bak")))
    await hass.async_block_till_done()
    assert rec.files == [(a, False), (a, True), (a, True)]
