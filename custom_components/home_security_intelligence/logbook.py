"""Logbook lines for the detection and risk events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_DETECTION, EVENT_RISK


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the integration's bus events."""

    @callback
    def describe_detection(event: Event) -> dict[str, Any]:
        data = event.data
        return {
            LOGBOOK_ENTRY_NAME: data.get("camera_name", data.get("camera_id", "")),
            LOGBOOK_ENTRY_MESSAGE: f"detected {', '.join(data.get('objects', []))}",
        }

    @callback
    def describe_risk(event: Event) -> dict[str, Any]:
        data = event.data
        name = data.get("camera_name", data.get("camera_id", ""))
        if data.get("risk_level") is None:
            message = "recorded activity that could not be assessed (LLM unavailable)"
        else:
            message = f"{data['risk_level']} risk ({data['risk_score']}): {data.get('summary', '')}"
        return {LOGBOOK_ENTRY_NAME: name, LOGBOOK_ENTRY_MESSAGE: message.strip().rstrip(":")}

    async_describe_event(DOMAIN, EVENT_DETECTION, describe_detection)
    async_describe_event(DOMAIN, EVENT_RISK, describe_risk)
