"""Occupancy per camera (person, vehicle, animal), connectivity of camera entities and services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, HsiHubEntity, async_setup_camera_entities
from .service_health import ServiceHealth
from .state import OCCUPANCY_GROUPS, CameraState

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class OccupancyDescription(BinarySensorEntityDescription):
    """Whether a group of objects was seen by the camera lately."""

    value_fn: Callable[[CameraState], bool]


@dataclass(frozen=True, kw_only=True)
class ConnectivityDescription(BinarySensorEntityDescription):
    """Whether a service answers."""

    value_fn: Callable[[ServiceHealth], bool]


def _occupancy(group: str) -> OccupancyDescription:
    return OccupancyDescription(
        key=f"{group}_occupancy",
        translation_key=f"{group}_occupancy",
        device_class=BinarySensorDeviceClass.OCCUPANCY,
        value_fn=lambda camera: camera.occupied[group],
    )


def _connectivity(service: str) -> ConnectivityDescription:
    return ConnectivityDescription(
        key=f"{service}_connected",
        translation_key=f"{service}_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda health: health.up[service],
    )


OCCUPANCY = tuple(_occupancy(group) for group in OCCUPANCY_GROUPS)
CONNECTIVITY = tuple(_connectivity(service) for service in ("detector", "llm", "store"))
CAMERA_CONNECTIVITY = BinarySensorEntityDescription(
    key="camera_connected",
    translation_key="camera_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add occupancy sensors per camera, connectivity per camera entity and on the hub."""
    async_add_entities(
        ConnectivitySensor(entry.runtime_data, entry.title, description)
        for description in CONNECTIVITY
    )

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        entities: list[Entity] = [
            OccupancySensor(data, camera_id, description) for description in OCCUPANCY
        ]
        if data.pipeline.camera_source.is_source(camera_id):
            entities.append(CameraConnectivitySensor(data, camera_id))
        return entities

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class OccupancySensor(HsiCameraEntity, BinarySensorEntity):
    """On as soon as a detection of the group is stored, off after the quiet time."""

    entity_description: OccupancyDescription

    def __init__(
        self, data: HsiRuntimeData, camera_id: str, description: OccupancyDescription
    ) -> None:
        """Create the sensor of one object group."""
        super().__init__(data, camera_id, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool:
        """Whether the group was seen within the quiet time."""
        return self.entity_description.value_fn(self.camera)


class CameraConnectivitySensor(HsiCameraEntity, BinarySensorEntity):
    """Whether a camera entity is available and gave an image the last time it was asked."""

    entity_description = CAMERA_CONNECTIVITY

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the sensor of one camera entity."""
        super().__init__(data, camera_id, CAMERA_CONNECTIVITY.key)

    @property
    def is_on(self) -> bool:
        """Whether snapshots can be grabbed."""
        return self.data.pipeline.camera_source.connected(self.camera_id)


class ConnectivitySensor(HsiHubEntity, BinarySensorEntity):
    """Whether the detector, the LLM or the batch store answers."""

    entity_description: ConnectivityDescription

    def __init__(
        self, data: HsiRuntimeData, title: str, description: ConnectivityDescription
    ) -> None:
        """Create the sensor of one service."""
        super().__init__(data, title, description.key)
        self.entity_description = description

    @property
    def is_on(self) -> bool:
        """Whether the last call to the service worked."""
        return self.entity_description.value_fn(self.data.health)
