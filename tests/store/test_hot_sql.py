"""The per-image writes in plain SQL store what the ORM stores, and read back the same."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
import sqlite3

import pytest

from custom_components.home_security_intelligence.pipeline.models import Detection
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.hot_sql import marks, sql_time

from .common import new_image


def _raw(db: Database, sql: str, *args: object) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db.path)) as conn:
        return conn.execute(sql, args).fetchall()


def test_plain_sql_times_match_the_orm(tmp_path: Path) -> None:
    """A time written as text by store_detections equals the ORM's text for the same instant."""
    db = Database(tmp_path / "hsi.db")
    db.open()
    try:
        local = datetime(2026, 11, 24, 3, 15, 2, 123, tzinfo=timezone(timedelta(hours=1)))
        (job,) = db.record_images([new_image("front", local)], local)  # written by the ORM
        ids = db.store_detections(job, [Detection("person", 0.9, (1, 2, 3, 4))], local, local)
        ((orm_text,),) = _raw(db, "SELECT captured_at FROM images WHERE id = ?", job.image_id)
        ((plain_text,),) = _raw(db, "SELECT detected_at FROM detections WHERE id = ?", ids[0])
        assert plain_text == orm_text == sql_time(local) == "2026-11-24 02:15:02.000123"
        (record,) = db.detections(ids)
        assert record.detected_at == local.astimezone(UTC)
        assert db.detection_times("front", local - timedelta(seconds=1), local + timedelta(1)) == [
            local.astimezone(UTC)
        ]
    finally:
        db.close()


def test_naive_times_are_refused() -> None:
    """As `UtcDateTime` does: a time without a zone is an error, never a guess."""
    with pytest.raises(ValueError, match="naive"):
        sql_time(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_marks() -> None:
    """One placeholder per parameter."""
    assert marks(1) == "?"
    assert marks(3) == "?, ?, ?"
