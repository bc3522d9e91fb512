"""Camera entity per camera folder: the newest annotated snapshot."""

from __future__ import annotations

from pathlib import Path

from homeassistant.components.camera import Camera
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, async_setup_camera_entities

PARALLEL_UPDATES = 0


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
    """Shows the newest annotated 320x240 snapshot of the camera."""

    _attr_translation_key = "snapshot"

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the camera."""
        HsiCameraEntity.__init__(self, data, camera_id, "snapshot")
        Camera.__init__(self)

    async def async_camera_image(
        self, width: int | None = None, height: int | None = None
    ) -> bytes | None:
        """Return the newest snapshot, or None before the first detection."""
        if (path := self.camera.latest_thumbnail) is None:
            return None
        try:
            return await self.hass.async_add_executor_job(Path(path).read_bytes)
        except OSError:
            return None
