"""Titles and summaries from facts only, and the checks on the LLM's text."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
import json
from pathlib import Path
import string
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.home_security_intelligence.alert_text import (
    ALARM_STATES,
    NOUNS,
    TEXT_FACTS,
    TEXT_LLM,
    AlertText,
    async_event_text,
    async_load_templates,
    choose_text,
    compose,
)
from custom_components.home_security_intelligence.llm_text_checks import check_llm_text
from custom_components.home_security_intelligence.pipeline.risk_prior import RiskFacts
from homeassistant.core import HomeAssistant

EN = Path(__file__).parents[1] / "custom_components/home_security_intelligence/translations/en.json"
TEMPLATES: dict[str, str] = json.loads(EN.read_text())["common"]
AT_0215 = datetime(2026, 11, 29, 2, 15, 40, tzinfo=ZoneInfo("Europe/Berlin"))

FACTS = RiskFacts(
    camera_role="entry_point",
    objects={"person": 1},
    frames=1,
    duration_s=0.0,
    is_dark=False,
    local_hour=2,
    unusual=None,
    people_home=None,
    alarm_state=None,
    guests_expected=None,
    delivery_expected=None,
)


def text(camera: str = "Front door", **changes: Any) -> AlertText:
    return compose(replace(FACTS, **changes), camera, AT_0215, TEMPLATES)


# Composed from facts


@pytest.mark.parametrize(
    ("objects", "title"),
    [
        ({"person": 1}, "A person at Front door"),
        ({"person": 2}, "2 people at Front door"),
        ({"person": 2, "car": 1}, "2 people and a car at Front door"),
        ({"car": 1, "person": 1, "dog": 3}, "A person, a car and 3 dogs at Front door"),
        ({"truck": 2, "bicycle": 1}, "2 trucks and a bicycle at Front door"),
        ({"pedestrian": 1, "motorbike": 1}, "A person and a motorcycle at Front door"),
        ({"backpack": 1}, "Backpack at Front door"),
        ({"umbrella": 2}, "Umbrella (2) at Front door"),
        ({"person": 0, "cat": 1}, "A cat at Front door"),
        ({}, "Activity at Front door"),
    ],
)
def test_title_counts_and_plurals(objects: dict[str, int], title: str) -> None:
    """What was seen, how many, one vs many, people before vehicles before animals."""
    assert text(objects=objects).title == title


def test_summary_of_a_single_frame() -> None:
    """One frame: no duration; unknown presence, alarm and daylight are not mentioned."""
    assert text().summary == "A person seen by the Front door camera at 02:15."


@pytest.mark.parametrize(
    ("duration", "said"),
    [(0.4, None), (1.0, "1 s"), (42.4, "42 s"), (60.0, "1 min"), (100.0, "1 min 40 s")],
)
def test_summary_says_how_long(duration: float, said: str | None) -> None:
    """The duration from the first to the last detection, in seconds and minutes."""
    summary = text(duration_s=duration).summary
    if said is None:
        assert summary == "A person seen by the Front door camera at 02:15."
    else:
        assert summary == f"A person seen by the Front door camera at 02:15, for {said}."


def test_darkness_only_when_dark() -> None:
    """'It was dark' is said when the sun was down at capture, never in daylight."""
    assert "dark" in text(is_dark=True).summary
    assert "dark" not in text(is_dark=False).summary


@pytest.mark.parametrize(
    ("people_home", "said"),
    [(None, None), (0, "Nobody was home."), (1, "One of the household was home."),
     (3, "3 of the household were home.")],
)  # fmt: skip
def test_presence_only_when_known(people_home: int | None, said: str | None) -> None:
    """Unknown presence is not mentioned; known presence is, with its plural."""
    summary = text(people_home=people_home).summary
    if said is None:
        assert "home" not in summary.lower()
    else:
        assert summary.endswith(said)


def test_everything_known_in_order() -> None:
    """Seen, dark, presence, alarm, guests and delivery, each as a sentence."""
    result = text(
        "Driveway",
        objects={"person": 2, "car": 1},
        duration_s=75,
        is_dark=True,
        people_home=0,
        alarm_state="armed_away",
        guests_expected=True,
        delivery_expected=True,
    )
    assert result == AlertText(
        "2 people and a car at Driveway",
        "2 people and a car seen by the Driveway camera at 02:15, for 1 min 15 s. It was dark. "
        "Nobody was home. The alarm was armed (away). Guests were expected. "
        "A delivery was expected.",
    )


@pytest.mark.parametrize("objects", [{"car": 1}, {"person": 2, "car": 1}, {"dog": 1}, {"box": 2}])
@pytest.mark.parametrize("people_home", [0, 1, 2])
@pytest.mark.parametrize("alarm_state", ALARM_STATES)
def test_fact_texts_claim_nothing_but_the_facts(
    objects: dict[str, int], people_home: int, alarm_state: str
) -> None:
    """Whatever else is known, a fact text names only what was seen and states no level."""
    result = text(
        "Driveway",
        objects=objects,
        duration_s=75,
        is_dark=True,
        people_home=people_home,
        alarm_state=alarm_state,
        guests_expected=True,
        delivery_expected=True,
    )
    for level in ("low", "medium", "high", "critical"):
        verdict = check_llm_text(f"{result.title}. {result.summary}", list(objects), level)
        assert not {"unseen_object", "denies_seen", "other_level"} & set(verdict.reasons)


@pytest.mark.parametrize("state", ["unknown", "unavailable", "on", None])
def test_unknown_alarm_state_is_not_mentioned(state: str | None) -> None:
    """Only real alarm panel states are told."""
    assert "alarm" not in text(alarm_state=state).summary


def test_camera_name_is_one_short_line() -> None:
    """Control characters and runs of spaces in a camera name do not reach the text."""
    result = text("Front\n\x1b[31m  door" + "x" * 100)
    assert "\n" not in result.title and "\x1b" not in result.title
    assert result.title.startswith("A person at Front [31m door")
    assert len(result.title) <= len("A person at ") + 64


def test_templates_cover_every_key_with_literal_text() -> None:
    """Every noun, alarm state and sentence has a template; no `[%key:` references."""
    needed = {f"{noun}_{n}" for noun in NOUNS for n in ("one", "other")}
    needed |= {f"alarm_{state}" for state in ALARM_STATES}
    needed |= {"title", "seen", "seen_for", "activity", "object_one", "object_other",
               "list_two", "list_more", "duration_seconds", "duration_minutes",
               "duration_minutes_seconds", "dark", "nobody_home", "home_one", "home_other",
               "guests_expected", "delivery_expected"}  # fmt: skip
    assert set(TEMPLATES) == needed
    for value in TEMPLATES.values():
        assert "[%key:" not in value and value == value.strip()
        list(string.Formatter().parse(value))  # valid placeholders


async def test_templates_load_through_home_assistant(hass: HomeAssistant) -> None:
    """HA's translation helper gives the `common` templates, English for other languages."""
    english = await async_load_templates(hass, "en")
    assert english == TEMPLATES
    assert await async_load_templates(hass, "de") == TEMPLATES


