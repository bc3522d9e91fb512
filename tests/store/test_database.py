"""The SQLite database: ledger, detections, events, embedded batches, on a real file.

Database methods block by design, so these tests call them from plain (sync) test code,
where no event loop runs.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
import sqlite3
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import StatementError

from custom_components.home_security_intelligence.pipeline.models import (
    ClosedBatch,
    Detection,
    OpenBatch,
    RiskAssessment,
)
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import (
    BatchState,
    EventQuery,
    ImageState,
    NewImage,
)
from custom_components.home_security_intelligence.store.schema import SCHEMA_VERSION, UtcDateTime

from .common import T0, at, new_image, seed_detections, seed_image, set_thumbnail

ASSESSMENT = RiskAssessment(72, "high", "Someone at the door", "Person lingering at night")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """Where the database file goes (a folder that does not exist yet)."""
    return tmp_path / "storage" / "hsi" / "hsi.db"


@pytest.fixture
def db(path: Path) -> Generator[Database]:
    """An open database on a real file."""
    database = Database(path)
    database.open()
    yield database
    database.close()


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    """Run one statement on the file through a separate sqlite3 connection."""
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(query).fetchall()


def _batch(db: Database, camera: str, seconds: float, objects: tuple[str, ...]) -> ClosedBatch:
    """Store detections in a new batch of `camera` and close it."""
    ids = seed_detections(db, camera, at(seconds), objects)
    batch_id = db.batch_add(camera, ids, at(seconds), f"{camera}-{seconds}")
    closed = db.batch_close(batch_id, at(seconds + 30))
    assert closed is not None
    return closed


# Opening and closing


def test_open_creates_the_file_in_wal_mode_with_a_schema_version(db: Database, path: Path) -> None:
    assert path.is_file()
    assert _sql(path, "PRAGMA journal_mode") == [("wal",)]
    assert _sql(path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_reopening_keeps_one_current_schema_version(path: Path) -> None:
    first = Database(path)
    first.open()
    first.close()
    _sql(path, "UPDATE schema_version SET version = 0")
    again = Database(path)
    again.open()
    again.close()
    assert _sql(path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    again.open()
    again.close()
    assert _sql(path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_use_after_close_raises(db: Database) -> None:
    db.close()
    db.close()
    with pytest.raises(RuntimeError, match="closed"):
        db.known_paths()
    with pytest.raises(RuntimeError, match="closed"):
        db.ensure_camera("front", "Front", T0)


def test_a_failed_write_rolls_back_and_frees_the_writer(db: Database) -> None:
    naive = NewImage("front", "/cameras/front/b.jpg", 1, 0.0, datetime(2026, 5, 1))  # noqa: DTZ001
    # The two-image transaction fails and rolls back, then each image goes in alone: the
    # good one is recorded, the bad one is logged (one bad file never stops the others).
    jobs = db.record_images([new_image("front", T0, "/cameras/front/a.jpg"), naive], T0)
    assert [job.file_path for job in jobs] == ["/cameras/front/a.jpg"]
    with pytest.raises(StatementError):
        db.ensure_camera("front", "Front", datetime(2026, 5, 1, 12, 0))  # noqa: DTZ001
    assert db.known_paths() == {"/cameras/front/a.jpg"}
    assert db.cameras() == []
    assert db.ensure_camera("front", "Front", T0)
    assert db.record_images([new_image("front", T0, "/cameras/front/a.jpg")], T0) == []
    assert len(db.record_images([new_image("front", T0, "/cameras/front/c.jpg")], T0)) == 1


# UtcDateTime


def test_utc_datetime_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())  # noqa: DTZ001


def test_utc_datetime_round_trips_aware_values_as_utc(db: Database) -> None:
    local = datetime(2026, 5, 1, 14, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2)))
    db.ensure_camera("front", "Front", T0)
    ids = seed_detections(db, "front", local)
    (record,) = db.detections(ids)
    assert record.detected_at == local
    assert record.detected_at.tzinfo is UTC
    assert record.detected_at.hour == 12
    assert UtcDateTime().process_bind_param(None, sqlite.dialect()) is None
    assert UtcDateTime().process_result_value(None, sqlite.dialect()) is None


# Cameras


def test_ensure_camera_adds_each_camera_once(db: Database) -> None:
    assert db.ensure_camera("front", "Front door", T0)
    assert not db.ensure_camera("front", "Renamed", at(5))
    assert db.ensure_camera("back", "Back yard", T0)
    assert [(c.id, c.name) for c in db.cameras()] == [
        ("back", "Back yard"),
        ("front", "Front door"),
    ]


def test_cameras_carry_their_latest_event_and_thumbnail(db: Database) -> None:
    db.ensure_camera("front", "Front", T0)
    db.ensure_camera("back", "Back", T0)
    first = _batch(db, "front", 0, ("person",))
    second = _batch(db, "front", 100, ("car",))
    set_thumbnail(db, first.detection_ids, "/t/first.jpg")
    set_thumbnail(db, second.detection_ids, "/t/second.jpg")
    db.store_event(first, ASSESSMENT, "analyzed", at(40))
    latest, _ = db.store_event(second, ASSESSMENT, "analyzed", at(140))
    seed_detections(db, "front", at(200))  # newer detection, no thumbnail

    cameras = {c.id: c for c in db.cameras()}

    assert cameras["front"].latest_event == latest
    assert cameras["front"].latest_thumbnail == "/t/second.jpg"
    assert cameras["back"].latest_event is None
    assert cameras["back"].latest_thumbnail is None


# The image ledger


def test_record_images_dedupes_by_path(db: Database) -> None:
    same = new_image("front", T0, "/cameras/front/a.jpg")
    jobs = db.record_images([same, same, new_image("front", at(1), "/cameras/front/b.jpg")], T0)
    assert [j.file_path for j in jobs] == ["/cameras/front/a.jpg", "/cameras/front/b.jpg"]
    assert db.record_images([same], at(5)) == []
    assert db.record_images([], at(5)) == []
    assert db.known_paths() == {"/cameras/front/a.jpg", "/cameras/front/b.jpg"}
    assert db.image_counts() == {ImageState.PENDING: 2}


def test_record_images_returns_jobs_with_ids_and_capture_time(db: Database) -> None:
    (job,) = db.record_images([new_image("back", at(7), "/cameras/back/x.jpg")], at(9))
    assert (job.camera_id, job.file_path, job.timestamp) == (
        "back",
        "/cameras/back/x.jpg",
        at(7).isoformat(),
    )
    assert db.pending_images() == [job]
    assert db.image_state(job.image_id) == ImageState.PENDING
    assert db.image_state(job.image_id + 1000) is None


def test_pending_images_leave_out_finished_ones(db: Database) -> None:
    done = seed_image(db, "front", at(0))
    invalid = seed_image(db, "front", at(1))
    waiting = seed_image(db, "front", at(2))
    db.store_detections(done, [], at(0), at(3))
    db.mark_image(invalid.image_id, ImageState.INVALID, "not a JPEG", at(3))
    assert db.pending_images() == [waiting]
    assert db.image_counts() == {ImageState.DONE: 1, ImageState.INVALID: 1, ImageState.PENDING: 1}


def test_mark_image_counts_attempts_and_keeps_the_last_error(db: Database, path: Path) -> None:
    job = seed_image(db, "front")
    db.mark_image(job.image_id, ImageState.PENDING, "detector down", at(1))
    db.mark_image(job.image_id, ImageState.PENDING, "timeout", at(2))
    assert _sql(
        path, f"SELECT state, attempts, last_error FROM images WHERE id={job.image_id}"
    ) == [(ImageState.PENDING, 2, "timeout")]
    assert db.pending_images() == [job]


# Detections


def test_store_detections_marks_the_image_done_and_is_idempotent(db: Database, path: Path) -> None:
    job = seed_image(db, "front")
    db.mark_image(job.image_id, ImageState.PENDING, "detector down", at(1))
    found = [Detection("person", 0.91, (1, 2, 3, 4)), Detection("car", 0.8, (5, 6, 7, 8))]

    ids = db.store_detections(job, found, at(0), at(2))

    assert len(ids) == 2
    assert db.image_state(job.image_id) == ImageState.DONE
    assert _sql(path, f"SELECT attempts, last_error FROM images WHERE id={job.image_id}") == [
        (2, None)
    ]
    assert db.store_detections(job, found, at(0), at(3)) == ids
    assert db.stats()["detections"] == 2


def test_store_detections_for_an_unknown_image_stores_nothing(db: Database) -> None:
    job = seed_image(db, "front")
    ghost = type(job)(job.image_id + 99, "front", "/nowhere.jpg", job.timestamp)
    assert db.store_detections(ghost, [Detection("person", 0.9, (0, 0, 1, 1))], T0, T0) == []
    assert db.stats()["detections"] == 0


def test_detections_are_joined_with_their_file_and_ordered_by_time(db: Database) -> None:
    later = seed_image(db, "front", at(30))
    earlier = seed_image(db, "front", at(10))
    (late_id,) = db.store_detections(later, [Detection("car", 0.7, (1, 2, 3, 4))], at(30), at(31))
    early_ids = db.store_detections(
        earlier,
        [Detection("person", 0.9, (5, 6, 7, 8)), Detection("dog", 0.6, (9, 10, 11, 12))],
        at(10),
        at(31),
    )
    set_thumbnail(db, [late_id], "/t/late.jpg")

    records = db.detections([late_id, *early_ids, 9999])

    assert [r.id for r in records] == [*early_ids, late_id]
    first, _, last = records
    assert (first.object_type, first.confidence, first.bbox) == ("person", 0.9, (5, 6, 7, 8))
    assert (first.image_id, first.camera_id, first.file_path) == (
        earlier.image_id,
        "front",
        earlier.file_path,
    )
    assert (first.detected_at, first.thumbnail_path) == (at(10), None)
    assert (last.file_path, last.thumbnail_path) == (later.file_path, "/t/late.jpg")


def test_unbatched_detections_lists_what_assign_batch_missed(db: Database) -> None:
    front = seed_detections(db, "front", at(0), ("person", "car"))
    back = seed_detections(db, "back", at(1))
    late = seed_detections(db, "front", at(2))
    assert db.unbatched_detections() == {"front": [*front, *late], "back": back}
    db.assign_batch(front, "b1")
    assert db.unbatched_detections() == {"front": late, "back": back}
    db.assign_batch([*back, *late], "b2")
    assert db.unbatched_detections() == {}


# Events


def test_store_event_records_the_batch_and_is_idempotent(db: Database) -> None:
    ids = seed_detections(db, "front", at(10), ("person", "car", "person"))
    ids += seed_detections(db, "front", at(25), ("dog",))
    set_thumbnail(db, ids[:3], "/t/one.jpg")
    set_thumbnail(db, ids[3:], "/t/two.jpg")
    batch = ClosedBatch("b1", "front", (*ids, 9999), at(0), at(60))

    event, new = db.store_event(batch, ASSESSMENT, "analyzed", at(70))

    assert new
    assert (event.batch_id, event.camera_id, event.analysis_status) == ("b1", "front", "analyzed")
    assert (event.risk_score, event.risk_level) == (72, "high")
    assert (event.summary, event.reasoning) == (ASSESSMENT.summary, ASSESSMENT.reasoning)
    assert event.objects == ("car", "dog", "person")
    assert event.detection_ids == tuple(ids)
    assert event.thumbnail_path == "/t/one.jpg"  # the person frame shows the event, not the dog
    assert (event.started_at, event.ended_at, event.created_at) == (at(10), at(25), at(70))
    assert (event.reviewed, event.note) == (False, None)

    again, new = db.store_event(batch, None, "unavailable", at(80))
    assert not new
    assert again == event
    assert db.stats()["events"] == 1


def test_an_event_without_assessment_has_no_risk(db: Database) -> None:
    event, _ = db.store_event(ClosedBatch("b1", "front", (), at(0), at(9)), None, "unavailable", T0)
    assert (event.risk_score, event.risk_level, event.summary, event.reasoning) == (
        None,
        None,
        "",
        "",
    )
    assert (event.started_at, event.ended_at) == (at(0), at(9))
    assert (event.objects, event.detection_ids, event.thumbnail_path) == ((), (), None)
    assert db.unassessed_events(10) == [event]


def test_event_lookup_and_times(db: Database) -> None:
    first, _ = db.store_event(_batch(db, "front", 0, ("person",)), ASSESSMENT, "analyzed", at(40))
    second, _ = db.store_event(_batch(db, "front", 500, ("car",)), ASSESSMENT, "analyzed", at(540))
    db.store_event(_batch(db, "back", 100, ("dog",)), ASSESSMENT, "analyzed", at(140))
    assert db.event(first.id) == first
    assert db.event(9999) is None
    assert sorted(db.event_times("front")) == [first.started_at, second.started_at]
    assert db.event_times("side") == []


def test_query_events_filters_and_orders_newest_first(db: Database) -> None:
    low = RiskAssessment(10, "low", "cat", "a cat")
    a, _ = db.store_event(_batch(db, "front", 0, ("person",)), ASSESSMENT, "analyzed", at(40))
    b, _ = db.store_event(_batch(db, "back", 100, ("cat",)), low, "analyzed", at(140))
    c, _ = db.store_event(_batch(db, "front", 200, ("car",)), low, "analyzed", at(240))
    db.acknowledge([c.id], "seen")

    def ids(**filters: Any) -> list[int]:
        return [e.id for e in db.query_events(EventQuery(**filters))]

    assert ids() == [c.id, b.id, a.id]
    assert ids(camera_ids=("front",)) == [c.id, a.id]
    assert ids(min_score=50) == [a.id]
    assert ids(since=at(100)) == [c.id, b.id]
    assert ids(until=at(100)) == [b.id, a.id]
    assert ids(reviewed=True) == [c.id]
    assert ids(reviewed=False) == [b.id, a.id]
    assert ids(limit=1) == [c.id]


def test_acknowledge_marks_events_reviewed_with_a_note(db: Database) -> None:
    event, _ = db.store_event(_batch(db, "front", 0, ("person",)), ASSESSMENT, "analyzed", at(40))
    assert db.acknowledge([event.id, 9999], "checked: the postman") == 1
    stored = db.event(event.id)
    assert stored is not None
    assert (stored.reviewed, stored.note) == (True, "checked: the postman")


def test_update_assessment_replaces_a_missing_one(db: Database) -> None:
    event, _ = db.store_event(_batch(db, "front", 0, ("person",)), None, "unavailable", at(40))
    assert db.unassessed_events(10) == [event]

    updated = db.update_assessment(event.id, ASSESSMENT, "analyzed")

    assert updated is not None
    assert (updated.id, updated.risk_score, updated.risk_level) == (event.id, 72, "high")
    assert (updated.summary, updated.analysis_status) == (ASSESSMENT.summary, "analyzed")
    assert db.event(event.id) == updated
    assert db.unassessed_events(10) == []
    assert db.update_assessment(9999, ASSESSMENT, "analyzed") is None


def test_unassessed_events_come_oldest_first_up_to_a_limit(db: Database) -> None:
    events = [
        db.store_event(_batch(db, "front", s, ("person",)), None, "unavailable", at(s + 40))[0]
        for s in (0, 100, 200)
    ]
    assert db.unassessed_events(2) == events[:2]


# Retention


def test_purge_removes_old_analysed_data_and_keeps_work_in_progress(db: Database) -> None:
    old = _batch(db, "front", 0, ("person", "car"))
    set_thumbnail(db, old.detection_ids[:1], "/t/old.jpg")
    set_thumbnail(db, old.detection_ids[1:], "/t/shared.jpg")
    old_event, _ = db.store_event(old, ASSESSMENT, "analyzed", at(40))
    db.batch_analyzed(old.batch_id)

    open_ids = seed_detections(db, "back", at(5))  # old, but its batch is still open
    db.batch_add("back", open_ids, at(5), "open-back")
    set_thumbnail(db, open_ids, "/t/shared.jpg")
    unbatched = seed_detections(db, "side", at(6))
    pending = seed_image(db, "side", at(7))
    invalid = seed_image(db, "side", at(8))
    db.mark_image(invalid.image_id, ImageState.INVALID, "bad", at(8))

    new = _batch(db, "front", 10 * 86400, ("dog",))
    set_thumbnail(db, new.detection_ids, "/t/new.jpg")
    new_event, _ = db.store_event(new, ASSESSMENT, "analyzed", at(10 * 86400 + 40))
    db.batch_analyzed(new.batch_id)

    result = db.purge(at(86400))

    assert (result.events, result.detections, result.images) == (1, 2, 2)
    assert result.files == ("/t/old.jpg",)
    assert db.event(old_event.id) is None
    assert db.event(new_event.id) == new_event
    kept = {d.id for d in db.detections([*old.detection_ids, *open_ids, *unbatched])}
    assert kept == {*open_ids, *unbatched}
    assert db.pending_images() == [pending]
    assert [b.batch_id for b in db.batches(BatchState.ANALYZED)] == [new.batch_id]
    assert [b.batch_id for b in db.batches(BatchState.OPEN)] == ["open-back"]
    assert db.purge(at(86400)) == type(result)(0, 0, 0, ())


# Embedded batches


def test_batch_add_opens_one_batch_per_camera_and_notes_activity(db: Database) -> None:
    assert db.batch_add("front", [], at(0), "a") == "a"
    assert db.batch_add("front", [], at(20), "ignored") == "a"
    assert db.batch_add("back", [], at(5), "b") == "b"
    assert db.batches(BatchState.OPEN) == [
        OpenBatch("a", "front", at(0), at(20)),
        OpenBatch("b", "back", at(5), at(5)),
    ]
    assert db.batches(BatchState.CLOSED) == []


def test_batch_close_returns_members_once_and_waits_for_analysis(db: Database) -> None:
    ids = seed_detections(db, "front", at(0), ("person", "car"))
    assert db.batch_add("front", ids[:1], at(0), "a") == "a"
    assert db.batch_add("front", ids[1:], at(12), "x") == "a"

    closed = db.batch_close("a", at(40))

    assert closed == ClosedBatch("a", "front", tuple(ids), at(0), at(12))
    assert db.batch_close("a", at(41)) is None
    assert db.batch_close("missing", at(41)) is None
    assert db.batches(BatchState.OPEN) == []
    assert db.closed_batches() == [closed]
    assert db.batch_add("front", [], at(50), "c") == "c"

    db.batch_analyzed("a")
    assert db.closed_batches() == []
    assert [b.batch_id for b in db.batches(BatchState.ANALYZED)] == ["a"]


def test_closed_batches_come_in_closing_order(db: Database) -> None:
    db.batch_add("front", [], at(0), "a")
    db.batch_add("back", [], at(1), "b")
    db.batch_close("b", at(30))
    db.batch_close("a", at(31))
    assert [b.batch_id for b in db.closed_batches()] == ["b", "a"]


def test_stats_count_rows(db: Database) -> None:
    assert db.stats() == {"cameras": 0, "images": 0, "detections": 0, "events": 0}
    db.ensure_camera("front", "Front", T0)
    ids = seed_detections(db, "front", T0, ("person", "car"))
    seed_image(db, "front", at(1))
    db.store_event(ClosedBatch("b", "front", tuple(ids), T0, T0), ASSESSMENT, "analyzed", T0)
    assert db.stats() == {"cameras": 1, "images": 2, "detections": 2, "events": 1}


def test_a_file_from_an_older_version_is_upgraded(path: Path) -> None:
    """Columns added since (review state, breakdown, LLM belief) appear; old rows stay readable."""
    path.parent.mkdir(parents=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
            INSERT INTO schema_version VALUES (1);
            CREATE TABLE events (id INTEGER PRIMARY KEY, batch_id VARCHAR(64) UNIQUE,
              camera_id VARCHAR(255), started_at DATETIME, ended_at DATETIME,
              risk_score INTEGER, risk_level VARCHAR(16), summary TEXT, reasoning TEXT,
              analysis_status VARCHAR(16), created_at DATETIME);
            INSERT INTO events VALUES (1, 'b1', 'front', '2026-11-24 02:15:00.000000',
              '2026-11-24 02:16:00.000000', 70, 'high', 'old', 'old', 'analyzed',
              '2026-11-24 02:17:00.000000');
            """
        )
    db = Database(path)
    db.open()
    try:
        event = db.event(1)
        assert event is not None
        assert (event.risk_score, event.reviewed, event.breakdown) == (70, False, None)
        assert db.acknowledge([1], "seen") == 1
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT version FROM schema_version").fetchall() == [
                (SCHEMA_VERSION,)
            ]
    finally:
        db.close()


