"""Ids are never handed out twice, any number of ids fits, events come with their detections.

A 24-hour signed image URL names a detection id: after a purge that id must never show
another snapshot. Lists of ids (an `acknowledge` action, a long batch, a purge of a busy
year) go to SQLite in chunks, below its limit on variables in one statement. These tests
set that limit to 999, its default before SQLite 3.32 (later builds allow 32,766 or more).
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from pathlib import Path
import sqlite3

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from custom_components.home_security_intelligence.pipeline.models import ClosedBatch, Detection
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.engine import MAX_IDS_PER_STATEMENT
from custom_components.home_security_intelligence.store.records import AnalysisStatus, EventQuery

from .common import T0, at, new_image, seed_detections, seed_image

WHEN = "2026-05-01 12:00:00.000000"
VARIABLE_LIMIT = 999
TOO_MANY = VARIABLE_LIMIT + 1


def _lower_limit(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, VARIABLE_LIMIT)


@pytest.fixture
def db(tmp_path: Path) -> Generator[Database]:
    """An open database on a real file whose connections allow 999 variables per statement."""
    database = Database(tmp_path / "hsi" / "hsi.db")
    database.open()
    engine = database._engine
    assert engine is not None
    event.listen(engine, "connect", _lower_limit)
    engine.dispose()  # reconnect with the listener
    yield database
    database.close()


def test_the_limit_is_real(db: Database) -> None:
    engine = db._engine
    assert engine is not None
    ids = {f"i{i}": i for i in range(TOO_MANY)}
    marks = ", ".join(f":{name}" for name in ids)
    with engine.connect() as conn, pytest.raises(OperationalError, match="too many SQL variables"):
        conn.execute(text(f"SELECT id FROM events WHERE id IN ({marks})"), ids)


def _event(db: Database, camera: str, seconds: float) -> tuple[int, list[int]]:
    ids = seed_detections(db, camera, at(seconds), ("person", "car"))
    stored, _ = db.store_event(
        ClosedBatch(f"{camera}-{seconds}", camera, tuple(ids), at(seconds), at(seconds)),
        None,
        AnalysisStatus.PRIOR_ONLY,
        at(seconds + 30),
    )
    return stored.id, ids


def test_ids_are_not_reused_after_everything_is_purged(db: Database) -> None:
    event_id, detection_ids = _event(db, "front", 0)
    image_id = db.detections(detection_ids)[0].image_id
    db.assign_batch(detection_ids, "gone")

    result = db.purge(at(10 * 86400))

    assert (result.events, result.detections, result.images) == (1, 2, 1)
    assert db.stats() == {"cameras": 0, "images": 0, "detections": 0, "events": 0}
    new_event, new_detections = _event(db, "back", 20 * 86400)
    assert new_event > event_id
    assert min(new_detections) > max(detection_ids)
    assert db.detections(new_detections)[0].image_id > image_id
    assert db.detections(detection_ids) == []
    assert db.event(event_id) is None


def test_acknowledge_takes_300000_ids(db: Database) -> None:
    first, _ = _event(db, "front", 0)
    second, _ = _event(db, "front", 100)
    ids = [*range(1, 300_000), first]  # the repeat is counted once
    assert db.acknowledge(ids, "all of them") == 2
    assert {e.id for e in db.query_events(EventQuery(reviewed=True))} == {first, second}


def test_id_lists_longer_than_sqlite_allows(db: Database) -> None:
    stored = seed_detections(db, "front", T0, ("person", "car"))
    many = [*range(stored[-1] + 1, stored[-1] + TOO_MANY), *stored]

    assert [d.id for d in db.detections(many)] == stored
    db.assign_batch(many, "b1")
    assert db.unbatched_detections() == {}
    assert db.batch_add("front", many, at(1), "b2") == "b2"
    closed = db.batch_close("b2", at(2))
    assert closed is not None
    assert closed.detection_ids == tuple(stored)
    stored_event, _ = db.store_event(
        ClosedBatch("b2", "front", tuple(many), T0, at(2)), None, AnalysisStatus.PRIOR_ONLY, T0
    )
    assert stored_event.detection_ids == tuple(stored)
    assert db.event_detections([stored_event.id, *range(TOO_MANY)]).keys() == {stored_event.id}


def test_a_purge_of_more_thumbnails_than_sqlite_variables(db: Database) -> None:
    with closing(sqlite3.connect(db.path)) as conn, conn:
        conn.executemany(
            "INSERT INTO images VALUES (?, 'front', ?, 1, 0.0, ?, 'done', 1, NULL, ?)",
            ((i, f"/c/front/{i}.jpg", WHEN, WHEN) for i in range(1, TOO_MANY + 1)),
        )
        conn.executemany(
            "INSERT INTO detections VALUES (?, ?, 'front', 'person', 0.9, 1, 1, 1, 1, ?, ?, 'old', NULL, NULL)",
            ((i, i, WHEN, f"/t/{i}.jpg") for i in range(1, TOO_MANY + 1)),
        )

    result = db.purge(at(86400))

    assert (result.detections, result.images, len(result.files)) == (TOO_MANY,) * 3
    assert result.files[:2] == ("/t/1.jpg", "/t/10.jpg")


def test_record_images_across_chunks_adds_only_new_paths(db: Database) -> None:
    count = 2 * MAX_IDS_PER_STATEMENT + 1
    images = [new_image("front", T0, f"/c/front/{i:05d}.jpg") for i in range(count)]
    first = db.record_images(images[::2], T0)
    again = db.record_images(images, at(1))
    assert len(first) + len(again) == count
    assert {j.file_path for j in again} == {i.path for i in images[1::2]}
    assert len(db.known_paths()) == count


def test_events_come_with_their_detections_in_one_query(db: Database) -> None:
    events = [_event(db, camera, s) for camera, s in (("front", 0), ("back", 10), ("front", 20))]
    engine = db._engine
    assert engine is not None
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        found = db.query_events(EventQuery())
        by_event = db.event_detections([e.id for e in found])
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert len(statements) == 3  # events, their members, their detections
    assert [e.id for e in found] == [events[2][0], events[1][0], events[0][0]]
    assert {e.id: e.detection_ids for e in found} == {i: tuple(d) for i, d in events}
    assert {i: [d.id for d in dets] for i, dets in by_event.items()} == dict(events)
    assert {d.file_path for d in by_event[events[0][0]]} == {
        db.detections(events[0][1])[0].file_path
    }


def test_the_thumbnail_is_recorded_on_every_detection_of_the_image(db: Database) -> None:
    job = seed_image(db, "front")
    found = [Detection("person", 0.9, (1, 2, 3, 4)), Detection("car", 0.8, (5, 6, 7, 8))]
    ids = db.store_detections(job, found, T0, T0, "/t/thumbs/1.jpg")
    assert [d.thumbnail_path for d in db.detections(ids)] == ["/t/thumbs/1.jpg"] * 2
    assert db.store_detections(job, found, T0, at(1), "/t/other.jpg") == ids
    assert [d.thumbnail_path for d in db.detections(ids)] == ["/t/thumbs/1.jpg"] * 2
    db.ensure_camera("front", "Front", T0)
    (camera,) = db.cameras()
    assert camera.latest_thumbnail == "/t/thumbs/1.jpg"
