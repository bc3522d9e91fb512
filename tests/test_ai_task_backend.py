"""The LLM as a Home Assistant AI Task entity, through the real integration.

A test-only integration provides an AI Task entity that forwards each task to the LLM
server on 127.0.0.1 (llama.cpp's /completion), attachments included, as an AI Task
integration of Ollama, OpenAI, Google, Anthropic or OpenRouter forwards to its model.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import probatio
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockModule,
    MockPlatform,
    async_fire_time_changed,
    mock_config_flow,
    mock_integration,
    mock_platform,
)

from custom_components.home_security_intelligence.ai_task_client import KEYFRAME_DIR, AiTaskAnalyzer
from custom_components.home_security_intelligence.const import (
    CONF_AI_TASK_ENTITY,
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_API,
    CONF_LLM_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.components.ai_task import (
    AITaskEntity,
    AITaskEntityFeature,
    GenDataTask,
    GenDataTaskResult,
)
from homeassistant.components.ai_task.const import DATA_PREFERENCES
from homeassistant.components.conversation import ChatLog
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import make_jpeg, wait_for
from .contract_servers import DetectorServer, LlmServer
from .helpers import runtime_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")

TEST_DOMAIN = "hsi_test_ai_task"
ENTITY_ID = "ai_task.forwarding_llm"


class ForwardingAITask(AITaskEntity):
    """Answers data tasks by asking the LLM server; pictures go as llama.cpp media."""

    _attr_name = "Forwarding LLM"
    _attr_unique_id = "forwarding_llm"

    def __init__(self, llm: LlmServer, attachments: bool) -> None:
        """Forward to `llm`; take attachments or not."""
        self._llm = llm
        features = AITaskEntityFeature.GENERATE_DATA
        if attachments:
            features |= AITaskEntityFeature.SUPPORT_ATTACHMENTS
        self._attr_supported_features = features
        self.tasks: list[GenDataTask] = []
        self.pictures: list[tuple[str, bytes]] = []

    async def _async_generate_data(self, task: GenDataTask, chat_log: ChatLog) -> GenDataTaskResult:
        self.tasks.append(task)
        prompt: Any = task.instructions
        media = []
        for attachment in task.attachments or []:
            data = await self.hass.async_add_executor_job(attachment.path.read_bytes)
            self.pictures.append((attachment.mime_type, data))
            media.append(base64.b64encode(data).decode())
        if media:
            prompt = {
                "prompt_string": self._llm.marker * len(media) + task.instructions,
                "multimodal_data": media,
            }
        try:
            async with async_get_clientsession(self.hass).post(
                f"{self._llm.url}/completion", json={"prompt": prompt, "n_predict": 320}
            ) as resp:
                if resp.status != 200:
                    raise HomeAssistantError(f"LLM answered HTTP {resp.status}")
                body = await resp.json()
        except aiohttp.ClientError as err:
            raise HomeAssistantError(f"LLM unreachable: {err}") from err
        try:
            data = json.loads(body["content"])
            if task.structure is not None:
                data = task.structure(data)
        except (ValueError, probatio.Invalid) as err:
            raise HomeAssistantError("Error with the structured response") from err
        return GenDataTaskResult(conversation_id=chat_log.conversation_id, data=data)


async def _forwarding_entity(
    hass: HomeAssistant, llm: LlmServer, attachments: bool = True
) -> ForwardingAITask:
    entity = ForwardingAITask(llm, attachments)

    async def setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        await hass.config_entries.async_forward_entry_setups(entry, [Platform.AI_TASK])
        return True

    async def unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
        return await hass.config_entries.async_unload_platforms(entry, [Platform.AI_TASK])

    async def setup_platform(
        hass: HomeAssistant, entry: ConfigEntry, add: AddConfigEntryEntitiesCallback
    ) -> None:
        add([entity])

    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "ai_task", {})
    mock_integration(
        hass,
        MockModule(TEST_DOMAIN, async_setup_entry=setup_entry, async_unload_entry=unload_entry),
    )
    mock_platform(hass, f"{TEST_DOMAIN}.ai_task", MockPlatform(async_setup_entry=setup_platform))
    mock_platform(hass, f"{TEST_DOMAIN}.config_flow")
    entry = MockConfigEntry(domain=TEST_DOMAIN)
    entry.add_to_hass(hass)
    with mock_config_flow(TEST_DOMAIN, ConfigFlow):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY_ID) is not None
    return entity


@pytest.fixture
async def forwarding(hass: HomeAssistant, llm: LlmServer) -> ForwardingAITask:
    """An AI Task entity (with attachments) forwarding to the LLM server."""
    llm.vision = True
    return await _forwarding_entity(hass, llm)


async def _entry(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, **data: Any
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_CAMERA_ROOT: str(camera_root),
            CONF_DETECTOR_URL: detector.url,
            CONF_LLM_API: "ai_task",
            **data,
        },
        options={**DEFAULT_OPTIONS, "upload_settle_seconds": 0.2, "llm_bound": 100},
        unique_id=str(camera_root),
        title="cameras",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _night() -> datetime:
    return datetime(2026, 11, 24, 2, 15, tzinfo=dt_util.get_default_time_zone())


async def test_an_ai_task_entity_judges_events(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    forwarding: ForwardingAITask,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The prompt goes to the entity with the assessment's structure; its answer scores."""
    entry = await _entry(hass, camera_root, detector, **{CONF_AI_TASK_ENTITY: ENTITY_ID})
    assert runtime_of(entry).analyzer.url == f"ai_task:{ENTITY_ID}"
    event = await stored_event(hass, entry, camera_root, "front_door", _night(), freezer=freezer)
    assert event.analysis_status == "analyzed"
    assert event.risk_score == 72  # the LLM's answer, taken at its word (bound 100)
    assert event.breakdown is not None and event.breakdown.llm_belief is None
    task = forwarding.tasks[-1]
    assert "front_door" in task.instructions.lower().replace(" ", "_")
    assert task.structure is not None
    assert {str(key) for key in task.structure.schema} == {
        "risk_level",
        "risk_score",
        "summary",
        "reasoning",
    }
    assert llm.prompts[-1]["prompt"] == task.instructions