# The LLM's text


@pytest.mark.parametrize(
    ("summary", "detected", "level", "reasons"),
    [
        # The examples.
        ("The risk is low, but the risk is high, and the risk is critical.", ["person"],
         "medium", ("repeats", "nothing_seen", "other_level")),
        ("The reason is that you are not able to protect your home from natural disasters.",
         ["person"], "medium", ("nothing_seen",)),
        ("A person walked up to the front door and looked around.", ["person"], "high", ()),
        # Object classes and their synonyms.
        ("A man in a dark jacket stood by the gate.", ["person"], "medium", ()),
        ("Two people got out of a truck on the driveway.", ["person", "car"], "high", ()),
        ("A vehicle parked on the driveway.", ["car"], "low", ()),
        ("An intruder climbed the fence.", ["car"], "high", ("unseen_object", "nothing_seen")),
        ("A person walked past a parked car.", ["person"], "low", ("unseen_object",)),
        ("A dog ran across the lawn.", ["cat"], "low", ("unseen_object", "nothing_seen")),
        ("An animal crossed the yard.", ["cat"], "low", ()),
        ("A man carried a teddy bear.", ["person"], "low", ("unseen_object",)),
        ("A person with an orange coat waited.", ["person"], "low", ()),
        # Denying what was seen.
        ("The camera was not able to detect the person.", ["person"], "high", ("denies_seen",)),
        ("No person is visible near the car.", ["person", "car"], "low", ("denies_seen",)),
        ("The camera couldn't see the person clearly.", ["person"], "low", ("denies_seen",)),
        ("A person did not ring the bell and left.", ["person"], "low", ()),
        # Levels: only the final one may be stated.
        ("A person at the door at night; high risk.", ["person"], "high", ()),
        ("A person at the door at night; high risk.", ["person"], "medium", ("other_level",)),
        ("A person at the door is an emergency.", ["person"], "high", ("other_level",)),
        ("A person with minimal concern.", ["person"], "medium", ("other_level",)),
        ("A person climbed a high wall.", ["person"], "medium", ()),
        ("The threat level is severe: a person at the door.", ["person"], "critical", ()),
        # Repetition and length.
        ("A person walked by. A person walked by.", ["person"], "low", ("repeats",)),
        ("A person is at the door, a person is at the door again.", ["person"], "low",
         ("repeats",)),
        ("A person came. They knocked. They left.", ["person"], "low", ("too_many_sentences",)),
        (("A person in a grey hooded jacket and dark trousers walked slowly along the hedge, "
          "stopped by the side gate for a while, looked over at the garage windows, then turned "
          "back towards the street without touching anything."), ["person"], "low",
         ("too_long",)),
        ("   ", ["person"], "low", ("empty",)),
        ("A person <b>at</b> the door, see http://x.example", ["person"], "low", ("markup",)),
    ],
)  # fmt: skip
def test_check_llm_text(
    summary: str, detected: list[str], level: str, reasons: tuple[str, ...]
) -> None:
    """Each check rejects what it should, and only that."""
    verdict = check_llm_text(summary, detected, level)
    assert verdict.reasons == reasons
    assert verdict.accepted is (not reasons)


