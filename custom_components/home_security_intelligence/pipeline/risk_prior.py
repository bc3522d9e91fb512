"""An explainable risk prior computed from facts, before and independent of any LLM.

The score is the sum of named factors (each with a contribution and a human detail),
clamped to 0-100. The LLM may then move it by at most a bounded amount (level_belief).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..risk_levels import level_for_score

# Object groups in order of concern; a class outside them is "other".
CLASS_GROUPS: Final[dict[str, frozenset[str]]] = {
    "person": frozenset({"person", "people", "pedestrian"}),
    "vehicle": frozenset({"car", "truck", "bus", "motorcycle", "motorbike", "bicycle", "van"}),
    "animal": frozenset(
        {"dog", "cat", "bird", "horse", "sheep", "cow", "bear", "elephant", "zebra", "giraffe"}
    ),
}
GROUP_ORDER: Final = ("person", "vehicle", "animal", "other")
ROLES: Final = ("entry_point", "driveway", "yard", "street", "other")
PLACE: Final = {
    "entry_point": "at an entry point",
    "driveway": "on the driveway",
    "yard": "in the yard",
    "street": "on the street",
    "other": "on a camera without a role",
}

# Base points for the most concerning group seen, by camera role.
BASE: Final[dict[str, dict[str, int]]] = {
    "person": {"entry_point": 25, "yard": 24, "driveway": 18, "other": 24, "street": 17},
    "vehicle": {"entry_point": 10, "yard": 12, "driveway": 12, "other": 0, "street": 8},
    "animal": dict.fromkeys(ROLES, 3),
    "other": dict.fromkeys(ROLES, 2),
}
# How much the context (time, lingering, rarity, home, alarm) matters for a group / role.
GROUP_WEIGHT: Final = {"person": 1.0, "vehicle": 0.6, "animal": 0.0, "other": 0.0}
ROLE_WEIGHT: Final = {"entry_point": 1.0, "yard": 1.0, "driveway": 0.9, "other": 1.0, "street": 0.6}

EXTRA_VEHICLE = 2  # each vehicle beyond the first, up to MAX_EXTRA
MAX_EXTRA = 10
PERSON_WITH_VEHICLE = 9
# Lingering: (seconds from the first to the last detection, points), the most that applies.
LINGER: Final = ((60, 6), (120, 11), (300, 15))
# A vehicle staying this long (seconds, points; not scaled): a car idling outside is worth a glance.
VEHICLE_STAYING: Final = (300, 21)
LINGER_SEEN = 0.3  # while people are home and awake
CALLER = 0.1  # an empty house and an armed alarm, for a short call at the door by day
EXPECTED_DELIVERY = 0.5  # the same, for a short visit at the door by day with a delivery due
DARK = 8  # sun below the horizon in the night hours
EVENING_DARK = 5  # before 22:00 or after 06:00: visiting time, but who is it?
NIGHT_HOURS: Final = frozenset({22, 23, 0, 1, 2, 3, 4, 5})
DEEP_NIGHT = 30  # local hours 0-4
DEEP_NIGHT_HOURS: Final = range(5)
NOBODY_HOME = 10
AWAY_ALARMS: Final = frozenset({"armed_away", "armed_vacation"})  # the house is empty
GUESTS = -35
DELIVERY = -20
DELIVERY_SHORT_S = 120.0
UNUSUAL_NEUTRAL = 0.4  # rarity below this lowers the score, above it raises it
UNUSUAL_SPAN = 20
ALARM: Final = {
    "triggered": 69,  # the panel's own sensors found an intrusion; the camera sees who
    "armed_away": 25,
    "armed_vacation": 30,
    "armed_night": 30,
    "armed_home": 30,  # the household is in with the house armed around it
    "armed_custom_bypass": 15,
}
CRITICAL = 85  # the band's first score; the household's own state must confirm it (below)
MIN_HISTORY = 30  # stored detections needed before a camera has a baseline


@dataclass(frozen=True, slots=True)
class RiskFacts:
    """What is known about one batch and its context; None means not configured/unknown."""

    camera_role: str
    objects: Mapping[str, int]
    frames: int
    duration_s: float
    is_dark: bool
    local_hour: int
    unusual: float | None
    people_home: int | None
    alarm_state: str | None
    guests_expected: bool | None
    delivery_expected: bool | None


@dataclass(frozen=True, slots=True)
class RiskFactor:
    """One named contribution to the prior."""

    name: str
    contribution: int
    detail: str


@dataclass(frozen=True, slots=True)
class RiskPrior:
    """The prior score (0-100) and the factors it is the clamped sum of."""

    score: int
    factors: tuple[RiskFactor, ...]

    @property
    def level(self) -> str:
        """The band of the score."""
        return level_for_score(self.score)


def group_of(object_class: str) -> str:
    """Return the group of a detector class: person, vehicle, animal or other."""
    name = object_class.strip().lower()
    for group, members in CLASS_GROUPS.items():
        if name in members:
            return group
    return "other"


def compute_prior(facts: RiskFacts) -> RiskPrior:
    """Score the facts; every non-zero contribution is listed as a factor."""
    counts: dict[str, int] = {}
    for cls, count in facts.objects.items():
        if count > 0:
            group = group_of(cls)
            counts[group] = max(counts.get(group, 0), count)
    if not counts:
        return RiskPrior(0, ())
    tally = _Tally(facts, counts)
    tally.seen()
    tally.stay()
    tally.hour()
    tally.household()
    total = sum(f.contribution for f in tally.factors)
    if total >= CRITICAL and not tally.household_said_so():
        tally.factors.append(
            RiskFactor(
                "unconfirmed",
                CRITICAL - 1 - total,
                f"critical needs an empty house, a triggered alarm or an armed alarm at a door: "
                f"{CRITICAL - 1 - total:+d}",
            )
        )
        total = CRITICAL - 1
    return RiskPrior(max(0, min(100, total)), tuple(tally.factors))


class _Tally:
    """The factors of one batch, added stage by stage: what, how long, when, who."""

    def __init__(self, facts: RiskFacts, counts: dict[str, int]) -> None:
        self.facts = facts
        self.counts = counts
        self.role = facts.camera_role if facts.camera_role in ROLES else "other"
        self.lead = next(g for g in GROUP_ORDER if g in counts)
        self.person = self.lead == "person"
        self.weight = GROUP_WEIGHT[self.lead] * ROLE_WEIGHT[self.role]
        self.factors: list[RiskFactor] = []
        self.night = facts.local_hour in NIGHT_HOURS
        short = facts.duration_s < LINGER[0][0]
        # Passers-by on the street are normal at any hour and do not concern the house.
        self.passing = self.role == "street" and short
        # A short call at the door outside the night hours is a courier or a canvasser.
        self.caller = self.role == "entry_point" and short and not self.night
        self.awake_home = bool(facts.people_home) and not facts.is_dark and not self.night
        # A courier due: a short daytime visit at the door is most likely them.
        self.delivery = (
            self.person
            and bool(facts.delivery_expected)
            and self.role == "entry_point"
            and facts.duration_s < DELIVERY_SHORT_S
        )

    def household_said_so(self) -> bool:
        """Whether the household's own state makes it an emergency.

        The house is empty (nobody home, or with presence unknown the alarm armed away or
        vacation), the alarm is triggered, or someone is at a door of an armed house.
        """
        home, alarm = self.facts.people_home, self.facts.alarm_state
        empty = home <= 0 if home is not None else alarm in AWAY_ALARMS
        at_door = self.role == "entry_point" and alarm in ALARM
        return empty or alarm == "triggered" or at_door

    def add(
        self, name: str, points: float, text: str, scaled: bool = True, said: bool = False
    ) -> None:
        """Add a factor, scaled by how much context matters here.

        One that rounds to 0 is left out, unless `said`: the household should read it anyway.
        """
        value = round(points * self.weight) if scaled else round(points)
        if value or said:
            self.factors.append(RiskFactor(name, value, f"{text}: {value:+d}"))

    def note(self, name: str, text: str) -> None:
        """Say why something that would have counted does not."""
        self.factors.append(RiskFactor(name, 0, f"{text}: +0"))

    def seen(self) -> None:
        """Add what was seen, where, and how many."""
        lead, counts = self.lead, self.counts
        if BASE[lead][self.role]:
            self.add("object", BASE[lead][self.role], f"{lead} {PLACE[self.role]}", scaled=False)
        else:
            self.note("object", f"{lead} {PLACE[self.role]}")
        extra = counts[lead] - 1
        if lead == "vehicle" and extra > 0:
            self.add(
                "count",
                min(MAX_EXTRA, EXTRA_VEHICLE * extra),
                f"{counts[lead]} vehicles",
                scaled=False,
            )
        if (
            self.person
            and "vehicle" in counts
            and self.facts.local_hour in DEEP_NIGHT_HOURS
            and not self.passing
        ):
            # Earlier it is a delivery van or someone of the household coming home.
            self.add(
                "companion", PERSON_WITH_VEHICLE, "person with a vehicle at night", scaled=False
            )

    def stay(self) -> None:
        """Add how long it stayed: a vehicle for minutes, and lingering.

        Both are routine where they usually are at this hour; lingering counts less when
        people at home see who it is.
        """
        facts = self.facts
        points = _linger_points(facts.duration_s)
        there = f"there {facts.duration_s:.0f} s"
        usual = facts.unusual is not None and facts.unusual < UNUSUAL_NEUTRAL
        staying_s, staying = VEHICLE_STAYING
        if self.lead == "vehicle" and facts.duration_s >= staying_s:
            minutes = f"vehicle staying {facts.duration_s / 60:.0f} min"
            if usual:  # a parking spot or a delivery bay
                self.note("staying", f"{minutes}, as usual here")
            else:
                self.add("staying", staying, minutes, scaled=False)
        if usual and points and self.weight:
            self.note("lingering", f"{there}, as usual here")  # the gardener, the neighbours
        elif self.awake_home:  # someone at home sees who it is
            self.add("lingering", points * LINGER_SEEN, f"{there}, seen from home")
        else:
            self.add("lingering", points, f"{there} ({facts.frames} frames)")

    def hour(self) -> None:
        """Add when: darkness in the night hours, deep night, and how unusual the hour is."""
        facts = self.facts
        if self.passing and self.weight and (self.night or facts.alarm_state in ALARM):
            self.note("passing", "passing by on the street")
        if facts.is_dark and self.night and not self.passing:
            self.add("dark", DARK, "night, after dark (sun below the horizon)")
        elif facts.is_dark and not self.passing:
            when = "evening, after dark" if facts.local_hour >= 12 else "morning, before sunrise"
            self.add("dark", EVENING_DARK, when)
        if facts.local_hour in DEEP_NIGHT_HOURS and not self.passing:
            self.add("night", DEEP_NIGHT, f"deep night ({facts.local_hour:02d}:00)")
        if facts.unusual is not None:
            rarity = min(1.0, max(0.0, facts.unusual))
            self.add(
                "unusual",
                (rarity - UNUSUAL_NEUTRAL) * UNUSUAL_SPAN,
                f"{'unusual' if rarity > UNUSUAL_NEUTRAL else 'usual'} for this camera at this "
                f"hour (rarity {rarity:.2f})",
            )

    def household(self) -> None:
        """Add who is home, the alarm, and whom the household expects."""
        facts = self.facts
        share, at_door = (CALLER, ", a caller at the door") if self.caller else (1.0, "")
        if self.delivery and not self.night:
            share, at_door = share * EXPECTED_DELIVERY, f"{at_door}, a delivery due"
        if self.passing:  # a passer-by does not concern the house: presence does not count
            share = 0.0
        # An empty house is said even where a short call makes it round to +0.
        said = bool(self.weight) and not self.passing
        if facts.people_home is None and facts.alarm_state in AWAY_ALARMS:
            alarm = _spoken(facts.alarm_state)
            text = f"nobody home (alarm {alarm}){at_door}"
            self.add("people_home", NOBODY_HOME * share, text, said=said)
        elif facts.people_home is None:
            if self.weight:  # say so where presence would have counted
                self.note("people_home", "presence unknown")
        elif facts.people_home <= 0:
            text = f"nobody home{at_door}"
            self.add("people_home", NOBODY_HOME * share, text, said=said)
        if self.role == "street":  # the alarm guards the house, not the street
            if facts.alarm_state in ALARM and not self.passing and self.weight:
                self.note("alarm", f"alarm {_spoken(facts.alarm_state)}, on the street")
        elif facts.alarm_state == "triggered":
            # Someone on camera at the house while the alarm sounds: critical.
            self.add("alarm", ALARM["triggered"], "alarm triggered", scaled=not self.person)
        elif facts.alarm_state in ALARM:
            alarm = _spoken(facts.alarm_state)
            self.add("alarm", ALARM[facts.alarm_state] * share, f"alarm {alarm}{at_door}")
        if self.person and facts.guests_expected:
            self.add("guests", GUESTS, "guests expected", scaled=False)
        if self.delivery:
            self.add("delivery", DELIVERY, "delivery expected, short visit", scaled=False)


def _spoken(state: str) -> str:
    return state.replace("_", " ")


def _linger_points(duration_s: float) -> int:
    """Points for the time from the batch's first to its last detection (not its frames)."""
    return max((points for seconds, points in LINGER if duration_s >= seconds), default=0)


def unusualness(counts_by_hour: Sequence[int], hour: int) -> float | None:
    """Rarity (0..1) of activity at `hour` for a camera from its detections per hour of day.

    The hour is smoothed with its neighbours (weights 1-2-1, wrapping at midnight) and
    compared with the camera's mean hour: 1.0 = never seen then, 0.5 = an average hour,
    towards 0 = a busy hour. None when the camera has fewer than MIN_HISTORY detections.
    """
    if len(counts_by_hour) != 24:
        raise ValueError("counts_by_hour needs 24 values")
    if not 0 <= hour <= 23:
        raise ValueError("hour must be 0-23")
    if any(c < 0 for c in counts_by_hour):
        raise ValueError("counts must be >= 0")
    total = sum(counts_by_hour)
    if total < MIN_HISTORY:
        return None
    local = (
        counts_by_hour[hour - 1] + 2 * counts_by_hour[hour] + counts_by_hour[(hour + 1) % 24]
    ) / 4
    rate = local / (total / 24)
    return round(1 / (1 + rate), 2)
