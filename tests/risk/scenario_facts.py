"""Labelled scenarios and the facts they give with roles and as installed (shared by eval and guards)."""

from __future__ import annotations

from dataclasses import replace
import json
from pathlib import Path
from typing import Any

from custom_components.home_security_intelligence.camera_roles import default_role
from custom_components.home_security_intelligence.pipeline.risk_prior import RiskFacts

HERE = Path(__file__).parent
TUNING = HERE / "scenarios.json"
# The held-out sets measured on the current weights: committed before the last
# re-weighing, never tuned on.
HELD_OUT = tuple(HERE / f"holdout_2026_11_29{tag}.json" for tag in ("x", "y", "z", "aa"))
# Earlier held-out sets, each measured once and tuned on by a later re-weighing.
EARLIER_HELD_OUT = tuple(
    HERE / f"holdout_2026_11_29{tag}.json"
    for tag in (
        *("", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"),
        *("p", "q", "r", "s", "t", "u", "v", "w", "ab", "ac", "ad", "ae"),
    )
)


def load(path: Path) -> list[dict[str, Any]]:
    """Return a file's scenarios."""
    found: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["scenarios"]
    return found


def folder(scenario: dict[str, Any]) -> str:
    """The camera's folder name: the scenario's, else its camera name in snake case."""
    name: str = scenario.get("folder") or "_".join(scenario["camera"].lower().split())
    return name


def with_roles(scenario: dict[str, Any]) -> RiskFacts:
    """The facts of a household that chose its cameras' roles and its context entities."""
    return RiskFacts(**scenario["facts"])


def as_installed(scenario: dict[str, Any]) -> RiskFacts:
    """The facts a new install sees: the role its folder suggests, no presence, guests or
    delivery entities; the household's alarm panel, which the options form fills in as HA's
    only one."""
    return replace(
        with_roles(scenario),
        camera_role=default_role(folder(scenario)),
        people_home=None,
        guests_expected=None,
        delivery_expected=None,
    )
