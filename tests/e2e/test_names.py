"""Names that are not valid UTF-8, and names too long: real watchdog on real folders.

Linux names are bytes; a camera or an SMB share with another code page writes 0xe9 for
`é`. Such files are real photos: they are recorded, processed and shown with U+FFFD.
"""

from __future__ import annotations

from contextlib import closing
import errno
import os
from pathlib import Path
import sqlite3
import time

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.home_security_intelligence.const import DOMAIN
from custom_components.home_security_intelligence.entity import device_identifier
from custom_components.home_security_intelligence.pipeline.fs_names import camera_id
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from ..conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer

pytestmark = pytest.mark.usefixtures("unload_entries")

BAD_FOLDER = b"caf\xe9"
BAD_FILE = b"snap\xff\xfe.jpg"


def _path(root: Path, *parts: bytes) -> Path:
    """A path under `root` from raw name bytes, as Python decodes them."""
    return Path(os.fsdecode(os.path.join(os.fsencode(root), *parts)))


async def _done(hass: HomeAssistant, entry: ConfigEntry, count: int) -> bool:
    counts = await ledger(hass, entry)
    return counts.get("done", 0) == count and sum(counts.values()) == count


async def _stored_paths(hass: HomeAssistant, entry: ConfigEntry) -> list[bytes]:
    """The ledger's paths as bytes, read straight from the SQLite file."""
    path = entry.runtime_data.db.path

    def read() -> list[bytes]:
        with closing(sqlite3.connect(path)) as conn:
            conn.text_factory = bytes
            return [row[0] for row in conn.execute("SELECT path FROM images")]

    return await hass.async_add_executor_job(read)


async def test_folder_not_utf8_present_at_start(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The entry sets up, the folder's images are processed, its device shows U+FFFD."""
    folder = _path(camera_root, BAD_FOLDER)
    await write_file(hass, folder / "a.jpg", make_jpeg(seed=1))
    await write_file(hass, camera_root / "front" / "b.jpg", make_jpeg(seed=2))
    await hass.async_add_executor_job(_age, [folder / "a.jpg", camera_root / "front" / "b.jpg"])

    entry = await setup_entry()

    assert entry.state is ConfigEntryState.LOADED
    await wait_for(hass, lambda: _done(hass, entry, 2), freezer=freezer)
    camera = camera_id(folder.name)
    assert camera.startswith("caf_") and camera.isprintable()
    (device,) = [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, device_identifier(entry.entry_id, camera)) in device.identifiers
    ]
    assert device.name == "Caf\ufffd"
    assert len(detector.requests) == 2
    assert os.path.join(os.fsencode(camera_root), BAD_FOLDER, b"a.jpg") in await _stored_paths(
        hass, entry
    )


async def test_file_not_utf8_among_good_uploads(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Uploaded with 3 good ones: all 4 are recorded and processed; the path keeps its bytes."""
    entry = await setup_entry()
    cam = camera_root / "front"
    await hass.async_add_executor_job(cam.mkdir)
    await hass.async_add_executor_job(lambda: time.sleep(0.1))  # the folder is watched
    for index in range(3):
        await write_file(hass, cam / f"good{index}.jpg", make_jpeg(seed=index))
    await write_file(hass, _path(cam, BAD_FILE), make_jpeg(seed=9))
    await write_file(hass, cam / "good3.jpg", make_jpeg(seed=3))

    await wait_for(hass, lambda: _done(hass, entry, 5), freezer=freezer)

    assert len(detector.requests) == 5
    stored = await _stored_paths(hass, entry)
    assert stored.count(os.path.join(os.fsencode(cam), BAD_FILE)) == 1
    assert len(stored) == 5


async def test_file_not_utf8_in_catch_up(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Among 5 uploads made while HA was down: the start-up catch-up processes all 5."""
    cam = camera_root / "front"
    paths = [cam / f"down{index}.jpg" for index in range(4)] + [_path(cam, BAD_FILE)]
    for index, path in enumerate(paths):
        await write_file(hass, path, make_jpeg(seed=index))
    await hass.async_add_executor_job(_age, paths)

    entry = await setup_entry()

    await wait_for(hass, lambda: _done(hass, entry, 5), freezer=freezer)
    assert len(detector.requests) == 5


async def test_long_names(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 255-byte name is processed; a path over 4096 bytes is logged; nothing else is lost."""
    cam = camera_root / "front"
    longest = cam / ("x" * 251 + ".jpg")
    await write_file(hass, longest, make_jpeg(seed=1))
    too_deep = await hass.async_add_executor_job(_deep_file, cam, make_jpeg(seed=2))
    await write_file(hass, cam / "ok.jpg", make_jpeg(seed=3))
    await hass.async_add_executor_job(_age, [longest, cam / "ok.jpg"])

    entry = await setup_entry()

    await wait_for(hass, lambda: _done(hass, entry, 2), freezer=freezer)
    await wait_for(hass, lambda: "longer than the system allows" in caplog.text)
    assert len(detector.requests) == 2
    assert len(os.fsencode(longest.name)) == 255
    assert len(os.fsencode(too_deep)) > 4096


def _age(paths: list[Path]) -> None:
    """Date files a minute back: uploads finished before HA started."""
    old = time.time() - 60
    for path in paths:
        os.utime(path, (old, old))


def _deep_file(under: Path, data: bytes) -> str:
    """Write a file whose path is longer than PATH_MAX, one folder at a time; return it."""
    name = "d" * 200
    parts = [os.fspath(under)]
    fd = os.open(under, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while len(os.path.join(*parts)) <= 4200:
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            parts.append(name)
        file_fd = os.open("deep.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with os.fdopen(file_fd, "wb") as fh:
            fh.write(data)
    finally:
        os.close(fd)
    full = os.path.join(*parts, "deep.jpg")
    with pytest.raises(OSError, match="too long") as err:
        os.lstat(full)
    assert err.value.errno == errno.ENAMETOOLONG
    return full
