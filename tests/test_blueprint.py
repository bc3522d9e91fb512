"""The alerts blueprint, loaded by HA's blueprint integration, driven by a real pipeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed, async_mock_service

from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component

from .conftest import EntryFactory, wait_for
from .contract_servers import LlmServer
from .helpers import close_batch, drop_and_detect, llm_answer

pytestmark = pytest.mark.usefixtures("unload_entries")

BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "home_security_intelligence"
    / "security_alerts.yaml"
)
PHONE = "mobile_app_test_phone"


async def install_blueprint(hass: HomeAssistant, min_level: str = "medium") -> list[ServiceCall]:
    """Copy the blueprint into the config, set up an automation from it, capture the phone."""
    target = Path(hass.config.path("blueprints/automation/home_security_intelligence"))

    def copy() -> None:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(BLUEPRINT, target / BLUEPRINT.name)

    await hass.async_add_executor_job(copy)
    calls: list[ServiceCall] = async_mock_service(hass, "notify", PHONE)
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "id": "hsi_alerts",
                "alias": "Security alerts",
                "use_blueprint": {
                    "path": "home_security_intelligence/security_alerts.yaml",
                    "input": {
                        "cameras": [],
                        "min_level": min_level,
                        "cooldown": 5,
                        "notify_actions": [f"notify.{PHONE}"],
                    },
                },
            }
        },
    )
    await hass.async_block_till_done()
    state = hass.states.get("automation.security_alerts")
    assert state is not None
    assert state.state == "on"
    return calls


async def test_push_on_detection_then_update_then_withdraw(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """First detection pushes; the event updates the same tag; low withdraws; cooldown holds."""
    calls = await install_blueprint(hass)
    entry = await setup_entry()

    await drop_and_detect(hass, entry, camera_root, "front_door", freezer=freezer)
    await wait_for(hass, lambda: calls, freezer=freezer)
    first = calls[0].data
    assert first["title"] == "Front Door: person"
    assert first["data"]["tag"] == "hsi-front_door"
    assert first["data"]["image"].startswith(
        f"/api/home_security_intelligence/{entry.entry_id}/snapshot/"
    )
    assert "authSig=" in first["data"]["image"]
    assert first["data"]["push"]["interruption-level"] == "active"

    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    await hass.async_block_till_done()
    assert len(calls) == 1

    llm.script = [llm_answer(72, "high", "A person lingered at the door.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    update = calls[1].data
    assert update["data"]["tag"] == "hsi-front_door"
    assert update["title"] == "Front Door: high risk (72)"
    assert update["message"] == "A person lingered at the door."
    assert update["data"]["push"]["interruption-level"] == "time-sensitive"
    assert update["data"]["image"].startswith(f"/api/home_security_intelligence/{entry.entry_id}/")

    # The next batch starts within the 5-minute cooldown: no new push.
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=2, freezer=freezer)
    await hass.async_block_till_done()
    assert len(calls) == 2
    llm.script = [llm_answer(10, "low", "Only the cat.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 3, freezer=freezer)
    assert calls[2].data == {"message": "clear_notification", "data": {"tag": "hsi-front_door"}}

    freezer.tick(timedelta(minutes=6))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=3, freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 4, freezer=freezer)
    assert calls[3].data["title"] == "Front Door: person"
    assert calls[3].data["data"]["tag"] == "hsi-front_door"


async def test_critical_event_maps_to_critical_interruption(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A critical event pushes with the critical interruption level and a critical sound."""
    calls = await install_blueprint(hass, min_level="high")
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "garage", freezer=freezer)
    llm.script = [llm_answer(95, "critical", "Someone forced the garage door.")]
    await close_batch(hass, entry, "garage", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    push = calls[1].data["data"]["push"]
    assert push["interruption-level"] == "critical"
    assert push["sound"] == {"name": "default", "critical": 1, "volume": 1.0}


async def test_medium_event_below_high_minimum_withdraws(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """With minimum high, a medium event clears the first push instead of updating it."""
    calls = await install_blueprint(hass, min_level="high")
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "garage", freezer=freezer)
    llm.script = [llm_answer(45, "medium")]
    await close_batch(hass, entry, "garage", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    assert calls[1].data["message"] == "clear_notification"


async def test_facts_only_event_updates_like_an_assessed_one(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When the LLM is down, the prior's level updates or withdraws the first push."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    calls = await install_blueprint(hass)
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "garage", freezer=freezer)
    await wait_for(hass, lambda: calls, freezer=freezer)
    llm.down = True
    event = await close_batch(hass, entry, "garage", freezer=freezer)
    assert event.analysis_status == "prior_only"
    await hass.async_block_till_done()
    messages = [c.data.get("message") for c in calls]
    assert messages[0] == "Detected person; assessing the risk…"
    # The facts-only level decides as an LLM level would: below medium withdraws the push.
    expected = "clear_notification" if event.risk_level == "low" else event.summary
    assert messages[1:] == [expected]
