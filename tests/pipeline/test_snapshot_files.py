"""Snapshot files: atomic, never replacing one another, found again by their names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from custom_components.home_security_intelligence.pipeline.snapshot_files import (
    captured_at,
    inside,
    scan_snapshots,
    write_snapshot,
)

WHEN = datetime(2026, 11, 29, 9, 1, 2, 345678, tzinfo=UTC)


def test_snapshot_named_by_utc_capture_time(tmp_path: Path) -> None:
    """The name carries the UTC capture time to the microsecond; no temporary file is left."""
    local = WHEN.astimezone(datetime.now().astimezone().tzinfo)
    path = write_snapshot(tmp_path, "front_door", b"jpeg", ".jpg", local)

    assert path == tmp_path / "front_door" / "20261129T090102345678Z.jpg"
    assert path.read_bytes() == b"jpeg"
    assert captured_at(path) == WHEN
    assert [p.name for p in (tmp_path / "front_door").iterdir()] == [path.name]


def test_same_time_never_replaces_a_snapshot(tmp_path: Path) -> None:
    """Two snapshots of the same microsecond both stay, the second one a microsecond later."""
    first = write_snapshot(tmp_path, "gate", b"one", ".jpg", WHEN)
    second = write_snapshot(tmp_path, "gate", b"two", ".png", WHEN)
    third = write_snapshot(tmp_path, "gate", b"three", ".jpg", WHEN)

    assert first.read_bytes() == b"one"
    assert second.suffix == ".png"
    assert captured_at(third) == WHEN + timedelta(microseconds=1)
    assert third.read_bytes() == b"three"


def test_scan_finds_snapshots_only(tmp_path: Path) -> None:
    """Temporary files, other names, suffixes, loose files and links are not snapshots."""
    kept = write_snapshot(tmp_path, "gate", b"x", ".jpg", WHEN)
    camera = tmp_path / "gate"
    (camera / ".tmpabc.tmp").write_bytes(b"partial")
    (camera / "notes.jpg").write_bytes(b"x")
    (camera / "20261129T090102345678Z.txt").write_bytes(b"x")
    (camera / "20261129T090102345679Z.jpg").symlink_to(kept)
    (tmp_path / "20261129T090102345678Z.jpg").write_bytes(b"loose")

    assert list(scan_snapshots(tmp_path)) == [("gate", kept, WHEN)]
    assert list(scan_snapshots(tmp_path / "missing")) == []


def test_inside_is_lexical_and_strict(tmp_path: Path) -> None:
    """A path climbing out with `..` is not inside."""
    assert inside(tmp_path / "gate" / "a.jpg", tmp_path)
    assert not inside(tmp_path / "gate" / ".." / ".." / "a.jpg", tmp_path)
    assert not inside(Path("/etc/passwd"), tmp_path)
