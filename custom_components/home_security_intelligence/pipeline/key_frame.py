"""The batch's key frame for the LLM: its most confident person or vehicle, plain and downscaled.

Blocking (file reads and PIL): run it in the executor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import io
from typing import Protocol

from PIL import Image, ImageOps

from .image_loader import InvalidImageError, check_image
from .risk_prior import group_of

KEY_FRAME_SIDE = 768
JPEG_QUALITY = 80
KEY_GROUPS = frozenset({"person", "vehicle"})
PROBE_SIDE = 32


class Sighting(Protocol):
    """What the key frame needs of a stored detection."""

    @property
    def object_type(self) -> str:
        """Detector class."""

    @property
    def confidence(self) -> float:
        """Detector confidence."""

    @property
    def file_path(self) -> str:
        """The original upload (not the annotated thumbnail)."""


def pick_key_frame(
    records: Iterable[Sighting],
    read: Callable[[str], bytes],
    side: int = KEY_FRAME_SIDE,
) -> bytes | None:
    """Return the key frame as JPEG bytes, its longest side at most `side`; None if none reads.

    Frames are tried by their best detection: people and vehicles first, then by
    confidence; a frame that cannot be read or decoded gives way to the next.
    `read` returns a file's bytes and may raise OSError or InvalidImageError.
    """
    best: dict[str, tuple[bool, float]] = {}
    for record in records:
        rank = (group_of(record.object_type) in KEY_GROUPS, record.confidence)
        best[record.file_path] = max(best.get(record.file_path, rank), rank)
    for path in sorted(best, key=best.__getitem__, reverse=True):
        try:
            return downscale(read(path), side)
        except (OSError, InvalidImageError):
            continue
    return None


def downscale(data: bytes, side: int = KEY_FRAME_SIDE) -> bytes:
    """Re-encode a checked image as an upright RGB JPEG whose longest side is at most `side`."""
    check_image(data)
    try:
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", (side, side))  # JPEG: decode at a reduced scale
            img = ImageOps.exif_transpose(src).convert("RGB")
        img.thumbnail((side, side))
    except (OSError, SyntaxError, ValueError) as err:
        raise InvalidImageError(f"cannot decode ({err})") from err
    out = io.BytesIO()
    img.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def probe_jpeg() -> bytes:
    """Return a tiny JPEG (32x32) to ask a server whether it accepts pictures."""
    out = io.BytesIO()
    Image.new("RGB", (PROBE_SIDE, PROBE_SIDE), (90, 120, 160)).save(out, "JPEG")
    return out.getvalue()
