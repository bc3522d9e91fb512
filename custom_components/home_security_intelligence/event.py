"""Event entity per camera: one event per stored risk assessment, typed by risk level."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import RISK_LEVELS
from .coordinator import HsiCoordinator
from .data import HsiConfigEntry
from .entity import HsiCameraEntity, async_setup_camera_entities

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity of every camera."""

    def factory(coordinator: HsiCoordinator, camera_id: str) -> list[Entity]:
        return [RiskEventEntity(coordinator, camera_id)]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class RiskEventEntity(HsiCameraEntity, EventEntity):
    """Fires when a new assessed event is stored for the camera."""

    _attr_translation_key = "risk_event"
    _attr_event_types = list(RISK_LEVELS)  # noqa: RUF012 - HA declares it a list
    _unrecorded_attributes = frozenset({"summary", "objects", "breakdown"})

    def __init__(self, coordinator: HsiCoordinator, camera_id: str) -> None:
        """Create the entity; the event stored before start-up is not fired again."""
        super().__init__(coordinator, camera_id, "risk_event")
        latest = self.camera.latest_event
        self._last_event_id = latest.id if latest else None

    @callback
    def _handle_camera_update(self) -> None:
        event = self.camera.latest_event
        if event is None or event.id == self._last_event_id:
            return
        self._last_event_id = event.id
        if event.risk_level is None:
            return
        self._trigger_event(
            event.risk_level,
            {
                "event_id": event.id,
                "risk_score": event.risk_score,
                "summary": event.summary,
                "objects": list(event.objects),
                "started_at": event.started_at.isoformat(),
                "ended_at": event.ended_at.isoformat(),
                "analysis_status": event.analysis_status,
                "breakdown": event.breakdown.as_dict(event.risk_score) if event.breakdown else None,
            },
        )
        self.async_write_ha_state()
