"""Risk score and risk level sensors per camera."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import RISK_LEVELS
from .coordinator import HsiCoordinator
from .data import HsiConfigEntry
from .entity import HsiCameraEntity, HsiHubEntity, async_setup_camera_entities
from .state import HubState
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


@dataclass(frozen=True, kw_only=True)
class HubSensorDescription(SensorEntityDescription):
    """A pipeline-wide figure."""

    value_fn: Callable[[HubState], float | int | None]


HUB_SENSORS: tuple[HubSensorDescription, ...] = (
    HubSensorDescription(
        key="images_waiting",
        translation_key="images_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub: hub.images_waiting,
    ),
    HubSensorDescription(
        key="batches_open",
        translation_key="batches_open",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub: hub.batches_open,
    ),
    HubSensorDescription(
        key="detection_latency",
        translation_key="detection_latency",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda hub: hub.detection_latency_ms,
    ),
    HubSensorDescription(
        key="llm_latency",
        translation_key="llm_latency",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda hub: hub.llm_latency_s,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the sensors of every camera and of the hub."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(HubSensor(coordinator, entry.title, d) for d in HUB_SENSORS)

    def factory(coordinator: HsiCoordinator, camera_id: str) -> list[Entity]:
        return [
            *(RiskSensor(coordinator, camera_id, description) for description in SENSORS),
            LastDetectionSensor(coordinator, camera_id),
        ]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class RiskSensor(HsiCameraEntity, SensorEntity):
    """Risk score or level of the camera's newest event (unknown when not assessed)."""

    entity_description: RiskSensorDescription
    _unrecorded_attributes = frozenset({"summary", "reasoning", "objects", "top_factors"})

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
            "prior_score": event.breakdown.prior_score if event.breakdown else None,
            "llm_adjustment": event.breakdown.llm_adjustment if event.breakdown else None,
            "top_factors": [
                detail
                for _, _, detail in sorted(
                    event.breakdown.factors, key=lambda f: abs(f[1]), reverse=True
                )[:3]
            ]
            if event.breakdown
            else [],
        }


class LastDetectionSensor(HsiCameraEntity, SensorEntity):
    """Time of the camera's newest detection, with what was seen."""

    _attr_translation_key = "last_detection"
    _attr_device_class = SensorDeviceClass.TIMESTAMP
    _unrecorded_attributes = frozenset({"detection_ids"})

    def __init__(self, coordinator: HsiCoordinator, camera_id: str) -> None:
        """Create the sensor."""
        super().__init__(coordinator, camera_id, "last_detection")

    @property
    def native_value(self) -> datetime | None:
        """Capture time of the newest image with detections."""
        last = self.camera.last_detection
        return None if last is None else last.captured_at

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Objects, confidence and image links of the newest detection."""
        if (last := self.camera.last_detection) is None:
            return None
        return {
            "objects": list(last.objects),
            "confidence": last.confidence,
            "detection_ids": list(last.detection_ids),
        }


class HubSensor(HsiHubEntity, SensorEntity):
    """A pipeline-wide diagnostic figure."""

    entity_description: HubSensorDescription

    def __init__(
        self, coordinator: HsiCoordinator, title: str, description: HubSensorDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(coordinator, title, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> float | int | None:
        """The figure now."""
        return self.entity_description.value_fn(self.coordinator.hub)
