"""The detection history behind the rarity baseline, on a real SQLite file.

Database methods block by design, so these tests call them from plain (sync) test code.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from custom_components.home_security_intelligence.pipeline.models import ClosedBatch
from custom_components.home_security_intelligence.risk_context import hourly_counts
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import AnalysisStatus
from homeassistant.util import dt as dt_util

from .common import T0, at, seed_detections

HOUR = 3600.0
PRIOR_ONLY = AnalysisStatus.PRIOR_ONLY


@pytest.fixture
def db(tmp_path: Path) -> Generator[Database]:
    """An open database on a real file."""
    database = Database(tmp_path / "hsi" / "hsi.db")
    database.open()
    yield database
    database.close()


@pytest.fixture
def berlin() -> Generator[None]:
    """HA's time zone is Europe/Berlin (UTC+2 on T0's date) for the test."""
    previous = dt_util.get_default_time_zone()
    dt_util.set_default_time_zone(ZoneInfo("Europe/Berlin"))
    yield
    dt_util.set_default_time_zone(previous)


def test_detection_times_of_one_camera_in_a_half_open_period(db: Database) -> None:
    """Since is inclusive, before exclusive; other cameras do not count; times stay UTC."""
    seed_detections(db, "front", at(-1))
    seed_detections(db, "front", at(0), ("person", "car"))
    seed_detections(db, "front", at(HOUR))
    seed_detections(db, "front", at(2 * HOUR))
    seed_detections(db, "back", at(HOUR))

    times = db.detection_times("front", at(0), at(2 * HOUR))

    assert sorted(times) == [at(0), at(0), at(HOUR)]
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0) for t in times)
    assert db.detection_times("back", at(0), at(2 * HOUR)) == [at(HOUR)]
    assert db.detection_times("side", at(0), at(2 * HOUR)) == []
    assert db.detection_times("front", at(HOUR), at(HOUR)) == []


def test_detection_times_accept_other_time_zones(db: Database) -> None:
    """A period given in local time selects the same instants as in UTC."""
    seed_detections(db, "front", at(HOUR))
    tz = ZoneInfo("America/New_York")

    assert db.detection_times("front", at(0).astimezone(tz), at(2 * HOUR).astimezone(tz)) == [
        at(HOUR)
    ]


def test_detection_times_survive_reopening(tmp_path: Path) -> None:
    """The history is in the file: a new Database on it reads the same times."""
    path = tmp_path / "hsi.db"
    first = Database(path)
    first.open()
    seed_detections(first, "front", at(5))
    first.close()
    second = Database(path)
    second.open()
    try:
        assert second.detection_times("front", at(0), at(10)) == [at(5)]
    finally:
        second.close()


def test_event_times_are_the_starts_of_a_cameras_events(db: Database) -> None:
    """One time per stored event of the camera: when its first detection happened."""
    first = seed_detections(db, "front", at(10)) + seed_detections(db, "front", at(40))
    second = seed_detections(db, "front", at(HOUR))
    other = seed_detections(db, "back", at(20))
    db.store_event(
        ClosedBatch("b1", "front", tuple(first), at(0), at(60)), None, PRIOR_ONLY, at(70)
    )
    db.store_event(
        ClosedBatch("b2", "front", tuple(second), at(HOUR), at(HOUR + 60)),
        None,
        PRIOR_ONLY,
        at(HOUR + 70),
    )
    db.store_event(ClosedBatch("b3", "back", tuple(other), at(0), at(60)), None, PRIOR_ONLY, at(70))

    assert sorted(db.event_times("front")) == [at(10), at(HOUR)]
    assert db.event_times("back") == [at(20)]
    assert db.event_times("side") == []


@pytest.mark.usefixtures("berlin")
def test_hourly_counts_of_stored_history_are_local(db: Database) -> None:
    """The baseline counts stored detections per local hour of day, over several days."""
    assert T0.hour == 12 and T0.tzinfo is UTC
    for day in range(3):
        seed_detections(db, "front", at(day * 24 * HOUR))  # 14:00 in Berlin
    seed_detections(db, "front", at(10 * HOUR + 30))  # 22:00:30 UTC, 00:00 in Berlin
    seed_detections(db, "front", at(-13 * HOUR))  # 23:00 UTC the day before, 01:00 Berlin

    times = db.detection_times("front", at(-24 * HOUR), at(4 * 24 * HOUR))
    counts = hourly_counts(times)

    assert len(counts) == 24
    assert (counts[14], counts[0], counts[1]) == (3, 1, 1)
    assert sum(counts) == 5
