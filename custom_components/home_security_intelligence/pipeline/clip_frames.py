"""Sample still frames from an uploaded video clip (PyAV), checked and bounded like stills.

Everything here blocks (file I/O and decoding): run it in the executor, never on the loop.
"""

from __future__ import annotations

from collections.abc import Buffer, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
import io
import os
from pathlib import Path
import stat
import time

import av
from av.container import InputContainer
from av.error import FFmpegError
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageChops

from ..const import CLIP_SUFFIXES
from .capture_time import time_from_name
from .image_loader import InvalidImageError, LoadedImage

MAX_CLIP_BYTES = 512 * 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 2160
MAX_SCAN_SECONDS = 300.0  # clip time looked at; a longer clip is sampled from its start
MAX_DECODED_FRAMES = 9000
MAX_DECODE_SECONDS = 60.0  # wall time per clip
DEFAULT_FPS = 1.0
DEFAULT_MAX_FRAMES = 10
# A frame is a near-duplicate of the last kept one when fewer than DEFAULT_MIN_CHANGE of
# its 128x72 grey thumbnail's pixels differ by more than _PIXEL_DELTA levels: sensor noise
# stays below that, a person of 40x100 px in a 1080p frame (about 19 pixels) does not.
DEFAULT_MIN_CHANGE = 0.001
JPEG_QUALITY = 90
_THUMB = (128, 72)
_PIXEL_DELTA = 24
_SEEK_GAP_S = 2.0  # seek to the keyframe before a sample this far ahead instead of decoding on
# Demuxers (FFmpeg names) for the clip suffixes; whatever else FFmpeg may probe is refused.
_DEMUXERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"})
_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_EPOCH_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidClipError(InvalidImageError):
    """The file is not a clip the pipeline can use; the message says why."""


@dataclass(frozen=True, slots=True)
class ClipFrame:
    """A sampled frame as a checked JPEG for the detector, with its offset into the clip."""

    image: LoadedImage
    offset_s: float


@dataclass(frozen=True, slots=True)
class Clip:
    """The frames sampled from a clip and what the container says about it.

    `defect` names damage that still left usable frames (a truncated clip, a decode
    error part-way, a scan cut short by a cap); None when the clip read cleanly.
    """

    frames: tuple[ClipFrame, ...]
    width: int
    height: int
    duration_s: float | None
    codec: str
    created_at: datetime | None
    defect: str | None


def is_clip_file(path: Path) -> bool:
    """Return True for names the clip sampler reads (.mp4, .mkv, .avi, .mov)."""
    return path.suffix.lower() in CLIP_SUFFIXES and not path.name.startswith(".")


def load_clip(
    path: Path,
    root: Path,
    *,
    fps: float = DEFAULT_FPS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    min_change: float = DEFAULT_MIN_CHANGE,
) -> Clip:
    """Sample up to `max_frames` distinct frames, `fps` per second, from a clip under `root`.

    The file must be a regular file inside `root` (no symlink out, no FIFO), at most
    MAX_CLIP_BYTES; only the bytes present when it was opened are read. Decoding stops
    at MAX_SCAN_SECONDS of clip time, MAX_DECODED_FRAMES or MAX_DECODE_SECONDS of wall
    time. Raises InvalidClipError with the reason when no usable frame comes out.
    """
    if fps <= 0 or max_frames < 1:
        raise ValueError("fps must be positive and max_frames at least 1")
    with _open_inside(path, root) as source:
        try:
            container = av.open(source, mode="r", options={"probesize": "5000000"})
        except (FFmpegError, ValueError, OSError) as err:
            raise InvalidClipError(f"not a readable clip ({_reason(err)})") from err
        with container:
            return _read(container, fps, max_frames, min_change)


def clip_capture_time(path: Path, root: Path, mtime: float, tz: tzinfo) -> datetime:
    """Return a clip's capture time: its name's stamp, the container's creation_time, or mtime.

    Opens the container header only when the name has no stamp; any failure there
    falls back to `mtime` (the clip is checked properly when it is sampled).
    """
    if (named := time_from_name(path.name, tz)) is not None:
        return named
    try:
        with (
            _open_inside(path, root) as source,
            av.open(source, mode="r", options={"probesize": "1000000"}) as container,
        ):
            created = _created_at(container)
    except (InvalidClipError, FFmpegError, ValueError, OSError):
        created = None
    return (created or datetime.fromtimestamp(mtime, UTC)).astimezone(tz)


