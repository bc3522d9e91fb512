"""Video clips through the real pipeline: sampled frames, a risk event linking its clip, bad clips."""

from __future__ import annotations

from contextlib import closing
from datetime import timedelta
from functools import partial
import os
from pathlib import Path
import sqlite3
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_RISK
from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_source import (
    BrowseMediaSource,
    async_browse_media,
    async_resolve_media,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from ..clip_factory import encode_clip
from ..conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer
from ..helpers import close_batch, runtime_of

pytestmark = pytest.mark.usefixtures("unload_entries")


async def _encode(hass: HomeAssistant, path: Path, seconds: float) -> Path:
    """Encode a clip (a box moving across a still scene) with PyAV in the executor."""
    return await hass.async_add_executor_job(partial(encode_clip, path, seconds=seconds))


async def _upload(hass: HomeAssistant, source: Path, target: Path) -> None:
    """Move a finished clip into a camera folder, as an uploader renaming its temp file."""

    def move() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    await hass.async_add_executor_job(move)


async def _states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, tuple[str, str | None]]:
    """Ledger state and last error per file name, read straight from the SQLite file."""
    path = entry.runtime_data.db.path

    def read() -> dict[str, tuple[str, str | None]]:
        with closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("SELECT path, state, last_error FROM images").fetchall()
        return {Path(p).name: (state, error) for p, state, error in rows}

    return await hass.async_add_executor_job(read)


async def test_a_clip_becomes_a_risk_event_that_links_and_plays_its_clip(
    hass: HomeAssistant,
    camera_root: Path,
    tmp_path: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    hass_client_no_auth: ClientSessionGenerator,
    hass_client: ClientSessionGenerator,
) -> None:
    """A 3 s MP4 gives 3 frames, each detected and stored at its offset; the event links the clip."""
    assert await async_setup_component(hass, "media_source", {})
    entry = await setup_entry()
    runtime = runtime_of(entry)
    risk_events = async_capture_events(hass, EVENT_RISK)
    when = dt_util.now().replace(microsecond=0) - timedelta(minutes=5)
    name = dt_util.as_local(when).strftime("MDAlarm_%Y%m%d-%H%M%S.mp4")
    clip = await _encode(hass, tmp_path / "upload.mp4", seconds=3.0)
    body = await hass.async_add_executor_job(clip.read_bytes)
    await _upload(hass, clip, camera_root / "driveway" / name)

    await wait_for(
        hass,
        lambda: (state := runtime.cameras.get("driveway")) and state.last_detection,
        timeout=30,
    )
    event = await close_batch(hass, entry, "driveway")

    # One detector call per sampled frame, each a JPEG named after the clip and its offset.
    assert [r["filename"] for r in detector.requests] == [
        f"{name[:-4]}_{offset}s.jpg" for offset in ("0.0", "1.0", "2.0")
    ]
    assert {r["content_type"] for r in detector.requests} == {"image/jpeg"}
    detections = await hass.async_add_executor_job(runtime.db.detections, event.detection_ids)
    assert [d.frame_offset_s for d in detections] == [0.0, 1.0, 2.0]
    assert [d.detected_at for d in detections] == [
        dt_util.as_utc(when) + timedelta(seconds=s) for s in (0, 1, 2)
    ]
    assert len({d.thumbnail_path for d in detections}) == 3  # a thumbnail per frame
    assert event.objects == ("person",)
    assert event.clip_detection_id == detections[-1].id

    await wait_for(hass, lambda: risk_events)
    payload = risk_events[-1].data
    assert payload["event_id"] == event.id
    assert payload["snapshot_url"] is None  # a clip has no still: its frame is the thumbnail
    assert payload["thumbnail_url"]
    assert "/clip/" in payload["clip_url"]
    assert "authSig=" in payload["clip_url"]

    client = await hass_client_no_auth()
    response = await client.get(payload["clip_url"])
    assert response.status == 200
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert await response.read() == body
    response = await client.get(payload["clip_url"], headers={"Range": "bytes=100-199"})
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert await response.read() == body[100:200]
    response = await client.get(payload["clip_url"], headers={"Range": f"bytes={len(body)}-"})
    assert response.status == 416
    thumbnail = await client.get(payload["thumbnail_url"])
    assert thumbnail.status == 200
    assert thumbnail.headers["Content-Type"] == "image/jpeg"
    logged_in = await hass_client()
    snapshot = f"/api/{DOMAIN}/{entry.entry_id}/snapshot/{event.clip_detection_id}"
    assert (await logged_in.get(snapshot)).status == 404  # a clip is never served as a still

    # get_events links the clip on the event and on each frame's detection.
    response = await hass.services.async_call(
        DOMAIN, "get_events", {}, blocking=True, return_response=True
    )
    assert response is not None
    events: Any = response["events"]
    [found] = events
    assert "/clip/" in found["clip_url"]
    assert [d["frame_offset_s"] for d in found["detections"]] == [0.0, 1.0, 2.0]
    assert all(d["snapshot_url"] is None and d["clip_url"] for d in found["detections"])

    # The media browser offers the clip as a playable video in the event's folder.
    day = dt_util.as_local(event.started_at).date().isoformat()
    folder = await async_browse_media(
        hass, f"media-source://{DOMAIN}/{entry.entry_id}/driveway/{day}/{event.id}"
    )
    assert folder.children is not None
    video = folder.children[0]
    assert isinstance(video, BrowseMediaSource)
    assert (video.media_class, video.media_content_type, video.can_play) == (
        MediaClass.VIDEO,
        "video/mp4",
        True,
    )
    assert name in video.title
    assert not any("full snapshot" in child.title for child in folder.children)
    played = await async_resolve_media(hass, f"media-source://{DOMAIN}/{video.identifier}", None)
    assert played.mime_type == "video/mp4"
    assert f"/clip/{event.clip_detection_id}" in played.url
    response = await logged_in.get(played.url)
    assert response.status == 200
    assert await response.read() == body


