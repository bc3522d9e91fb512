"""Clip sampling on real clips encoded with PyAV, hostile files, and OpenCV's CCTV footage."""

from __future__ import annotations

from datetime import UTC, datetime
import gzip
import io
import os
from pathlib import Path
import shutil
from zoneinfo import ZoneInfo

import av
from PIL import Image
import pytest

from custom_components.home_security_intelligence.pipeline.clip_frames import (
    Clip,
    InvalidClipError,
    _open_inside,
    clip_capture_time,
    is_clip_file,
    load_clip,
)
from custom_components.home_security_intelligence.pipeline.image_loader import InvalidImageError
from tests.clip_factory import appears_at, encode_clip, noisy, still

BERLIN = ZoneInfo("Europe/Berlin")
# OpenCV's CCTV sample from Debian's opencv-doc (plain or gzipped), or where HSI_VTEST says.
VTEST_PLACES = (
    Path(os.environ.get("HSI_VTEST", "/nonexistent")),
    Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi.gz"),
)


def _offsets(clip: Clip) -> list[float]:
    return [frame.offset_s for frame in clip.frames]


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("front.mp4", "h264"),
        ("front.mkv", "h264"),
        ("front.avi", "mpeg4"),
        ("front.mov", "mpeg4"),
        ("FRONT.MP4", "h264"),
    ],
)
def test_each_container_gives_one_jpeg_per_second(tmp_path: Path, name: str, codec: str) -> None:
    """A 3 s moving clip: frames at 0, 1 and 2 s, each a JPEG of the clip's size."""
    path = encode_clip(tmp_path / name, seconds=3.0, size=(320, 240))
    assert is_clip_file(path)
    clip = load_clip(path, tmp_path)
    assert _offsets(clip) == [0.0, 1.0, 2.0]
    assert (clip.width, clip.height, clip.codec) == (320, 240, codec)
    assert clip.duration_s == pytest.approx(3.0, abs=0.2)
    assert clip.defect is None
    for frame in clip.frames:
        assert frame.image.content_type == "image/jpeg"
        assert (frame.image.width, frame.image.height) == (320, 240)
        with Image.open(io.BytesIO(frame.image.data)) as img:
            assert (img.format, img.size) == ("JPEG", (320, 240))


def test_not_clip_names() -> None:
    """Stills, hidden files and other video formats are not clips."""
    assert not is_clip_file(Path("cam/a.jpg"))
    assert not is_clip_file(Path("cam/.a.mp4"))
    assert not is_clip_file(Path("cam/a.webm"))


def test_at_most_max_frames_and_configurable_rate(tmp_path: Path) -> None:
    """A 15 s clip gives 10 frames at 1/s by default; 2/s halves the spacing.

    B-frames are not decoded (skip_frame NONREF), so a sample may be the next decoded
    frame, a frame or two (here 0.1 s each) after its grid point.
    """
    path = encode_clip(tmp_path / "long.mp4", seconds=15.0)
    assert _offsets(load_clip(path, tmp_path)) == pytest.approx(range(10), abs=0.21)
    fast = load_clip(path, tmp_path, fps=2.0, max_frames=4)
    assert _offsets(fast) == pytest.approx([0.0, 0.5, 1.0, 1.5], abs=0.21)


def test_sparse_rate_seeks_to_the_right_frames(tmp_path: Path) -> None:
    """One frame per 4 s on a clip with 5 s keyframe spacing: seeking lands on the grid."""
    path = encode_clip(tmp_path / "gop.mp4", seconds=14.0, gop=50)
    clip = load_clip(path, tmp_path, fps=0.25)
    assert _offsets(clip) == [0.0, 4.0, 8.0, 12.0]
    assert clip.defect is None


def test_near_duplicates_are_skipped(tmp_path: Path) -> None:
    """A still scene gives one frame; a box appearing at 4.5 s gives a second one at 5 s."""
    quiet = encode_clip(tmp_path / "quiet.mkv", seconds=8.0, paint=still)
    assert _offsets(load_clip(quiet, tmp_path)) == [0.0]
    event = encode_clip(tmp_path / "event.mkv", seconds=8.0, paint=appears_at(45))
    assert _offsets(load_clip(event, tmp_path)) == [0.0, 5.0]
    assert _offsets(load_clip(event, tmp_path, min_change=0.0)) == [float(s) for s in range(8)]


def test_noise_is_a_duplicate_but_a_distant_person_is_not(tmp_path: Path) -> None:
    """Sensor noise alone is skipped; a 14x34 box at 640x360 (a 42x102 person at 1080p) is kept."""
    grain = encode_clip(tmp_path / "grain.mp4", seconds=6.0, size=(640, 360), paint=noisy)
    assert _offsets(load_clip(grain, tmp_path)) == [0.0]
    far = encode_clip(
        tmp_path / "far.mp4", seconds=6.0, size=(640, 360), paint=appears_at(25, (14, 34))
    )
    assert _offsets(load_clip(far, tmp_path)) == pytest.approx([0.0, 3.0], abs=0.21)


