"""The prior alone on the held-out scenarios of 2026-11-29, by themselves (never tuned on).

Pure Python, no HA: the same facts `scripts/eval-risk` feeds through the integration, with
roles (the household's roles and entities) and as installed (no household entities, the
role the camera's folder name suggests). The floors are the figures measured when the
weights were fixed; the issue's targets are 90 % with roles and 85 % as installed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from custom_components.home_security_intelligence.pipeline.risk_prior import (
    RiskFacts,
    compute_prior,
)

from .scenario_facts import HELD_OUT, TUNING, as_installed, load, with_roles

BANDS = ("low", "medium", "high", "critical")
type Facts = Callable[[dict[str, Any]], RiskFacts]


def _score(scenarios: list[dict[str, Any]], facts: Facts) -> tuple[int, list[str]]:
    """In-band count and the ids of high/critical scenarios scored low."""
    hits, high_as_low = 0, []
    for scenario in scenarios:
        level = compute_prior(facts(scenario)).level
        hits += level in scenario["expect"]
        if level == "low" and {"high", "critical"} & set(scenario["expect"]):
            high_as_low.append(scenario["id"])
    return hits, high_as_low


def test_held_out_set_is_separate_broad_and_well_formed() -> None:
    scenarios = load(HELD_OUT)
    assert len(scenarios) >= 20
    assert all(s["holdout"] == "2026-11-29" and not s.get("quick") for s in scenarios)
    assert not {s["id"] for s in scenarios} & {s["id"] for s in load(TUNING)}
    assert len({s["id"] for s in scenarios}) == len(scenarios)
    for s in scenarios:
        assert 1 <= len(s["expect"]) <= 2
        assert all(band in BANDS for band in s["expect"])
        if len(s["expect"]) == 2:
            assert abs(BANDS.index(s["expect"][0]) - BANDS.index(s["expect"][1])) == 1
    # Two accepted bands only where a household would honestly accept either: few.
    assert sum(len(s["expect"]) == 2 for s in scenarios) <= len(scenarios) * 0.10
    facts = [with_roles(s) for s in scenarios]
    assert {f.camera_role for f in facts} == {"entry_point", "driveway", "yard", "street", "other"}
    assert any(f.people_home is None for f in facts)
    assert any(f.people_home is not None for f in facts)
    assert any(f.alarm_state is None for f in facts)
    assert {f.alarm_state for f in facts} >= {"armed_away", "armed_home", "armed_night"}
    assert {as_installed(s).camera_role for s in scenarios} >= {"entry_point", "other"}


@pytest.mark.parametrize(
    ("facts", "floor"),
    [pytest.param(with_roles, 27, id="with-roles"), pytest.param(as_installed, 22, id="installed")],
)
def test_prior_on_the_held_out_set_by_itself(facts: Facts, floor: int) -> None:
    """Measured 27/30 with roles (target 90 %: met), 22/30 as installed (target 85 %: missed)."""
    scenarios = load(HELD_OUT)
    hits, high_as_low = _score(scenarios, facts)
    assert hits >= floor, f"{hits}/{len(scenarios)}"
    assert not high_as_low


def test_prior_on_the_2026_11_24_held_out_subset_by_itself() -> None:
    """The earlier held-out scenarios, now part of the tuning set, are still checked alone."""
    scenarios = [s for s in load(TUNING) if s.get("holdout")]
    hits, high_as_low = _score(scenarios, with_roles)
    assert hits >= 15, f"{hits}/{len(scenarios)}"
    assert not high_as_low
