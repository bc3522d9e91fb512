"""Diagnostics through HA's diagnostics endpoint: counts, queues, errors, no credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import CONF_LLM_API_KEY, CONF_REDIS_URL
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant

from .conftest import EntryFactory
from .contract_servers import LlmServer
from .helpers import runtime_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")


async def test_diagnostics_counts_and_state(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    redis_url: str,
    hass_client: ClientSessionGenerator,
    llm: LlmServer,
) -> None:
    """Versions, row counts, ledger, hub figures, services, cameras and the LLM's habit."""
    llm.levels = llm.bias = {"low": 0.5, "medium": 0.1, "high": 0.3, "critical": 0.1}
    entry = await setup_entry(redis=redis_url)
    await stored_event(hass, entry, camera_root, "front_door")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["versions"]["home_assistant"] == ha_version
    assert diagnostics["versions"]["integration"]
    assert diagnostics["store"] == "redis"
    assert diagnostics["rows"] == {"cameras": 1, "images": 1, "detections": 1, "events": 1}
    assert diagnostics["ledger"] == {"done": 1}
    assert diagnostics["cameras"] == ["front_door"]
    assert diagnostics["entry"]["data"][CONF_REDIS_URL] == redis_url
    assert diagnostics["entry"]["options"]["retention_days"] == 30
    assert set(diagnostics["services"]) == {"detector", "llm", "store"}
    assert all(s["up"] and s["down_since"] is None for s in diagnostics["services"].values())
    assert set(diagnostics["hub"]) == {
        "images_waiting",
        "batches_open",
        "detection_latency_ms",
        "llm_latency_s",
    }
    assert diagnostics["hub"]["detection_latency_ms"] is not None
    assert diagnostics["hub"]["llm_latency_s"] is not None
    assert diagnostics["llm_habit"] == {
        "low": {"probability": 0.5, "noise": 0.0},
        "medium": {"probability": 0.1, "noise": 0.0},
        "high": {"probability": 0.3, "noise": 0.0},
        "critical": {"probability": 0.1, "noise": 0.0},
    }


async def test_diagnostics_hide_redis_password(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """A Redis password (in the config or an error) and the LLM key never show."""
    entry = await setup_entry()
    # The test Redis has no password, so the entry runs embedded; its data carries the URL.
    secret_url = "redis://user:secret@127.0.0.1:6379/11"
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, CONF_REDIS_URL: secret_url, CONF_LLM_API_KEY: "sk-secret"}
    )
    health = runtime_of(entry).health
    health.set("store", False, f"Error 111 connecting to {secret_url}. Connection refused.")
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    health.set("store", True)

    text = json.dumps(diagnostics)
    assert "secret" not in text
    assert diagnostics["entry"]["data"][CONF_REDIS_URL] == "redis://127.0.0.1:6379/11"
    assert diagnostics["entry"]["data"][CONF_LLM_API_KEY] == "**REDACTED**"
    assert diagnostics["services"]["store"]["last_error"] == (
        "Error 111 connecting to redis://127.0.0.1:6379/11. Connection refused."
    )
    assert diagnostics["llm_habit"] is None  # no answer with token probabilities yet
