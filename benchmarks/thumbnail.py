"""Benchmark 2: the annotated thumbnail, where its time goes, and what would make it faster.

`ThumbnailGenerator.render` against the naive way (benchmarks/seed_way.py) on the same
frame in the same run, then render's steps timed one by one, the prototype the render now
follows (`render_prototype`: cached label tiles, BOX resize, labels placed as before),
the sharp frame at up to 1920 px wide (`render_fit`, the camera entity and the media
browser), and PyTurboJPEG's scaled decoding against PIL's draft mode. CPU time of this
thread, p50 of the repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
import io
from pathlib import Path
import tempfile
import time
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from benchmarks.common import QUICK, photo_jpeg
from benchmarks.seed_way import naive_thumbnail
from custom_components.home_security_intelligence.pipeline.models import Detection
from custom_components.home_security_intelligence.pipeline.thumbnail_generator import (
    JPEG_QUALITY,
    THUMBNAIL_SIZE,
    ThumbnailGenerator,
    color_for,
)

BOXES = [
    Detection(name, 0.9, (100 + 300 * i, 150 + 100 * i, 250, 400))
    for i, name in enumerate(("person", "car", "dog", "bicycle", "person"))
]
_FONT = ImageFont.load_default(size=11)
SIZES = {"1080p": (1920, 1080), "1440p": (2560, 1440), "480p": (640, 480)}


def timed(func: Callable[[], Any], repeat: int) -> float:
    """CPU ms (this thread) of one call, p50 of `repeat` calls after a warm-up."""
    func()
    out = []
    for _ in range(repeat):
        start = time.thread_time()
        func()
        out.append((time.thread_time() - start) * 1000)
    return sorted(out)[len(out) // 2]


@lru_cache(maxsize=512)
def label_tile(label: str, color: str) -> Image.Image:
    """Draw a label once on its coloured background; later calls reuse the tile."""
    left, top, right, bottom = _FONT.getbbox(label)
    tile = Image.new("RGB", (right - left + 5, bottom - top + 5), color)
    ImageDraw.Draw(tile).text((2 - left, 2 - top), label, fill="#000000", font=_FONT)
    return tile


def draw_prototype(
    canvas: Image.Image, detections: Sequence[Detection], scale: float, offset: tuple[int, int]
) -> None:
    """`draw_bounding_boxes` with each label pasted from `label_tile` (same place, same look)."""
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
        tile = label_tile(f"{det.object_type} {det.confidence:.0%}", color)
        text_w, text_h = tile.width - 1, tile.height - 1
        lx = min(max(0, left), max(0, canvas.width - text_w))
        ly = top - text_h if top - text_h >= 0 else min(top, max(0, canvas.height - text_h))
        canvas.paste(tile, (lx, ly))


def render_prototype(image: bytes, detections: Sequence[Detection]) -> bytes:
    """`ThumbnailGenerator.render` with cached label tiles and a BOX (area) downscale."""
    size = THUMBNAIL_SIZE
    with Image.open(io.BytesIO(image)) as src:
        full_w, full_h = src.size
        src.draft("RGB", size)
        frame = src.convert("RGB")
    scale = min(size[0] / full_w, size[1] / full_h)
    new_w, new_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
    frame = frame.resize((new_w, new_h), Image.Resampling.BOX)
    canvas = Image.new("RGB", size, (0, 0, 0))
    offset = ((size[0] - new_w) // 2, (size[1] - new_h) // 2)
    canvas.paste(frame, offset)
    draw_prototype(canvas, detections, scale, offset)
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def steps(data: bytes, gen: ThumbnailGenerator, repeat: int) -> dict[str, float]:
    """Time the steps of `render` one by one, CPU ms p50 each."""
    size = gen.size
    with Image.open(io.BytesIO(data)) as src:
        full_w, full_h = src.size

    def decode() -> Image.Image:
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", size)
            return src.convert("RGB")

    frame = decode()
    scale = min(size[0] / full_w, size[1] / full_h)
    new_w, new_h = max(1, round(full_w * scale)), max(1, round(full_h * scale))
    offset = ((size[0] - new_w) // 2, (size[1] - new_h) // 2)
    small = frame.resize((new_w, new_h), Image.Resampling.BILINEAR)

    def letterbox() -> Image.Image:
        canvas = Image.new("RGB", size, (0, 0, 0))
        canvas.paste(small, offset)
        return canvas

    canvas = letterbox()

    def encode() -> bytes:
        out = io.BytesIO()
        canvas.save(out, "JPEG", quality=JPEG_QUALITY)
        return out.getvalue()

    return {
        "decode_draft_ms": timed(decode, repeat),
        "resize_bilinear_ms": timed(
            lambda: frame.resize((new_w, new_h), Image.Resampling.BILINEAR), repeat
        ),
        "resize_box_ms": timed(lambda: frame.resize((new_w, new_h), Image.Resampling.BOX), repeat),
        "letterbox_ms": timed(letterbox, repeat),
        "draw_boxes_labels_ms": timed(
            lambda: gen.draw_bounding_boxes(canvas.copy(), BOXES, scale, offset), repeat
        ),
        "draw_cached_labels_ms": timed(
            lambda: draw_prototype(canvas.copy(), BOXES, scale, offset), repeat
        ),
        "encode_ms": timed(encode, repeat),
        "draft_size": f"{frame.width}x{frame.height}",
    }


def turbojpeg_decode(data: bytes, repeat: int) -> dict[str, Any]:
    """PyTurboJPEG scaled decoding (1/4 and 1/8, RGB) against PIL draft at 1/4."""
    try:
        from turbojpeg import TJPF_RGB, TurboJPEG  # noqa: PLC0415 - optional

        decoder = TurboJPEG()
    except (ImportError, OSError) as err:
        return {"available": False, "error": str(err)}

    def pil_quarter() -> None:
        with Image.open(io.BytesIO(data)) as src:
            src.draft("RGB", (src.width // 4, src.height // 4))
            src.load()

    return {
        "available": True,
        "pil_draft_quarter_ms": timed(pil_quarter, repeat),
        "turbojpeg_quarter_ms": timed(
            lambda: Image.fromarray(
                decoder.decode(data, pixel_format=TJPF_RGB, scaling_factor=(1, 4))
            ),
            repeat,
        ),
        "turbojpeg_eighth_ms": timed(
            lambda: Image.fromarray(
                decoder.decode(data, pixel_format=TJPF_RGB, scaling_factor=(1, 8))
            ),
            repeat,
        ),
    }


def bench_thumbnail() -> dict[str, Any]:
    """Ours vs naive per frame size, render's steps, the prototype, TurboJPEG."""
    repeat = 10 if QUICK else 40
    gen = ThumbnailGenerator(Path(tempfile.gettempdir()))  # render writes nothing
    result: dict[str, Any] = {}
    for name, size in SIZES.items():
        data = photo_jpeg(*size, seed=5)
        ours = timed(lambda data=data: gen.render(data, BOXES), repeat)
        naive = timed(lambda data=data: naive_thumbnail(data, BOXES), repeat)
        proto = timed(lambda data=data: render_prototype(data, BOXES), repeat)
        sharp = timed(lambda data=data: gen.render_fit(data, BOXES, (1920, 0)), repeat)
        result[name] = {
            "ours_ms": ours,
            "naive_ms": naive,
            "ratio": naive / ours,
            "prototype_ms": proto,
            "prototype_ratio": naive / proto,
            "sharp_1920_ms": sharp,
            "steps": steps(data, gen, repeat),
            "turbojpeg": turbojpeg_decode(data, repeat),
        }
    return result
