"""Sensors per camera (risk, last detection, unreviewed events) and on the hub."""

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
from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, HsiHubEntity, async_setup_camera_entities
from .payload import event_fields
from .state import CameraState, HubState
from .store.records import EventRecord
from .urls import signed_image_url

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
class CameraSensorDescription(SensorEntityDescription):
    """A sensor reading the camera's state."""

    value_fn: Callable[[CameraState], datetime | None]
    attributes_fn: Callable[[CameraState], dict[str, Any] | None]


LAST_DETECTION = CameraSensorDescription(
    key="last_detection",
    translation_key="last_detection",
    device_class=SensorDeviceClass.TIMESTAMP,
    value_fn=lambda camera: camera.last_detection.captured_at if camera.last_detection else None,
    attributes_fn=lambda camera: (
        {
            "objects": list(last.objects),
            "confidence": last.confidence,
            "detection_ids": list(last.detection_ids),
        }
        if (last := camera.last_detection)
        else None
    ),
)


@dataclass(frozen=True, kw_only=True)
class UnreviewedSensorDescription(SensorEntityDescription):
    """How many of the camera's events wait for a review."""

    value_fn: Callable[[CameraState], int]


UNREVIEWED = UnreviewedSensorDescription(
    key="unreviewed_events",
    translation_key="unreviewed_events",
    state_class=SensorStateClass.MEASUREMENT,
    value_fn=lambda camera: camera.unreviewed,
)


@dataclass(frozen=True, kw_only=True)
class HubSensorDescription(SensorEntityDescription):
    """A pipeline-wide figure; the store's figures are unavailable while it is down."""

    value_fn: Callable[[HubState], float | int | None]
    needs_store: bool = False


HUB_SENSORS: tuple[HubSensorDescription, ...] = (
    HubSensorDescription(
        key="unreviewed_events",
        translation_key="unreviewed_events",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda hub: hub.unreviewed,
    ),
    HubSensorDescription(
        key="images_waiting",
        translation_key="images_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub: hub.images_waiting,
        needs_store=True,
    ),
    HubSensorDescription(
        key="batches_open",
        translation_key="batches_open",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub: hub.batches_open,
        needs_store=True,
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
    async_add_entities(HubSensor(entry.runtime_data, entry.title, d) for d in HUB_SENSORS)

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        return [
            *(RiskSensor(data, camera_id, description) for description in SENSORS),
            CameraSensor(data, camera_id, LAST_DETECTION),
            UnreviewedSensor(data, camera_id, UNREVIEWED),
        ]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


_EVENT_KEYS = (  # the shared event payload's fields a risk sensor shows
    "event_id",
    "analysis_status",
    "started_at",
    "ended_at",
    "objects",
    "title",
    "summary",
    "reasoning",
)


def _risk_attributes(event: EventRecord) -> dict[str, Any]:
    """Return the newest event's id, time, objects and explanation, with its top factors."""
    fields = event_fields(event)
    breakdown = event.breakdown
    return {
        **{key: fields[key] for key in _EVENT_KEYS},
        "prior_score": breakdown.prior_score if breakdown else None,
        "llm_adjustment": breakdown.llm_adjustment if breakdown else None,
        "top_factors": [
            detail
            for _, _, detail in sorted(breakdown.factors, key=lambda f: abs(f[1]), reverse=True)[:3]
        ]
        if breakdown
        else [],
    }


class RiskSensor(HsiCameraEntity, SensorEntity):
    """Risk score or level of the camera's newest event (unknown before the first)."""

    entity_description: RiskSensorDescription
    _unrecorded_attributes = frozenset({"summary", "reasoning", "objects", "top_factors"})

    def __init__(
        self, data: HsiRuntimeData, camera_id: str, description: RiskSensorDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(data, camera_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> str | int | None:
        """The newest event's value, None when there is none."""
        event = self.camera.latest_event
        return None if event is None else self.entity_description.value_fn(event)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The newest event's id, time, objects and explanation."""
        event = self.camera.latest_event
        return None if event is None else _risk_attributes(event)


class CameraSensor(HsiCameraEntity, SensorEntity):
    """A figure of the camera's state (the time of its newest detection)."""

    entity_description: CameraSensorDescription
    _unrecorded_attributes = frozenset({"detection_ids"})

    def __init__(
        self, data: HsiRuntimeData, camera_id: str, description: CameraSensorDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(data, camera_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> datetime | None:
        """The value now."""
        return self.entity_description.value_fn(self.camera)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What goes with the value."""
        return self.entity_description.attributes_fn(self.camera)


class UnreviewedSensor(HsiCameraEntity, SensorEntity):
    """How many of the camera's events are not reviewed; the newest few with image links."""

    entity_description: UnreviewedSensorDescription
    _unrecorded_attributes = frozenset({"events"})

    def __init__(
        self, data: HsiRuntimeData, camera_id: str, description: UnreviewedSensorDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(data, camera_id, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int:
        """The count now (read from the database when events are stored or acknowledged)."""
        return self.entity_description.value_fn(self.camera)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The newest unreviewed events: id, time, level, score, summary and image links."""
        return {
            "events": [
                {
                    "event_id": event.id,
                    "started_at": event.started_at.isoformat(),
                    "risk_level": event.risk_level,
                    "risk_score": event.risk_score,
                    "summary": event.summary,
                    "objects": list(event.objects),
                    "thumbnail_url": signed_image_url(
                        self.hass, self.data.entry_id, "thumbnail", event.detection_ids[-1]
                    )
                    if event.thumbnail_path and event.detection_ids
                    else None,
                }
                for event in self.camera.unreviewed_events
            ]
        }


class HubSensor(HsiHubEntity, SensorEntity):
    """A pipeline-wide diagnostic figure."""

    entity_description: HubSensorDescription

    def __init__(self, data: HsiRuntimeData, title: str, description: HubSensorDescription) -> None:
        """Create the sensor."""
        super().__init__(data, title, description.key)
        self.entity_description = description

    @property
    def available(self) -> bool:
        """False for the store's figures while the store does not answer."""
        return not self.entity_description.needs_store or self.data.health.up["store"]

    @property
    def native_value(self) -> float | int | None:
        """The figure now."""
        return self.entity_description.value_fn(self.data.cameras.hub)