class _Snapshot(io.RawIOBase):
    """A read-only view of an open file, bounded to its size when it was opened."""

    def __init__(self, fd: int, size: int) -> None:
        super().__init__()
        self._fd = fd
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._size - self._pos)
        if count <= 0:
            return 0
        data = os.pread(self._fd, count, self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def _open_inside(path: Path, root: Path) -> _Snapshot:
    """Open a regular, non-empty file inside `root` without following a final symlink or waiting."""
    try:
        target = path.resolve()
        if not target.is_relative_to(root.resolve()):
            raise InvalidClipError("it points outside the camera folder")
        fd = os.open(target, _FLAGS)
    except OSError as err:
        raise InvalidClipError(f"cannot read file: {err.strerror or err}") from err
    try:
        info = os.fstat(fd)
    except OSError as err:
        os.close(fd)
        raise InvalidClipError(f"cannot read file: {err.strerror or err}") from err
    problem = (
        "not a regular file"
        if not stat.S_ISREG(info.st_mode)
        else "empty file"
        if info.st_size == 0
        else f"file too large ({info.st_size} bytes)"
        if info.st_size > MAX_CLIP_BYTES
        else None
    )
    if problem:
        os.close(fd)
        raise InvalidClipError(problem)
    return _Snapshot(fd, info.st_size)


def _read(container: InputContainer, fps: float, max_frames: int, min_change: float) -> Clip:
    if container.format.name not in _DEMUXERS:
        raise InvalidClipError(f"not a readable clip (probed as {container.format.name})")
    if not container.streams.video:
        raise InvalidClipError("no video stream")
    stream = container.streams.video[0]
    width, height = stream.codec_context.width, stream.codec_context.height
    _check_size(width, height)
    stream.thread_type = "AUTO"
    stream.codec_context.skip_frame = "NONREF"  # B-frames: never references, not sampled
    duration = _duration(container, stream)
    sampler = _Sampler(1.0 / fps, max_frames, min_change)
    try:
        defect = sampler.run(container, stream)
    except FFmpegError as err:
        if not sampler.frames:
            raise InvalidClipError(f"corrupt clip ({_reason(err)})") from err
        defect = f"decoding stopped at {sampler.last_offset:.1f} s ({_reason(err)})"
    if not sampler.frames:
        raise InvalidClipError("no decodable video frame")
    if defect is None and sampler.at_end and duration is not None:
        if sampler.last_offset < duration - max(1.0, 2.0 / fps):
            defect = f"ends at {sampler.last_offset:.1f} s of {duration:.1f} s (truncated)"
    return Clip(
        frames=tuple(sampler.frames),
        width=width or sampler.frames[0].image.width,
        height=height or sampler.frames[0].image.height,
        duration_s=duration,
        codec=stream.codec_context.name,
        created_at=_created_at(container),
        defect=defect,
    )


class _Sampler:
    """Walks the decoded frames on a 1/fps grid, keeping distinct ones as JPEGs."""

    def __init__(self, interval: float, max_frames: int, min_change: float) -> None:
        self.interval = interval
        self.max_frames = max_frames
        self.min_change = min_change
        self.frames: list[ClipFrame] = []
        self.last_offset = 0.0
        self.at_end = False
        self._last_thumb: Image.Image | None = None

    def run(self, container: InputContainer, stream: VideoStream) -> str | None:
        """Sample until enough frames, the end, or a cap; return why a cap stopped it."""
        deadline = time.monotonic() + MAX_DECODE_SECONDS
        origin: float | None = None
        next_at = 0.0
        decoded = 0
        seeking = self.interval >= _SEEK_GAP_S
        frames = container.decode(stream)
        while len(self.frames) < self.max_frames:
            frame = next(frames, None)
            if frame is None:
                self.at_end = True
                return None
            decoded += 1
            if frame.pts is None:  # no timestamp: cannot be placed on the grid
                continue
            if origin is None:
                origin = frame.time
            offset = frame.time - origin
            self.last_offset = max(self.last_offset, offset)
            if offset > MAX_SCAN_SECONDS:
                return f"only the first {MAX_SCAN_SECONDS:.0f} s were scanned"
            if decoded > MAX_DECODED_FRAMES or time.monotonic() > deadline:
                return f"scan stopped at {offset:.1f} s (decode limit)"
            if offset + 1e-3 < next_at:
                continue
            self._consider(frame, offset)
            while next_at <= offset + 1e-3:
                next_at += self.interval
            if seeking and next_at - offset >= _SEEK_GAP_S:
                frames = self._seek(container, stream, origin + next_at) or frames
        return None

    def _consider(self, frame: VideoFrame, offset: float) -> None:
        _check_size(frame.width, frame.height)
        thumb = _plane_image(frame.reformat(*_THUMB, format="gray"), "L")
        if self._last_thumb is not None and _changed(thumb, self._last_thumb) < self.min_change:
            return
        self._last_thumb = thumb
        out = io.BytesIO()
        _plane_image(frame.reformat(format="rgb24"), "RGB").save(out, "JPEG", quality=JPEG_QUALITY)
        image = LoadedImage(out.getvalue(), frame.width, frame.height, "image/jpeg")
        self.frames.append(ClipFrame(image, round(offset, 3)))

    @staticmethod
    def _seek(
        container: InputContainer, stream: VideoStream, at: float
    ) -> Iterator[VideoFrame] | None:
        """Jump to the keyframe at or before `at` (stream seconds); None if seeking fails."""
        try:
            container.seek(int(at / stream.time_base), stream=stream, backward=True)
        except FFmpegError:
            return None
        stream.codec_context.flush_buffers()
        return container.decode(stream)


def _plane_image(frame: VideoFrame, mode: str) -> Image.Image:
    """Copy a packed (gray or rgb24) frame into a PIL image, honouring the line stride."""
    plane = frame.planes[0]
    return Image.frombuffer(
        mode, (frame.width, frame.height), bytes(plane), "raw", mode, plane.line_size, 1
    )


def _changed(a: Image.Image, b: Image.Image) -> float:
    """Return the fraction of thumbnail pixels that differ by more than _PIXEL_DELTA."""
    histogram = ImageChops.difference(a, b).histogram()
    return sum(histogram[_PIXEL_DELTA + 1 :]) / (a.width * a.height)


def _check_size(width: int, height: int) -> None:
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise InvalidClipError(f"resolution too large ({width}x{height})")


def _duration(container: InputContainer, stream: VideoStream) -> float | None:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _created_at(container: InputContainer) -> datetime | None:
    """Return the container's (or video stream's) creation_time, if plausible."""
    raw = container.metadata.get("creation_time")
    if raw is None and container.streams.video:
        raw = container.streams.video[0].metadata.get("creation_time")
    if not raw:
        return None
    try:
        created = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created if created >= _EPOCH_FLOOR else None


def _reason(err: BaseException) -> str:
    """Return a short reason from an FFmpeg or I/O error."""
    return str(getattr(err, "strerror", None) or err).strip() or type(err).__name__
