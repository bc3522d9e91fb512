"""Logbook lines for the detection and risk events fired by a real run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_DETECTION, EVENT_RISK
from custom_components.home_security_intelligence.logbook import async_describe_events
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant

from .conftest import EntryFactory
from .contract_servers import DetectorServer, LlmServer
from .helpers import close_batch, drop_and_detect, llm_answer, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")

type Describer = Callable[[Event], dict[str, Any]]


def describers(hass: HomeAssistant) -> dict[str, Describer]:
    """Collect what the platform registers, as the logbook integration does."""
    found: dict[str, Describer] = {}

    def collect(domain: str, event_type: str, describe: Describer) -> None:
        assert domain == DOMAIN
        found[event_type] = describe

    async_describe_events(hass, collect)
    return found


async def test_logbook_describes_both_events(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Detections list the objects; assessed events the level, score and summary."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    describe = describers(hass)
    assert set(describe) == {EVENT_DETECTION, EVENT_RISK}
    entry = await setup_entry()
    detections = async_capture_events(hass, EVENT_DETECTION)
    risks = async_capture_events(hass, EVENT_RISK)

    detector.objects = [("person", 0.9), ("dog", 0.8)]
    llm.script = [llm_answer(65, "high", "A stranger walked a dog to the door.")]
    await stored_event(hass, entry, camera_root, "front_door")
    assert describe[EVENT_DETECTION](detections[0]) == {
        LOGBOOK_ENTRY_NAME: "Front Door",
        LOGBOOK_ENTRY_MESSAGE: "detected dog, person",
    }
    assert describe[EVENT_RISK](risks[0]) == {
        LOGBOOK_ENTRY_NAME: "Front Door",
        LOGBOOK_ENTRY_MESSAGE: "high risk (65): A stranger walked a dog to the door.",
    }

    llm.down = True
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    await close_batch(hass, entry, "front_door")
    data = risks[1].data
    assert data["analysis_status"] == "prior_only"
    assert describe[EVENT_RISK](risks[1]) == {
        LOGBOOK_ENTRY_NAME: "Front Door",
        LOGBOOK_ENTRY_MESSAGE: f"{data['risk_level']} risk ({data['risk_score']}): "
        "dog, person seen; scored from the facts alone (LLM unavailable)",
    }


def test_logbook_without_summary_has_no_dangling_colon(hass: HomeAssistant) -> None:
    """An assessment without a summary ends after the score."""
    describe = describers(hass)
    data: dict[str, Any] = {
        "camera_id": "garden",
        "risk_level": "low",
        "risk_score": 5,
        "summary": "",
    }
    event: Event[Any] = Event(EVENT_RISK, data)
    assert describe[EVENT_RISK](event) == {
        LOGBOOK_ENTRY_NAME: "garden",
        LOGBOOK_ENTRY_MESSAGE: "low risk (5)",
    }
