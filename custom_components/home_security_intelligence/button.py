"""Acknowledge latest event button per camera: marks the newest unreviewed event reviewed."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, async_setup_camera_entities
from .store.records import EventQuery

PARALLEL_UPDATES = 1

ACKNOWLEDGE_LATEST = ButtonEntityDescription(
    key="acknowledge_latest", translation_key="acknowledge_latest"
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Acknowledge latest event button of every camera."""

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        return [AcknowledgeLatestButton(data, camera_id)]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class AcknowledgeLatestButton(HsiCameraEntity, ButtonEntity):
    """Press: the camera's newest event not reviewed yet becomes reviewed.

    It calls the `acknowledge` action with the presser's context, so a press is checked
    and recorded exactly as that action is; each press works through one more event.
    """

    entity_description = ACKNOWLEDGE_LATEST

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the button."""
        super().__init__(data, camera_id, ACKNOWLEDGE_LATEST.key)

    async def async_press(self) -> None:
        """Acknowledge the newest unreviewed event (a translated error when there is none)."""
        query = EventQuery(camera_ids=(self.camera_id,), reviewed=False, limit=1)
        newest = await self.hass.async_add_executor_job(self.data.db.query_events, query)
        if not newest:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="nothing_to_acknowledge",
                translation_placeholders={"camera": self.camera.name},
            )
        await self.hass.services.async_call(
            DOMAIN,
            "acknowledge",
            {"event_ids": [newest[0].id], "config_entry_id": self.data.entry_id},
            blocking=True,
            context=self._context,
        )
