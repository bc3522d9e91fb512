"""Read an uploaded image once and check it cheaply before it goes to the detector."""

from __future__ import annotations

from dataclasses import dataclass
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .bounded_read import UnsafeFileError, read_inside

MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
_JPEG_EOI = b"\xff\xd9"


class InvalidImageError(Exception):
    """The file is not an image the pipeline can use; the message says why."""


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """Bytes of a checked image with its size and MIME type."""

    data: bytes
    width: int
    height: int
    content_type: str


def load_image(path: Path, root: Path) -> LoadedImage:
    """Read and check an image file under `root` (blocking: run it in the executor).

    The file is read from one descriptor, never more than MAX_IMAGE_BYTES + 1 bytes
    (`read_inside`). Rejects files resolving outside `root` (symlinks), FIFOs and other
    non-regular files, empty, oversized, non-image, truncated and decompression-bomb
    files without decoding pixels: the header gives the size, the JPEG end marker or PNG
    chunk checksums reveal truncation.
    """
    try:
        data = read_inside(path, root, MAX_IMAGE_BYTES)
    except UnsafeFileError as err:
        raise InvalidImageError(str(err)) from err
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or err
        raise InvalidImageError(f"cannot read file: {reason}") from err
    return check_image(data)


def check_image(data: bytes) -> LoadedImage:
    """Check image bytes (see `load_image`)."""
    if not data:
        raise InvalidImageError("empty file")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
            if fmt == "PNG":
                img.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError) as err:
        raise InvalidImageError(f"not a readable image ({err})") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise InvalidImageError(f"corrupt image ({err})") from err
    if fmt not in _FORMATS:
        raise InvalidImageError(f"unsupported format {fmt or 'unknown'}")
    if width <= 0 or height <= 0 or width * height > MAX_IMAGE_PIXELS:
        raise InvalidImageError(f"implausible dimensions {width}x{height}")
    if fmt == "JPEG" and _JPEG_EOI not in data[-64:]:
        raise InvalidImageError("truncated JPEG (no end marker)")
    return LoadedImage(data, width, height, _FORMATS[fmt])
