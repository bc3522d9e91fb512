"""The household's verdicts as a learned offset of the prior: bounded, slowly forgotten.

Each verdict counts for the situation of its event: the camera, the object group that
led it (person, vehicle, animal, other) and the time of day it started (night 0-6,
morning 6-12, afternoon 12-18, evening 18-24, local time). For a new batch, the verdicts
of its own situation make the offset:

    raw    = sum(WEIGHT[verdict] * 0.5 ** (age / HALF_LIFE))  over false alarms and missed threats
    offset = clamp(raw / (1 + PULL * sum(0.5 ** (age / HALF_LIFE)) over "as expected"), ±MAX_OFFSET)

A false alarm lowers the score by FALSE_ALARM points when fresh, a missed threat raises it
by MISSED_THREAT; "as expected" says the score was right and pulls the offset toward 0.
Verdicts fade with a half-life of HALF_LIFE (a habit the household stopped confirming is
forgotten within a few months) and are not read past HORIZON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from homeassistant.util import dt as dt_util

from .pipeline.risk_prior import GROUP_ORDER, group_of
from .store.records import RiskBreakdown, Verdict, VerdictRecord

MAX_OFFSET: Final = 15
FALSE_ALARM: Final = -2.5  # four fresh false alarms: -10; six reach the bound
MISSED_THREAT: Final = 5.0  # one missed threat weighs two false alarms; three reach the bound
PULL: Final = 0.5  # each fresh "as expected" shrinks the offset by 1 / (1 + 0.5 n)
HALF_LIFE: Final = timedelta(days=30)
HORIZON: Final = timedelta(days=180)  # six half-lives: under 2 % of a verdict's weight left
MAX_VERDICTS: Final = 5000  # newest verdicts of a camera read per batch
FACTOR: Final = "feedback"
TIMES_OF_DAY: Final = ("night", "morning", "afternoon", "evening")
_WEIGHT: Final = {Verdict.FALSE_ALARM: FALSE_ALARM, Verdict.MISSED_THREAT: MISSED_THREAT}
_NOUNS: Final = {
    Verdict.FALSE_ALARM: ("false alarm", "false alarms"),
    Verdict.MISSED_THREAT: ("missed threat", "missed threats"),
    Verdict.AS_EXPECTED: ("as expected", "as expected"),
}


@dataclass(frozen=True, slots=True)
class Feedback:
    """The offset of one situation and the verdicts behind it."""

    offset: int
    counts: dict[Verdict, int]
    time_of_day: str

    @property
    def detail(self) -> str:
        """Say it for the breakdown: 'your feedback: 4 false alarms here in the evening: -10'."""
        said = ", ".join(
            f"{n} {_NOUNS[v][n != 1]}" for v in Verdict if (n := self.counts.get(v, 0))
        )
        return f"your feedback: {said} here in the {self.time_of_day}: {self.offset:+d}"


def time_of_day(when: datetime) -> str:
    """Return the local time of day of a moment: night, morning, afternoon or evening."""
    return TIMES_OF_DAY[dt_util.as_local(when).hour // 6]


def lead_group(objects: Iterable[str]) -> str:
    """Return the most concerning group among detector classes (as the prior's lead)."""
    groups = {group_of(name) for name in objects}
    return next((g for g in GROUP_ORDER if g in groups), "other")


def feedback(verdicts: Iterable[VerdictRecord], group: str, started: datetime) -> Feedback | None:
    """Return the offset for a batch of `group` starting at `started`, from a camera's verdicts.

    Only verdicts of the same group and time of day count, and only those of events that
    started before `started` and within HORIZON. None when none counts.
    """
    slot = time_of_day(started)
    raw = agreed = 0.0
    counts: dict[Verdict, int] = {}
    for record in verdicts:
        age = started - record.started_at
        if not timedelta(0) < age <= HORIZON:
            continue
        if lead_group(record.objects) != group or time_of_day(record.started_at) != slot:
            continue
        weight = 0.5 ** (age / HALF_LIFE)
        counts[record.verdict] = counts.get(record.verdict, 0) + 1
        if record.verdict is Verdict.AS_EXPECTED:
            agreed += weight
        else:
            raw += _WEIGHT[record.verdict] * weight
    if not counts:
        return None
    offset = round(max(-MAX_OFFSET, min(MAX_OFFSET, raw / (1 + PULL * agreed))))
    return Feedback(offset, counts, slot)


def with_feedback(prior: RiskBreakdown, found: Feedback | None) -> RiskBreakdown:
    """Add the feedback as a named factor of the prior; the score stays within 0-100."""
    if found is None or found.offset == 0:
        return prior
    return RiskBreakdown(
        max(0, min(100, prior.prior_score + found.offset)),
        (*prior.factors, (FACTOR, found.offset, found.detail)),
        prior.llm_score,
        prior.llm_adjustment,
        prior.llm_belief,
    )
