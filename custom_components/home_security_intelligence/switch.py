"""Alerts switch per camera: off means snoozed (until a time, or until turned on again)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity
from homeassistant.util import dt as dt_util

from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiCameraEntity, async_setup_camera_entities

PARALLEL_UPDATES = 0

ATTR_SNOOZED_UNTIL = "snoozed_until"

ALERTS = SwitchEntityDescription(key="alerts", translation_key="alerts")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the Alerts switch of every camera."""

    def factory(data: HsiRuntimeData, camera_id: str) -> list[Entity]:
        return [AlertsSwitch(data, camera_id)]

    async_setup_camera_entities(hass, entry, async_add_entities, factory)


class AlertsSwitch(HsiCameraEntity, SwitchEntity, RestoreEntity):
    """On: the camera's events alert. Off: snoozed; events carry `snoozed: true`.

    `home_security_intelligence.snooze` turns it off until a time (attribute
    `snoozed_until`), after which it turns on by itself, across restarts too.
    """

    entity_description = ALERTS

    def __init__(self, data: HsiRuntimeData, camera_id: str) -> None:
        """Create the switch."""
        super().__init__(data, camera_id, ALERTS.key)

    async def async_added_to_hass(self) -> None:
        """Restore a snooze that was on before the restart (one already past is dropped)."""
        await super().async_added_to_hass()
        snoozes = self.data.cameras.snoozes
        last = await self.async_get_last_state()
        if last is None or last.state != STATE_OFF or snoozes.active(self.camera_id):
            return
        until: datetime | None = None
        if (text := last.attributes.get(ATTR_SNOOZED_UNTIL)) is not None:
            until = dt_util.parse_datetime(str(text))
            if until is None:
                return
        snoozes.snooze(self.camera_id, None if until is None else dt_util.as_utc(until))

    @property
    def is_on(self) -> bool:
        """True while the camera's alerts are not snoozed."""
        return not self.data.cameras.snoozes.active(self.camera_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """When the snooze ends (None when not snoozed, or snoozed until turned on)."""
        until = self.data.cameras.snoozes.until(self.camera_id)
        return {ATTR_SNOOZED_UNTIL: until.isoformat() if until else None}

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Alert again."""
        self.data.cameras.snoozes.resume(self.camera_id)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Snooze until turned on again."""
        self.data.cameras.snoozes.snooze(self.camera_id, None)
