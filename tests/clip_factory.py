"""Encode small real video clips with PyAV for tests: moving shapes on a plain background."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
from av.video.stream import VideoStream
import numpy as np

type Painter = Callable[[int, np.ndarray], None]
"""Draws frame number `index` into an RGB array in place."""

CODECS = {".mp4": "libx264", ".mkv": "libx264", ".avi": "mpeg4", ".mov": "mpeg4"}


def moving_box(index: int, rgb: np.ndarray) -> None:
    """A white box sliding right, 6 px per frame, wrapping around."""
    height, width, _ = rgb.shape
    x = (index * 6) % max(1, width - width // 8)
    rgb[height // 3 : height // 3 + height // 6, x : x + width // 8] = 255


def still(_index: int, _rgb: np.ndarray) -> None:
    """Nothing moves: every frame is the same grey scene."""


def noisy(index: int, rgb: np.ndarray) -> None:
    """A still scene with fresh sensor-like noise (up to +-10 levels) in every frame."""
    noise = np.random.default_rng(index).integers(-10, 11, rgb.shape)
    rgb[:] = np.clip(rgb.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def appears_at(frame: int, size: tuple[int, int] | None = None) -> Painter:
    """A still scene until `frame`, then a bright box (luma differs: the check is grey) stands.

    `size` is the box's width and height in pixels; a quarter by a sixth of the frame if None.
    """

    def paint(index: int, rgb: np.ndarray) -> None:
        if index >= frame:
            height, width, _ = rgb.shape
            w, h = size or (width // 6, height // 4)
            rgb[height // 4 : height // 4 + h, width // 3 : width // 3 + w] = (230, 200, 40)

    return paint


def encode_clip(
    path: Path,
    *,
    seconds: float = 3.0,
    rate: int = 10,
    size: tuple[int, int] = (320, 240),
    paint: Painter = moving_box,
    codec: str | None = None,
    gop: int | None = None,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a clip of `seconds` at `rate` frames per second; the codec follows the suffix."""
    width, height = size
    with av.open(str(path), mode="w") as container:
        container.metadata.update(metadata or {})
        stream = container.add_stream(codec or CODECS[path.suffix.lower()], rate=rate)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if gop is not None:
            stream.codec_context.gop_size = gop
        for index in range(round(seconds * rate)):
            rgb = np.full((height, width, 3), 90, np.uint8)
            paint(index, rgb)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
