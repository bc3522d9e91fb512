"""What an alert says: a title and summary true by construction, and the gate for the LLM's text.

The title and the fact summary are composed only from facts (what was seen and how many,
the camera, the local capture time and duration, darkness, presence and alarm when known)
with the templates of the `common` translation category. The LLM's summary replaces the
fact summary only when `check_llm_text` accepts it; otherwise it is kept apart, never pushed.
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
from .pipeline.risk_prior import GROUP_ORDER, RiskFacts, group_of
from .risk_levels import RiskLevel

TEMPLATE_CATEGORY: Final = "common"
_PREFIX: Final = f"component.{DOMAIN}.{TEMPLATE_CATEGORY}."

TEXT_FACTS: Final = "facts"
TEXT_LLM: Final = "llm"

# Classes with their own translated noun; any other class is named as the detector spells it.
NOUNS: Final = ("person", "car", "truck", "bus", "motorcycle", "bicycle", "dog", "cat", "bird")
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


# --- The gate for the LLM's text -------------------------------------------------------

MAX_CHARS = 200
MAX_SENTENCES = 2
REPEAT_NGRAM = 3
LEVEL_WINDOW = 3  # a level word counts when a risk noun is this close

_PERSON_WORDS = (
    "person persons people man men woman women boy boys girl girls child children kid kids "
    "intruder intruders individual individuals someone somebody stranger strangers visitor "
    "visitors pedestrian pedestrians figure figures burglar burglars thief thieves guy guys "
    "adult adults courier couriers postman mailman"
)
_VEHICLE_WORDS = (
    "vehicle vehicles car cars truck trucks van vans suv suvs bus buses motorcycle motorcycles "
    "motorbike motorbikes bicycle bicycles bike bikes scooter scooters pickup pickups taxi "
    "taxis automobile automobiles"
)
_ANIMAL_WORDS = "animal animals pet pets wildlife creature creatures"
# Specific animals and other COCO classes (singular plural...), each its own concept. Words that
# are mostly something else in a sentence (orange, remote, tie, book, mouse, sink, clock, bed)
# are left out.
_CLASSES: Final[dict[str, str]] = {
    "dog": "dog dogs puppy puppies",
    "cat": "cat cats kitten kittens",
    "bird": "bird birds",
    "horse": "horse horses",
    "sheep": "sheep",
    "cow": "cow cows",
    "bear": "bear bears",
    "elephant": "elephant elephants",
    "zebra": "zebra zebras",
    "giraffe": "giraffe giraffes",
    "airplane": "airplane airplanes plane planes",
    "train": "train trains",
    "boat": "boat boats",
    "traffic light": "traffic_light traffic_lights",
    "fire hydrant": "fire_hydrant fire_hydrants hydrant",
    "stop sign": "stop_sign stop_signs",
    "parking meter": "parking_meter parking_meters",
    "bench": "bench benches",
    "backpack": "backpack backpacks",
    "umbrella": "umbrella umbrellas",
    "handbag": "handbag handbags purse",
    "suitcase": "suitcase suitcases luggage",
    "frisbee": "frisbee",
    "skis": "skis",
    "snowboard": "snowboard",
    "sports ball": "sports_ball ball balls",
    "kite": "kite kites",
    "baseball bat": "baseball_bat",
    "skateboard": "skateboard skateboards",
    "surfboard": "surfboard surfboards",
    "tennis racket": "tennis_racket racket",
    "bottle": "bottle bottles",
    "knife": "knife knives",
    "chair": "chair chairs",
    "couch": "couch sofa",
    "potted plant": "potted_plant plant plants",
    "dining table": "dining_table table tables",
    "tv": "tv television",
    "laptop": "laptop laptops",
    "cell phone": "cell_phone phone phones",
    "teddy bear": "teddy_bear",
    "hot dog": "hot_dog hot_dogs",
}
# A text that denies seeing ("could not detect the person", "no person") contradicts the
# detections it is about.
_NEGATIONS = frozenset(["no", "not", "never", "unable", "cannot", "t"])  # "t": can't, couldn't
_SEEING = frozenset(
    [
        "detect",
        "detects",
        "detected",
        "detecting",
        "see",
        "sees",
        "seen",
        "saw",
        "visible",
        "spot",
        "spotted",
        "identify",
        "identified",
        "recognize",
        "recognized",
        "notice",
        "noticed",
    ]
)
DENIAL_WINDOW = 4
_RISK_NOUNS = frozenset(
    [
        "risk",
        "risks",
        "threat",
        "threats",
        "level",
        "danger",
        "concern",
        "priority",
        "severity",
        "alert",
        "urgency",
        "hazard",
    ]
)
# Level words: those marked '!' state a level anywhere, the others only near a risk noun.
_LEVEL_WORDS: Final[dict[RiskLevel, str]] = {
    RiskLevel.LOW: "low no little minor minimal! negligible!",
    RiskLevel.MEDIUM: "medium moderate! elevated",
    RiskLevel.HIGH: "high serious significant considerable major",
    RiskLevel.CRITICAL: "critical! severe! emergency! extreme grave imminent",
}


def _vocabulary() -> dict[str, str]:
    words = dict.fromkeys(_PERSON_WORDS.split(), "person")
    words |= dict.fromkeys(_VEHICLE_WORDS.split(), "vehicle")
    words |= dict.fromkeys(_ANIMAL_WORDS.split(), "animal")
    for concept, spellings in _CLASSES.items():
        words |= dict.fromkeys(spellings.split(), concept)
    return words


OBJECT_WORDS: Final = _vocabulary()
_LEVELS: Final = {
    word.rstrip("!"): (level, word.endswith("!"))
    for level, words in _LEVEL_WORDS.items()
    for word in words.split()
}
_WORD = re.compile(r"[a-z]+")
_SENTENCE_END = re.compile(r"[.!?]+(?:\s+|$)")
_MARKUP = re.compile(r"<[^>]*>|https?://|www\.|[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class TextVerdict:
    """Whether the LLM's text may be pushed, and every reason it may not."""

    accepted: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EventText:
    """The texts of an event: the pushed title and summary, and the LLM's own text apart."""

    title: str
    summary: str
    text_source: str  # TEXT_FACTS or TEXT_LLM
    llm_summary: str
    rejected: tuple[str, ...]


