"""The LLM as a Home Assistant AI Task entity: any model the household has in HA judges events.

Requests go through `ai_task.async_generate_data` with a structure for the assessment.
The batch's key frame goes along as an attachment when the entity takes attachments: AI
Task reads attachments from disk through a media source, so the picture is written to the
entry's `keyframes` folder for the length of the request and named by this integration's
media source (`media-source://home_security_intelligence/<entry>/keyframe/<name>`).
AI Task gives no token probabilities: the answer is taken at its word, within the bound.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Final
import uuid

import probatio

from homeassistant.components.ai_task import AITaskEntityFeature, async_generate_data
from homeassistant.components.ai_task.const import DATA_COMPONENT, DATA_PREFERENCES
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
)

from .const import DOMAIN, RISK_LEVELS
from .pipeline.level_belief import Habit
from .pipeline.models import RiskAssessment
from .pipeline.nemotron_analyzer import (
    AnalyzerProtocolError,
    AnalyzerUnreachableError,
    parse_assessment,
)

API_AI_TASK: Final = "ai_task"
KEYFRAME_DIR: Final = "keyframes"
TASK_NAME: Final = "Home Security Intelligence risk assessment"
COMPLETION_TIMEOUT: Final = 120.0
PROBE_TIMEOUT: Final = 30.0
PROBE_INSTRUCTIONS: Final = (
    "Connection test. Answer with risk_level low, risk_score 0, summary OK and reasoning OK."
)
STRUCTURE: Final = probatio.Schema(
    {
        probatio.Required("risk_level", description="The risk band"): SelectSelector(
            SelectSelectorConfig(options=list(RISK_LEVELS))
        ),
        probatio.Required("risk_score", description="Risk from 0 to 100"): NumberSelector(
            NumberSelectorConfig(min=0, max=100, step=1, mode=NumberSelectorMode.BOX)
        ),
        probatio.Required("summary", description="One sentence for the household"): (
            TextSelector()
        ),
        probatio.Required("reasoning", description="Why this score"): TextSelector(),
    }
)


def keyframe_media_id(entry_id: str, name: str) -> str:
    """Return the media-source id of a key frame written for an AI Task request."""
    return f"media-source://{DOMAIN}/{entry_id}/keyframe/{name}"


class AiTaskAnalyzer:
    """Asks an AI Task entity (or the preferred one) for a risk assessment.

    Same interface as `NemotronAnalyzer`; failures and timeouts raise its errors, so an
    outage is scored from the facts alone and re-assessed when the entity answers again.
    """

    api = API_AI_TASK
    habit: Habit | None = None  # no token probabilities

    def __init__(
        self, hass: HomeAssistant, entity_id: str | None, entry_id: str, storage: Path
    ) -> None:
        """Use `entity_id` (None: AI Task's preferred entity); key frames go under `storage`."""
        self._hass = hass
        self._entity_id = entity_id or None
        self._entry_id = entry_id
        self._keyframes = storage / KEYFRAME_DIR

    @property
    def url(self) -> str:
        """What the service health shows for the LLM."""
        return f"{API_AI_TASK}:{self._entity_id or 'preferred'}"

    def _entity(self) -> str:
        """Return the entity to ask; AnalyzerUnreachableError when there is none."""
        if DATA_COMPONENT not in self._hass.data:
            raise AnalyzerUnreachableError("AI Task is not set up in Home Assistant")
        entity_id = self._entity_id or self._hass.data[DATA_PREFERENCES].gen_data_entity_id
        if not entity_id or self._hass.data[DATA_COMPONENT].get_entity(entity_id) is None:
            raise AnalyzerUnreachableError(f"AI Task entity {entity_id or '(preferred)'} not found")
        return entity_id

    def _takes_attachments(self, entity_id: str) -> bool:
        entity = self._hass.data[DATA_COMPONENT].get_entity(entity_id)
        return (
            entity is not None
            and AITaskEntityFeature.SUPPORT_ATTACHMENTS in entity.supported_features
        )

    async def analyze_batch(self, prompt: str, image: bytes | None = None) -> RiskAssessment:
        """Return the entity's validated assessment; raise AnalyzerError otherwise.

        `image` (JPEG bytes) goes along as an attachment when the entity takes attachments.
        """
        entity_id = self._entity()
        if image is None or not self._takes_attachments(entity_id):
            return await self._generate(entity_id, prompt, None, COMPLETION_TIMEOUT)
        name = uuid.uuid4().hex
        path = self._keyframes / f"{name}.jpg"
        await self._hass.async_add_executor_job(_write, path, image)
        try:
            attachment = {
                "media_content_id": keyframe_media_id(self._entry_id, name),
                "media_content_type": "image/jpeg",
            }
            return await self._generate(entity_id, prompt, [attachment], COMPLETION_TIMEOUT)
        finally:
            await self._hass.async_add_executor_job(path.unlink, True)

    async def _generate(
        self,
        entity_id: str,
        instructions: str,
        attachments: list[dict[str, Any]] | None,
        limit: float,
    ) -> RiskAssessment:
        try:
            async with asyncio.timeout(limit):
                result = await async_generate_data(
                    self._hass,
                    task_name=TASK_NAME,
                    entity_id=entity_id,
                    instructions=instructions,
                    structure=STRUCTURE,
                    attachments=attachments,
                )
        except TimeoutError as err:
            raise AnalyzerUnreachableError(f"AI Task {entity_id} timed out") from err
        except HomeAssistantError as err:
            raise AnalyzerUnreachableError(f"AI Task {entity_id} failed: {err}") from err
        data = result.data
        if isinstance(data, dict):
            try:
                data = json.dumps(data)
            except (TypeError, ValueError) as err:
                raise AnalyzerProtocolError("AI Task answer is not JSON data") from err
        if not isinstance(data, str):
            raise AnalyzerProtocolError("AI Task answer is neither data nor text")
        return parse_assessment(data)

    async def verify(self) -> None:
        """Ask for a tiny structured answer (config flow)."""
        await self._generate(self._entity(), PROBE_INSTRUCTIONS, None, PROBE_TIMEOUT)

    async def health_check(self) -> bool:
        """Whether the entity is there, available and gives a structured answer."""
        try:
            entity_id = self._entity()
            state = self._hass.states.get(entity_id)
            if state is None or state.state == STATE_UNAVAILABLE:
                return False
            await self.verify()
        except (AnalyzerUnreachableError, AnalyzerProtocolError):
            return False
        return True

    async def accepts_images(self, image: bytes) -> bool:
        """Whether the entity takes attachments (the picture itself is sent with each batch)."""
        try:
            return self._takes_attachments(self._entity())
        except AnalyzerUnreachableError:
            return False


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
