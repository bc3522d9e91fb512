"""Bad files and odd names: each gets a clear log line or is processed; nothing else suffers."""

from __future__ import annotations

from contextlib import closing
import os
from pathlib import Path
import shutil
import sqlite3

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.home_security_intelligence.const import DOMAIN
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from ..conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer


async def _paths_by_state(hass: HomeAssistant, entry: ConfigEntry) -> dict[str, str]:
    """Ledger state per path, read straight from the SQLite file."""
    path = entry.runtime_data.db.path

    def read() -> dict[str, str]:
        with closing(sqlite3.connect(path)) as conn:
            return dict(conn.execute("SELECT path, state FROM images").fetchall())

    return await hass.async_add_executor_job(read)


async def test_bad_files_are_refused_with_a_reason(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    """Zero-byte, truncated, random, bomb and outside-the-root files never reach the detector."""
    entry = await setup_entry()
    cam = camera_root / "yard"
    good = make_jpeg(seed=3)
    outside = tmp_path / "secret.jpg"
    await write_file(hass, outside, good)

    def prepare() -> None:
        cam.mkdir()
        (cam / "zero.jpg").write_bytes(b"")
        (cam / "truncated.jpg").write_bytes(good[: len(good) // 2])
        (cam / "random.jpg").write_bytes(os.urandom(5000))
        (cam / "link.jpg").symlink_to(outside)
        with (cam / "huge.jpg").open("wb") as fh:
            fh.truncate(100 * 1024 * 1024)
        from PIL import Image

        Image.new("1", (12000, 12000)).save(cam / "bomb.png")
        (cam / "ok.jpg").write_bytes(good)

    await hass.async_add_executor_job(prepare)
    await wait_for(hass, lambda: _done(hass, entry, 7), freezer=freezer)
    states = await _paths_by_state(hass, entry)
    assert states[str(cam / "ok.jpg")] == "done"
    for name in ("zero", "truncated", "random", "link", "huge"):
        assert states[str(cam / f"{name}.jpg")] == "invalid", name
    assert states[str(cam / "bomb.png")] == "invalid"
    assert len(detector.requests) == 1
    log = caplog.text
    assert "empty file" in log
    assert "truncated JPEG" in log
    assert "outside the camera folder" in log
    assert "file too large" in log
    assert "implausible dimensions" in log


async def _done(hass: HomeAssistant, entry: ConfigEntry, count: int) -> bool:
    counts = await ledger(hass, entry)
    return counts.get("pending", 0) == 0 and sum(counts.values()) == count


async def test_odd_names_and_deep_folders_are_processed(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Spaces, unicode, newlines, leading dashes and a folder 20 levels deep all work."""
    entry = await setup_entry()
    deep = camera_root / "garage" / Path(*[f"d{i}" for i in range(20)])
    names = [
        camera_root / "garage" / "with space.jpg",
        camera_root / "garage" / "ünïcødé-カメラ.jpg",
        camera_root / "garage" / "new\nline.jpg",
        camera_root / "garage" / "-leading-dash.jpg",
        deep / "MDAlarm_20261124-031500.jpg",
    ]
    for index, path in enumerate(names):
        await write_file(hass, path, make_jpeg(seed=index))
    await wait_for(hass, lambda: _done(hass, entry, len(names)), freezer=freezer)
    states = await _paths_by_state(hass, entry)
    assert all(states[str(p)] == "done" for p in names)
    assert len(detector.requests) == len(names)


async def test_slow_upload_and_temp_rename(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A file written in pieces is read once complete; a temp name renamed to .jpg is read once."""
    entry = await setup_entry(upload_settle_seconds=1.0)
    cam = camera_root / "porch"
    data = make_jpeg(seed=9)
    slow = cam / "slow.jpg"

    def start_writing() -> object:
        cam.mkdir()
        handle = slow.open("wb")
        handle.write(data[:1000])
        handle.flush()
        return handle

    handle = await hass.async_add_executor_job(start_writing)
    await wait_for(hass, lambda: _settling(entry), freezer=freezer)
    assert detector.requests == []

    def finish() -> None:
        handle.write(data[1000:])  # type: ignore[attr-defined]
        handle.close()  # type: ignore[attr-defined]
        (cam / "upload.tmp").write_bytes(data)
        (cam / "upload.tmp").rename(cam / "renamed.jpg")

    await hass.async_add_executor_job(finish)
    await wait_for(hass, lambda: _done(hass, entry, 2), freezer=freezer)
    states = await _paths_by_state(hass, entry)
    assert states == {str(slow): "done", str(cam / "renamed.jpg"): "done"}
    assert len(detector.requests) == 2


def _settling(entry: ConfigEntry) -> bool:
    return entry.runtime_data.pipeline.intake.settler.pending == 1


async def test_camera_folder_deleted_and_recreated(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Deleting a watched camera folder and making it again keeps the watcher working."""
    entry = await setup_entry()
    cam = camera_root / "drive"
    await write_file(hass, cam / "a.jpg", make_jpeg(seed=1))
    await wait_for(hass, lambda: _done(hass, entry, 1), freezer=freezer)
    await hass.async_add_executor_job(shutil.rmtree, cam)
    await write_file(hass, cam / "b.jpg", make_jpeg(seed=2))
    await wait_for(hass, lambda: _done(hass, entry, 2), freezer=freezer)
    assert len(detector.requests) == 2


async def test_burst_of_files(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Hundreds of files landing at once are each processed exactly once."""
    entry = await setup_entry()
    data = make_jpeg(320, 240)
    count = 400

    def burst() -> None:
        for cam in ("a", "b", "c", "d"):
            (camera_root / cam).mkdir()
        for index in range(count):
            (camera_root / "abcd"[index % 4] / f"img_{index:05d}.jpg").write_bytes(data)

    await hass.async_add_executor_job(burst)
    await wait_for(hass, lambda: _done(hass, entry, count), timeout=120, freezer=freezer)
    assert len(detector.requests) == count
    assert await ledger(hass, entry) == {"done": count}


async def test_camera_root_removed_and_back(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The root vanishing raises a repair issue; once back it is watched and caught up."""
    entry = await setup_entry()
    await write_file(hass, camera_root / "cam" / "a.jpg", make_jpeg(seed=1))
    await wait_for(hass, lambda: _done(hass, entry, 1), freezer=freezer)
    await hass.async_add_executor_job(shutil.rmtree, camera_root)
    issues = ir.async_get(hass)
    issue_id = f"camera_root_missing_{entry.entry_id}"
    await wait_for(
        hass, lambda: issues.async_get_issue(DOMAIN, issue_id), timeout=30, freezer=freezer
    )
    assert "is gone" in caplog.text

    await write_file(hass, camera_root / "cam" / "b.jpg", make_jpeg(seed=2))
    await wait_for(hass, lambda: _done(hass, entry, 2), timeout=30, freezer=freezer)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    await write_file(hass, camera_root / "cam" / "c.jpg", make_jpeg(seed=3))
    await wait_for(hass, lambda: _done(hass, entry, 3), freezer=freezer)
    assert len(detector.requests) == 3
