"""Authenticated view serving detection thumbnails and the snapshots they came from."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
import re

from aiohttp import web

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN
from .data import HsiRuntimeData
from .pipeline.annotated import annotated_frame, thumbnail_file
from .pipeline.bounded_read import UnsafeFileError, read_inside
from .pipeline.image_loader import MAX_IMAGE_BYTES
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .urls import VIEW_URL

_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
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
    original upload) and `annotated` (the full-size frame with its boxes, drawn on request).
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
            or kind not in ("thumbnail", "snapshot", "annotated")
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
        data.db, ThumbnailGenerator(data.thumbnail_dir), data.root, records[0].image_id, (0, 0)
    )


def image_file(data: HsiRuntimeData, kind: str, detection_id: int) -> tuple[Path, Path] | None:
    """Return a detection's file and the folder it must stay in, if it is inside it now.

    A thumbnail not drawn yet is drawn first (from the original upload). The check is
    repeated on the open descriptor when the file is read (`read_inside`).
    """
    if kind == "thumbnail":
        folder = data.thumbnail_dir
        raw: str | Path | None = thumbnail_file(
            data.db, ThumbnailGenerator(folder), data.root, detection_id
        )
    else:
        records = data.db.detections([detection_id])
        raw, folder = (records[0].file_path if records else None), data.root
    if raw is None:
        return None
    path = Path(raw).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return None
    return path, folder
