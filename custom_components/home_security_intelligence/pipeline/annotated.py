"""Annotated frames on request: thumbnails not drawn yet, and frames at any size (blocking).

Detection draws a thumbnail at once only where it is shown at once; any other is drawn
here on its first request, from the original upload (bounded read) and the image's
stored detections, and kept under its usual name (`{image_id}.jpg`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..store.database import Database
from ..store.records import DetectionRecord
from .bounded_read import UnsafeFileError, read_inside
from .image_loader import MAX_IMAGE_BYTES
from .models import Detection
from .snapshot_files import inside
from .thumbnail_generator import RENDER_ERRORS, ThumbnailGenerator

_LOGGER = logging.getLogger(__name__)

type Box = tuple[int, int]
type Roots = tuple[Path, ...]
"""The folders originals may be read from: the camera root, the entry's snapshots."""


def thumbnail_file(
    db: Database, thumbnails: ThumbnailGenerator, roots: Roots, record: DetectionRecord
) -> Path | None:
    """Return the thumbnail file of a detection, drawing it first when it is not there yet.

    Only a thumbnail at its own name in the thumbnail folder is drawn; None when the
    detection has none or its original can no longer be read.
    """
    if record.thumbnail_path is None:
        return None
    path = Path(record.thumbnail_path)
    if path.is_file():
        return path
    if path.name != thumbnails.get_output_path(record.image_id).name or not _same_dir(
        path.parent, thumbnails.output_dir
    ):
        return None
    return draw_thumbnail(db, thumbnails, roots, record.image_id)


def draw_thumbnail(
    db: Database, thumbnails: ThumbnailGenerator, roots: Roots, image_id: int
) -> Path | None:
    """Draw an image's thumbnail from its original and keep it; None when it cannot be."""
    jpeg = annotated_frame(db, thumbnails, roots, image_id, None)
    if jpeg is None:
        return None
    try:
        return thumbnails.save(jpeg, image_id)
    except OSError as err:
        _LOGGER.warning("Could not save the thumbnail of image %s: %s", image_id, err)
        return None


def annotated_frame(
    db: Database, thumbnails: ThumbnailGenerator, roots: Roots, image_id: int, box: Box | None
) -> bytes | None:
    """Return an image's annotated frame as JPEG: the thumbnail (`box` None) or fit to `box`.

    `box` (width, height) is capped at the original's resolution; a side of 0 leaves
    that side free. None when the image has no detections or cannot be read or decoded.
    """
    records = db.image_detections(image_id)
    if not records:
        return None
    detections = [Detection(r.object_type, r.confidence, r.bbox) for r in records]
    try:
        original = Path(records[0].file_path)
        folder = next((r for r in roots if inside(original, r)), roots[0])
        data = read_inside(original, folder, MAX_IMAGE_BYTES)
        if box is None:
            return thumbnails.render(data, detections)
        return thumbnails.render_fit(data, detections, box)
    except (UnsafeFileError, *RENDER_ERRORS) as err:
        _LOGGER.debug("Cannot draw image %s: %s", image_id, err)
        return None


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
