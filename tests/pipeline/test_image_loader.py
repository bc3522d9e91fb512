"""Image checks on real files: formats, truncation, bombs, sizes and symlinks."""

from __future__ import annotations

import io
import os
from pathlib import Path
import struct
from typing import Any
import zlib

from PIL import Image
import pytest

from custom_components.home_security_intelligence.pipeline import image_loader
from custom_components.home_security_intelligence.pipeline.image_loader import (
    MAX_IMAGE_BYTES,
    InvalidImageError,
    check_image,
    load_image,
)

from ..conftest import make_jpeg


def _png(width: int = 64, height: int = 48, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), 1 if mode == "1" else (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A camera root with one camera folder."""
    (tmp_path / "cams" / "front").mkdir(parents=True)
    return tmp_path / "cams"


def _put(root: Path, name: str, data: bytes) -> Path:
    path = root / "front" / name
    path.write_bytes(data)
    return path


def test_real_jpeg_is_loaded(root: Path) -> None:
    """A real JPEG comes back with its bytes, size and MIME type."""
    data = make_jpeg(640, 480)
    loaded = load_image(_put(root, "a.jpg", data), root)
    assert (loaded.width, loaded.height, loaded.content_type) == (640, 480, "image/jpeg")
    assert loaded.data == data


def test_real_png_is_loaded(root: Path) -> None:
    """A real PNG is accepted as image/png."""
    loaded = load_image(_put(root, "a.png", _png(64, 48)), root)
    assert (loaded.width, loaded.height, loaded.content_type) == (64, 48, "image/png")


def test_zero_byte_file_is_empty(root: Path) -> None:
    """An empty upload is rejected as empty."""
    with pytest.raises(InvalidImageError, match="empty file"):
        load_image(_put(root, "empty.jpg", b""), root)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_jpeg_is_rejected(root: Path, keep: float) -> None:
    """A JPEG cut before its end marker is a partial upload."""
    data = make_jpeg(640, 480)
    with pytest.raises(InvalidImageError, match="truncated JPEG"):
        load_image(_put(root, "cut.jpg", data[: int(len(data) * keep)]), root)


def test_jpeg_cut_inside_header_is_corrupt(root: Path) -> None:
    """A JPEG cut before its frame header cannot even be identified."""
    with pytest.raises(InvalidImageError, match=r"not a readable image|corrupt image"):
        load_image(_put(root, "cut.jpg", make_jpeg()[:40]), root)


def test_random_bytes_named_jpg_are_rejected(root: Path) -> None:
    """Bytes that are no image are refused whatever the name says."""
    with pytest.raises(InvalidImageError, match="not a readable image"):
        load_image(_put(root, "noise.jpg", os.urandom(4096)), root)


def test_png_with_corrupt_chunk_is_rejected(root: Path) -> None:
    """A flipped byte inside IDAT breaks the chunk checksum."""
    data = bytearray(_png(64, 48))
    idat = data.index(b"IDAT")
    data[idat + 8] ^= 0xFF
    with pytest.raises(InvalidImageError, match="corrupt image"):
        load_image(_put(root, "bad.png", bytes(data)), root)


def test_truncated_png_is_rejected(root: Path) -> None:
    """A PNG cut in its data stream is not accepted."""
    data = _png(200, 200, "RGB")
    for cut in (20, len(data) // 2):
        with pytest.raises(InvalidImageError, match="corrupt image"):
            load_image(_put(root, "cut.png", data[: len(data) - cut]), root)


def test_png_declaring_huge_size_is_a_bomb(root: Path) -> None:
    """A tiny PNG whose header claims 30000x30000 is refused without decoding."""
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )
    assert len(data) < 200
    with pytest.raises(InvalidImageError, match="not a readable image"):
        load_image(_put(root, "bomb.png", data), root)


def test_real_8000x8000_png_exceeds_pixel_limit(root: Path) -> None:
    """A real 1-bit 64-megapixel PNG is small on disk but over the pixel limit."""
    data = _png(8000, 8000, "1")
    assert len(data) < 1024 * 1024
    with pytest.raises(InvalidImageError, match="implausible dimensions 8000x8000"):
        load_image(_put(root, "big.png", data), root)


def test_file_over_max_bytes_is_not_read(root: Path) -> None:
    """A (sparse) file larger than the cap is rejected by its size."""
    path = root / "front" / "huge.jpg"
    with path.open("wb") as file:
        file.truncate(MAX_IMAGE_BYTES + 1)
    with pytest.raises(InvalidImageError, match=f"file too large \\({MAX_IMAGE_BYTES + 1} bytes"):
        load_image(path, root)


def test_file_at_max_bytes_is_read(root: Path) -> None:
    """Exactly the cap is still read (then judged by content)."""
    path = root / "front" / "edge.jpg"
    with path.open("wb") as file:
        file.truncate(MAX_IMAGE_BYTES)
    with pytest.raises(InvalidImageError, match="not a readable image"):
        load_image(path, root)


def test_gif_is_unsupported(root: Path) -> None:
    """A real GIF is a readable image, but not a format the pipeline sends."""
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(buf, "GIF")
    with pytest.raises(InvalidImageError, match="unsupported format GIF"):
        load_image(_put(root, "anim.jpg", buf.getvalue()), root)


def test_symlink_outside_root_is_refused(root: Path, tmp_path: Path) -> None:
    """A link under the root pointing at a file elsewhere is never read."""
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(make_jpeg())
    link = root / "front" / "link.jpg"
    link.symlink_to(outside)
    with pytest.raises(InvalidImageError, match="outside the camera folder"):
        load_image(link, root)


def test_symlink_inside_root_is_followed(root: Path) -> None:
    """A link to another file under the root is fine."""
    target = _put(root, "real.jpg", make_jpeg(320, 240))
    link = root / "front" / "alias.jpg"
    link.symlink_to(target)
    assert load_image(link, root).width == 320


def test_missing_file_cannot_be_read(root: Path) -> None:
    """A file deleted before reading gives a readable reason."""
    with pytest.raises(InvalidImageError, match="cannot read file: No such file"):
        load_image(root / "front" / "gone.jpg", root)


def test_check_image_accepts_bytes_directly() -> None:
    """check_image works on bytes without a file."""
    assert check_image(make_jpeg(100, 50)).height == 50


def test_file_that_grew_after_its_stat_is_refused_by_what_was_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file whose earlier stat said small but that is now over the cap is refused.

    The read is bounded by the bytes actually read (cap + 1), not by a size checked
    before: only cap + 1 bytes ever come from the descriptor.
    """
    cap = 4096
    monkeypatch.setattr(image_loader, "MAX_IMAGE_BYTES", cap)
    path = _put(root, "growing.jpg", make_jpeg(64, 48))
    small = path.stat()
    with path.open("ab") as file:  # the upload keeps growing after that stat
        file.write(os.urandom(50 * cap))
    real_stat = Path.stat

    def stale_stat(self: Path, **kw: Any) -> os.stat_result:
        return small if self == path else real_stat(self, **kw)

    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        chunk = real_read(fd, n)
        read_sizes.append(len(chunk))
        return chunk

    monkeypatch.setattr(Path, "stat", stale_stat)
    monkeypatch.setattr(os, "read", counting_read)
    with pytest.raises(InvalidImageError, match=f"file too large \\({cap + 1} bytes"):
        load_image(path, root)
    assert sum(read_sizes) == cap + 1


def test_fifo_is_refused_without_blocking(root: Path) -> None:
    """A named pipe with nobody writing is refused at once (opened non-blocking)."""
    fifo = root / "front" / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(InvalidImageError, match="not a regular file"):
        load_image(fifo, root)
