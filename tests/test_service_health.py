"""Outages of the detector and the LLM: one log line each way, repairs, re-assessment."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta
import logging
from pathlib import Path
import time

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_RISK
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory, make_jpeg, wait_for, write_file
from .contract_servers import DetectorServer, LlmServer
from .helpers import close_batch, drop_and_detect, entity_id, foscam_name, runtime_of, state_of

pytestmark = pytest.mark.usefixtures("unload_entries")


@dataclass
class ProbedLlmServer(LlmServer):
    """The contract LLM, counting the health probes it answers."""

    health_checks: int = 0

    async def _health(self, request: web.Request) -> web.Response:
        self.health_checks += 1
        return await super()._health(request)


@pytest.fixture
async def llm(socket_enabled: None) -> AsyncGenerator[ProbedLlmServer]:
    """This module's LLM (also the one `setup_entry` uses): it counts health probes."""
    server = ProbedLlmServer()
    await server.start()
    yield server
    await server.close()


HEALTH_LOGGER = "custom_components.home_security_intelligence.service_health"


def health_lines(caplog: pytest.LogCaptureFixture, level: int, text: str) -> list[str]:
    """Messages of the service-health logger at `level` containing `text`."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == HEALTH_LOGGER and r.levelno == level and text in r.getMessage()
    ]


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move frozen time on in ten-second steps, letting timers, sleeps and I/O run.

    Interval jobs run as background tasks that `async_block_till_done` does not
    await, so each step also gives them a little real time to finish.
    """
    while seconds > 0:
        step = min(seconds, 10.0)
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
        await hass.async_add_executor_job(time.sleep, 0.03)
        await hass.async_block_till_done()
        seconds -= step


async def test_detector_outage_logs_once_each_way(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Several images failing during one outage log one warning, then one info when back."""
    entry = await setup_entry()
    detector.script = ["500"] * 6
    now = dt_util.now()
    for seed in range(3):
        await write_file(hass, camera_root / "porch" / foscam_name(now, seed), make_jpeg())

    async def all_done() -> bool:
        counts = await hass.async_add_executor_job(runtime_of(entry).db.image_counts)
        return counts.get("done") == 3

    await wait_for(hass, all_done, timeout=30)
    assert len(detector.requests) >= 9
    assert len(health_lines(caplog, logging.WARNING, "detector is unavailable")) == 1
    assert len(health_lines(caplog, logging.INFO, "detector is reachable again")) == 1
    assert "500" in health_lines(caplog, logging.WARNING, "unavailable")[0]


async def test_repair_issue_after_five_minutes_down(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    detector: DetectorServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A detector down for five minutes raises a repair issue; it goes when the detector is back."""
    entry = await setup_entry()
    issue_id = f"detector_unreachable_{entry.entry_id}"
    registry = ir.async_get(hass)
    detector.script = ["500"] * 1000
    await write_file(hass, camera_root / "porch" / foscam_name(dt_util.now()), make_jpeg())
    await wait_for(hass, lambda: not runtime_of(entry).health.up["detector"], freezer=freezer)

    retries = len(detector.requests)
    await advance(hass, freezer, 240)
    # The pipeline lived through those minutes: it retried the detector meanwhile.
    await wait_for(hass, lambda: len(detector.requests) > retries, freezer=freezer)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    await advance(hass, freezer, 70)
    issue = registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "detector_unreachable"
    placeholders = issue.translation_placeholders
    assert placeholders is not None
    assert placeholders["url"] == detector.url
    assert int(placeholders["minutes"]) >= 5
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable

    detector.script.clear()
    await advance(hass, freezer, 600)
    await wait_for(hass, lambda: runtime_of(entry).health.up["detector"], freezer=freezer)
    assert registry.async_get_issue(DOMAIN, issue_id) is None
    counts = await hass.async_add_executor_job(runtime_of(entry).db.image_counts)
    assert counts == {"done": 1}


async def test_llm_probe_reassesses_events_stored_while_down(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: ProbedLlmServer,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Events stored without a score get one once the probe finds the LLM back."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    entry = await setup_entry()
    runtime = runtime_of(entry)
    llm.down = True
    await drop_and_detect(hass, entry, camera_root, "porch", freezer=freezer)
    event = await close_batch(hass, entry, "porch", freezer=freezer)
    assert event.analysis_status == "prior_only"
    assert event.breakdown is not None
    assert event.risk_score == event.breakdown.prior_score
    assert not runtime.health.up["llm"]
    score = entity_id(hass, "sensor", entry, "porch_risk_score")
    assert state_of(hass, score).state == str(event.risk_score)
    risks = async_capture_events(hass, EVENT_RISK)

    probes = llm.health_checks
    await advance(hass, freezer, 61)
    # The probe asked and heard 503: only then is "still prior_only" a result.
    await wait_for(hass, lambda: llm.health_checks > probes, freezer=freezer)
    await hass.async_block_till_done()
    stored = await hass.async_add_executor_job(runtime.db.event, event.id)
    assert stored is not None
    assert stored.analysis_status == "prior_only"

    # Healthy again but the first completion fails: the probe stops and tries later.
    llm.down = False
    llm.script = ["500"]
    await advance(hass, freezer, 61)
    await wait_for(hass, lambda: not llm.script, freezer=freezer)
    stored = await hass.async_add_executor_job(runtime.db.event, event.id)
    assert stored is not None
    assert stored.analysis_status == "prior_only"
    assert not risks

    await advance(hass, freezer, 61)
    await wait_for(hass, lambda: risks, freezer=freezer)
    stored = await hass.async_add_executor_job(runtime.db.event, event.id)
    assert stored is not None
    assert (stored.analysis_status, stored.risk_score) == ("analyzed", 72)
    assert risks[0].data["event_id"] == event.id
    assert risks[0].data["analysis_status"] == "analyzed"
    assert runtime.health.up == {"detector": True, "llm": True, "store": True}
    assert state_of(hass, score).state == "72"
