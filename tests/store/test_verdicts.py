"""Verdicts given with `acknowledge`: stored with the event's review, read back per camera."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
import sqlite3

import pytest

from custom_components.home_security_intelligence.pipeline.models import ClosedBatch, RiskAssessment
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import Verdict, VerdictRecord

from .common import T0, at, seed_detections

ASSESSMENT = RiskAssessment(40, "medium", "Someone in the yard", "Test")


@pytest.fixture
def db(tmp_path: Path) -> Generator[Database]:
    """An open database on a real file."""
    database = Database(tmp_path / "hsi.db")
    database.open()
    yield database
    database.close()


def _event(db: Database, camera: str, seconds: float, objects: tuple[str, ...]) -> int:
    ids = seed_detections(db, camera, at(seconds), objects)
    batch = ClosedBatch(f"{camera}-{seconds}", camera, tuple(ids), at(seconds), at(seconds))
    event, _ = db.store_event(batch, ASSESSMENT, "analyzed", at(seconds))
    return event.id


def test_a_verdict_is_kept_with_the_review_and_read_back_per_camera(db: Database) -> None:
    yard = _event(db, "yard", 0, ("person", "dog"))
    later = _event(db, "yard", 60, ("car",))
    unjudged = _event(db, "yard", 120, ("person",))
    other = _event(db, "gate", 30, ("person",))
    assert db.acknowledge([yard, other], "the neighbour", Verdict.FALSE_ALARM) == 2
    assert db.acknowledge([later], None, Verdict.MISSED_THREAT) == 1
    assert db.acknowledge([unjudged], "seen") == 1
    event = db.event(yard)
    assert event is not None
    assert (event.reviewed, event.note, event.verdict) == (True, "the neighbour", "false_alarm")

    assert db.verdicts("yard", T0, at(600), 10) == [
        VerdictRecord(at(60), ("car",), Verdict.MISSED_THREAT),
        VerdictRecord(at(0), ("dog", "person"), Verdict.FALSE_ALARM),
    ]
    assert db.verdicts("yard", at(1), at(600), 10) == [
        VerdictRecord(at(60), ("car",), Verdict.MISSED_THREAT)
    ]
    assert db.verdicts("yard", T0, at(60), 10) == [
        VerdictRecord(at(0), ("dog", "person"), Verdict.FALSE_ALARM)
    ]
    assert len(db.verdicts("yard", T0 - timedelta(days=1), at(600), 1)) == 1


def test_acknowledging_again_without_a_verdict_keeps_it(db: Database) -> None:
    event_id = _event(db, "yard", 0, ("person",))
    db.acknowledge([event_id], None, Verdict.AS_EXPECTED)
    db.acknowledge([event_id], "looked again")
    event = db.event(event_id)
    assert event is not None
    assert (event.note, event.verdict) == ("looked again", "as_expected")


def test_an_older_file_gains_the_verdict_column(tmp_path: Path) -> None:
    """A file whose events table has no `verdict` column is upgraded in place."""
    path = tmp_path / "hsi.db"
    first = Database(path)
    first.open()
    event_id = _event(first, "yard", 0, ("person",))
    first.close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("ALTER TABLE events DROP COLUMN verdict")
    again = Database(path)
    again.open()
    try:
        event = again.event(event_id)
        assert event is not None and event.verdict is None
        assert again.acknowledge([event_id], None, Verdict.FALSE_ALARM) == 1
        assert [v.verdict for v in again.verdicts("yard", T0, at(1), 10)] == [Verdict.FALSE_ALARM]
    finally:
        again.close()
