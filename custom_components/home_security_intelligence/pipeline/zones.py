"""Per-camera zones and filters: which detections count, and why the others do not.

Pure functions: a filter is built from a camera's options (validated with clear errors
for the options flow) and applied to the detections of one frame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
import math
import re
from typing import Any

from .models import Detection
from .risk_prior import GROUP_ORDER, group_of

MAX_IGNORE_AREAS = 4
_SEPARATOR = re.compile(r"[;\n]")


class FilterReason(StrEnum):
    """Why a detection was filtered (stored with it)."""

    LOW_CONFIDENCE = "low_confidence"
    TOO_SMALL = "too_small"
    IGNORE_AREA = "ignore_area"


class ZoneError(ValueError):
    """An option value is invalid: `code` is a translation key, the message says what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        """Keep the error code for the options flow."""
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Area:
    """A rectangle in relative frame coordinates (0..1, origin top left)."""

    x1: float
    y1: float
    x2: float
    y2: float

    def contains(self, x: float, y: float) -> bool:
        """Return True when the relative point lies inside or on the edge."""
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2


@dataclass(frozen=True, slots=True)
class ZoneFilter:
    """One camera's filters; the default filters nothing."""

    min_size: float = 0.0
    min_confidence: Mapping[str, float] = field(default_factory=dict)
    ignore_areas: tuple[Area, ...] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ZoneFilter:
        """Build and validate a filter from `min_size`, `min_confidence`, `ignore_areas`.

        Raises ZoneError for any invalid value.
        """
        return cls(
            min_size=parse_min_size(options.get("min_size", 0.0)),
            min_confidence=parse_min_confidence(options.get("min_confidence") or {}),
            ignore_areas=parse_areas(options.get("ignore_areas") or ()),
        )

    def to_options(self) -> dict[str, Any]:
        """Return the filter as JSON-safe options (what `from_options` reads)."""
        return {
            "min_size": self.min_size,
            "min_confidence": dict(self.min_confidence),
            "ignore_areas": [[a.x1, a.y1, a.x2, a.y2] for a in self.ignore_areas],
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """A detection and why it is filtered, or None when it counts."""

    detection: Detection
    filtered: FilterReason | None


def apply_filter(
    detections: Sequence[Detection], frame_size: tuple[int, int], zone: ZoneFilter
) -> list[Verdict]:
    """Judge each detection of a frame (`frame_size` = width, height in source pixels).

    Checked in order, the first that applies is the reason: the group's minimum
    confidence, the minimum box area as a fraction of the frame, then the ignore areas.
    An area ignores a detection when the box's bottom-centre point (where the object
    stands, as in Frigate's zones) lies inside it: a person on the pavement in front of
    an ignored street is kept though their head reaches into the street's rectangle.
    """
    width, height = frame_size
    area = max(1, width * height)
    verdicts: list[Verdict] = []
    for detection in detections:
        x, y, w, h = detection.bbox
        reason: FilterReason | None = None
        if detection.confidence < zone.min_confidence.get(group_of(detection.object_type), 0.0):
            reason = FilterReason.LOW_CONFIDENCE
        elif w * h < zone.min_size * area:
            reason = FilterReason.TOO_SMALL
        elif any(a.contains((x + w / 2) / width, (y + h) / height) for a in zone.ignore_areas):
            reason = FilterReason.IGNORE_AREA
        verdicts.append(Verdict(detection, reason))
    return verdicts


def parse_min_size(value: Any) -> float:
    """Return a minimum object size as a fraction of the frame area, 0 <= size < 1."""
    number = _number(value)
    if number is None or not 0.0 <= number < 1.0:
        raise ZoneError(
            "invalid_min_size", f"minimum size must be a fraction from 0 to below 1, got {value!r}"
        )
    return number


def parse_min_confidence(value: Mapping[str, Any]) -> dict[str, float]:
    """Return minimum confidences by object group (person, vehicle, animal, other), 0..1."""
    result: dict[str, float] = {}
    for group, raw in value.items():
        if group not in GROUP_ORDER:
            raise ZoneError(
                "invalid_min_confidence",
                f"unknown object group {group!r} (use {', '.join(GROUP_ORDER)})",
            )
        number = _number(raw)
        if number is None or not 0.0 <= number <= 1.0:
            raise ZoneError(
                "invalid_min_confidence",
                f"minimum confidence for {group} must be from 0 to 1, got {raw!r}",
            )
        result[group] = number
    return result


def parse_areas(value: str | Sequence[Any]) -> tuple[Area, ...]:
    """Parse ignore areas: `"x1,y1,x2,y2; …"` (or one per line) or a list of 4-number lists.

    Coordinates are relative (0..1, origin top left) with x1 < x2 and y1 < y2; at most
    MAX_IGNORE_AREAS. Raises ZoneError naming the area that is wrong.
    """
    if isinstance(value, str):
        items: list[Any] = [part.split(",") for part in _SEPARATOR.split(value) if part.strip()]
    else:
        items = list(value)
    if len(items) > MAX_IGNORE_AREAS:
        raise ZoneError(
            "too_many_areas", f"at most {MAX_IGNORE_AREAS} ignore areas, got {len(items)}"
        )
    return tuple(_area(index, item) for index, item in enumerate(items, 1))


def format_areas(areas: Sequence[Area]) -> str:
    """Return areas in the text form `parse_areas` reads (for the options form's default)."""
    return "; ".join(f"{a.x1:g},{a.y1:g},{a.x2:g},{a.y2:g}" for a in areas)


def _area(index: int, item: Any) -> Area:
    numbers = (
        [_number(v) for v in item]
        if isinstance(item, Sequence) and not isinstance(item, str)
        else []
    )
    if len(numbers) != 4 or any(n is None for n in numbers):
        raise ZoneError(
            "invalid_area", f"area {index} needs four numbers x1,y1,x2,y2, got {item!r}"
        )
    x1, y1, x2, y2 = (n for n in numbers if n is not None)
    if not all(0.0 <= n <= 1.0 for n in (x1, y1, x2, y2)):
        raise ZoneError(
            "invalid_area", f"area {index}: coordinates are fractions of the frame, from 0 to 1"
        )
    if not (x1 < x2 and y1 < y2):
        raise ZoneError(
            "invalid_area", f"area {index}: x1 must be below x2 and y1 below y2 (top left first)"
        )
    return Area(x1, y1, x2, y2)


def _number(value: Any) -> float | None:
    """Return a finite float from a number or numeric string, else None (bools are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
