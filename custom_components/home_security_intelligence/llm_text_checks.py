"""The checks on the LLM's text: short, plain, names what was seen and agrees on the level."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
import re
from typing import Final

from .pipeline.risk_prior import group_of
from .risk_levels import RiskLevel

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
        "score",
        "scores",
        "rating",
    ]
)
# Counts a text may state before an object word ("3 dogs", "two people").
_NUMBERS: Final = {
    **{str(n): n for n in range(100)},
    **{
        word: n
        for n, word in enumerate(
            [
                "one",
                "two",
                "three",
                "four",
                "five",
                "six",
                "seven",
                "eight",
                "nine",
                "ten",
                "eleven",
                "twelve",
            ],
            start=1,
        )
    },
}
# "3 large dogs": the object word may follow one adjective, not a word that starts another
# phrase ("at 02:15 a person" states no count).
_NOT_ADJECTIVES: Final = frozenset(
    ["a", "an", "the", "and", "or", "of", "to", "at", "in", "on", "by", "for", "with", "from"]
)
_TOKEN = re.compile(r"[a-z]+|\d+")
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
    for first, second in pairwise([*words, ""]):
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


def _wrong_counts(text: str, counts: Mapping[str, int]) -> bool:
    """Whether a stated count ("3 pets") differs from what was detected of that concept."""
    detected: Counter[str] = Counter()
    for cls, count in counts.items():
        if count > 0:
            for concept in detected_concepts([cls]):
                detected[concept] += count
    tokens = _TOKEN.findall(text.lower())
    for i, token in enumerate(tokens):
        if (number := _NUMBERS.get(token)) is None:
            continue
        after = tokens[i + 1 : i + 3]
        if after and after[0] in _NOT_ADJECTIVES:
            continue
        named = named_objects(after[:1]) or named_objects(after[1:2])
        if named and named[0] in detected and detected[named[0]] != number:
            return True
    return False


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


def check_llm_text(
    text: str,
    detected_classes: Collection[str],
    final_level: str,
    counts: Mapping[str, int] | None = None,
) -> TextVerdict:
    """Accept the LLM's text only when it is short, names what was seen, and agrees.

    Reasons: empty, markup, too_long, too_many_sentences, repeats, unseen_object (names a
    class that was not detected), nothing_seen (names none that was), denies_seen (says it
    was not seen), wrong_count (states another count of something detected, when `counts`
    per class are given), other_level (states a level other than `final_level`, also as
    "the high score").
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
    if counts is not None and _wrong_counts(text, counts):
        reasons.append("wrong_count")
    if stated_levels(words) - {RiskLevel(final_level)}:
        reasons.append("other_level")
    return TextVerdict(not reasons, tuple(reasons))
