"""What an alert says: a title and summary true by construction, and the gate for the LLM's text.

The title and the fact summary are composed only from facts (what was seen and how many,
the camera, the local capture time and duration, darkness, presence and alarm when known)
with the templates of the `common` translation category. The LLM's summary replaces the
fact summary only when `check_llm_text` (llm_text_checks) accepts it; otherwise it is kept
apart, never pushed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
import re
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .llm_text_checks import check_llm_text
from .pipeline.risk_prior import GROUP_ORDER, RiskFacts, group_of

TEMPLATE_CATEGORY: Final = "common"
_PREFIX: Final = f"component.{DOMAIN}.{TEMPLATE_CATEGORY}."

TEXT_FACTS: Final = "facts"
TEXT_LLM: Final = "llm"

# Classes with their own translated noun; any other class is named as the detector spells it.
NOUNS: Final = (
    "person", "car", "truck", "bus", "motorcycle", "bicycle", "dog", "cat", "bird",
    "horse", "sheep", "cow", "bear", "deer", "fox", "raccoon",
)  # fmt: skip
_NOUN_ALIASES: Final = {"people": "person", "pedestrian": "person", "motorbike": "motorcycle"}
ALARM_STATES: Final = (
    "disarmed",
    "armed_home",
    "armed_away",
    "armed_night",
    "armed_vacation",
    "armed_custom_bypass",
    "arming",
    "pending",
    "triggered",
)
MAX_CAMERA_NAME = 64
MAX_CLASS_NAME = 32

type _Fill = Callable[..., str]


@dataclass(frozen=True, slots=True)
class AlertText:
    """A short title and a summary."""

    title: str
    summary: str


async def async_load_templates(hass: HomeAssistant, language: str) -> dict[str, str]:
    """Return the text templates in `language`; HA fills missing keys from English."""
    strings = await async_get_translations(hass, language, TEMPLATE_CATEGORY, [DOMAIN])
    return {key.removeprefix(_PREFIX): value for key, value in strings.items()}


def compose(
    facts: RiskFacts,
    camera_name: str,
    captured_local: datetime,
    templates: Mapping[str, str],
) -> AlertText:
    """Compose the title and the fact summary of a batch.

    `captured_local` is the local capture time of its first frame; how long it lasted
    comes from `facts.duration_s`. Presence and alarm are said only when known.
    """

    def fill(key: str, **values: object) -> str:
        return templates[key].format(**values)

    camera = _clean(camera_name, MAX_CAMERA_NAME)
    objects = _objects_phrase(facts.objects, fill)
    title = _capitalize(fill("title", objects=objects, camera=camera))
    seconds = round(facts.duration_s)
    time = captured_local.strftime("%H:%M")
    if seconds >= 1:
        duration = _duration(seconds, fill)
        sentences = [fill("seen_for", objects=objects, camera=camera, time=time, duration=duration)]
    else:
        sentences = [fill("seen", objects=objects, camera=camera, time=time)]
    if facts.is_dark:
        sentences.append(fill("dark"))
    if facts.people_home is not None:
        if facts.people_home <= 0:
            sentences.append(fill("nobody_home"))
        else:
            key = "home_one" if facts.people_home == 1 else "home_other"
            sentences.append(fill(key, count=facts.people_home))
    if facts.alarm_state in ALARM_STATES:
        sentences.append(fill(f"alarm_{facts.alarm_state}"))
    if facts.guests_expected:
        sentences.append(fill("guests_expected"))
    if facts.delivery_expected:
        sentences.append(fill("delivery_expected"))
    return AlertText(title, " ".join(_capitalize(s) for s in sentences))


def _objects_phrase(objects: Mapping[str, int], fill: _Fill) -> str:
    """Name what was seen: 'a person', '2 people and a car', 'a person, a car and a dog'."""
    counts: Counter[str] = Counter()
    for name, count in objects.items():
        if count > 0:
            noun = _noun(name)
            counts[noun] = max(counts[noun], count)
    if not counts:
        return fill("activity")
    ordered = sorted(
        counts.items(),
        key=lambda item: (GROUP_ORDER.index(group_of(item[0])), -item[1], item[0]),
    )
    parts = [_counted(noun, count, fill) for noun, count in ordered]
    phrase = parts[-1]
    if len(parts) > 1:
        phrase = fill("list_two", first=parts[-2], second=parts[-1])
        for part in reversed(parts[:-2]):
            phrase = fill("list_more", first=part, rest=phrase)
    return phrase


def _noun(object_class: str) -> str:
    name = _clean(object_class.lower(), MAX_CLASS_NAME)
    name = re.sub(r"[^\w\- ]", "", name).strip() or "object"
    return _NOUN_ALIASES.get(name, name)


def _counted(noun: str, count: int, fill: _Fill) -> str:
    plural = "one" if count == 1 else "other"
    if noun in NOUNS:
        return fill(f"{noun}_{plural}", count=count)
    return fill(f"object_{plural}", count=count, name=noun)


def _duration(seconds: int, fill: _Fill) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return fill("duration_seconds", seconds=rest)
    if not rest:
        return fill("duration_minutes", minutes=minutes)
    return fill("duration_minutes_seconds", minutes=minutes, seconds=rest)


def _clean(text: str, limit: int) -> str:
    """One line of printable text, at most `limit` characters."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())[:limit]


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True, slots=True)
class EventText:
    """The texts of an event: the pushed title and summary, and the LLM's own text apart."""

    title: str
    summary: str
    text_source: str  # TEXT_FACTS or TEXT_LLM
    llm_summary: str
    rejected: tuple[str, ...]


def choose_text(
    facts_text: AlertText,
    llm_text: str | None,
    detected_classes: Collection[str],
    final_level: str,
    counts: Mapping[str, int] | None = None,
) -> EventText:
    """Push the LLM's summary only when it passes the checks; the title is always the facts'."""
    llm_summary = " ".join((llm_text or "").split())
    if llm_summary:
        verdict = check_llm_text(llm_summary, detected_classes, final_level, counts)
        if verdict.accepted:
            return EventText(facts_text.title, llm_summary, TEXT_LLM, llm_summary, ())
        rejected = verdict.reasons
    else:
        rejected = ()
    return EventText(facts_text.title, facts_text.summary, TEXT_FACTS, llm_summary, rejected)


async def async_event_text(
    hass: HomeAssistant,
    facts: RiskFacts,
    camera_name: str,
    captured_local: datetime,
    llm_text: str | None,
    final_level: str,
) -> EventText:
    """Compose an event's texts in HA's language and gate the LLM's summary (`llm_text`)."""
    templates = await async_load_templates(hass, hass.config.language)
    counts = {name: count for name, count in facts.objects.items() if count > 0}
    text = compose(facts, camera_name, captured_local, templates)
    return choose_text(text, llm_text, list(counts), final_level, counts)