@pytest.mark.parametrize(
    ("summary", "counts", "reasons"),
    [
        # SmolLM2 on a dog at a factory-named camera, pushed before this check existed.
        (("The risk is low. The reason for the high score is that you are not a household "
          "with 3 pets and your home has no surveillance cameras."), {"dog": 1},
         ("wrong_count", "other_level")),
        ("Three people stood by 2 cars.", {"person": 3, "car": 1}, ("wrong_count",)),
        ("Two people walked up the drive.", {"person": 2}, ()),
        ("3 large dogs ran across the lawn.", {"dog": 3}, ()),
        ("At 02:15 a person rang the bell.", {"person": 1}, ()),
        ("One of the people waved at 2 cats.", {"person": 2, "cat": 2}, ()),
        # A number with one word or none after it.
        ("A person stood at the door for 3 minutes.", {"person": 1}, ()),
        ("A person knocked 3", {"person": 1}, ()),
    ],
)  # fmt: skip
def test_check_llm_text_counts_and_scores(
    summary: str, counts: dict[str, int], reasons: tuple[str, ...]
) -> None:
    """A stated count must be the detected one; "the high score" states a level."""
    verdict = check_llm_text(summary, list(counts), "low", counts)
    assert verdict.reasons == reasons
    assert check_llm_text(summary, list(counts), "low").reasons == tuple(
        r for r in reasons if r != "wrong_count"
    )


def test_choose_text_pushes_the_llm_only_when_it_passes() -> None:
    """A passing LLM summary replaces the fact summary; a failing one is kept apart."""
    facts = text()
    good = choose_text(facts, " A person  rang the bell. ", ["person"], "medium")
    assert (good.title, good.summary, good.text_source) == (
        facts.title, "A person rang the bell.", TEXT_LLM,
    )  # fmt: skip
    bad = choose_text(facts, "The risk is critical.", ["person"], "medium")
    assert (bad.title, bad.summary, bad.text_source) == (facts.title, facts.summary, TEXT_FACTS)
    assert bad.llm_summary == "The risk is critical."
    assert bad.rejected == ("nothing_seen", "other_level")
    none = choose_text(facts, None, ["person"], "medium")
    assert (none.summary, none.text_source, none.llm_summary) == (facts.summary, TEXT_FACTS, "")


async def test_event_text_in_home_assistant(hass: HomeAssistant) -> None:
    """One call: HA's language, the fact texts, the LLM's summary gated on the detections."""
    hass.config.language = "fr"  # no French templates: English
    facts = replace(FACTS, objects={"person": 1, "dog": 0})
    rejected = await async_event_text(hass, facts, "Porch", AT_0215, "A dog barked.", "low")
    assert (rejected.title, rejected.text_source) == ("A person at Porch", TEXT_FACTS)
    assert rejected.summary == "A person seen by the Porch camera at 02:15."
    assert rejected.rejected == ("unseen_object", "nothing_seen")
    passed = await async_event_text(hass, facts, "Porch", AT_0215, "A man waved.", "low")
    assert (passed.summary, passed.text_source) == ("A man waved.", TEXT_LLM)
    miscounted = await async_event_text(hass, facts, "Porch", AT_0215, "Two men waved.", "low")
    assert (miscounted.text_source, miscounted.rejected) == (TEXT_FACTS, ("wrong_count",))
