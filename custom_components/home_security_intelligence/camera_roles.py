"""Camera roles: the household's choice, else a suggestion from the camera's folder name."""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Final

from .pipeline.risk_prior import ROLES

DEFAULT_ROLE: Final = "other"
# Words in a folder name that suggest a role, most concerning role first: a folder named
# `garage_door` is an entry point before it is a driveway.
ROLE_WORDS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    (
        "entry_point",
        frozenset({"door", "doors", "doorbell", "entrance", "porch", "frontdoor", "backdoor"}),
    ),
    ("driveway", frozenset({"driveway", "garage", "carport"})),
    ("yard", frozenset({"garden", "yard", "backyard", "patio"})),
    ("street", frozenset({"street", "road", "sidewalk"})),
)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_WORD = re.compile(r"[a-z]+")


def suggested_role(camera_id: str) -> str | None:
    """Return the role a camera's folder name suggests (`Front_Door2` -> entry_point)."""
    words = set(_WORD.findall(_CAMEL.sub(" ", camera_id).lower()))
    for role, hints in ROLE_WORDS:
        if words & hints:
            return role
    return None


def default_role(camera_id: str) -> str:
    """Return the role a camera has until the household chooses one."""
    return suggested_role(camera_id) or DEFAULT_ROLE


def camera_role(chosen: Mapping[str, str], camera_id: str) -> str:
    """Return a camera's role: the household's choice, else the suggestion, else other."""
    role = chosen.get(camera_id)
    return role if role in ROLES else default_role(camera_id)


def chosen_roles(submitted: Mapping[str, str]) -> dict[str, str]:
    """Keep the roles that differ from the default: only those were chosen by the user.

    A role left at its suggestion keeps following the suggestion.
    """
    return {
        camera: role
        for camera, role in submitted.items()
        if role in ROLES and role != default_role(camera)
    }
