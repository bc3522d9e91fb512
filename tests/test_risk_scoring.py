"""Risk scores through the real integration: prior from facts and HA context, bounded LLM."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from custom_components.home_security_intelligence.pipeline.level_belief import (
    Belief,
    Habit,
    adjustment,
    calibrate,
    measure_habit,
)
from custom_components.home_security_intelligence.risk_levels import level_for_score
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory
from .contract_servers import LlmServer
from .helpers import entity_id, llm_answer, state_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")


def _night() -> datetime:
    return datetime(2026, 11, 24, 2, 15, tzinfo=dt_util.get_default_time_zone())


async def test_household_context_moves_the_prior(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Armed away with nobody home scores far above disarmed with guests expected."""
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    hass.states.async_set("person.ann", "not_home")
    hass.states.async_set("input_boolean.guests", "off")
    entry = await setup_entry(
        llm_bound=0,
        camera_roles={"front_door": "entry_point", "street": "street"},
        alarm_entity="alarm_control_panel.house",
        person_entities=["person.ann"],
        guests_entity="input_boolean.guests",
    )
    away = await stored_event(hass, entry, camera_root, "front_door", _night(), freezer=freezer)
    assert away.breakdown is not None
    names = {name for name, _, _ in away.breakdown.factors}
    assert {"alarm", "people_home"} <= names
    assert away.risk_score == away.breakdown.prior_score  # bound 0: the LLM cannot move it

    hass.states.async_set("alarm_control_panel.house", "disarmed")
    hass.states.async_set("person.ann", "home")
    hass.states.async_set("input_boolean.guests", "on")
    calm = await stored_event(
        hass, entry, camera_root, "front_door", _night(), seed=1, freezer=freezer
    )
    assert calm.breakdown is not None
    assert calm.risk_score is not None and away.risk_score is not None
    assert away.risk_score - calm.risk_score >= 30
    assert any("guests" in detail for _, _, detail in calm.breakdown.factors)

    street = await stored_event(hass, entry, camera_root, "street", _night(), freezer=freezer)
    assert street.risk_score is not None
    assert street.risk_score < calm.risk_score + 30
    assert any("street" in detail for _, _, detail in street.breakdown.factors)  # type: ignore[union-attr]

    level = entity_id(hass, "sensor", entry, "front_door_risk_level")
    attrs = state_of(hass, level).attributes
    assert attrs["prior_score"] == calm.breakdown.prior_score
    assert 0 < len(attrs["top_factors"]) <= 3


@pytest.mark.parametrize(("bound", "llm_score"), [(20, 0), (20, 100), (5, 100), (0, 100)])
async def test_the_llm_moves_the_prior_by_at_most_the_bound(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    bound: int,
    llm_score: int,
) -> None:
    """Without token probabilities the prior moves toward the LLM's score, at most the bound."""
    llm.content = llm_answer(llm_score, "critical" if llm_score else "low")
    entry = await setup_entry(llm_bound=bound, camera_roles={"porch": "entry_point"})
    event = await stored_event(hass, entry, camera_root, "porch", _night(), freezer=freezer)
    breakdown = event.breakdown
    assert breakdown is not None
    assert breakdown.llm_score == llm_score
    expected = max(
        0,
        min(
            100, breakdown.prior_score + max(-bound, min(bound, llm_score - breakdown.prior_score))
        ),
    )
    assert event.risk_score == expected
    assert breakdown.llm_adjustment == expected - breakdown.prior_score
    assert abs(breakdown.llm_adjustment) <= bound
    assert event.risk_level == level_for_score(expected)
    assert event.analysis_status == "analyzed"


def _steady(mean: Belief) -> Habit:
    habit = measure_habit([mean])
    assert habit is not None
    return habit


HABIT = {"low": 0.45, "medium": 0.07, "high": 0.35, "critical": 0.13}


async def test_an_answer_given_out_of_habit_moves_nothing(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A tiny model that says "low, 2" to everything (its probabilities equal its habit)."""
    llm.content = llm_answer(2, "low")
    llm.levels = llm.bias = HABIT
    entry = await setup_entry(llm_bound=20, camera_roles={"porch": "entry_point"})
    event = await stored_event(hass, entry, camera_root, "porch", _night(), freezer=freezer)
    breakdown = event.breakdown
    assert breakdown is not None and breakdown.llm_belief is not None
    assert breakdown.llm_score == 2
    assert breakdown.llm_belief == pytest.approx((0.25, 0.25, 0.25, 0.25))
    assert (breakdown.llm_adjustment, event.risk_score) == (0, breakdown.prior_score)
    assert event.analysis_status == "analyzed"
    shown = breakdown.as_dict(event.risk_score)
    assert shown["llm_belief"] == {"low": 0.25, "medium": 0.25, "high": 0.25, "critical": 0.25}
    assert shown["source"] == "prior+llm"


@pytest.mark.parametrize("bound", [20, 5])
async def test_a_convinced_model_moves_the_prior_within_the_bound(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    bound: int,
) -> None:
    """Probabilities far from the model's habit move the score toward them, at most the bound."""
    llm.content = llm_answer(2, "low")  # the sampled answer does not decide the direction
    llm.levels = {"low": 0.1, "medium": 0.05, "high": 0.25, "critical": 0.6}
    llm.bias = HABIT
    entry = await setup_entry(llm_bound=bound, camera_roles={"porch": "entry_point"})
    event = await stored_event(hass, entry, camera_root, "porch", _night(), freezer=freezer)
    breakdown = event.breakdown
    assert breakdown is not None
    belief = calibrate((0.1, 0.05, 0.25, 0.6), _steady((0.45, 0.07, 0.35, 0.13)))
    assert breakdown.llm_belief == pytest.approx(belief, abs=1e-9)
    step = adjustment(breakdown.prior_score, belief, bound)
    assert 0 < step <= bound
    assert (breakdown.llm_adjustment, event.risk_score) == (step, breakdown.prior_score + step)
    assert event.risk_level == level_for_score(event.risk_score)


async def test_llm_failure_leaves_the_prior_standing(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No LLM answer (down, then nonsense): the prior stands as `prior_only`, never a made-up value."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    entry = await setup_entry(camera_roles={"gate": "entry_point"})
    llm.down = True
    down = await stored_event(hass, entry, camera_root, "gate", _night(), freezer=freezer)
    llm.down = False
    llm.script = ["no json here", '{"risk_score": "high"}']
    nonsense = await stored_event(
        hass, entry, camera_root, "gate", _night(), seed=1, freezer=freezer
    )
    for event in (down, nonsense):
        assert event.analysis_status == "prior_only"
        assert event.breakdown is not None
        assert event.breakdown.llm_score is None
        assert event.risk_score == event.breakdown.prior_score
        assert event.risk_level == level_for_score(event.breakdown.prior_score)
        assert event.breakdown.as_dict(event.risk_score)["source"] == "prior"
