"""Zones and filters: each kind of filter, the feet point, and option parsing errors."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.home_security_intelligence.pipeline.models import Detection
from custom_components.home_security_intelligence.pipeline.zones import (
    MAX_IGNORE_AREAS,
    Area,
    FilterReason,
    ZoneError,
    ZoneFilter,
    apply_filter,
    format_areas,
    parse_areas,
)

FRAME = (1000, 500)
STREET = Area(0.0, 0.0, 1.0, 0.4)  # the top 40 % of the frame


def _det(kind: str, conf: float, bbox: tuple[int, int, int, int]) -> Detection:
    return Detection(kind, conf, bbox)


@pytest.mark.parametrize(
    ("zone", "detection", "expected"),
    [
        # Nothing configured: everything counts.
        (ZoneFilter(), _det("person", 0.2, (0, 0, 2, 2)), None),
        # Minimum confidence per group; groups follow risk_prior.group_of.
        (
            ZoneFilter(min_confidence={"person": 0.6}),
            _det("person", 0.55, (400, 200, 80, 200)),
            FilterReason.LOW_CONFIDENCE,
        ),
        (
            ZoneFilter(min_confidence={"person": 0.6}),
            _det("Person", 0.6, (400, 200, 80, 200)),
            None,
        ),
        (
            ZoneFilter(min_confidence={"person": 0.6}),
            _det("pedestrian", 0.5, (400, 200, 80, 200)),
            FilterReason.LOW_CONFIDENCE,
        ),
        (ZoneFilter(min_confidence={"person": 0.6}), _det("car", 0.5, (400, 200, 80, 200)), None),
        (
            ZoneFilter(min_confidence={"vehicle": 0.7}),
            _det("truck", 0.65, (0, 0, 500, 300)),
            FilterReason.LOW_CONFIDENCE,
        ),
        (
            ZoneFilter(min_confidence={"animal": 0.8}),
            _det("cat", 0.7, (0, 0, 50, 50)),
            FilterReason.LOW_CONFIDENCE,
        ),
        (
            ZoneFilter(min_confidence={"other": 0.9}),
            _det("umbrella", 0.85, (0, 0, 50, 50)),
            FilterReason.LOW_CONFIDENCE,
        ),
        # Minimum size: box area / frame area (500 000 px); 0.002 = 1 000 px.
        (ZoneFilter(min_size=0.002), _det("person", 0.9, (10, 10, 20, 40)), FilterReason.TOO_SMALL),
        (ZoneFilter(min_size=0.002), _det("person", 0.9, (10, 10, 25, 40)), None),
        # Ignore area by the bottom-centre point: feet in the street are ignored...
        (
            ZoneFilter(ignore_areas=(STREET,)),
            _det("person", 0.9, (100, 50, 40, 100)),
            FilterReason.IGNORE_AREA,
        ),
        # ...a person in front of the street whose head reaches into it is kept.
        (ZoneFilter(ignore_areas=(STREET,)), _det("person", 0.9, (100, 100, 40, 200)), None),
        # Feet exactly on the area's edge (y = 0.4) count as inside.
        (
            ZoneFilter(ignore_areas=(STREET,)),
            _det("car", 0.9, (0, 100, 100, 100)),
            FilterReason.IGNORE_AREA,
        ),
        # Any of several areas; the second one matches here.
        (
            ZoneFilter(ignore_areas=(Area(0, 0, 0.1, 0.1), Area(0.8, 0.8, 1, 1))),
            _det("dog", 0.9, (850, 400, 50, 60)),
            FilterReason.IGNORE_AREA,
        ),
        # Confidence is checked before size, size before areas.
        (
            ZoneFilter(0.5, {"person": 0.9}, (STREET,)),
            _det("person", 0.5, (0, 0, 5, 5)),
            FilterReason.LOW_CONFIDENCE,
        ),
        (
            ZoneFilter(0.5, {"person": 0.4}, (STREET,)),
            _det("person", 0.5, (0, 0, 5, 5)),
            FilterReason.TOO_SMALL,
        ),
    ],
)
def test_apply_filter(
    zone: ZoneFilter, detection: Detection, expected: FilterReason | None
) -> None:
    """Each detection gets the first reason that applies, or None."""
    [verdict] = apply_filter([detection], FRAME, zone)
    assert verdict.detection is detection
    assert verdict.filtered is expected


def test_issue_example_street_and_grass() -> None:
    """The street's passers-by and a 55 % person on the grass are filtered; the visitor is not."""
    zone = ZoneFilter.from_options({"min_confidence": {"person": 0.6}, "ignore_areas": "0,0,1,0.4"})
    found = [
        _det("person", 0.92, (100, 40, 30, 90)),  # on the street
        _det("person", 0.55, (700, 300, 40, 120)),  # the grass
        _det("person", 0.97, (450, 150, 90, 300)),  # at the door
    ]
    verdicts = apply_filter(found, FRAME, zone)
    assert [v.filtered for v in verdicts] == [
        FilterReason.IGNORE_AREA,
        FilterReason.LOW_CONFIDENCE,
        None,
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", ()),
        ("0.0,0.6,1.0,1.0", (Area(0.0, 0.6, 1.0, 1.0),)),
        (" 0 , 0.6 , 1 , 1 ; 0.5,0,1,0.2 ;", (Area(0, 0.6, 1, 1), Area(0.5, 0, 1, 0.2))),
        ("0,0,0.5,0.5\n0.5,0.5,1,1", (Area(0, 0, 0.5, 0.5), Area(0.5, 0.5, 1, 1))),
        ([[0, 0.6, 1, 1]], (Area(0, 0.6, 1, 1),)),
        ([("0.1", "0.1", "0.2", "0.2")], (Area(0.1, 0.1, 0.2, 0.2),)),
        ([], ()),
    ],
)
def test_parse_areas(value: Any, expected: tuple[Area, ...]) -> None:
    """Text (`;` or newline between areas) and lists parse to the same areas."""
    assert parse_areas(value) == expected


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("0,0,1", "invalid_area", "area 1 needs four numbers"),
        ("0,0,1,1; 0,0,1,1,1", "invalid_area", "area 2 needs four numbers"),
        ("a,b,c,d", "invalid_area", "area 1 needs four numbers"),
        ("0,0,nan,1", "invalid_area", "area 1 needs four numbers"),
        ("0,0,1.5,1", "invalid_area", "from 0 to 1"),
        ("-0.1,0,1,1", "invalid_area", "from 0 to 1"),
        ("0.5,0,0.2,1", "invalid_area", "x1 must be below x2"),
        ("0,0.5,1,0.5", "invalid_area", "y1 below y2"),
        ([[0, 0, 1, True]], "invalid_area", "needs four numbers"),
        (["0,0,1,1"], "invalid_area", "needs four numbers"),
        ([5], "invalid_area", "needs four numbers"),
        ("; ".join(["0,0,1,1"] * (MAX_IGNORE_AREAS + 1)), "too_many_areas", "at most 4"),
    ],
)
def test_parse_areas_errors(value: Any, code: str, message: str) -> None:
    """Each invalid form names its area and carries a code for the options flow."""
    with pytest.raises(ZoneError, match=message) as caught:
        parse_areas(value)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"min_size": 1.0}, "invalid_min_size"),
        ({"min_size": -0.01}, "invalid_min_size"),
        ({"min_size": "big"}, "invalid_min_size"),
        ({"min_confidence": {"person": 1.5}}, "invalid_min_confidence"),
        ({"min_confidence": {"person": None}}, "invalid_min_confidence"),
        ({"min_confidence": {"ghost": 0.5}}, "invalid_min_confidence"),
        ({"ignore_areas": "1,1,0,0"}, "invalid_area"),
    ],
)
def test_from_options_errors(options: dict[str, Any], code: str) -> None:
    """Invalid options raise ZoneError (a ValueError) with the field's code."""
    with pytest.raises(ZoneError) as caught:
        ZoneFilter.from_options(options)
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


def test_options_round_trip_and_text_form() -> None:
    """to_options gives what from_options reads; format_areas gives what parse_areas reads."""
    zone = ZoneFilter.from_options(
        {
            "min_size": "0.001",
            "min_confidence": {"person": 0.6, "vehicle": "0.5"},
            "ignore_areas": "0,0.6,1,1; 0.5,0,1,0.2",
        }
    )
    assert zone == ZoneFilter(
        0.001, {"person": 0.6, "vehicle": 0.5}, (Area(0, 0.6, 1, 1), Area(0.5, 0, 1, 0.2))
    )
    assert ZoneFilter.from_options(zone.to_options()) == zone
    assert format_areas(zone.ignore_areas) == "0,0.6,1,1; 0.5,0,1,0.2"
    assert parse_areas(format_areas(zone.ignore_areas)) == zone.ignore_areas
    assert ZoneFilter.from_options({}) == ZoneFilter()
