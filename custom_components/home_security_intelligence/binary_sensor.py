"""Occupancy per camera (person, vehicle, animal) and service connectivity on the hub."""

from __future__ import annotations

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import HsiCoordinator
from .data import HsiConfigEntry
from .entity import HsiCameraEntity, HsiHubEntity, async_setup_camera_entities
from .state import OCCUPANCY_GROUPS

PARALLEL_UPDATES = 0

CONNECTIVITY = tuple(
    BinarySensorEntityDescription(
        key=f"{service}_connected",
        translation_key=f"{service}_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
    )
    for service in ("detector", "llm", "store")
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add occupancy sensors per camera and connectivity sensors on the hub."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(
        ConnectivitySensor(coordinator, entry.title, description) for description in CONNECTIVITY
    )

    def factory(coordinator: HsiCoordinator, camera_id: str) -> list[Entity]:
        return [OccupancySensor(coordinator, camera_id, group) for group in OCCUPANCY_GROUPS]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class OccupancySensor(HsiCameraEntity, BinarySensorEntity):
    """On as soon as a detection of the group is stored, off after the quiet time."""

    _attr_device_class = BinarySensorDeviceClass.OCCUPANCY

    def __init__(self, coordinator: HsiCoordinator, camera_id: str, group: str) -> None:
        """Create the sensor of one object group."""
        super().__init__(coordinator, camera_id, f"{group}_occupancy")
        self._group = group
        self._attr_translation_key = f"{group}_occupancy"

    @property
    def is_on(self) -> bool:
        """Whether the group was seen within the quiet time."""
        return self.camera.occupied[self._group]


class ConnectivitySensor(HsiHubEntity, BinarySensorEntity):
    """Whether the detector, the LLM or the batch store answers."""

    def __init__(
        self,
        coordinator: HsiCoordinator,
        title: str,
        description: BinarySensorEntityDescription,
    ) -> None:
        """Create the sensor of one service."""
        super().__init__(coordinator, title, description.key)
        self.entity_description = description
        self._service = description.key.removesuffix("_connected")

    @property
    def is_on(self) -> bool:
        """Whether the last call to the service worked."""
        return self.coordinator.health.up[self._service]