def test_opencv_cctv_footage(tmp_path: Path) -> None:
    """OpenCV's vtest.avi (people walking, MS-MPEG4 in AVI): ten distinct frames."""
    source = next((p for p in VTEST_PLACES if p.is_file()), None)
    if source is None:
        pytest.skip("vtest.avi missing: apt-get install -y opencv-doc (or set HSI_VTEST)")
    path = tmp_path / "vtest.avi"
    opener = gzip.open if source.suffix == ".gz" else Path.open
    with opener(source, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    clip = load_clip(path, tmp_path)
    assert _offsets(clip) == [float(s) for s in range(10)]
    assert (clip.width, clip.height, clip.codec) == (768, 576, "msmpeg4")
    assert clip.duration_s == pytest.approx(79.5)
    assert clip.defect is None


def test_creation_time_metadata(tmp_path: Path) -> None:
    """No stamp in the name: the container's creation_time (UTC) in the local zone."""
    created = "2026-11-24T01:15:02.000000Z"
    path = encode_clip(tmp_path / "clip.mp4", metadata={"creation_time": created})
    expected = datetime(2026, 11, 24, 1, 15, 2, tzinfo=UTC)
    assert load_clip(path, tmp_path).created_at == expected
    result = clip_capture_time(path, tmp_path, 0.0, BERLIN)
    assert result == expected
    assert result.tzinfo is BERLIN


def test_capture_time_prefers_name_then_falls_back_to_mtime(tmp_path: Path) -> None:
    """A stamped name wins over metadata; no stamp and no metadata gives the mtime."""
    stamped = encode_clip(
        tmp_path / "RecM01_20261124_021502_021530_6D28808.mp4",
        metadata={"creation_time": "2030-01-01T00:00:00Z"},
    )
    assert clip_capture_time(stamped, tmp_path, 0.0, BERLIN) == datetime(
        2026, 11, 24, 2, 15, 2, tzinfo=BERLIN
    )
    plain = encode_clip(tmp_path / "plain.avi")  # AVI keeps no creation_time
    mtime = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
    assert clip_capture_time(plain, tmp_path, mtime, BERLIN) == datetime(
        2025, 3, 4, 6, 6, 7, tzinfo=BERLIN
    )
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(4096))
    assert clip_capture_time(junk, tmp_path, mtime, BERLIN).timestamp() == mtime


def test_truncated_mp4_is_rejected(tmp_path: Path) -> None:
    """An MP4 cut before its index (moov) has no readable header."""
    path = encode_clip(tmp_path / "cut.mp4", seconds=4.0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(InvalidClipError, match="not a readable clip"):
        load_clip(path, tmp_path)


def test_truncated_mkv_keeps_its_frames_and_names_the_damage(tmp_path: Path) -> None:
    """A Matroska clip cut in half still yields its first frames, with the cut reported."""
    path = encode_clip(tmp_path / "cut.mkv", seconds=8.0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    clip = load_clip(path, tmp_path)
    assert 1 <= len(clip.frames) < 8
    assert clip.defect is not None
    assert "truncated" in clip.defect


def test_bad_input_table(tmp_path: Path) -> None:
    """Each hostile file is rejected with its own clear reason, as stills are."""
    cases: dict[str, str] = {}
    (tmp_path / "random.mp4").write_bytes(os.urandom(64 * 1024))
    cases["random.mp4"] = "not a readable clip"
    (tmp_path / "empty.mkv").write_bytes(b"")
    cases["empty.mkv"] = "empty file"
    with (tmp_path / "huge.mp4").open("wb") as sparse:
        sparse.truncate(2 * 1024**3)  # a 2 GB upload, sparse on disk
    cases["huge.mp4"] = "file too large"
    os.mkfifo(tmp_path / "pipe.mp4")  # opening must not wait for a writer
    cases["pipe.mp4"] = "not a regular file"
    outside = encode_clip(tmp_path.parent / f"{tmp_path.name}_outside.mp4")
    (tmp_path / "link.mp4").symlink_to(outside)
    cases["link.mp4"] = "outside the camera folder"
    cases["missing.mov"] = "cannot read file"
    encode_clip(tmp_path / "wide.mp4", size=(4160, 32), seconds=0.3)
    cases["wide.mp4"] = r"resolution too large \(4160x32\)"
    with av.open(str(tmp_path / "sound.mp4"), mode="w") as container:
        stream = container.add_stream("aac", rate=8000)
        for _ in range(3):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.sample_rate = 8000
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    cases["sound.mp4"] = "no video stream"
    for name, reason in cases.items():
        with pytest.raises(InvalidImageError, match=reason):
            load_clip(tmp_path / name, tmp_path)


def test_only_bytes_present_at_open_are_read(tmp_path: Path) -> None:
    """A file still growing is read only up to its size when it was opened."""
    path = encode_clip(tmp_path / "growing.avi", seconds=3.0)
    size = path.stat().st_size
    with _open_inside(path, tmp_path) as snapshot:
        with path.open("ab") as tail:
            tail.write(b"\0" * 4096)
        assert len(snapshot.read()) == size
        assert snapshot.seek(0, os.SEEK_END) == size
    assert _offsets(load_clip(path, tmp_path)) == [0.0, 1.0, 2.0]


def test_invalid_settings_are_refused(tmp_path: Path) -> None:
    """A zero rate or frame budget is a programming error, not a bad clip."""
    path = encode_clip(tmp_path / "a.mp4", seconds=1.0)
    with pytest.raises(ValueError, match="fps"):
        load_clip(path, tmp_path, fps=0.0)
    with pytest.raises(ValueError, match="max_frames"):
        load_clip(path, tmp_path, max_frames=0)
