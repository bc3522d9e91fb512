"""The batch's key frame: the most confident person or vehicle frame, plain and downscaled."""

from __future__ import annotations

from dataclasses import dataclass
import io
from pathlib import Path

from PIL import Image, ImageStat
import pytest

from custom_components.home_security_intelligence.pipeline.image_loader import InvalidImageError
from custom_components.home_security_intelligence.pipeline.key_frame import (
    KEY_FRAME_SIDE,
    downscale,
    pick_key_frame,
    probe_jpeg,
)

from ..conftest import make_jpeg


@dataclass(frozen=True)
class Seen:
    object_type: str
    confidence: float
    file_path: str


def _size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as img:
        assert img.format == "JPEG"
        return img.size


def _mean_blue(data: bytes) -> float:
    with Image.open(io.BytesIO(data)) as img:
        return float(ImageStat.Stat(img.convert("RGB")).mean[2])


@pytest.fixture
def frames(tmp_path: Path) -> dict[str, Path]:
    """Three real photo-like JPEGs of different sizes and colours."""
    made = {
        "big": (make_jpeg(1920, 1080, seed=1), "big.jpg"),
        "tall": (make_jpeg(600, 1200, seed=2), "tall.jpg"),
        "small": (make_jpeg(320, 240, seed=59), "small.jpg"),
    }
    paths = {}
    for key, (data, name) in made.items():
        (path := tmp_path / name).write_bytes(data)
        paths[key] = path
    return paths


def test_person_frame_beats_a_more_confident_dog(frames: dict[str, Path]) -> None:
    """People and vehicles come first; among them the most confident detection wins."""
    records = [
        Seen("dog", 0.99, str(frames["small"])),
        Seen("person", 0.60, str(frames["tall"])),
        Seen("car", 0.85, str(frames["big"])),
        Seen("person", 0.70, str(frames["small"])),
    ]
    chosen = pick_key_frame(records, lambda p: Path(p).read_bytes(), KEY_FRAME_SIDE)
    assert chosen is not None
    assert _size(chosen) == (768, 432), "the 1920x1080 car frame, longest side 768"


def test_downscale_keeps_aspect_and_small_frames(frames: dict[str, Path]) -> None:
    """Longest side at most 768; a smaller frame keeps its size; always JPEG."""
    assert _size(downscale(frames["tall"].read_bytes())) == (384, 768)
    assert _size(downscale(frames["small"].read_bytes())) == (320, 240)


def test_plain_upload_not_annotated(frames: dict[str, Path]) -> None:
    """The frame is the upload itself (same picture), re-encoded, with nothing drawn on it."""
    original = frames["small"].read_bytes()
    frame = downscale(original)
    assert abs(_mean_blue(frame) - _mean_blue(original)) < 3


def test_unreadable_frames_give_way(frames: dict[str, Path], tmp_path: Path) -> None:
    """A missing or corrupt best frame is skipped; nothing readable gives None."""
    (broken := tmp_path / "broken.jpg").write_bytes(b"not an image")
    records = [
        Seen("person", 0.99, str(tmp_path / "gone.jpg")),
        Seen("person", 0.95, str(broken)),
        Seen("person", 0.50, str(frames["small"])),
    ]
    chosen = pick_key_frame(records, lambda p: Path(p).read_bytes())
    assert chosen is not None and _size(chosen) == (320, 240)
    assert pick_key_frame(records[:2], lambda p: Path(p).read_bytes()) is None
    assert pick_key_frame([], lambda p: Path(p).read_bytes()) is None


def test_png_with_alpha_becomes_rgb_jpeg() -> None:
    """A PNG upload with transparency still gives an RGB JPEG."""
    buf = io.BytesIO()
    Image.new("RGBA", (1000, 500), (10, 20, 30, 128)).save(buf, "PNG")
    assert _size(downscale(buf.getvalue())) == (768, 384)


def test_not_an_image_is_refused() -> None:
    """Bytes that are no image raise InvalidImageError."""
    with pytest.raises(InvalidImageError):
        downscale(b"\xff\xd8garbage")


def test_probe_jpeg_is_tiny() -> None:
    """The probe picture is a 32x32 JPEG."""
    assert _size(probe_jpeg()) == (32, 32)
