"""Camera entity per camera folder: the newest annotated frame, at the size asked for."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, async_setup_camera_entities
from .pipeline.annotated import annotated_frame, draw_thumbnail
from .pipeline.bounded_read import UnsafeFileError, read_inside
from .pipeline.image_loader import MAX_IMAGE_BYTES
from .pipeline.thumbnail_generator import ThumbnailGenerator, image_id_of

PARALLEL_UPDATES = 0
CACHED_FRAMES = 4
"""Rendered (image, width, height) frames kept per camera: a dashboard asks a few sizes."""


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the camera entity of every camera."""

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        return [SnapshotCamera(data, camera_id)]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class SnapshotCamera(HsiCameraEntity, Camera):
    """Shows the newest annotated frame: the 320x240 thumbnail, or sharp at a size asked for."""

    _attr_translation_key = "snapshot"

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the camera."""
        HsiCameraEntity.__init__(self, data, camera_id, "snapshot")
        Camera.__init__(self)
        self._frames: OrderedDict[tuple[int, int, int], bytes] = OrderedDict()

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the newest annotated frame, or None before the first detection.

        Without a size: the thumbnail. With one: the frame drawn to fit it, never above
        the original's resolution, drawn on request and cached per (image, size).
        """
        if (path := self.camera.latest_thumbnail) is None:
            return None
        image_id = image_id_of(Path(path))
        if (not width and not height) or image_id is None:
            return await self._thumbnail(Path(path), image_id)
        key = (image_id, width or 0, height or 0)
        if (cached := self._frames.get(key)) is not None:
            self._frames.move_to_end(key)
            return cached
        frame = await self.hass.async_add_executor_job(
            annotated_frame,
            self.data.db,
            ThumbnailGenerator(self.data.thumbnail_dir),
            self.data.originals,
            image_id,
            key[1:],
        )
        if frame is None:
            return await self._thumbnail(Path(path), image_id)
        self._frames[key] = frame
        while len(self._frames) > CACHED_FRAMES:
            self._frames.popitem(last=False)
        return frame

    async def _thumbnail(self, path: Path, image_id: int | None) -> bytes | None:
        """Return the thumbnail file, drawn (and kept) first if it was not drawn yet."""
        try:
            return await self._read(path)
        except (UnsafeFileError, OSError):
            if image_id is None:
                return None
        drawn = await self.hass.async_add_executor_job(
            draw_thumbnail,
            self.data.db,
            ThumbnailGenerator(self.data.thumbnail_dir),
            self.data.originals,
            image_id,
        )
        try:
            return None if drawn is None else await self._read(drawn)
        except (UnsafeFileError, OSError):
            return None

    async def _read(self, path: Path) -> bytes:
        return await self.hass.async_add_executor_job(
            read_inside, path, self.data.thumbnail_dir, MAX_IMAGE_BYTES
        )
