"""The labelled risk scenarios through the real integration in a real Home Assistant.

Not part of the test suite: `scripts/eval-risk` runs it with the LLM it started (or one
given by URL) and prints the figures. Each scenario gets a fresh HA, an entry made by
the config flow, the household's entities set to the scenario's state, its camera role
and context chosen in the options flow, a detection history that gives the scenario's
rarity, and `frames` uploads at the scenario's local time, on a date when the sun is
where the scenario says. Its batch is closed with `analyze_now`; the stored event's
breakdown is appended to HSI_EVAL_OUT as one JSON line.

Two modes (HSI_EVAL_MODE): `roles` (default) sets the household's entities in the options
flow and the camera's role in its roles step; `installed` is a new install: the entry
from the config flow and default options only (no person, guests or delivery entities,
no alarm panel chosen: the household's panel, when it has one, is in HA and the options
form fills it in as HA's only one; no role chosen), so the camera's role is whatever the
integration makes of its folder name. Both run HA's `zone` integration, as any real
install does. The camera folder is the scenario's `folder`, else its camera name in
snake case.

Environment: HSI_EVAL_LLM_URL (required), HSI_EVAL_LLM_API (llamacpp or openai),
HSI_EVAL_LLM_KEY, HSI_EVAL_LLM_MODEL, HSI_EVAL_BOUND (default 20), HSI_EVAL_QUICK=1 for
the quick subset, HSI_EVAL_OUT (a JSON-lines file), HSI_EVAL_SCENARIOS (a file),
HSI_EVAL_MODE (roles or installed).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from custom_components.home_security_intelligence.const import (
    CONF_ALARM_ENTITY,
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ROOT,
    CONF_DELIVERY_ENTITY,
    CONF_DETECTOR_URL,
    CONF_GUESTS_ENTITY,
    CONF_LLM_API,
    CONF_LLM_API_KEY,
    CONF_LLM_BOUND,
    CONF_LLM_MODEL,
    CONF_LLM_URL,
    CONF_PERSON_ENTITIES,
    CONF_RETENTION_DAYS,
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.llm_text_checks import check_llm_text
from custom_components.home_security_intelligence.pipeline.models import (
    ClosedBatch,
    Detection,
    RiskAssessment,
)
from custom_components.home_security_intelligence.pipeline.risk_prior import (
    RiskFacts,
    compute_prior,
    unusualness,
)
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import EventRecord, NewImage
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.sun import is_up
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from ..contract_servers import DetectorServer
from ..helpers import drop_and_detect, runtime_of, suggested, wait_for
from .scenario_facts import as_installed, folder, with_roles

# The test plugin logs every SQL statement; the evaluation's output has no use for them.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

SCENARIOS = Path(os.environ.get("HSI_EVAL_SCENARIOS", Path(__file__).with_name("scenarios.json")))
# Dates tried in turn until the sun is up or down as the scenario says (HA's location).
DATES = (date(2025, 12, 21), date(2026, 6, 21), date(2026, 3, 20), date(2026, 9, 22))
PEOPLE = tuple(f"person.resident_{n}" for n in range(1, 5))
ALARM = "alarm_control_panel.house"
GUESTS = "input_boolean.guests_expected"
DELIVERY = "input_boolean.delivery_expected"
HISTORY_DAYS = 27
TRUTH_CHECKS = ("unseen_object", "denies_seen", "other_level")
INSTALLED = os.environ.get("HSI_EVAL_MODE", "roles") == "installed"


def _scenarios() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(SCENARIOS.read_text(encoding="utf-8"))["scenarios"]
    if os.environ.get("HSI_EVAL_QUICK") == "1":
        found = [s for s in found if s.get("quick")]
    return found


@pytest.fixture
def llm_url(socket_enabled: None) -> str:
    """The LLM scripts/eval-risk started or was given."""
    url = os.environ.get("HSI_EVAL_LLM_URL")
    if not url:
        pytest.skip("HSI_EVAL_LLM_URL is not set (run scripts/eval-risk)")
    return url


def _start(hass: HomeAssistant, facts: RiskFacts) -> datetime:
    """The scenario's local start time, on the first date and quarter the sun agrees with.

    HA's test home is in San Diego: a summer sunrise at 05:41 needs 05:45 for "05:00, light",
    and "20:00, light" (a summer evening) needs the home further north, at London's latitude
    in the same time zone, where the sun sets after 21:00 in June.
    """
    for latitude in (hass.config.latitude, 51.5):
        hass.config.latitude = latitude
        for minute in (15, 45):
            for day in DATES:
                when = datetime.combine(
                    day, time(facts.local_hour, minute), dt_util.get_default_time_zone()
                )
                if is_up(hass, when) != facts.is_dark:
                    return when
    raise AssertionError(f"no date puts the sun {'down' if facts.is_dark else 'up'} then")


def _history(target: float | None, hour: int) -> tuple[int, int]:
    """Detections at `hour` and twelve hours away that give a rarity nearest `target`."""
    if target is None:
        return 0, 0
    best = (9.0, 0, 30)
    for away in range(30, 400, 10):
        for at_hour in range(200):
            counts = [0] * 24
            counts[hour], counts[(hour + 12) % 24] = at_hour, away
            error = abs((unusualness(counts, hour) or 0.0) - target)
            if error < best[0] - 1e-9:
                best = (error, at_hour, away)
    return best[1], best[2]


def _seed_history(
    db: Database, camera: str, folder: Path, start: datetime, facts: RiskFacts
) -> None:
    """Store past detections (as one analysed event) so the camera has its rarity baseline."""
    at_hour, away = _history(facts.unusual, start.hour)
    hour = start.replace(minute=0)
    times = [
        hour - timedelta(days=1 + n % HISTORY_DAYS) + timedelta(minutes=n % 50)
        for n in range(at_hour)
    ] + [
        hour - timedelta(days=1 + n % HISTORY_DAYS, hours=12) + timedelta(minutes=n % 50)
        for n in range(away)
    ]
    if not times:
        return
    now = dt_util.utcnow()
    images = [
        NewImage(camera, str(folder / f"history_{n}.jpg"), 1, 0.0, when)
        for n, when in enumerate(times)
    ]
    ids: list[int] = []
    for job, when in zip(db.record_images(images, now), times, strict=True):
        ids += db.store_detections(job, [Detection("person", 0.9, (1, 1, 2, 2))], when, now)
    db.assign_batch(ids, f"history-{camera}")
    batch = ClosedBatch(f"history-{camera}", camera, tuple(ids), min(times), max(times))
    db.store_event(batch, RiskAssessment(10, "low", "history", "seeded"), "analyzed", now)


def _set_household(hass: HomeAssistant, facts: RiskFacts) -> dict[str, Any]:
    """Set the household's entities; return the options that point at the known ones."""
    options: dict[str, Any] = {}
    if facts.people_home is not None:
        for n, person in enumerate(PEOPLE):
            hass.states.async_set(person, "home" if n < facts.people_home else "not_home")
        options[CONF_PERSON_ENTITIES] = list(PEOPLE)
    if facts.alarm_state is not None:
        hass.states.async_set(ALARM, facts.alarm_state)
        if not INSTALLED:  # installed: the options form fills in HA's only panel itself
            options[CONF_ALARM_ENTITY] = ALARM
    for flag, entity, key in (
        (facts.guests_expected, GUESTS, CONF_GUESTS_ENTITY),
        (facts.delivery_expected, DELIVERY, CONF_DELIVERY_ENTITY),
    ):
        if flag is not None:
            hass.states.async_set(entity, "on" if flag else "off")
            options[key] = entity
    return options


