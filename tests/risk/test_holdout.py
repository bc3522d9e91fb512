"""The prior alone on the held-out sets of 2026-11-29, each by itself.

Pure Python, no HA: the same facts `scripts/eval-risk` feeds through the integration, with
roles (the household's roles and entities) and as installed (no presence, guests or
delivery entities, HA's only alarm panel, the role the camera's folder name suggests).
The sets measured on the current weights (`HELD_OUT`: x, y, z and aa, committed before
the last re-weighing) were never tuned on; their floors are the figures measured
when the weights were fixed. The earlier sets were each measured once, then tuned on:
their floors are in-sample and guard against a re-weighing that undoes what they taught. The issue's targets are 90 % with roles and
85 % as installed, with no high or critical scenario scored low.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custom_components.home_security_intelligence.pipeline.risk_prior import (
    RiskFacts,
    compute_prior,
)

from .scenario_facts import EARLIER_HELD_OUT, HELD_OUT, TUNING, as_installed, load, with_roles

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


@pytest.mark.parametrize("path", [*EARLIER_HELD_OUT, *HELD_OUT], ids=lambda p: p.stem)
def test_held_out_sets_are_separate_broad_and_well_formed(path: Path) -> None:
    scenarios = load(path)
    assert len(scenarios) >= 20
    tag = scenarios[0]["holdout"]
    assert all(s["holdout"] == tag and not s.get("quick") for s in scenarios)
    others = [TUNING, *(p for p in (*EARLIER_HELD_OUT, *HELD_OUT) if p != path)]
    assert not {s["id"] for s in scenarios} & {s["id"] for p in others for s in load(p)}
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
    ("path", "roles", "installed"),
    [
        (path, *floors)
        for path, floors in zip(HELD_OUT, ((27, 25), (28, 27), (30, 29), (26, 27)), strict=True)
    ],
    ids=lambda value: value.stem if isinstance(value, Path) else str(value),
)
def test_prior_on_the_held_out_sets_of_the_current_weights(
    path: Path, roles: int, installed: int
) -> None:
    """Measured once, prior alone, when the weights were fixed: 111/120 (92.5 %) with roles
    and 108/120 (90 %) as installed on sets x, y, z and aa, against the targets of 90 %
    and 85 %."""
    scenarios = load(path)
    for facts, floor in ((with_roles, roles), (as_installed, installed)):
        hits, high_as_low = _score(scenarios, facts)
        assert hits >= floor, f"{facts.__name__}: {hits}/{len(scenarios)}"
        assert not high_as_low


@pytest.mark.parametrize(
    ("path", "roles", "installed"),
    [
        (path, *floors)
        for path, floors in zip(
            EARLIER_HELD_OUT,
            (
                *((29, 28), (28, 28), (27, 24), (27, 23), (29, 26), (27, 25), (28, 25)),
                *((25, 24), (28, 25), (28, 25), (27, 26), (29, 27), (28, 26), (28, 27)),
                *((29, 25), (27, 25), (28, 25), (27, 27), (28, 27), (30, 29), (29, 27)),
                *((28, 27), (28, 28), (26, 25), (26, 25), (28, 27), (27, 25)),
            ),
            strict=True,
        )
    ],
    ids=lambda value: value.stem if isinstance(value, Path) else str(value),
)
def test_prior_on_earlier_held_out_sets_by_themselves(
    path: Path, roles: int, installed: int
) -> None:
    """In-sample since a later re-weighing tuned on them: the figures when the weights were
    fixed. The 8th re-weighing lost 11 answers (with roles + as installed: 2 + 1 on the
    tuning set, 1 + 0 on b, 1 + 1 on f, 2 + 2 on g, 1 + 0 on i) and gained 113."""
    scenarios = load(path)
    for facts, floor in ((with_roles, roles), (as_installed, installed)):
        hits, high_as_low = _score(scenarios, facts)
        assert hits >= floor, f"{facts.__name__}: {hits}/{len(scenarios)}"
        assert not high_as_low


def test_prior_on_the_2026_11_24_held_out_subset_by_itself() -> None:
    """The earliest held-out scenarios, now part of the tuning set, are still checked alone."""
    scenarios = [s for s in load(TUNING) if s.get("holdout")]
    hits, high_as_low = _score(scenarios, with_roles)
    assert hits >= 15, f"{hits}/{len(scenarios)}"
    assert not high_as_low
