"""Diagnostics: configuration (credentials redacted), counts, queues, errors, versions."""

from __future__ import annotations

import math
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from .const import (
    CONF_DETECTOR_URL,
    CONF_LLM_API_KEY,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    DOMAIN,
    RISK_LEVELS,
)
from .data import HsiConfigEntry
from .pipeline.level_belief import Habit
from .urls import redact_url

TO_REDACT = {CONF_LLM_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: HsiConfigEntry
) -> dict[str, Any]:
    """Return what helps debugging an entry, with credentials removed from URLs."""
    runtime = entry.runtime_data
    integration = await async_get_integration(hass, DOMAIN)
    data: dict[str, Any] = async_redact_data(entry.data, TO_REDACT)
    for key in (CONF_DETECTOR_URL, CONF_LLM_URL, CONF_REDIS_URL):
        if data.get(key):  # keep host and port, drop a password in the URL
            data[key] = redact_url(data[key])
    counts = await hass.async_add_executor_job(runtime.db.stats)
    ledger = await hass.async_add_executor_job(runtime.db.image_counts)
    health = runtime.health
    return {
        "versions": {"integration": str(integration.version), "home_assistant": ha_version},
        "entry": {"data": data, "options": dict(entry.options)},
        "store": runtime.store.name,
        "rows": counts,
        "ledger": ledger,
        "hub": {
            "images_waiting": runtime.cameras.hub.images_waiting,
            "batches_open": runtime.cameras.hub.batches_open,
            "detection_latency_ms": runtime.cameras.hub.detection_latency_ms,
            "llm_latency_s": runtime.cameras.hub.llm_latency_s,
        },
        "services": {
            name: {
                "up": up,
                "down_since": since.isoformat() if (since := health.down_since.get(name)) else None,
                "last_error": _redact_text(health.last_error.get(name, ""), entry),
            }
            for name, up in health.up.items()
        },
        "cameras": sorted(runtime.cameras),
        "llm_habit": _habit(runtime.analyzer.habit),
    }


def _habit(habit: Habit | None) -> dict[str, Any] | None:
    """Show what the LLM answers knowing nothing (None: no token probabilities seen yet)."""
    if habit is None:
        return None
    return {
        level: {"probability": round(math.exp(mean), 3), "noise": round(noise, 3)}
        for level, mean, noise in zip(RISK_LEVELS, habit.log_mean, habit.noise, strict=True)
    }


def _redact_text(text: str, entry: HsiConfigEntry) -> str:
    """Remove a Redis URL (and its password) from an error message."""
    if (url := entry.data.get(CONF_REDIS_URL)) and url in text:
        text = text.replace(url, redact_url(url))
    return text
