"""The send-snapshots option: probed at setup, on for local servers that take a picture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from custom_components.home_security_intelligence.config_flow import async_snapshots_default
from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_SEND_SNAPSHOTS,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .conftest import EntryFactory
from .contract_servers import DetectorServer, LlmServer

pytestmark = pytest.mark.usefixtures("unload_entries")


async def _create(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    return dict(
        await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_CAMERA_ROOT: str(camera_root),
                CONF_DETECTOR_URL: detector.url,
                CONF_LLM_URL: llm.url,
            },
        )
    )


@pytest.mark.parametrize("vision", [True, False])
async def test_setup_probes_the_server_with_a_picture(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    vision: bool,
) -> None:
    """A local server with vision gets snapshots by default; one without does not."""
    llm.vision = vision
    result = await _create(hass, camera_root, detector, llm)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["options"] == {**DEFAULT_OPTIONS, CONF_SEND_SNAPSHOTS: vision}
    pictures = [p for p in llm.prompts if isinstance(p["prompt"], dict)]
    assert len(pictures) == (1 if vision else 0), "a tiny JPEG only when /props says vision"


@pytest.mark.parametrize(
    "url", ["https://api.openai.com", "http://1.1.1.1:8091", "https://llm.example.com"]
)
async def test_servers_off_the_local_network_are_not_sent_pictures(
    hass: HomeAssistant, url: str
) -> None:
    """Off the local network the default is off, without even asking the server."""
    assert await async_snapshots_default(hass, {CONF_LLM_URL: url}) is False


async def test_reconfigure_onto_another_llm_takes_its_default(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory, detector: DetectorServer
) -> None:
    """Moving to another LLM server re-decides the option from that server."""
    entry = await setup_entry()
    assert entry.options[CONF_SEND_SNAPSHOTS] is False
    other = LlmServer(vision=True)
    await other.start()
    try:
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_CAMERA_ROOT: str(camera_root),
                CONF_DETECTOR_URL: detector.url,
                CONF_LLM_URL: other.url,
            },
        )
        await hass.async_block_till_done()
    finally:
        await other.close()
    assert result["reason"] == "reconfigure_successful"
    assert entry.options[CONF_SEND_SNAPSHOTS] is True