async def test_bad_clips_get_a_reason_and_a_ledger_state(
    hass: HomeAssistant,
    camera_root: Path,
    tmp_path: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Corrupt, truncated and 2 GB clips are refused or used as far as they go; stills go on."""
    entry = await setup_entry()
    cam = camera_root / "garden"
    whole_mp4 = await _encode(hass, tmp_path / "whole.mp4", seconds=4.0)
    whole_mkv = await _encode(hass, tmp_path / "whole.mkv", seconds=8.0)

    def prepare() -> None:
        cam.mkdir()
        (cam / "random.mp4").write_bytes(os.urandom(64 * 1024))
        (cam / "empty.mov").write_bytes(b"")
        data = whole_mp4.read_bytes()
        (cam / "cut.mp4").write_bytes(data[: len(data) // 2])
        data = whole_mkv.read_bytes()
        (cam / "cut.mkv").write_bytes(data[: len(data) // 2])
        with (cam / "huge.mp4").open("wb") as sparse:
            sparse.truncate(2 * 1024**3)  # a 2 GB upload, sparse on disk
        (cam / "ok.jpg").write_bytes(make_jpeg(seed=4))

    await hass.async_add_executor_job(prepare)

    async def settled() -> bool:
        counts = await ledger(hass, entry)
        return counts.get("pending", 0) == 0 and sum(counts.values()) == 6

    await wait_for(hass, settled, timeout=30)
    states = await _states(hass, entry)
    assert states["ok.jpg"] == ("done", None)
    assert states["cut.mkv"] == ("done", None)  # its first frames are used
    for name, reason in {
        "random.mp4": "not a readable clip",
        "empty.mov": "empty file",
        "cut.mp4": "not a readable clip",
        "huge.mp4": "file too large",
    }.items():
        state, error = states[name]
        assert state == "invalid", name
        assert error is not None
        assert reason in error, name
        assert reason in caplog.text
    assert "cut.mkv ends at" in caplog.text
    assert "(truncated); using its" in caplog.text
    # ok.jpg and the mkv's frames reached the detector; no refused clip did.
    names = [r["filename"] for r in detector.requests]
    assert "ok.jpg" in names
    assert all(n == "ok.jpg" or n.startswith("cut_") for n in names)
    assert 1 <= len(names) - 1 < 8


async def test_a_clip_still_being_written_is_read_again_once_complete(
    hass: HomeAssistant,
    camera_root: Path,
    tmp_path: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
) -> None:
    """An MP4 read before its index was written is refused, then read when it is finished."""
    entry = await setup_entry()
    runtime = runtime_of(entry)
    whole = await _encode(hass, tmp_path / "whole.mp4", seconds=3.0)
    data = await hass.async_add_executor_job(whole.read_bytes)
    target = camera_root / "gate" / "RecM01_20261124_021502.mp4"
    await write_file(hass, target, data[: len(data) // 2])

    async def state() -> tuple[str, str | None]:
        return (await _states(hass, entry)).get(target.name, ("", None))

    async def refused() -> bool:
        return (await state())[0] == "invalid"

    await wait_for(hass, refused, timeout=30)
    assert "not a readable clip" in ((await state())[1] or "")
    assert detector.requests == []

    def finish() -> None:
        with target.open("ab") as tail:
            tail.write(data[len(data) // 2 :])

    await hass.async_add_executor_job(finish)

    async def done() -> bool:
        return (await state())[0] == "done"

    await wait_for(hass, done, timeout=30)
    assert len(detector.requests) == 3
    assert await ledger(hass, entry) == {"done": 1}
    await wait_for(hass, lambda: runtime.cameras["gate"].last_detection)


async def test_zones_judge_each_frame_of_a_clip(
    hass: HomeAssistant,
    camera_root: Path,
    tmp_path: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
) -> None:
    """Every frame's person below the camera's minimum is stored filtered, with its offset."""
    entry = await setup_entry(zones={"yard": {"min_confidence": {"person": 0.95}}})
    runtime = runtime_of(entry)
    clip = await _encode(hass, tmp_path / "upload.mkv", seconds=3.0)
    await _upload(hass, clip, camera_root / "yard" / "record_20261124_021502.mkv")

    async def done() -> bool:
        return await ledger(hass, entry) == {"done": 1}

    await wait_for(hass, done, timeout=30)
    assert len(detector.requests) == 3
    assert runtime.cameras["yard"].last_detection is None
    assert await hass.async_add_executor_job(runtime.db.unbatched_detections) == {}
    response = await hass.services.async_call(
        DOMAIN, "get_events", {"include_filtered": True}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["events"] == []
    filtered: Any = response["filtered"]
    assert [(d["frame_offset_s"], d["filtered"]) for d in filtered] == [
        (2.0, "low_confidence"),
        (1.0, "low_confidence"),
        (0.0, "low_confidence"),
    ]
    assert all(d["snapshot_url"] is None and "/clip/" in d["clip_url"] for d in filtered)
