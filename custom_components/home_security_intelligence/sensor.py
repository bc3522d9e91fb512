"""Risk score and risk level sensors per camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import RISK_LEVELS
from .coordinator import HsiCoordinator
from .data import HsiConfigEntry
from .entity import HsiCameraEntity, async_setup_camera_entities
from .store.records import EventRecord

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class RiskSensorDescription(SensorEntityDescription):
    """A sensor reading the camera's newest event."""

    value_fn: Callable[[EventRecord], str | int | None]


SENSORS: tuple[RiskSensorDescription, ...] = (
    RiskSensorDescription(
        key="risk_score",
        translation_key="risk_score",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda event: event.risk_score,
    ),
    RiskSensorDescription(
        key="risk_level",
        translation_key="risk_level",
        device_class=SensorDeviceClass.ENUM,
        options=list(RISK_LEVELS),
        value_fn=lambda event: event.risk_level,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every camera."""

    def factory(coordinator: HsiCoordinator, camera_id: str) -> list[Entity]:
        return [RiskSensor(coordinator, camera_id, description) for description in SENSORS]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class RiskSensor(HsiCameraEntity, SensorEntity):
    """Risk score or level of the camera's newest event (unknown when not assessed)."""

    entity_description: RiskSensorDescription
    _unrecorded_attributes = frozenset({"summary", "reasoning", "objects"})

    def __init__(
        self,
        coordinator: HsiCoordinator,
        camera_id: str,
        description: RiskSensorDescription,
    ) -> None:
        """Create the sensor."""
        super().__init__(coordinator, camera_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> str | int | None:
        """The newest event's value, None when there is none or it was not assessed."""
        event = self.camera.latest_event
        return None if event is None else self.entity_description.value_fn(event)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The newest event's id, time, objects and explanation."""
        if (event := self.camera.latest_event) is None:
            return None
        return {
            "event_id": event.id,
            "analysis_status": event.analysis_status,
            "started_at": event.started_at.isoformat(),
            "ended_at": event.ended_at.isoformat(),
            "objects": list(event.objects),
            "summary": event.summary,
            "reasoning": event.reasoning,
        }
