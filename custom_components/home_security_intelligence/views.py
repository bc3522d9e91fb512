"""Authenticated view serving detection thumbnails and the snapshots or clips they came from.

A snapshot is an upload under the camera root or a camera-entity snapshot in the entry's
own snapshot folder; either is read only from inside its folder.
"""

from __future__ import annotations

from http import HTTPStatus
import os
from pathlib import Path
import re

from aiohttp import web

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import CLIP_CONTENT_TYPES, DOMAIN
from .data import HsiRuntimeData
from .pipeline.annotated import annotated_frame, thumbnail_file
from .pipeline.bounded_read import UnsafeFileError, open_inside, read_inside
from .pipeline.clip_frames import MAX_CLIP_BYTES
from .pipeline.image_loader import MAX_IMAGE_BYTES
from .pipeline.snapshot_files import inside
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .urls import VIEW_URL

_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_CLIP_CHUNK = 256 * 1024
_ID = re.compile(r"[0-9]{1,19}", re.ASCII)
MAX_ID = 2**63 - 1  # SQLite's largest integer


def parse_detection_id(text: str) -> int | None:
    """Return the id in `text` if it is 1-19 ASCII digits within SQLite's range (1..2**63-1)."""
    if _ID.fullmatch(text) is None:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


class ImageView(HomeAssistantView):
    """GET /api/home_security_intelligence/{entry_id}/{kind}/{detection_id}.

    Kinds: `thumbnail` (320x240, drawn on first request if not yet), `snapshot` (the
    original upload), `annotated` (the full-size frame with its boxes, drawn on request)
    and `clip` (a video upload, with byte ranges).
    Needs a logged-in user or a signed URL; files are looked up by detection id in
    the integration's database, never by a path taken from the request, and served
    from the one descriptor that was checked to be a regular file inside the folder.
    """

    url = VIEW_URL
    name = f"api:{DOMAIN}:image"
    requires_auth = True

    async def get(
        self, request: web.Request, entry_id: str, kind: str, detection_id: str
    ) -> web.StreamResponse:
        """Serve the image or 404."""
        hass = request.app[KEY_HASS]
        entry = hass.config_entries.async_get_entry(entry_id)
        number = parse_detection_id(detection_id)
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
            or kind not in ("thumbnail", "snapshot", "annotated", "clip")
            or number is None
        ):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        data: HsiRuntimeData = entry.runtime_data
        if kind == "annotated":
            return _jpeg(await hass.async_add_executor_job(full_frame, data, number))
        found = await hass.async_add_executor_job(image_file, data, kind, number)
        if found is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        path, folder = found
        if kind == "clip":
            return await _serve_clip(request, path, folder)
        try:
            body = await hass.async_add_executor_job(read_inside, path, folder, MAX_IMAGE_BYTES)
        except (UnsafeFileError, OSError, ValueError):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.Response(
            body=body,
            content_type=_CONTENT_TYPES.get(path.suffix.lower(), "image/jpeg"),
            headers={"Cache-Control": "private, max-age=86400"},
        )


def _jpeg(body: bytes | None) -> web.Response:
    if body is None:
        return web.Response(status=HTTPStatus.NOT_FOUND)
    return web.Response(
        body=body, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )


def full_frame(data: HsiRuntimeData, detection_id: int) -> bytes | None:
    """Return the full-size annotated frame of a detection's image, drawn now (blocking)."""
    records = data.db.detections([detection_id])
    if not records:
        return None
    return annotated_frame(
        data.db, ThumbnailGenerator(data.thumbnail_dir), data.originals, records[0].image_id, (0, 0)
    )


def image_file(data: HsiRuntimeData, kind: str, detection_id: int) -> tuple[Path, Path] | None:
    """Return a detection's file and the folder it must stay in, if it is inside it now.

    A thumbnail not drawn yet is drawn first (from the original). The check is repeated
    on the open descriptor when the file is read (`read_inside`, `open_inside`).
    """
    records = data.db.detections([detection_id])
    if not records:
        return None
    record = records[0]
    raw: str | Path | None
    if kind == "thumbnail":
        folder = data.thumbnail_dir
        raw = thumbnail_file(data.db, ThumbnailGenerator(folder), data.originals, record)
    else:
        raw = record.file_path
        folder = next((r for r in data.originals if inside(Path(raw), r)), data.root)
        wanted = CLIP_CONTENT_TYPES if kind == "clip" else _CONTENT_TYPES
        if Path(raw).suffix.lower() not in wanted:
            return None
    if raw is None:
        return None
    path = Path(raw).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return None
    return path, folder


async def _serve_clip(request: web.Request, path: Path, folder: Path) -> web.StreamResponse:
    """Stream a clip, or the byte range asked for, from one checked descriptor.

    Only the bytes present when it was opened are sent, and never a clip larger than
    MAX_CLIP_BYTES; every read runs in the executor.
    """
    hass = request.app[KEY_HASS]
    try:
        fd, info = await hass.async_add_executor_job(open_inside, path, folder)
    except (UnsafeFileError, OSError):
        return web.Response(status=HTTPStatus.NOT_FOUND)
    try:
        size = info.st_size
        if size > MAX_CLIP_BYTES:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        try:
            start, stop, _step = request.http_range.indices(size)
        except ValueError:
            start, stop = -1, -1
        if not 0 <= start < stop <= size:
            return web.Response(
                status=HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                headers={"Content-Range": f"bytes */{size}"},
            )
        partial = (start, stop) != (0, size)
        response = web.StreamResponse(
            status=HTTPStatus.PARTIAL_CONTENT if partial else HTTPStatus.OK,
            headers={
                "Accept-Ranges": "bytes",
                "Cache-Control": "private, max-age=86400",
                "Content-Type": CLIP_CONTENT_TYPES[path.suffix.lower()],
            },
        )
        if partial:
            response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
        response.content_length = stop - start
        await response.prepare(request)
        while start < stop:
            chunk = await hass.async_add_executor_job(
                os.pread, fd, min(_CLIP_CHUNK, stop - start), start
            )
            if not chunk:
                break
            await response.write(chunk)
            start += len(chunk)
        await response.write_eof()
        return response
    finally:
        await hass.async_add_executor_job(os.close, fd)
