"""Authenticated view serving detection thumbnails and the snapshots they came from."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from aiohttp import web

from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN
from .data import HsiRuntimeData
from .urls import VIEW_URL

_CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class ImageView(HomeAssistantView):
    """GET /api/home_security_intelligence/{entry_id}/{kind}/{detection_id}.

    Needs a logged-in user or a signed URL; files are looked up by detection id in
    the integration's database, never by a path taken from the request.
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
        if (
            entry is None
            or entry.domain != DOMAIN
            or entry.state is not ConfigEntryState.LOADED
            or kind not in ("thumbnail", "snapshot")
            or not detection_id.isdecimal()
        ):
            return web.Response(status=HTTPStatus.NOT_FOUND)
        data: HsiRuntimeData = entry.runtime_data
        path = await hass.async_add_executor_job(image_file, data, kind, int(detection_id))
        if path is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.FileResponse(
            path,
            headers={
                "Content-Type": _CONTENT_TYPES.get(path.suffix.lower(), "image/jpeg"),
                "Cache-Control": "private, max-age=86400",
            },
        )


def image_file(data: HsiRuntimeData, kind: str, detection_id: int) -> Path | None:
    """Return the file of a detection if it exists inside the integration's folders."""
    records = data.db.detections([detection_id])
    if not records:
        return None
    record = records[0]
    if kind == "thumbnail":
        raw, folder = record.thumbnail_path, data.thumbnail_dir
    else:
        raw, folder = record.file_path, data.root
    if raw is None:
        return None
    path = Path(raw).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        return None
    return path
