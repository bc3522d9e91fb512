"""Upgrading a schema-3 file in place: ids never reused, rows, ids and links kept."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from pathlib import Path
import sqlite3

import pytest

from custom_components.home_security_intelligence.pipeline.models import ClosedBatch, Detection
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import ImageState
from custom_components.home_security_intelligence.store.schema import (
    AUTOINCREMENT_TABLES,
    SCHEMA_VERSION,
)

from .common import T0, at, seed_image

V3_SCHEMA = Path(__file__).with_name("schema_v3.sql")
WHEN = "2026-11-24 02:15:00.000000"


@pytest.fixture
def v3_file(tmp_path: Path) -> Path:
    """A schema-3 file holding two images, three detections (ids 4, 5, 9) and event 7."""
    path = tmp_path / "hsi" / "hsi.db"
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(V3_SCHEMA.read_text())
        conn.executescript(
            f"""
            INSERT INTO schema_version VALUES (3);
            INSERT INTO cameras VALUES ('front', 'Front', '{WHEN}');
            INSERT INTO images VALUES
              (2, 'front', '/c/front/a.jpg', 10, 1.0, '{WHEN}', 'done', 1, NULL, '{WHEN}'),
              (3, 'front', '/c/front/b.jpg', 10, 1.0, '{WHEN}', 'pending', 0, NULL, '{WHEN}');
            INSERT INTO detections VALUES
              (4, 2, 'front', 'person', 0.9, 1, 2, 3, 4, '{WHEN}', '/t/2.jpg', 'b1'),
              (5, 2, 'front', 'car', 0.8, 5, 6, 7, 8, '{WHEN}', '/t/2.jpg', 'b1'),
              (9, 2, 'front', 'dog', 0.7, 1, 1, 1, 1, '{WHEN}', NULL, NULL);
            INSERT INTO events (id, batch_id, camera_id, started_at, ended_at, risk_score,
              risk_level, summary, reasoning, analysis_status, created_at, reviewed)
              VALUES (7, 'b1', 'front', '{WHEN}', '{WHEN}', 70, 'high', 's', 'r', 'analyzed',
              '{WHEN}', 0);
            INSERT INTO event_detections VALUES (7, 4), (7, 5);
            """
        )
    return path


@pytest.fixture
def upgraded(v3_file: Path) -> Generator[Database]:
    """The schema-3 file opened (and so upgraded) by this version."""
    db = Database(v3_file)
    db.open()
    yield db
    db.close()


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(query).fetchall()


def _create_sql(path: Path) -> dict[str, str]:
    return dict(_sql(path, "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


def test_a_schema_3_file_keeps_its_rows_ids_and_links(upgraded: Database, v3_file: Path) -> None:
    assert _sql(v3_file, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 6
    event = upgraded.event(7)
    assert event is not None
    assert (event.batch_id, event.detection_ids, event.objects) == ("b1", (4, 5), ("car", "person"))
    assert (event.risk_score, event.thumbnail_path) == (70, "/t/2.jpg")
    assert [(d.id, d.image_id, d.file_path) for d in upgraded.detections([4, 5, 9])] == [
        (4, 2, "/c/front/a.jpg"),
        (5, 2, "/c/front/a.jpg"),
        (9, 2, "/c/front/a.jpg"),
    ]
    assert [j.image_id for j in upgraded.pending_images()] == [3]
    assert upgraded.unbatched_detections() == {"front": [9]}
    assert upgraded.stats() == {"cameras": 1, "images": 2, "detections": 3, "events": 1}


def test_the_upgraded_tables_never_reuse_ids(upgraded: Database, v3_file: Path) -> None:
    schema = _create_sql(v3_file)
    for table in AUTOINCREMENT_TABLES:
        assert "AUTOINCREMENT" in schema[table], table
    assert dict(_sql(v3_file, "SELECT name, seq FROM sqlite_sequence")) == {
        "images": 3,
        "detections": 9,
        "events": 7,
    }
    # The indexes and foreign keys of schema 3 are all there again.
    for index in ("ix_images_state", "ix_detections_batch_id", "ix_events_camera_time"):
        assert index in schema, index
    assert _sql(v3_file, "PRAGMA foreign_key_check") == []

    result = upgraded.purge(at(365 * 86400))
    assert (result.events, result.detections) == (1, 2)
    job = seed_image(upgraded, "front", at(400 * 86400))
    (detection_id,) = upgraded.store_detections(
        job, [Detection("cat", 0.9, (1, 1, 2, 2))], at(400 * 86400), at(400 * 86400)
    )
    event, _ = upgraded.store_event(
        ClosedBatch("b2", "front", (detection_id,), T0, T0), None, "prior_only", T0
    )
    assert (job.image_id, detection_id, event.id) == (4, 10, 8)


def test_deleting_an_image_still_cascades_to_its_detections(
    upgraded: Database, v3_file: Path
) -> None:
    upgraded.store_detections(
        upgraded.pending_images()[0], [Detection("car", 0.8, (1, 1, 1, 1))], T0, T0
    )
    with closing(sqlite3.connect(v3_file)) as conn, conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("DELETE FROM images WHERE id = 2")
    assert [d.image_id for d in upgraded.detections(range(20))] == [3]
    event = upgraded.event(7)
    assert event is not None
    assert event.detection_ids == ()


def test_a_second_open_leaves_the_upgraded_file_alone(upgraded: Database, v3_file: Path) -> None:
    upgraded.close()
    first = _create_sql(v3_file)
    upgraded.open()
    assert _create_sql(v3_file) == first
    assert _sql(v3_file, "SELECT count(*) FROM detections") == [(3,)]
    assert _sql(v3_file, "SELECT state FROM images ORDER BY id") == [
        (ImageState.DONE,),
        (ImageState.PENDING,),
    ]


def test_events_of_an_older_file_get_the_snoozed_flag_off(
    upgraded: Database, v3_file: Path
) -> None:
    """The `snoozed` column is added in place; events stored before it were not snoozed."""
    assert "snoozed" in {row[1] for row in _sql(v3_file, "PRAGMA table_info(events)")}
    event = upgraded.event(7)
    assert event is not None
    assert event.snoozed is False
    assert upgraded.unreviewed_counts() == {"front": 1}
