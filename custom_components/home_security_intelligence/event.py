"""Event entity per camera: one event per stored event (new or re-assessed), typed by risk level."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import RISK_LEVELS
from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, async_setup_camera_entities
from .payload import event_fields

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the event entity of every camera."""

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        return [RiskEventEntity(data, camera_id)]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class RiskEventEntity(HsiCameraEntity, EventEntity):
    """Fires when a new event with a risk level is stored for the camera."""

    _attr_translation_key = "risk_event"
    _attr_event_types = list(RISK_LEVELS)  # noqa: RUF012 - HA declares it a list
    _unrecorded_attributes = frozenset(
        {"summary", "llm_summary", "reasoning", "objects", "breakdown"}
    )

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the entity; the event stored before start-up is not fired again."""
        super().__init__(data, camera_id, "risk_event")
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
        self._trigger_event(event.risk_level, event_fields(event))
        self.async_write_ha_state()