def detected_concepts(detected_classes: Collection[str]) -> frozenset[str]:
    """Return what a text may name: each detected class, its group and its concept."""
    concepts: set[str] = set()
    for cls in detected_classes:
        name = cls.strip().lower()
        concepts |= {name, group_of(name)}
        if (concept := OBJECT_WORDS.get(name.replace(" ", "_"))) is not None:
            concepts.add(concept)
    return frozenset(concepts)


def named_objects(words: list[str]) -> list[str]:
    """Return the object concepts a text names (two-word class names first)."""
    found: list[str] = []
    skip = False
    for first, second in zip(words, [*words[1:], ""], strict=True):
        if skip:
            skip = False
            continue
        if (concept := OBJECT_WORDS.get(f"{first}_{second}")) is not None:
            skip = True
            found.append(concept)
        elif (concept := OBJECT_WORDS.get(first)) is not None:
            found.append(concept)
    return found


def stated_levels(words: list[str]) -> set[RiskLevel]:
    """Return the risk levels a text states ('low risk', 'risk is high', 'emergency')."""
    levels: set[RiskLevel] = set()
    for i, word in enumerate(words):
        if (entry := _LEVELS.get(word)) is None:
            continue
        level, anywhere = entry
        near = words[max(0, i - LEVEL_WINDOW) : i + LEVEL_WINDOW + 1]
        if anywhere or _RISK_NOUNS.intersection(near):
            levels.add(level)
    return levels


def _denies_seeing(words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word not in _NEGATIONS:
            continue
        ahead = words[i + 1 : i + 1 + DENIAL_WINDOW]
        if _SEEING.intersection(ahead) or (word == "no" and named_objects(ahead[:1])):
            return True
    return False


def _repeats(words: list[str], sentences: list[str]) -> bool:
    normalized = [" ".join(_WORD.findall(s.lower())) for s in sentences]
    if len(set(normalized)) < len(normalized):
        return True
    grams = Counter(
        tuple(words[i : i + REPEAT_NGRAM]) for i in range(len(words) - REPEAT_NGRAM + 1)
    )
    return any(count > 1 for count in grams.values())


def check_llm_text(text: str, detected_classes: Collection[str], final_level: str) -> TextVerdict:
    """Accept the LLM's text only when it is short, names what was seen, and agrees.

    Reasons: empty, markup, too_long, too_many_sentences, repeats, unseen_object (names a
    class that was not detected), nothing_seen (names none that was), denies_seen (says it
    was not seen), other_level (states a level other than `final_level`).
    """
    text = " ".join(text.split())
    if not text:
        return TextVerdict(False, ("empty",))
    reasons: list[str] = []
    if _MARKUP.search(text):
        reasons.append("markup")
    if len(text) > MAX_CHARS:
        reasons.append("too_long")
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) > MAX_SENTENCES:
        reasons.append("too_many_sentences")
    words = _WORD.findall(text.lower())
    if _repeats(words, sentences):
        reasons.append("repeats")
    allowed = detected_concepts(detected_classes)
    named = named_objects(words)
    if any(concept not in allowed for concept in named):
        reasons.append("unseen_object")
    if not any(concept in allowed for concept in named):
        reasons.append("nothing_seen")
    if _denies_seeing(words):
        reasons.append("denies_seen")
    if stated_levels(words) - {RiskLevel(final_level)}:
        reasons.append("other_level")
    return TextVerdict(not reasons, tuple(reasons))


def choose_text(
    facts_text: AlertText,
    llm_text: str | None,
    detected_classes: Collection[str],
    final_level: str,
) -> EventText:
    """Push the LLM's summary only when it passes the checks; the title is always the facts'."""
    llm_summary = " ".join((llm_text or "").split())
    if llm_summary:
        verdict = check_llm_text(llm_summary, detected_classes, final_level)
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
    detected = [name for name, count in facts.objects.items() if count > 0]
    return choose_text(
        compose(facts, camera_name, captured_local, templates), llm_text, detected, final_level
    )
