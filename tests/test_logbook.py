"""Logbook lines for the batch, detection and risk events fired by a real run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
import logging
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.home_security_intelligence.const import (
    DOMAIN,
    EVENT_BATCH_STARTED,
    EVENT_DETECTION,
    EVENT_RISK,
)
from custom_components.home_security_intelligence.logbook import async_describe_events
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory
from .contract_servers import DetectorServer, LlmServer
from .helpers import close_batch, drop_and_detect, llm_answer, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")

type Describer = Callable[[Event], dict[str, Any]]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """Prepare the recorder's database before `hass` exists, as its fixture requires."""


def describers(hass: HomeAssistant) -> dict[str, Describer]:
    """Collect what the platform registers, as the logbook integration does."""
    found: dict[str, Describer] = {}

    def collect(domain: str, event_type: str, describe: Describer) -> None:
        assert domain == DOMAIN
        found[event_type] = describe

    async_describe_events(hass, collect)
    return found


async def test_logbook_describes_batches_and_events(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A batch's first detection lists the objects; assessed events the level, score, summary."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    caplog.set_level(logging.INFO, logger="custom_components.home_security_intelligence")
    describe = describers(hass)
    assert set(describe) == {EVENT_BATCH_STARTED, EVENT_RISK}
    entry = await setup_entry()
    batches = async_capture_events(hass, EVENT_BATCH_STARTED)
    risks = async_capture_events(hass, EVENT_RISK)

    detector.objects = [("person", 0.9), ("dog", 0.8)]
    llm.script = [llm_answer(65, "high", "A stranger walked a dog to the door.")]
    await stored_event(hass, entry, camera_root, "front_door")
    assert describe[EVENT_BATCH_STARTED](batches[0]) == {
        LOGBOOK_ENTRY_NAME: "Front Door",
        LOGBOOK_ENTRY_MESSAGE: "detected dog, person",
        LOGBOOK_ENTRY_ICON: "mdi:cctv",
    }
    assert describe[EVENT_RISK](risks[0]) == {
        LOGBOOK_ENTRY_NAME: "Front Door",
        LOGBOOK_ENTRY_MESSAGE: (
            "high risk (65): A person and a dog at Front Door — A stranger walked a dog to the door."
        ),
        LOGBOOK_ENTRY_ICON: "mdi:shield-alert",
    }

    llm.down = True
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1)
    await close_batch(hass, entry, "front_door")
    data = risks[1].data
    assert data["analysis_status"] == "prior_only"
    # Without the LLM the line says the facts: the title, then the facts' summary.
    assert data["summary"].startswith("A person and a dog seen by the Front Door camera at ")
    assert describe[EVENT_RISK](risks[1])[LOGBOOK_ENTRY_MESSAGE] == (
        f"{data['risk_level']} risk ({data['risk_score']}): "
        f"A person and a dog at Front Door — {data['summary']}"
    )


async def test_per_image_lines_only_under_debug_logging(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With the integration's debug logging on, each image's detections get a line too."""
    caplog.set_level(logging.DEBUG, logger="custom_components.home_security_intelligence")
    describe = describers(hass)
    assert set(describe) == {EVENT_BATCH_STARTED, EVENT_DETECTION, EVENT_RISK}
    entry = await setup_entry()
    detections = async_capture_events(hass, EVENT_DETECTION)
    await drop_and_detect(hass, entry, camera_root, "garage")
    assert describe[EVENT_DETECTION](detections[0]) == {
        LOGBOOK_ENTRY_NAME: "Garage",
        LOGBOOK_ENTRY_MESSAGE: "image: person",
        LOGBOOK_ENTRY_ICON: "mdi:motion-sensor",
    }


async def test_real_logbook_shows_one_line_per_batch(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three uploads in one batch: the logbook shows its start and its event, with icons."""
    caplog.set_level(logging.INFO, logger="custom_components.home_security_intelligence")
    start = dt_util.utcnow() - timedelta(seconds=1)
    assert await async_setup_component(hass, "logbook", {})
    entry = await setup_entry()
    detections = async_capture_events(hass, EVENT_DETECTION)
    for seed in range(3):
        await drop_and_detect(hass, entry, camera_root, "front_door", seed=seed)
    llm.script = [llm_answer(40, "medium", "A courier left a parcel.")]
    await close_batch(hass, entry, "front_door")
    assert len(detections) == 3
    await async_wait_recording_done(hass)

    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "logbook/get_events", "start_time": start.isoformat()})
    response = await client.receive_json()
    assert response["success"]
    ours = [
        (line["name"], line["message"], line["icon"])
        for line in response["result"]
        if line.get("domain") == DOMAIN
    ]
    assert ours == [
        ("Front Door", "detected person", "mdi:cctv"),
        (
            "Front Door",
            "medium risk (40): A person at Front Door — A courier left a parcel.",
            "mdi:shield-alert-outline",
        ),
    ]


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
        LOGBOOK_ENTRY_ICON: "mdi:shield-check-outline",
    }
