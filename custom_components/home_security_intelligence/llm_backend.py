"""The LLM backends: llama.cpp, OpenAI-compatible chat, or a Home Assistant AI Task entity."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .ai_task_client import API_AI_TASK, AiTaskAnalyzer
from .const import CONF_AI_TASK_ENTITY, CONF_LLM_API, CONF_LLM_API_KEY, CONF_LLM_MODEL, CONF_LLM_URL
from .pipeline.level_belief import Habit
from .pipeline.models import RiskAssessment
from .pipeline.nemotron_analyzer import API_LLAMACPP, LLM_APIS, NemotronAnalyzer

BACKENDS = (*LLM_APIS, API_AI_TASK)
__all__ = ["API_AI_TASK", "BACKENDS", "Analyzer", "build_analyzer"]


class Analyzer(Protocol):
    """What the pipeline, the config flow and diagnostics use of an LLM client."""

    @property
    def url(self) -> str:
        """Where the LLM is, for the service health."""

    @property
    def habit(self) -> Habit | None:
        """The model's measured habit (None without token probabilities)."""

    async def analyze_batch(self, prompt: str, image: bytes | None = None) -> RiskAssessment:
        """Return the assessment of a filled prompt; raise AnalyzerError otherwise."""

    async def verify(self) -> None:
        """Check the LLM answers (config flow); raise AnalyzerError otherwise."""

    async def health_check(self) -> bool:
        """Whether the LLM answers now."""

    async def accepts_images(self, image: bytes) -> bool:
        """Whether requests may carry the batch's key frame."""


def build_analyzer(
    hass: HomeAssistant, data: Mapping[str, Any], entry_id: str, storage: Path
) -> Analyzer:
    """Return the client of the entry's LLM backend (`storage`: the entry's own folder)."""
    api = data.get(CONF_LLM_API, API_LLAMACPP)
    if api == API_AI_TASK:
        return AiTaskAnalyzer(hass, data.get(CONF_AI_TASK_ENTITY), entry_id, storage)
    return NemotronAnalyzer(
        async_get_clientsession(hass),
        data.get(CONF_LLM_URL, ""),
        api,
        data.get(CONF_LLM_API_KEY),
        data.get(CONF_LLM_MODEL),
    )
