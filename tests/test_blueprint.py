"""The alerts blueprint: installed on setup, loaded by HA's automation integration, driven by a real pipeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import importlib.util
from pathlib import Path
import sys
from types import ModuleType

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.home_security_intelligence.blueprint_install import (
    SHIPPED,
    install,
    stamped,
    unedited,
)
from custom_components.home_security_intelligence.const import DOMAIN, EVENT_DETECTION, EVENT_RISK
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from custom_components.home_security_intelligence.store.records import EventRecord
from homeassistant.components import persistent_notification
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict

from .conftest import EntryFactory, wait_for
from .contract_servers import LlmServer
from .helpers import close_batch, drop_and_detect, entity_id, llm_answer, runtime_of, state_of

pytestmark = pytest.mark.usefixtures("unload_entries")

REPO_BLUEPRINT = (
    Path(__file__).parent.parent
    / "blueprints"
    / "automation"
    / "home_security_intelligence"
    / "security_alerts.yaml"
)
BLUEPRINT_PATH = f"{DOMAIN}/security_alerts.yaml"
PHONE = "mobile_app_test_phone"

type Alerts = Callable[..., Awaitable[list[ServiceCall]]]


def installed_path(hass: HomeAssistant) -> Path:
    """Where setup installs the blueprint."""
    return Path(hass.config.path("blueprints", "automation", BLUEPRINT_PATH))


def add_phone(hass: HomeAssistant) -> str:
    """A companion-app phone device named "Test Phone"; returns its device id."""
    entry = MockConfigEntry(domain="mobile_app")
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={("mobile_app", "test-phone")},
        name="Test Phone",
    )
    return device.id


def camera_device(hass: HomeAssistant, entry: MockConfigEntry, camera: str) -> str:
    """Device registry id of a camera of the entry."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:{camera}"), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.fixture
