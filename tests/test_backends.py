"""The DeepStack detector API and the OpenAI-compatible LLM API, against real servers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_RISK
from custom_components.home_security_intelligence.pipeline.detector_client import (
    API_DEEPSTACK,
    DetectorClient,
    DetectorProtocolError,
)
from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import (
    API_OPENAI,
    AnalyzerAuthError,
    NemotronAnalyzer,
)
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .conftest import make_jpeg, wait_for, write_file
from .contract_servers import DeepStackServer, LlmServer, OpenAiServer, serve_404


@pytest.fixture
async def deepstack(socket_enabled: None) -> AsyncGenerator[DeepStackServer]:
    server = DeepStackServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def openai(socket_enabled: None) -> AsyncGenerator[OpenAiServer]:
    server = OpenAiServer()
    await server.start()
    yield server
    await server.close()


async def test_deepstack_predictions_become_detections(
    hass: HomeAssistant, deepstack: DeepStackServer
) -> None:
    """Corner boxes become [x, y, w, h]; min_confidence is sent; weak predictions dropped."""
    client = DetectorClient(async_get_clientsession(hass), deepstack.url, API_DEEPSTACK)
    found = await client.detect_objects(make_jpeg(640, 480), "a.jpg", "image/jpeg", (640, 480), 0.5)
    assert [(d.object_type, d.confidence, d.bbox) for d in found] == [
        ("person", 0.88, (160, 120, 320, 360))
    ]
    assert deepstack.requests[0]["min_confidence"] == 0.5
    await client.verify()


async def test_deepstack_wrong_api(hass: HomeAssistant, socket_enabled: None) -> None:
    """A server without /v1/vision/detection is a protocol error, not 'nothing seen'."""
    server = await serve_404()
    try:
        client = DetectorClient(
            async_get_clientsession(hass), str(server.make_url("")).rstrip("/"), API_DEEPSTACK
        )
        with pytest.raises(DetectorProtocolError):
            await client.verify()
    finally:
        await server.close()


async def test_openai_chat_completion_with_schema_and_key(
    hass: HomeAssistant, openai: OpenAiServer
) -> None:
    """The chat request carries the prompt, the JSON schema and the bearer key."""
    analyzer = NemotronAnalyzer(
        async_get_clientsession(hass), openai.url, API_OPENAI, "sk-test", "llama3.2"
    )
    result = await analyzer.analyze_batch("rate this")
    assert (result.risk_score, result.risk_level) == (72, "high")
    request = openai.requests[0]
    assert request["model"] == "llama3.2"
    assert request["messages"] == [{"role": "user", "content": "rate this"}]
    assert request["response_format"]["json_schema"]["schema"]["required"]
    assert await analyzer.health_check()


async def test_openai_wrong_key(hass: HomeAssistant, openai: OpenAiServer) -> None:
    """A refused key is an auth error; health is false."""
    analyzer = NemotronAnalyzer(async_get_clientsession(hass), openai.url, API_OPENAI, "nope")
    with pytest.raises(AnalyzerAuthError):
        await analyzer.verify()
    assert not await analyzer.health_check()


async def test_pipeline_on_deepstack_and_openai(
    hass: HomeAssistant,
    camera_root: Path,
    deepstack: DeepStackServer,
    openai: OpenAiServer,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The config flow accepts both APIs (after a wrong key) and the pipeline runs on them."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    form = {
        "camera_root": str(camera_root),
        "detector_url": deepstack.url,
        "detector_api": "deepstack",
        "llm_url": openai.url,
        "llm_api": "openai",
        "llm_api_key": "wrong",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["errors"] == {"llm_api_key": "llm_invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "llm_api_key": "sk-test"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    events = async_capture_events(hass, EVENT_RISK)
    await write_file(hass, camera_root / "gate" / "MDAlarm_20261124-221500.jpg", make_jpeg())
    runtime = result["result"].runtime_data
    await wait_for(hass, lambda: runtime.cameras.hub.batches_open == 1, freezer=freezer)
    freezer.tick(timedelta(seconds=31))
    await wait_for(hass, lambda: events, freezer=freezer)
    breakdown = events[0].data["breakdown"]
    assert breakdown["llm_score"] == 72
    assert events[0].data["risk_score"] == breakdown["final"]
    assert abs(breakdown["llm_adjustment"]) <= 20
    assert events[0].data["objects"] == ["person"]
    assert openai.requests[-1]["model"] == "local"
    assert not llm.prompts
    assert await hass.config_entries.async_unload(result["result"].entry_id)