async def test_the_key_frame_goes_as_an_attachment(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    forwarding: ForwardingAITask,
) -> None:
    """With attachments the picture reaches the model through our media source, then goes."""
    entry = await _entry(hass, camera_root, detector, **{CONF_AI_TASK_ENTITY: ENTITY_ID})
    analyzer = runtime_of(entry).analyzer
    assert await analyzer.accepts_images(make_jpeg())
    picture = make_jpeg(seed=3)
    assessment = await analyzer.analyze_batch("Judge this batch.", image=picture)
    assert assessment.risk_score == 72
    assert forwarding.pictures == [("image/jpeg", picture)]
    (sent,) = llm.prompts[-1]["prompt"]["multimodal_data"]
    assert base64.b64decode(sent) == picture
    keyframes = Path(hass.config.path(DOMAIN, entry.entry_id, KEYFRAME_DIR))
    assert await hass.async_add_executor_job(lambda: list(keyframes.iterdir())) == []


async def test_an_entity_without_attachments_gets_text_only(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """The preferred entity (none chosen) is used; without attachment support, no picture."""
    entity = await _forwarding_entity(hass, llm, attachments=False)
    hass.data[DATA_PREFERENCES].async_set_preferences(gen_data_entity_id=ENTITY_ID)
    entry = await _entry(hass, camera_root, detector)
    analyzer = runtime_of(entry).analyzer
    assert analyzer.url == "ai_task:preferred"
    assert not await analyzer.accepts_images(make_jpeg())
    assessment = await analyzer.analyze_batch("Judge this batch.", image=make_jpeg())
    assert assessment.risk_score == 72
    assert entity.pictures == []
    assert llm.prompts[-1]["prompt"] == "Judge this batch."


async def test_an_outage_scores_from_the_facts_then_is_reassessed(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    forwarding: ForwardingAITask,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The model behind the entity down: prior_only; back: re-assessed by the LLM probe."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    entry = await _entry(hass, camera_root, detector, **{CONF_AI_TASK_ENTITY: ENTITY_ID})
    runtime = runtime_of(entry)
    llm.down = True
    event = await stored_event(hass, entry, camera_root, "front_door", _night(), freezer=freezer)
    assert event.analysis_status == "prior_only"
    assert event.breakdown is not None and event.breakdown.llm_score is None
    assert not runtime.health.up["llm"]
    assert "HTTP 503" in runtime.health.last_error["llm"]

    llm.down = False
    freezer.tick(timedelta(seconds=61))
    async_fire_time_changed(hass)

    async def reassessed() -> bool:
        stored = await hass.async_add_executor_job(runtime.db.event, event.id)
        return stored is not None and stored.analysis_status == "analyzed"

    await wait_for(hass, reassessed, freezer=freezer)
    stored = await hass.async_add_executor_job(runtime.db.event, event.id)
    assert stored is not None and stored.risk_score == 72
    assert runtime.health.up["llm"]


async def test_an_ai_task_that_is_missing_or_failing_is_an_outage(hass: HomeAssistant) -> None:
    """No AI Task, or no such entity: the analyzer's errors, as for an unreachable server."""
    analyzer = AiTaskAnalyzer(hass, "ai_task.nowhere", "entry", Path(hass.config.path("x")))
    assert not await analyzer.health_check()
    assert not await analyzer.accepts_images(make_jpeg())
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "ai_task", {})
    assert not await analyzer.health_check()


# Config flow


async def test_config_flow_offers_the_ai_task_backend(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    forwarding: ForwardingAITask,
) -> None:
    """No URL needed; the entity is asked for a tiny structured answer; failures show."""
    form = {
        CONF_CAMERA_ROOT: str(camera_root),
        CONF_DETECTOR_URL: detector.url,
        CONF_LLM_API: "ai_task",
    }
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})

    async def submit(data: dict[str, Any]) -> dict[str, Any]:
        return dict(await hass.config_entries.flow.async_configure(flow["flow_id"], data))

    result = await submit({**form, CONF_AI_TASK_ENTITY: "ai_task.nowhere"})
    assert result["errors"] == {CONF_AI_TASK_ENTITY: "ai_task_failed"}
    llm.down = True
    result = await submit({**form, CONF_AI_TASK_ENTITY: ENTITY_ID})
    assert result["errors"] == {CONF_AI_TASK_ENTITY: "ai_task_failed"}
    result = await submit({**form, CONF_LLM_API: "llamacpp"})
    assert result["errors"] == {CONF_LLM_URL: "llm_url_required"}

    llm.down = False
    asked = len(forwarding.tasks)
    result = await submit({**form, CONF_AI_TASK_ENTITY: ENTITY_ID})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**form, CONF_AI_TASK_ENTITY: ENTITY_ID, "detector_api": "detect"}
    assert result["options"]["send_snapshots"] is False  # pictures only when asked for
    assert len(forwarding.tasks) > asked
    await hass.async_block_till_done()
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    assert runtime_of(entry).analyzer.url == f"ai_task:{ENTITY_ID}"  # type: ignore[arg-type]
