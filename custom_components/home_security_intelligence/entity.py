"""Base entity: one device per camera folder, updated by the coordinator's signals."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SIGNAL_CAMERA_UPDATED, SIGNAL_HUB_UPDATED, SIGNAL_NEW_CAMERA
from .coordinator import HsiCoordinator
from .data import HsiConfigEntry
from .state import CameraState


def device_identifier(entry_id: str, camera_id: str) -> str:
    """Device identifier of a camera of an entry."""
    return f"{entry_id}:{camera_id}"


def camera_of_identifier(entry_id: str, identifier: str) -> str | None:
    """Camera id inside a device identifier of this entry, else None."""
    prefix = f"{entry_id}:"
    return identifier[len(prefix) :] if identifier.startswith(prefix) else None


class HsiCameraEntity(Entity):
    """An entity of one camera device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, coordinator: HsiCoordinator, camera_id: str, key: str) -> None:
        """Attach to a camera of the coordinator."""
        self.coordinator = coordinator
        self.camera_id = camera_id
        self._attr_unique_id = f"{coordinator.entry_id}_{camera_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_identifier(coordinator.entry_id, camera_id))},
            name=self.camera.name,
            manufacturer="Home Security Intelligence",
            model="Camera folder",
        )

    @property
    def camera(self) -> CameraState:
        """The camera's current state."""
        return self.coordinator.cameras[self.camera_id]

    async def async_added_to_hass(self) -> None:
        """Follow the camera's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_CAMERA_UPDATED.format(self.coordinator.entry_id, self.camera_id),
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

    def __init__(self, coordinator: HsiCoordinator, title: str, key: str) -> None:
        """Attach to the coordinator's hub device."""
        self.coordinator = coordinator
        self._attr_unique_id = f"{coordinator.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.entry_id)},
            name=title,
            manufacturer="Home Security Intelligence",
            model="Pipeline",
            entry_type=DeviceEntryType.SERVICE,
        )

    async def async_added_to_hass(self) -> None:
        """Follow the hub's updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_HUB_UPDATED.format(self.coordinator.entry_id),
                self.async_write_ha_state,
            )
        )


def async_setup_camera_entities(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[HsiCoordinator, str], list[Entity]],
) -> None:
    """Add a platform's entities for every camera now and for each new camera folder."""
    coordinator = entry.runtime_data.coordinator

    @callback
    def add(camera_id: str) -> None:
        async_add_entities(factory(coordinator, camera_id))

    for camera_id in coordinator.cameras:
        add(camera_id)
    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_NEW_CAMERA.format(entry.entry_id), add)
    )
