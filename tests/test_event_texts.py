"""What an event says, end to end: titles and summaries from the facts, the LLM's text gated."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
import io
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_RISK
from custom_components.home_security_intelligence.logbook import describe_risk
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from custom_components.home_security_intelligence.store.records import EventRecord
from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.template import Template
from homeassistant.util import dt as dt_util
from homeassistant.util.yaml import load_yaml_dict

from .conftest import EntryFactory
from .contract_servers import LlmServer
from .helpers import close_batch, drop_and_detect, entity_id, llm_answer, runtime_of, state_of

pytestmark = pytest.mark.usefixtures("unload_entries")

DASHBOARD = Path(__file__).parents[1] / "examples" / "dashboard.yaml"

TITLE = "A person at Front Door"
FACTS = "A person seen by the Front Door camera at 02:15, for 30 s. It was dark."
HOME = " One of the household was home."
NONSENSE = "The risk is low, but the risk is high, and the risk is critical."
GOOD = "A person lingered at the front door."


def _night() -> datetime:
    return datetime(2026, 11, 24, 2, 15, tzinfo=dt_util.get_default_time_zone())


@pytest.fixture(autouse=True)
def _fast_retries_and_someone_home(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    hass.states.async_set("person.ann", "home")


async def night_visit(
    hass: HomeAssistant,
    entry: Any,
    camera_root: Path,
    freezer: FrozenDateTimeFactory,
) -> EventRecord:
    """A person at the front door at 02:15 local, in two frames 30 s apart."""
    for seed, after in ((0, 0), (1, 30)):
        when = _night() + timedelta(seconds=after)
        await drop_and_detect(hass, entry, camera_root, "front_door", when, seed, freezer)
    return await close_batch(hass, entry, "front_door", freezer)


async def dashboard_card(hass: HomeAssistant) -> str:
    """The example dashboard's latest-event card, rendered by HA's template engine."""
    config = await hass.async_add_executor_job(load_yaml_dict, str(DASHBOARD))
    (card,) = [
        card
        for view in config["views"]
        for card in view["cards"]
        if card.get("title") == "Latest event"
    ]
    return str(Template(card["content"], hass).async_render(parse_result=False))


def surfaces(hass: HomeAssistant, entry: Any, bus_event: Any) -> dict[str, tuple[Any, Any]]:
    """The title and summary each surface shows, and the logbook line."""
    level = state_of(hass, entity_id(hass, "sensor", entry, "front_door_risk_level"))
    fired = state_of(hass, entity_id(hass, "event", entry, "front_door_risk_event"))
    return {
        "bus": (bus_event.data["title"], bus_event.data["summary"]),
        "sensor": (level.attributes["title"], level.attributes["summary"]),
        "event": (fired.attributes["title"], fired.attributes["summary"]),
        "logbook": (describe_risk(bus_event)[LOGBOOK_ENTRY_MESSAGE], None),
    }


async def test_prior_only_event_says_the_facts(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without the LLM, every surface shows the title and summary composed from the facts."""
    entry = await setup_entry(person_entities=["person.ann"])
    risks = async_capture_events(hass, EVENT_RISK)
    llm.down = True
    event = await night_visit(hass, entry, camera_root, freezer)

    assert event.analysis_status == "prior_only"
    assert (event.title, event.summary, event.llm_summary) == (TITLE, FACTS + HOME, "")
    assert event.breakdown is not None
    assert event.breakdown.as_dict(event.risk_score)["text_source"] == "facts"
    shown = surfaces(hass, entry, risks[-1])
    assert shown.pop("logbook") == (
        f"{event.risk_level} risk ({event.risk_score}): {TITLE} — {FACTS + HOME}",
        None,
    )
    assert set(shown.values()) == {(TITLE, FACTS + HOME)}
    assert risks[-1].data["breakdown"]["text_source"] == "facts"


