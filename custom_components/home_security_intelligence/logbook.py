"""Logbook lines: one when a batch begins, one when its event is assessed.

Per-image detection lines are described only while debug logging is on for the integration
when the logbook loads (at Home Assistant's start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_BATCH_STARTED, EVENT_DETECTION, EVENT_RISK
from .risk_levels import RiskLevel

INTEGRATION_LOGGER = logging.getLogger(__package__)

BATCH_ICON = "mdi:cctv"
DETECTION_ICON = "mdi:motion-sensor"
UNASSESSED_ICON = "mdi:shield-outline"
LEVEL_ICONS = {
    RiskLevel.LOW: "mdi:shield-check-outline",
    RiskLevel.MEDIUM: "mdi:shield-alert-outline",
    RiskLevel.HIGH: "mdi:shield-alert",
    RiskLevel.CRITICAL: "mdi:alarm-light",
}


def _camera(data: Mapping[str, Any]) -> str:
    return str(data.get("camera_name", data.get("camera_id", "")))


@callback
def describe_batch(event: Event) -> dict[str, Any]:
    """Describe the first detection of a batch."""
    return {
        LOGBOOK_ENTRY_NAME: _camera(event.data),
        LOGBOOK_ENTRY_MESSAGE: f"detected {', '.join(event.data.get('objects', []))}",
        LOGBOOK_ENTRY_ICON: BATCH_ICON,
    }


@callback
def describe_detection(event: Event) -> dict[str, Any]:
    """Describe one image's detections (debug logging only)."""
    return {
        LOGBOOK_ENTRY_NAME: _camera(event.data),
        LOGBOOK_ENTRY_MESSAGE: f"image: {', '.join(event.data.get('objects', []))}",
        LOGBOOK_ENTRY_ICON: DETECTION_ICON,
    }


@callback
def describe_risk(event: Event) -> dict[str, Any]:
    """Describe an assessed (or prior-only) event: its level, then "title — summary"."""
    data = event.data
    if (level := data.get("risk_level")) is None:
        message = "recorded activity that could not be assessed (LLM unavailable)"
        icon = UNASSESSED_ICON
    else:
        text = " — ".join(filter(None, (data.get("title"), data.get("summary"))))
        message = f"{level} risk ({data['risk_score']}): {text}"
        icon = LEVEL_ICONS.get(level, UNASSESSED_ICON)
    return {
        LOGBOOK_ENTRY_NAME: _camera(data),
        LOGBOOK_ENTRY_MESSAGE: message.strip().rstrip(":"),
        LOGBOOK_ENTRY_ICON: icon,
    }


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, Any]]], None],
) -> None:
    """Describe the integration's bus events; per-image ones only under debug logging."""
    async_describe_event(DOMAIN, EVENT_BATCH_STARTED, describe_batch)
    async_describe_event(DOMAIN, EVENT_RISK, describe_risk)
    if INTEGRATION_LOGGER.isEnabledFor(logging.DEBUG):
        async_describe_event(DOMAIN, EVENT_DETECTION, describe_detection)
