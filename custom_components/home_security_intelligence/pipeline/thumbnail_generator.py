"""Annotated frames: 320x240 letterboxed thumbnails and frames of any size (blocking: executor).

Each label is drawn once on a tile of its colour and cached; boxes are drawn first, then
the labels, placed by `label_layout.place_labels` so no label covers another.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
import io
import os
from pathlib import Path
import threading

from PIL import Image, ImageDraw, ImageFont

from .label_layout import place_labels
from .models import Detection

THUMBNAIL_SIZE = (320, 240)
JPEG_QUALITY = 85
DEFAULT_COLOR = "#FFFFFF"
COLORS = {
    "person": "#E74856",
    "car": "#3B82F6",
    "truck": "#3B82F6",
    "bus": "#3B82F6",
    "dog": "#76B900",
    "cat": "#76B900",
    "bicycle": "#FFB800",
    "motorcycle": "#FFB800",
    "bird": "#A855F7",
}
RENDER_ERRORS = (OSError, ValueError, Image.DecompressionBombError)
"""What rendering an undecodable or hostile image raises."""
FONT_SIZE = 11
_PX_PER_FONT_PX = 60  # frames wider than 660 px get proportionally larger labels
_PX_PER_LINE_PX = 400


def color_for(object_type: str) -> str:
    """Return the box colour of a class."""
    return COLORS.get(object_type, DEFAULT_COLOR)


def image_id_of(path: Path) -> int | None:
    """Return the image id a thumbnail file is named by (`get_output_path`'s inverse)."""
    stem = path.stem
    return int(stem) if path.suffix == ".jpg" and stem.isascii() and stem.isdigit() else None


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=512)
def label_tile(label: str, color: str, size: int = FONT_SIZE) -> Image.Image:
    """Draw a label once on its coloured background (2 px margin); later calls reuse it."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(label)
    tile = Image.new("RGB", (int(right - left) + 5, int(bottom - top) + 5), color)
    ImageDraw.Draw(tile).text((2 - left, 2 - top), label, fill="#000000", font=font)
    return tile


def _decode(image: bytes, target: tuple[int, int]) -> tuple[Image.Image, tuple[int, int]]:
    """Decode at the smallest JPEG scale still at least `target`; return it and the full size."""
    with Image.open(io.BytesIO(image)) as src:
        full = src.size
        src.draft("RGB", target)
        return src.convert("RGB"), full


def _encode(canvas: Image.Image) -> bytes:
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


class ThumbnailGenerator:
    """Renders annotated frames; writes one `{image_id}.jpg` thumbnail per image into one folder."""

    def __init__(self, output_dir: Path, size: tuple[int, int] = THUMBNAIL_SIZE) -> None:
        """Write thumbnails of `size` into `output_dir`."""
        self.output_dir = output_dir
        self.size = size

    def get_output_path(self, image_id: int, frame: int | None = None) -> Path:
        """Return where the thumbnail of an image (or of a clip's sampled frame) goes."""
        return self.output_dir / (f"{image_id}.jpg" if frame is None else f"{image_id}_{frame}.jpg")

    def render(self, image: bytes, detections: Sequence[Detection]) -> bytes:
        """Return the annotated, letterboxed thumbnail as JPEG bytes.

        JPEG draft mode decodes at the smallest scale still larger than the target,
        so a 1080p frame is never decoded at full size; BOX (area average) downscales.
        """
        frame, (full_w, full_h) = _decode(image, self.size)
        scale = min(self.size[0] / full_w, self.size[1] / full_h)
        new_w, new_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
        frame = frame.resize((new_w, new_h), Image.Resampling.BOX)
        canvas = Image.new("RGB", self.size, (0, 0, 0))
        offset = ((self.size[0] - new_w) // 2, (self.size[1] - new_h) // 2)
        canvas.paste(frame, offset)
        self.draw_bounding_boxes(canvas, detections, scale, offset)
        return _encode(canvas)

    def render_fit(
        self, image: bytes, detections: Sequence[Detection], box: tuple[int, int] | None
    ) -> bytes:
        """Return the annotated frame scaled to fit `box` (never above its own size), as JPEG.

        `box` None, or a side of 0, means the frame's own resolution on that side.
        """
        with Image.open(io.BytesIO(image)) as src:
            full_w, full_h = src.size
        want_w, want_h = box or (0, 0)
        scale = min(
            1.0,
            want_w / full_w if want_w > 0 else 1.0,
            want_h / full_h if want_h > 0 else 1.0,
        )
        new_w, new_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
        frame, _ = _decode(image, (new_w, new_h))
        if frame.size != (new_w, new_h):
            frame = frame.resize((new_w, new_h), Image.Resampling.BOX)
        self.draw_bounding_boxes(frame, detections, scale, (0, 0))
        return _encode(frame)

    def save(self, jpeg: bytes, image_id: int, frame: int | None = None) -> Path:
        """Write a rendered thumbnail as `{image_id}.jpg` (atomically) and return its path.

        A clip's sampled frame `frame` gets `{image_id}_{frame}.jpg`. A retry of the same
        image, or a concurrent lazy render, overwrites it whole.
        """
        path = self.get_output_path(image_id, frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One temporary name per thread: an eager and a lazy render never share one.
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_bytes(jpeg)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def draw_bounding_boxes(
        self,
        canvas: Image.Image,
        detections: Sequence[Detection],
        scale: float,
        offset: tuple[int, int],
    ) -> Image.Image:
        """Draw boxes given in source pixels onto `canvas`, then their labels.

        Labels stay inside the canvas and never cover each other (highest confidence
        placed first). Label and line size grow with the canvas width.
        """
        draw = ImageDraw.Draw(canvas)
        font_size = max(FONT_SIZE, canvas.width // _PX_PER_FONT_PX)
        line = max(2, canvas.width // _PX_PER_LINE_PX)
        max_x, max_y = canvas.width - 1, canvas.height - 1
        boxes: list[tuple[int, int, int, int]] = []
        tiles: list[Image.Image] = []
        for det in detections:
            x, y, w, h = det.bbox
            left = min(max_x, max(0, round(offset[0] + x * scale)))
            top = min(max_y, max(0, round(offset[1] + y * scale)))
            right = min(max_x, max(left, round(offset[0] + (x + w) * scale)))
            bottom = min(max_y, max(top, round(offset[1] + (y + h) * scale)))
            color = color_for(det.object_type)
            draw.rectangle((left, top, right, bottom), outline=color, width=line)
            boxes.append((left, top, right - left, bottom - top))
            tiles.append(label_tile(f"{det.object_type} {det.confidence:.0%}", color, font_size))
        spots = place_labels(
            boxes,
            [tile.size for tile in tiles],
            canvas.size,
            [det.confidence for det in detections],
        )
        for tile, spot in zip(tiles, spots, strict=True):
            canvas.paste(tile, spot)
        return canvas
