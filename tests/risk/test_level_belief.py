"""The LLM's belief over levels: read from token probabilities, calibrated, bounded."""

from __future__ import annotations

import math

import pytest

from custom_components.home_security_intelligence.const import RISK_LEVELS
from custom_components.home_security_intelligence.pipeline.level_belief import (
    Belief,
    Habit,
    adjustment,
    calibrate,
    measure_habit,
    normalised,
    prior_bands,
    read_level_probabilities,
    toward_score,
)

UNIFORM = (0.25, 0.25, 0.25, 0.25)


def certain(level: str) -> Belief:
    """A belief wholly on one level."""
    a, b, c, d = (1.0 if name == level else 0.0 for name in RISK_LEVELS)
    return (a, b, c, d)


def _alts(**probs: float) -> list[tuple[str, float]]:
    return [(token, math.log(p)) for token, p in probs.items()]


def _answer(
    level_alternatives: list[tuple[str, float]],
) -> list[tuple[str, list[tuple[str, float]]]]:
    """Tokens of `{"risk_level":"high","risk_score":70}` as llama.cpp splits them."""
    return [
        ('{"', []),
        ("risk", []),
        ("_level", []),
        ('":"', []),
        ("high", level_alternatives),
        ('","', []),
        ("risk_score", _alts(risk_score=0.9)),
    ]


def test_reads_the_level_position_and_normalises() -> None:
    alts = _alts(low=0.2, high=0.4, critical=0.1, medium=0.1, emergency=0.2)
    belief = read_level_probabilities(_answer(alts))
    assert belief == pytest.approx((0.25, 0.125, 0.5, 0.125))


def test_spellings_and_case_add_up_to_their_level() -> None:
    alts = _alts(Low=0.1, lo=0.1, MED=0.2, crit=0.2, hi=0.4)
    assert read_level_probabilities(_answer(alts)) == pytest.approx((0.2, 0.2, 0.4, 0.2))


def test_spaces_in_the_answer_are_tolerated() -> None:
    tokens = [('{ "risk_level": "', []), ("low", _alts(low=0.5, high=0.5))]
    assert read_level_probabilities(tokens) == pytest.approx((0.5, 0, 0.5, 0))


def test_no_level_position_or_no_level_token_gives_none() -> None:
    assert read_level_probabilities([]) is None
    assert read_level_probabilities([('{"risk_score":', _alts(low=1.0))]) is None
    assert read_level_probabilities(_answer(_alts(maybe=0.9))) is None
    assert read_level_probabilities(_answer([("low", float("nan"))])) is None


def test_normalised_rejects_empty_mass() -> None:
    assert normalised([0, 0, 0, 0]) is None
    assert normalised([1, 1]) is None
    assert normalised([1, 1, 2, 0]) == (0.25, 0.25, 0.5, 0)


HABIT = (0.45, 0.07, 0.35, 0.13)


def _steady(mean: Belief) -> Habit:
    """A habit with no noise: the same answer to every content-free prompt."""
    habit = measure_habit([mean])
    assert habit is not None
    return habit


def test_measure_habit_takes_log_mean_and_spread() -> None:
    assert measure_habit([]) is None
    habit = measure_habit([(0.5, 0.1, 0.3, 0.1), (0.3, 0.1, 0.5, 0.1)])
    assert habit is not None
    assert habit.log_mean[1] == pytest.approx(math.log(0.1))
    assert habit.noise[1] == 0
    assert habit.noise[0] == pytest.approx(habit.noise[2]) and habit.noise[0] > 0
    assert _steady(HABIT).noise == (0, 0, 0, 0)


def test_calibration_turns_an_input_blind_answer_uniform() -> None:
    assert calibrate(HABIT, _steady(HABIT)) == pytest.approx(UNIFORM)


def test_calibration_without_noise_divides_by_the_habit() -> None:
    belief = calibrate((0.30, 0.07, 0.35, 0.28), _steady(HABIT))
    expected = normalised([0.30 / 0.45, 1, 1, 0.28 / 0.13])
    assert expected is not None
    assert belief == pytest.approx(expected)
    assert max(belief) == belief[3]  # critical rose the most against the model's habit


def test_differences_within_the_habits_noise_are_no_evidence() -> None:
    noisy = Habit(_steady(HABIT).log_mean, (0.5, 0.5, 0.5, 0.5))
    nudged = (0.40, 0.08, 0.38, 0.14)  # within the noise of every level
    assert calibrate(nudged, noisy) == pytest.approx(UNIFORM)
    strong = calibrate((0.05, 0.05, 0.2, 0.7), noisy)
    assert max(strong) == strong[3] and strong[3] > 0.5  # far outside it still counts


def test_calibration_floors_a_level_the_model_never_names() -> None:
    belief = calibrate((0.5, 0.0, 0.5, 0.0), _steady((0.5, 0.0, 0.5, 0.0)))
    assert belief == pytest.approx(UNIFORM)


def test_prior_bands_centre_on_the_prior() -> None:
    bands = prior_bands(63)
    assert max(bands) == bands[2]
    assert sum(bands) == pytest.approx(1)


@pytest.mark.parametrize("prior", [0, 18, 30, 47, 63, 88, 100])
def test_no_opinion_moves_nothing(prior: int) -> None:
    assert adjustment(prior, UNIFORM, 20) == 0


def test_a_certain_llm_moves_the_whole_bound_in_its_direction() -> None:
    assert adjustment(63, certain("critical"), 20) == 20
    assert adjustment(63, certain("low"), 20) == -20
    assert adjustment(88, certain("low"), 5) == -5


def test_a_leaning_llm_moves_part_of_the_bound() -> None:
    step = adjustment(45, (0.1, 0.2, 0.5, 0.2), 20)
    assert 0 < step < 20


def test_agreeing_with_the_prior_band_moves_little() -> None:
    assert abs(adjustment(72, certain("high"), 20)) <= 2


def test_the_move_stays_within_0_100() -> None:
    assert adjustment(99, certain("critical"), 20) == 1
    assert adjustment(100, certain("critical"), 20) == 0


def test_zero_bound_keeps_the_prior_and_negative_bound_is_rejected() -> None:
    assert adjustment(63, certain("low"), 0) == 0
    assert toward_score(63, 0, 0) == 0
    with pytest.raises(ValueError, match="bound"):
        adjustment(63, certain("low"), -1)


def test_without_probabilities_the_prior_moves_toward_the_score() -> None:
    assert toward_score(40, 95, 20) == 20
    assert toward_score(70, 2, 5) == -5
    assert toward_score(50, 62, 20) == 12
    assert toward_score(95, 150, 20) == 5
    assert toward_score(5, -50, 20) == -5