# A refused image whose file changed is queued again (an upload that paused mid-way)


def test_refused_image_that_changed_is_queued_again(db: Database) -> None:
    first = new_image("front", T0, "/cameras/front/slow.jpg")
    (job,) = db.record_images([first], T0)
    db.mark_image(job.image_id, ImageState.INVALID, "truncated JPEG (no end marker)", T0)
    assert db.record_images([first], at(1)) == []  # unchanged: stays refused
    grown = NewImage(first.camera_id, first.path, first.size * 2, first.mtime + 1, at(1))
    (again,) = db.record_images([grown], at(2))
    assert again.image_id == job.image_id
    assert db.image_state(job.image_id) == ImageState.PENDING
    assert db.record_images([grown], at(3)) == []  # pending: queued once
    db.mark_image(job.image_id, ImageState.DONE, None, at(4))
    bigger = NewImage(first.camera_id, first.path, first.size * 3, first.mtime + 2, at(4))
    assert db.record_images([bigger], at(5)) == []  # done: never read twice


def test_an_event_is_shown_by_its_key_detection_not_its_last_frame(db: Database) -> None:
    """A person frame illustrates the event even when a horse frame came after it."""
    person = seed_detections(db, "front_door", at(0), ("person",))
    horse = seed_detections(db, "front_door", at(5), ("horse",))
    set_thumbnail(db, person, "/thumbs/person.jpg")
    set_thumbnail(db, horse, "/thumbs/horse.jpg")
    ids = [*person, *horse]
    batch_id = db.batch_add("front_door", ids, at(5), "front_door-key")
    closed = db.batch_close(batch_id, at(35))
    assert closed is not None

    event, _ = db.store_event(closed, ASSESSMENT, "analyzed", at(40))

    assert event.detection_ids == tuple(ids)
    assert event.shown_detection_id == person[0]
    assert event.thumbnail_path == "/thumbs/person.jpg"
    (listed,) = db.query_events(EventQuery(camera_ids=("front_door",)))
    assert listed.shown_detection_id == person[0]


def test_event_cameras_names_each_camera_once_from_one_query_per_chunk(db: Database) -> None:
    """The cameras of a long id list (past SQLite's chunk), unknown ids ignored."""
    front = db.store_event(_batch(db, "front", 0, ("person",)), ASSESSMENT, "analyzed", at(40))[0]
    yard = db.store_event(_batch(db, "yard", 100, ("dog",)), ASSESSMENT, "analyzed", at(140))[0]
    assert db.event_cameras([front.id, front.id, *range(10_000, 11_000)]) == {"front"}
    assert db.event_cameras([yard.id, front.id]) == {"front", "yard"}
    assert db.event_cameras([]) == set()