async def _options_flow(
    hass: HomeAssistant, entry_id: str, tuning: dict[str, Any], role: str | None = None
) -> None:
    """Submit the options form, then each step after it as a new user would.

    The form's shown values (HA's only alarm panel among them) with `tuning` over them, as
    the frontend sends it; no camera entities, the camera's role (`role`, else the one its
    name suggests), no zones.
    """
    result = await hass.config_entries.options.async_init(entry_id)
    assert result["step_id"] == "init"
    shown = {key: value for key, value in suggested(result).items() if value is not None}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**shown, **tuning}
    )
    while result["type"] is FlowResultType.FORM:
        step, schema = result["step_id"], result["data_schema"].schema
        if step == "camera_entities":
            answer: dict[str, Any] = {"snapshot_interval_seconds": 2, "snapshots_per_trigger": 10}
        elif step == "cameras":
            answer = {str(key): role if role is not None else key.default() for key in schema}
        elif step == "zone_camera":
            answer = {}
        else:
            raise AssertionError(result)
        result = await hass.config_entries.options.async_configure(result["flow_id"], answer)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s["id"])
async def test_scenario(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm_url: str,
    unload_entries: None,
    scenario: dict[str, Any],
) -> None:
    """One scenario, end to end; its figures go to HSI_EVAL_OUT."""
    camera = folder(scenario)
    facts = as_installed(scenario) if INSTALLED else with_roles(scenario)
    start = _start(hass, facts)
    assert await async_setup_component(hass, "zone", {})
    context = _set_household(hass, facts)

    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_CAMERA_ROOT: str(camera_root),
            CONF_DETECTOR_URL: detector.url,
            CONF_LLM_URL: llm_url,
            CONF_LLM_API: os.environ.get("HSI_EVAL_LLM_API") or "llamacpp",
            **{
                key: value
                for key, variable in ((CONF_LLM_API_KEY, "KEY"), (CONF_LLM_MODEL, "MODEL"))
                if (value := os.environ.get(f"HSI_EVAL_LLM_{variable}"))
            },
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = hass.config_entries.async_get_entry(result["result"].entry_id)
    assert entry is not None
    await hass.async_block_till_done()
    runtime = runtime_of(entry)  # type: ignore[arg-type]
    await hass.async_add_executor_job(
        _seed_history, runtime.db, camera, camera_root / camera, start, facts
    )

    tuning = {
        **DEFAULT_OPTIONS,
        CONF_UPLOAD_SETTLE: 0.2,
        CONF_BATCH_WINDOW: 3600,  # the batch closes when analyze_now says so
        CONF_BATCH_IDLE: 3600,
        CONF_RETENTION_DAYS: 0,  # the scenarios' dates lie in the past
        CONF_LLM_BOUND: int(os.environ.get("HSI_EVAL_BOUND", "20")),
        **context,
    }
    await _options_flow(hass, entry.entry_id, tuning)  # no camera yet: the form alone

    detector.objects = [(name, 0.9) for name, n in facts.objects.items() for _ in range(n)]
    step = facts.duration_s / (facts.frames - 1) if facts.frames > 1 else 0.0
    for frame in range(facts.frames):
        when = start + timedelta(seconds=round(frame * step))
        await drop_and_detect(hass, entry, camera_root, camera, when, seed=frame)  # type: ignore[arg-type]

    if not INSTALLED:
        await _options_flow(hass, entry.entry_id, tuning, facts.camera_role)

    previous = runtime.cameras[camera].latest_event
    await hass.services.async_call(
        DOMAIN, "analyze_now", {"camera": camera, "config_entry_id": entry.entry_id}, blocking=True
    )
    event = await wait_for(
        hass,
        lambda: (
            (latest := runtime.cameras[camera].latest_event) is not None
            and latest != previous
            and latest
        ),
        timeout=300,
    )
    breakdown = event.breakdown
    assert breakdown is not None
    expected_prior = compute_prior(facts).score
    row = {
        "id": scenario["id"],
        "mode": "installed" if INSTALLED else "roles",
        "expect": scenario["expect"],
        "holdout": bool(scenario.get("holdout")),
        "prior": breakdown.prior_score,
        "prior_from_facts": expected_prior,
        "llm": breakdown.llm_score,
        "belief": breakdown.llm_belief,
        "adjustment": breakdown.llm_adjustment,
        "final": event.risk_score,
        "status": event.analysis_status,
        "factors": [detail for _, _, detail in breakdown.factors],
        "title": event.title,
        "summary": event.summary,
        "llm_summary": event.llm_summary,
        "text_source": breakdown.text_source,
        "text_faults": _text_faults(event, runtime.cameras.display_name(camera)),
    }
    if out := os.environ.get("HSI_EVAL_OUT"):
        line = json.dumps(row) + "\n"
        await hass.async_add_executor_job(_append, Path(out), line)


def _text_faults(event: EventRecord, camera_name: str) -> list[str]:
    """What the pushed title and summary claim against the facts (check_llm_text's truth checks).

    The camera's name is the user's, not a claim: it is left out of the check.
    """
    text = f"{event.title}. {event.summary}".replace(camera_name, "")
    verdict = check_llm_text(text, event.objects, event.risk_level or "low")
    return [reason for reason in verdict.reasons if reason in TRUTH_CHECKS]


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(line)
