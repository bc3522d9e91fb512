"""320x240 letterboxed previews with coloured, labelled boxes (blocking: run in the executor)."""

from __future__ import annotations

from collections.abc import Sequence
import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

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
_FONT = ImageFont.load_default(size=11)


def color_for(object_type: str) -> str:
    """Return the box colour of a class."""
    return COLORS.get(object_type, DEFAULT_COLOR)


class ThumbnailGenerator:
    """Writes one `{image_id}.jpg` thumbnail per image into one folder."""

    def __init__(self, output_dir: Path, size: tuple[int, int] = THUMBNAIL_SIZE) -> None:
        """Write thumbnails of `size` into `output_dir`."""
        self.output_dir = output_dir
        self.size = size

    def get_output_path(self, image_id: int, frame: int | None = None) -> Path:
        """Return where the thumbnail of an image (or of a clip's sampled frame) goes."""
        return self.output_dir / (f"{image_id}.jpg" if frame is None else f"{image_id}_{frame}.jpg")

    def render(self, image: bytes, detections: Sequence[Detection]) -> bytes:
        """Return the annotated thumbnail as JPEG bytes.

        JPEG draft mode decodes at the smallest scale still larger than the target,
        so a 1080p frame is never decoded at full size.
        """
        with Image.open(io.BytesIO(image)) as src:
            full_w, full_h = src.size
            src.draft("RGB", self.size)
            frame = src.convert("RGB")
        scale = min(self.size[0] / full_w, self.size[1] / full_h)
        new_w, new_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
        frame = frame.resize((new_w, new_h), Image.Resampling.BILINEAR)
        canvas = Image.new("RGB", self.size, (0, 0, 0))
        offset = ((self.size[0] - new_w) // 2, (self.size[1] - new_h) // 2)
        canvas.paste(frame, offset)
        self.draw_bounding_boxes(canvas, detections, scale, offset)
        out = io.BytesIO()
        canvas.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()

    def save(self, jpeg: bytes, image_id: int, frame: int | None = None) -> Path:
        """Write a rendered thumbnail as `{image_id}.jpg` (atomically) and return its path.

        A clip's sampled frame `frame` gets `{image_id}_{frame}.jpg`.

        Called before the detections are stored: a retry of the same image overwrites it.
        """
        path = self.get_output_path(image_id, frame)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(jpeg)
        tmp.replace(path)
        return path

    def draw_bounding_boxes(
        self,
        canvas: Image.Image,
        detections: Sequence[Detection],
        scale: float,
        offset: tuple[int, int],
    ) -> Image.Image:
        """Draw boxes given in source pixels onto `canvas`, labels kept inside it."""
        draw = ImageDraw.Draw(canvas)
        max_x, max_y = canvas.width - 1, canvas.height - 1
        for det in detections:
            x, y, w, h = det.bbox
            left = min(max_x, max(0, round(offset[0] + x * scale)))
            top = min(max_y, max(0, round(offset[1] + y * scale)))
            right = min(max_x, max(left, round(offset[0] + (x + w) * scale)))
            bottom = min(max_y, max(top, round(offset[1] + (y + h) * scale)))
            color = color_for(det.object_type)
            draw.rectangle((left, top, right, bottom), outline=color, width=2)
            label = f"{det.object_type} {det.confidence:.0%}"
            tl, tt, tr, tb = draw.textbbox((0, 0), label, font=_FONT)
            text_w, text_h = tr - tl + 4, tb - tt + 4
            lx = min(max(0, left), max(0, canvas.width - text_w))
            ly = top - text_h if top - text_h >= 0 else min(top, max(0, canvas.height - text_h))
            draw.rectangle((lx, ly, lx + text_w, ly + text_h), fill=color)
            draw.text((lx + 2 - tl, ly + 2 - tt), label, fill="#000000", font=_FONT)
        return canvas