def alerts(hass: HomeAssistant) -> Alerts:
    """Install the blueprint by setting up the integration, then an automation from it."""

    async def factory(
        *,
        phone: bool = True,
        notifiers: list[str] | None = None,
        cameras: list[str] | None = None,
        min_level: str = "medium",
    ) -> list[ServiceCall]:
        assert await async_setup_component(hass, DOMAIN, {})
        await hass.async_block_till_done()
        assert await hass.async_add_executor_job(installed_path(hass).is_file)
        calls: list[ServiceCall] = async_mock_service(hass, "notify", PHONE)
        assert await async_setup_component(
            hass,
            "automation",
            {
                "automation": {
                    "id": "hsi_alerts",
                    "alias": "Security alerts",
                    "use_blueprint": {
                        "path": BLUEPRINT_PATH,
                        "input": {
                            "cameras": cameras or [],
                            "phones": [add_phone(hass)] if phone else [],
                            "notifiers": notifiers or [],
                            "min_level": min_level,
                            "cooldown": 5,
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

    return factory


async def test_push_on_detection_then_update_then_withdraw(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    alerts: Alerts,
) -> None:
    """First detection pushes; the event updates the same tag; low withdraws; cooldown holds."""
    calls = await alerts()
    entry = await setup_entry()

    await drop_and_detect(hass, entry, camera_root, "front_door", freezer=freezer)
    await wait_for(hass, lambda: calls, freezer=freezer)
    first = calls[0].data
    assert first["title"] == "Front Door: person"
    assert first["message"] == "Detected person; assessing the risk…"
    assert first["data"]["tag"] == "hsi-front_door"
    assert first["data"]["image"].startswith(
        f"/api/home_security_intelligence/{entry.entry_id}/snapshot/"
    )
    assert "authSig=" in first["data"]["image"]
    assert first["data"]["push"]["interruption-level"] == "active"
    device_id = camera_device(hass, entry, "front_door")
    assert device_id
    # Before the event exists, only the snooze button can act.
    assert first["data"]["actions"] == [
        {"action": f"HSI_SNOOZE_{device_id}", "title": "Snooze camera 1 h"}
    ]

    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    await hass.async_block_till_done()
    assert len(calls) == 1

    llm.script = [llm_answer(72, "high", "A person lingered at the door.")]
    event = await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    update = calls[1].data
    assert update["data"]["tag"] == "hsi-front_door"
    assert update["title"] == "A person at Front Door · high risk (72)"
    assert update["message"] == "A person lingered at the door."
    assert update["data"]["push"]["interruption-level"] == "time-sensitive"
    assert update["data"]["image"].startswith(f"/api/home_security_intelligence/{entry.entry_id}/")
    assert update["data"]["actions"] == [
        {"action": f"HSI_ACK_{device_id}_{event.id}", "title": "Acknowledge"},
        {"action": f"HSI_FALSE_{device_id}_{event.id}", "title": "False alarm"},
        {"action": f"HSI_SNOOZE_{device_id}", "title": "Snooze camera 1 h"},
    ]

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
    alerts: Alerts,
) -> None:
    """A critical event pushes with the critical interruption level and a critical sound."""
    calls = await alerts(min_level="high")
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
    alerts: Alerts,
) -> None:
    """With minimum high, a medium event clears the first push instead of updating it."""
    calls = await alerts(min_level="high")
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "garage", freezer=freezer)
    llm.script = [llm_answer(45, "medium")]
    await close_batch(hass, entry, "garage", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    assert calls[1].data["message"] == "clear_notification"


async def test_a_rejected_llm_text_is_never_pushed(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    alerts: Alerts,
) -> None:
    """An LLM text that fails the checks stays out of the notification: the facts' text goes."""
    nonsense = "The risk is low, but the risk is high, and the risk is critical."
    calls = await alerts()
    entry = await setup_entry()
    await drop_and_detect(hass, entry, camera_root, "garage", freezer=freezer)
    llm.script = [llm_answer(72, "high", nonsense)]
    event = await close_batch(hass, entry, "garage", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 2, freezer=freezer)
    assert event.llm_summary == nonsense
    assert event.summary.startswith("A person seen by the Garage camera at ")
    assert calls[1].data["title"] == "A person at Garage · high risk (72)"
    assert calls[1].data["message"] == event.summary
    assert all(nonsense not in str(call.data) for call in calls)


async def test_facts_only_event_updates_like_an_assessed_one(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
    alerts: Alerts,
) -> None:
    """When the LLM is down, the prior's level updates or withdraws the first push."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    calls = await alerts()
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


async def test_buttons_call_the_integration_actions(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    alerts: Alerts,
) -> None:
    """Acknowledge and False alarm mark the event reviewed; Snooze turns alerts off for 1 h."""
    calls = await alerts()
    entry = await setup_entry()
    called = async_capture_events(hass, EVENT_CALL_SERVICE)
    db = runtime_of(entry).db
    events = []
    for seed in range(2):
        await drop_and_detect(hass, entry, camera_root, "front_door", seed=seed, freezer=freezer)
        llm.script = [llm_answer(72, "high", "A person at the door.")]
        events.append(await close_batch(hass, entry, "front_door", freezer=freezer))
        await wait_for(hass, lambda n=seed: len(calls) == n + 2, freezer=freezer)
    device_id = camera_device(hass, entry, "front_door")
    acknowledge = calls[1].data["data"]["actions"][0]["action"]
    false_alarm, snooze = (b["action"] for b in calls[2].data["data"]["actions"][1:])
    assert acknowledge == f"HSI_ACK_{device_id}_{events[0].id}"
    assert false_alarm == f"HSI_FALSE_{device_id}_{events[1].id}"

    async def reviewed(event_id: int) -> EventRecord | None:
        event = await hass.async_add_executor_job(db.event, event_id)
        return event if event is not None and event.reviewed else None

    # Another app's button does nothing.
    hass.bus.async_fire("mobile_app_notification_action", {"action": "OTHER_APP_ACK"})
    hass.bus.async_fire("mobile_app_notification_action", {"action": acknowledge})
    first = await wait_for(hass, lambda: reviewed(events[0].id))
    assert (first.note, first.verdict) == (None, None)
    assert await reviewed(events[1].id) is None
    hass.bus.async_fire("mobile_app_notification_action", {"action": false_alarm})
    second = await wait_for(hass, lambda: reviewed(events[1].id))
    assert (second.note, second.verdict) == (None, "false_alarm")
    acks = [c.data for c in called if c.data["service"] == "acknowledge"]
    assert [a["service_data"] for a in acks] == [
        {"event_ids": [events[0].id], "config_entry_id": entry.entry_id},
        {
            "event_ids": [events[1].id],
            "verdict": "false_alarm",
            "config_entry_id": entry.entry_id,
        },
    ]

    switch = entity_id(hass, "switch", entry, "front_door_alerts")
    assert state_of(hass, switch).state == "on"
    pressed = dt_util.utcnow()
    hass.bus.async_fire("mobile_app_notification_action", {"action": snooze})
    snoozes = await wait_for(
        hass, lambda: [c.data for c in called if c.data["service"] == "snooze"]
    )
    assert snoozes[0]["domain"] == DOMAIN
    assert snoozes[0]["service_data"] == {"device_id": device_id, "duration": {"hours": 1}}
    off = await wait_for(hass, lambda: (s := state_of(hass, switch)).state == "off" and s)
    until = dt_util.parse_datetime(off.attributes["snoozed_until"])
    assert until is not None
    assert timedelta(minutes=59) < until - pressed <= timedelta(hours=1, seconds=5)
    freezer.tick(until - dt_util.utcnow() + timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert state_of(hass, switch).state == "on"
    # Each button press made exactly one call (the other app's button none).
    assert [
        c.data["service"] for c in called if c.data["service"] in {"acknowledge", "snooze"}
    ] == [
        "acknowledge",
        "acknowledge",
        "snooze",
    ]


async def test_without_a_phone_a_persistent_notification_is_shown(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    alerts: Alerts,
) -> None:
    """No phone, no notifier: one persistent notification per camera, updated then dismissed."""
    assert await async_setup_component(hass, "persistent_notification", {})
    shown: dict[str, persistent_notification.Notification] = {}

    @callback
    def record(
        kind: persistent_notification.UpdateType,
        notifications: dict[str, persistent_notification.Notification],
    ) -> None:
        for notification_id, notification in notifications.items():
            if kind is persistent_notification.UpdateType.REMOVED:
                shown.pop(notification_id, None)
            else:
                shown[notification_id] = notification

    persistent_notification.async_register_callback(hass, record)
    calls = await alerts(phone=False)
    entry = await setup_entry()

    await drop_and_detect(hass, entry, camera_root, "front_door", freezer=freezer)
    notice = await wait_for(hass, lambda: shown.get("hsi-front_door"))
    assert notice["title"] == "Front Door: person"
    assert notice["message"].startswith("Detected person; assessing the risk…\n\n![snapshot](")
    assert f"/api/home_security_intelligence/{entry.entry_id}/snapshot/" in notice["message"]

    llm.script = [llm_answer(72, "high", "A person lingered at the door.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    notice = await wait_for(
        hass, lambda: (n := shown.get("hsi-front_door")) and "high" in n["title"] and n
    )
    assert notice["title"] == "A person at Front Door · high risk (72)"
    assert notice["message"].startswith("A person lingered at the door.\n\n![snapshot](")

    freezer.tick(timedelta(minutes=6))
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    llm.script = [llm_answer(10, "low", "Only the cat.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: "hsi-front_door" not in shown)
    assert calls == []


async def test_notifiers_cameras_and_snoozed_events(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    alerts: Alerts,
) -> None:
    """Only chosen cameras alert; notifiers get the assessed event; snoozed events withdraw."""
    entry = await setup_entry()
    for camera in ("front_door", "garage"):
        await drop_and_detect(hass, entry, camera_root, camera, freezer=freezer)
        await close_batch(hass, entry, camera, freezer=freezer)
    front_door = camera_device(hass, entry, "front_door")
    assert front_door
    sent = async_mock_service(hass, "notify", "send_message")
    calls = await alerts(cameras=[front_door], notifiers=["notify.family_chat"])
    detections = async_capture_events(hass, EVENT_DETECTION)
    risks = async_capture_events(hass, EVENT_RISK)

    freezer.tick(timedelta(minutes=6))
    await drop_and_detect(hass, entry, camera_root, "garage", seed=1, freezer=freezer)
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=1, freezer=freezer)
    await wait_for(hass, lambda: calls, freezer=freezer)
    assert [c.data["data"]["tag"] for c in calls] == ["hsi-front_door"]
    assert sent == []  # notifiers cannot be updated: they wait for the assessed event

    llm.script = [llm_answer(72, "high", "A person lingered at the door.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: sent, freezer=freezer)
    assert sent[0].data == {
        "entity_id": ["notify.family_chat"],
        "title": "A person at Front Door · high risk (72)",
        "message": "A person lingered at the door.",
    }
    assert len(calls) == 2

    # While snoozed (the Alerts switch is off), nothing pushes and a pending push is withdrawn.
    await hass.services.async_call(
        DOMAIN, "snooze", {"device_id": front_door, "duration": {"hours": 1}}, blocking=True
    )
    freezer.tick(timedelta(minutes=6))
    await drop_and_detect(hass, entry, camera_root, "front_door", seed=2, freezer=freezer)
    await hass.async_block_till_done()
    assert detections[-1].data["snoozed"] is True
    assert detections[-1].data["first_in_batch"] is True
    assert len(calls) == 2
    llm.script = [llm_answer(80, "high", "A person lingered at the door again.")]
    await close_batch(hass, entry, "front_door", freezer=freezer)
    await wait_for(hass, lambda: len(calls) == 3)
    assert risks[-1].data["snoozed"] is True
    assert calls[2].data == {"message": "clear_notification", "data": {"tag": "hsi-front_door"}}
    assert len(sent) == 1


async def test_installed_on_setup_and_an_edited_copy_is_kept(hass: HomeAssistant) -> None:
    """Setup installs the shipped blueprint; an edited copy survives the next setup."""
    target = installed_path(hass)
    edited = "# my own alerts\n"

    def prepare() -> None:
        target.parent.mkdir(parents=True)
        target.write_text(edited, encoding="utf-8")

    await hass.async_add_executor_job(prepare)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert await hass.async_add_executor_job(target.read_text) == edited


async def test_installed_on_setup_when_absent(hass: HomeAssistant) -> None:
    """The shipped blueprint lands in the config's blueprint folder and loads as one."""
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    target = installed_path(hass)
    text = await hass.async_add_executor_job(target.read_text)
    shipped = await hass.async_add_executor_job(SHIPPED.read_text)
    assert text == stamped(shipped)
    assert unedited(text)
    loaded = await hass.async_add_executor_job(load_yaml_dict, str(target))
    assert loaded["blueprint"]["domain"] == "automation"


def test_install_updates_an_unedited_older_copy(tmp_path: Path) -> None:
    """An older copy still as installed is replaced; editing one line makes it kept."""
    target = tmp_path / "security_alerts.yaml"
    assert install(target) == "installed"
    assert install(target) == "current"
    target.write_text(stamped("blueprint: {}\n"), encoding="utf-8")
    assert install(target) == "updated"
    assert target.read_text(encoding="utf-8") == stamped(SHIPPED.read_text(encoding="utf-8"))
    target.write_text(stamped("blueprint: {}\n") + "# edited\n", encoding="utf-8")
    assert install(target) == "kept"
    assert target.read_text(encoding="utf-8").endswith("# edited\n")
    assert not list(tmp_path.glob("*.part"))


def test_repository_copy_is_the_shipped_blueprint() -> None:
    """The blueprint linked from the README is the one the integration installs."""
    assert REPO_BLUEPRINT.read_bytes() == SHIPPED.read_bytes()


def demo_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """scripts/hsi_demo.py as a module, for the automation it creates."""
    spec = importlib.util.spec_from_file_location(
        "hsi_demo", Path(__file__).parent.parent / "scripts" / "hsi_demo.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look it up
    spec.loader.exec_module(module)
    return module


async def test_demo_automation_alerts_in_the_sidebar(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_ws_client: WebSocketGenerator,
    setup_entry: EntryFactory,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The demo's automation, saved through HA's automation editor API, shows a notification."""
    demo = demo_script(monkeypatch)

    def write_config() -> None:
        Path(hass.config.path("configuration.yaml")).write_text(
            "automation: !include automations.yaml\n", encoding="utf-8"
        )
        Path(hass.config.path("automations.yaml")).write_text("[]\n", encoding="utf-8")

    await hass.async_add_executor_job(write_config)
    for component in ("persistent_notification", "automation", "config"):
        assert await async_setup_component(hass, component, {})
    entry = await setup_entry()
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "blueprint/list", "domain": "automation"})
    listed = await ws.receive_json()
    assert demo.ALERTS_BLUEPRINT in listed["result"]

    client = await hass_client()
    response = await client.post(
        f"/api/config/automation/config/{demo.ALERTS_AUTOMATION_ID}", json=demo.ALERTS_AUTOMATION
    )
    assert response.status == 200, await response.text()
    await hass.async_block_till_done()
    automation = await wait_for(
        hass,
        lambda: next(
            (
                s
                for s in hass.states.async_all("automation")
                if s.attributes.get("id") == demo.ALERTS_AUTOMATION_ID
            ),
            None,
        ),
    )
    assert automation.state == "on"

    shown: dict[str, persistent_notification.Notification] = {}

    @callback
    def record(
        kind: persistent_notification.UpdateType,
        notifications: dict[str, persistent_notification.Notification],
    ) -> None:
        if kind is not persistent_notification.UpdateType.REMOVED:
            shown.update(notifications)

    persistent_notification.async_register_callback(hass, record)
    await drop_and_detect(hass, entry, camera_root, "street", freezer=freezer)
    notice = await wait_for(hass, lambda: shown.get("hsi-street"))
    assert notice["title"] == "Street: person"