@pytest.mark.parametrize(
    ("llm_text", "pushed", "source"),
    [(NONSENSE, FACTS + HOME, "facts"), (GOOD, GOOD, "llm")],
    ids=["rejected", "accepted"],
)
async def test_the_llm_summary_is_pushed_only_when_it_passes(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    llm_text: str,
    pushed: str,
    source: str,
) -> None:
    """A failing LLM text is kept as llm_summary and reaches no surface; a good one is pushed."""
    entry = await setup_entry(person_entities=["person.ann"])
    risks = async_capture_events(hass, EVENT_RISK)
    llm.script = [llm_answer(72, "high", llm_text)]
    event = await night_visit(hass, entry, camera_root, freezer)

    assert (event.analysis_status, event.risk_level) == ("analyzed", "high")
    assert (event.title, event.summary, event.llm_summary) == (TITLE, pushed, llm_text)
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert (stored.title, stored.summary, stored.llm_summary) == (TITLE, pushed, llm_text)
    assert stored.breakdown is not None and stored.breakdown.text_source == source
    data = risks[-1].data
    assert (data["breakdown"]["text_source"], data["llm_summary"]) == (source, llm_text)
    shown = surfaces(hass, entry, risks[-1])
    assert shown.pop("logbook") == (f"high risk (72): {TITLE} — {pushed}", None)
    assert set(shown.values()) == {(TITLE, pushed)}
    card = await dashboard_card(hass)
    assert f"**{TITLE}** · high risk (72)" in card
    assert pushed in card
    assert NONSENSE not in card
    listed = await hass.services.async_call(
        DOMAIN, "get_events", {}, blocking=True, return_response=True
    )
    assert listed is not None
    found: Any = listed["events"]
    assert (found[0]["title"], found[0]["summary"]) == (TITLE, pushed)


@pytest.mark.parametrize("send_snapshots", [True, False])
async def test_the_key_frame_goes_to_the_llm_only_when_snapshots_are_on(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    send_snapshots: bool,
) -> None:
    """With send_snapshots on, every attempt carries the plain upload; off, text only."""
    llm.vision = True
    entry = await setup_entry(send_snapshots=send_snapshots)
    llm.script = ["500"]  # the retry carries the picture too
    event = await night_visit(hass, entry, camera_root, freezer)

    assert event.analysis_status == "analyzed"
    prompts = [body["prompt"] for body in llm.prompts]
    assert len(prompts) == 2
    if not send_snapshots:
        assert all(isinstance(prompt, str) for prompt in prompts)
        return
    for prompt in prompts:
        (frame,) = prompt["multimodal_data"]
        with Image.open(io.BytesIO(base64.b64decode(frame))) as image:
            assert (image.format, image.size) == ("JPEG", (640, 480))
        assert prompt["prompt_string"].count(llm.marker) == 1


async def test_reanalysis_recomputes_the_texts(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Re-assessing checks the new LLM text against the new level; the facts leave out the
    household (its state then is not known later)."""
    entry = await setup_entry(person_entities=["person.ann"])
    llm.down = True
    event = await night_visit(hass, entry, camera_root, freezer)
    assert event.summary == FACTS + HOME
    llm.down = False

    async def reanalyze(answer: str) -> dict[str, Any]:
        llm.content = answer
        response: Any = await hass.services.async_call(
            DOMAIN, "reanalyze", {"event_id": event.id}, blocking=True, return_response=True
        )
        return response

    good = await reanalyze(llm_answer(72, "high", GOOD))
    assert (good["title"], good["summary"], good["llm_summary"]) == (TITLE, GOOD, GOOD)
    assert good["breakdown"]["text_source"] == "llm"

    # "low risk" disagrees with the level it now gets (high, from the unchanged prior + LLM).
    bad = await reanalyze(llm_answer(80, "high", "A person at the door; low risk."))
    assert bad["risk_level"] == "high"
    assert (bad["title"], bad["summary"]) == (TITLE, FACTS)
    assert bad["llm_summary"] == "A person at the door; low risk."
    assert bad["breakdown"]["text_source"] == "facts"
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None
    assert (stored.summary, stored.llm_summary) == (FACTS, "A person at the door; low risk.")
