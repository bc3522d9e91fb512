"""The LLM's belief over the risk levels, and how much it may move the prior.

A tiny model answers "low" for nearly everything, so its sampled answer says little.
Its token probabilities say more: they are read where the answer names its level,
corrected for the model's own habit (measured on content-free prompts, "contextual
calibration"), stripped of what lies within the habit's own noise, and used as evidence
that reweights the prior's band. The score moves by the change in expected score, at
most a bound: a model with no opinion moves nothing, a certain one moves the whole
bound. A server that gives no token probabilities can only be taken at its word: the
prior moves toward its score, at most the bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
import statistics
from typing import Final

BAND_MIDPOINTS: Final = (15.0, 45.0, 72.0, 92.0)
PRIOR_SPREAD: Final = 15.0  # how sure the prior is of its score: half a band
FLOOR: Final = 0.01  # a level the model never names is a small probability, not log(0)
LEVEL_KEY: Final = '"risk_level":"'
# Token spellings (lowercased, quotes and spaces stripped) that name a level.
_SPELLINGS: Final = {
    "low": 0,
    "lo": 0,
    "medium": 1,
    "med": 1,
    "me": 1,
    "high": 2,
    "hi": 2,
    "critical": 3,
    "crit": 3,
    "cr": 3,
}

type Belief = tuple[float, float, float, float]
type TokenAlternatives = Sequence[tuple[str, Sequence[tuple[str, float]]]]


@dataclass(frozen=True, slots=True)
class Habit:
    """What the model answers knowing nothing.

    Per level: the mean log-probability over the content-free prompts, and its standard
    deviation (the noise of an uninformed answer).
    """

    log_mean: tuple[float, ...]
    noise: tuple[float, ...]


def read_level_probabilities(tokens: TokenAlternatives) -> Belief | None:
    """Return P(level) where the answer names its risk level, or None if not found.

    `tokens` are (generated token, [(alternative token, logprob), ...]) in order.
    """
    text = ""
    for token, alternatives in tokens:
        if text.replace(" ", "").endswith(LEVEL_KEY):
            mass = [0.0] * 4
            for alt, logprob in alternatives:
                index = _SPELLINGS.get(alt.strip().strip('"').lower())
                if index is not None and math.isfinite(logprob):
                    mass[index] += math.exp(logprob)
            return normalised(mass)
        text += token
    return None


def normalised(values: Sequence[float]) -> Belief | None:
    """Scale four non-negative values to sum 1; None when they sum to 0."""
    if len(values) != 4 or sum(values) <= 0:
        return None
    return _scaled(values)


def _scaled(values: Sequence[float]) -> Belief:
    """Scale four values with a positive sum to sum 1."""
    total = sum(values)
    a, b, c, d = (v / total for v in values)
    return (a, b, c, d)


def measure_habit(samples: Sequence[Belief]) -> Habit | None:
    """Summarise the model's level probabilities over the content-free prompts."""
    if not samples:
        return None
    logs = [[math.log(max(s[i], FLOOR)) for s in samples] for i in range(4)]
    return Habit(
        tuple(statistics.fmean(row) for row in logs),
        tuple(statistics.stdev(row) if len(row) > 1 else 0.0 for row in logs),
    )


def calibrate(probabilities: Belief, habit: Habit) -> Belief:
    """Divide out the habit and drop what lies within its noise.

    Log-ratios against the habit are centred, shrunk toward 0 by one standard deviation
    of the habit, and turned back into probabilities: an answer that ignores its input,
    or differs from the habit no more than the habit varies by itself, becomes uniform.
    """
    ratios = [
        math.log(max(p, FLOOR)) - mean
        for p, mean in zip(probabilities, habit.log_mean, strict=True)
    ]
    centre = statistics.fmean(ratios)
    shrunk = [
        math.copysign(max(0.0, abs(r - centre) - noise), r - centre)
        for r, noise in zip(ratios, habit.noise, strict=True)
    ]
    return _scaled([math.exp(r) for r in shrunk])


def prior_bands(score: int) -> Belief:
    """Spread the prior over the bands: a bell of width PRIOR_SPREAD around its score."""
    return _scaled([math.exp(-(((score - mid) / PRIOR_SPREAD) ** 2) / 2) for mid in BAND_MIDPOINTS])


def adjustment(prior: int, belief: Belief, bound: int) -> int:
    """Points the belief moves the prior: the shift in expected score, within ±bound."""
    before = prior_bands(prior)
    after = normalised([p * q for p, q in zip(before, belief, strict=True)]) or before
    return _bounded_step(prior, _expected(after) - _expected(before), bound)


def toward_score(prior: int, score: int, bound: int) -> int:
    """Points toward the LLM's own score, within ±bound (a server without probabilities)."""
    return _bounded_step(prior, score - prior, bound)


def _bounded_step(prior: int, shift: float, bound: int) -> int:
    if bound < 0:
        raise ValueError("bound must be >= 0")
    step = max(-bound, min(bound, round(shift)))
    return max(0, min(100, prior + step)) - prior


def _expected(belief: Belief) -> float:
    return sum(p * mid for p, mid in zip(belief, BAND_MIDPOINTS, strict=True))
