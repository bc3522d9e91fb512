"""The LLM's belief over the risk levels, and how much it may move the prior.

A tiny model answers "low" for nearly everything, so its sampled answer says little.
Its token probabilities say more: they are read where the answer names its level,
corrected for the model's own bias (measured on content-free prompts, "contextual
calibration"), and used as evidence that reweights the prior's band. The score moves by
the change in expected score, at most a bound: a model with no opinion moves nothing,
a certain one moves the whole bound. A server that gives no token probabilities can
only be taken at its word: the prior moves toward its score, at most the bound.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Final

LEVELS: Final = ("low", "medium", "high", "critical")
BAND_MIDPOINTS: Final = (15.0, 45.0, 72.0, 92.0)
PRIOR_SPREAD: Final = 15.0  # how sure the prior is of its score: half a band
BIAS_FLOOR: Final = 0.01  # a level the model never names on its own is not a divide-by-zero
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
    total = sum(values)
    if len(values) != 4 or total <= 0:
        return None
    a, b, c, d = (v / total for v in values)
    return (a, b, c, d)


def mean_bias(samples: Sequence[Belief]) -> Belief | None:
    """Average the model's level probabilities over content-free prompts."""
    if not samples:
        return None
    return normalised([sum(s[i] for s in samples) / len(samples) for i in range(4)])


def calibrate(probabilities: Belief, bias: Belief) -> Belief:
    """Divide out the model's bias so that an input-blind answer becomes uniform."""
    corrected = normalised(
        [p / max(b, BIAS_FLOOR) for p, b in zip(probabilities, bias, strict=True)]
    )
    return corrected or (0.25, 0.25, 0.25, 0.25)


def prior_bands(score: int) -> Belief:
    """Spread the prior over the bands: a bell of width PRIOR_SPREAD around its score."""
    weights = [math.exp(-(((score - mid) / PRIOR_SPREAD) ** 2) / 2) for mid in BAND_MIDPOINTS]
    return normalised(weights) or (0.25, 0.25, 0.25, 0.25)


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
