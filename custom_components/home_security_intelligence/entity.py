"""Base entities: one device per camera folder under the entry's hub device, updated by signals."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .cameras import device_identifier
from .const import DOMAIN, SIGNAL_CAMERA_UPDATED, SIGNAL_HUB_UPDATED, SIGNAL_NEW_CAMERA
from .data import HsiConfigEntry, HsiRuntimeData
from .state import CameraState

MANUFACTURER = "Home Security Intelligence"


def hub_device_info(entry_id: str, title: str) -> DeviceInfo:
    """Describe the hub device: the pipeline of one camera root."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry_id)},
        name=title,
        manufacturer=MANUFACTURER,
        model="Pipeline",
        entry_type=DeviceEntryType.SERVICE,
    )


class HsiCameraEntity(Entity):
    """An entity of one camera device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, data: HsiRuntimeData, camera_id: str, key: str) -> None:
        """Attach to a camera of the entry."""
        self.data = data
        self.camera_id = camera_id
        self._attr_unique_id = f"{data.entry_id}_{camera_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_identifier(data.entry_id, camera_id))},
            name=self.camera.name,
            manufacturer=MANUFACTURER,
            model="Camera folder" if self.camera.source is None else "Camera entity",
            via_device_id=data.hub_device_id,
        )

    @property
    def camera(self) -> CameraState:
        """The camera's current state."""
        return self.data.cameras[self.camera_id]

    async def async_added_to_hass(self) -> None:
        """Follow the camera's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_CAMERA_UPDATED.format(self.data.entry_id, self.camera_id),
                self._handle_camera_update,
            )
        )

    @callback
    def _handle_camera_update(self) -> None:
        self.async_write_ha_state()


class HsiHubEntity(Entity):
    """An entity of the hub device (the pipeline of one camera root)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, data: HsiRuntimeData, title: str, key: str) -> None:
        """Attach to the entry's hub device."""
        self.data = data
        self._attr_unique_id = f"{data.entry_id}_{key}"
        self._attr_device_info = hub_device_info(data.entry_id, title)

    async def async_added_to_hass(self) -> None:
        """Follow the hub's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_HUB_UPDATED.format(self.data.entry_id),
                self.async_write_ha_state,
            )
        )


def async_setup_camera_entities(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[HsiRuntimeData, str], list[Entity]],
) -> None:
    """Add a platform's entities for every camera now and for each new camera folder."""
    data = entry.runtime_data

    @callback
    def add(camera_id: str) -> None:
        async_add_entities(factory(data, camera_id))

    for camera_id in data.cameras:
        add(camera_id)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_NEW_CAMERA.format(entry.entry_id), add)
    )
