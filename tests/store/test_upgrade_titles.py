"""Upgrading a schema-4 file in place: its events kept, given a title; new events get theirs."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import closing
from pathlib import Path
import sqlite3

import pytest

from custom_components.home_security_intelligence.pipeline.models import (
    ClosedBatch,
    Detection,
    RiskAssessment,
)
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import RiskBreakdown
from custom_components.home_security_intelligence.store.schema import SCHEMA_VERSION

from .common import T0, seed_image

V4_SCHEMA = Path(__file__).with_name("schema_v4_before_titles.sql")
WHEN = "2026-11-24 02:15:00.000000"


@pytest.fixture
def v4_file(tmp_path: Path) -> Path:
    """A schema-4 file: event 7 (person and car on 'Front'), event 8 (no detections left)."""
    path = tmp_path / "hsi" / "hsi.db"
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(V4_SCHEMA.read_text())
        conn.executescript(
            f"""
            INSERT INTO schema_version VALUES (4);
            INSERT INTO cameras VALUES ('front', 'Front', '{WHEN}');
            INSERT INTO images VALUES
              (2, 'front', '/c/front/a.jpg', 10, 1.0, '{WHEN}', 'done', 1, NULL, '{WHEN}');
            INSERT INTO detections VALUES
              (4, 2, 'front', 'person', 0.9, 1, 2, 3, 4, '{WHEN}', '/t/2.jpg', 'b1'),
              (5, 2, 'front', 'car', 0.8, 5, 6, 7, 8, '{WHEN}', '/t/2.jpg', 'b1'),
              (6, 2, 'front', 'person', 0.7, 1, 1, 1, 1, '{WHEN}', '/t/2.jpg', 'b1');
            INSERT INTO events (id, batch_id, camera_id, started_at, ended_at, risk_score,
              risk_level, summary, reasoning, analysis_status, created_at, reviewed, snoozed,
              prior_score, llm_score, llm_adjustment, factors, llm_belief)
              VALUES
              (7, 'b1', 'front', '{WHEN}', '{WHEN}', 70, 'high', 'Someone at the door.', 'r',
               'analyzed', '{WHEN}', 1, 0, 50, 80, 20, '[["object", 25, "person: +25"]]', NULL),
              (8, 'b0', 'gone', '{WHEN}', '{WHEN}', 20, 'low', 'cat seen', 'r',
               'prior_only', '{WHEN}', 0, 0, NULL, NULL, NULL, NULL, NULL);
            INSERT INTO event_detections VALUES (7, 4), (7, 5), (7, 6);
            """
        )
    return path


@pytest.fixture
def upgraded(v4_file: Path) -> Generator[Database]:
    """The schema-4 file opened (and so upgraded) by this version."""
    db = Database(v4_file)
    db.open()
    yield db
    db.close()


def _sql(path: Path, query: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(query).fetchall()


def test_a_schema_4_file_keeps_its_events_and_titles_them(
    upgraded: Database, v4_file: Path
) -> None:
    assert _sql(v4_file, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION == 6
    event = upgraded.event(7)
    assert event is not None
    assert (event.batch_id, event.detection_ids, event.objects) == (
        "b1",
        (4, 5, 6),
        ("car", "person"),
    )
    assert (event.risk_score, event.risk_level, event.reviewed) == (70, "high", True)
    assert event.summary == "Someone at the door."
    # The fallback title names the camera and what was seen; the old text is no LLM text.
    assert (event.title, event.llm_summary) == ("Front: car, person", "")
    assert event.breakdown is not None
    assert (event.breakdown.prior_score, event.breakdown.text_source) == (50, None)
    assert event.breakdown.as_dict(70)["text_source"] is None
    orphan = upgraded.event(8)
    assert orphan is not None
    assert (orphan.title, orphan.summary) == ("gone", "cat seen")
    assert upgraded.stats()["events"] == 2


def test_events_stored_after_the_upgrade_carry_their_texts(
    upgraded: Database, v4_file: Path
) -> None:
    job = seed_image(upgraded, "front", T0)
    (detection_id,) = upgraded.store_detections(
        job, [Detection("person", 0.9, (1, 1, 2, 2))], T0, T0
    )
    breakdown = RiskBreakdown(40, (), None, 0, None, "facts")
    event, _ = upgraded.store_event(
        ClosedBatch("b2", "front", (detection_id,), T0, T0),
        RiskAssessment(40, "medium", "A person seen on Front at 02:15.", "r"),
        "prior_only",
        T0,
        breakdown,
        False,
        "A person at Front",
        "",
    )
    assert (event.title, event.summary, event.llm_summary) == (
        "A person at Front",
        "A person seen on Front at 02:15.",
        "",
    )
    assert event.breakdown == breakdown
    updated = upgraded.update_assessment(
        event.id,
        RiskAssessment(72, "high", "A person seen on Front at 02:15.", "r"),
        "analyzed",
        RiskBreakdown(40, (), 72, 32, None, "facts"),
        "A person at Front",
        "The risk is low.",
    )
    assert updated is not None
    assert (updated.llm_summary, updated.breakdown) == (
        "The risk is low.",
        RiskBreakdown(40, (), 72, 32, None, "facts"),
    )


def test_a_second_open_leaves_the_titles_alone(upgraded: Database, v4_file: Path) -> None:
    upgraded.close()
    with closing(sqlite3.connect(v4_file)) as conn, conn:
        conn.execute("UPDATE events SET title = NULL WHERE id = 8")
    upgraded.open()
    # Only a file older than the titles gets them composed; a missing one reads as empty.
    orphan = upgraded.event(8)
    assert orphan is not None
    assert orphan.title == ""
    assert _sql(v4_file, "SELECT id, title FROM events ORDER BY id") == [
        (7, "Front: car, person"),
        (8, None),
    ]
