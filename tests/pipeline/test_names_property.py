"""Property tests: any name Linux allows maps to a stable camera id and a lossless ledger key.

Names are arbitrary bytes (no `/`, no NUL, at most 255), made into real folders and files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
import os
from pathlib import Path
import sqlite3
import tempfile

from hypothesis import example, given, settings, strategies as st
import pytest

from custom_components.home_security_intelligence.pipeline.file_watcher import FileWatcher
from custom_components.home_security_intelligence.pipeline.fs_names import (
    camera_id,
    is_utf8,
    readable,
)
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import NewImage

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

names = st.binary(min_size=1, max_size=255).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """One real folder for the whole module (Hypothesis runs many examples per test)."""
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def watcher(workdir: Path) -> Iterator[FileWatcher]:
    """A watcher on a camera root of its own; the mapping needs no running observer."""
    root = workdir / "cams"
    root.mkdir()
    loop = asyncio.new_event_loop()
    yield FileWatcher(root, loop, lambda path, complete: None, lambda camera: None)
    loop.close()


@pytest.fixture(scope="module")
def db(workdir: Path) -> Iterator[Database]:
    """A real SQLite file."""
    database = Database(workdir / "hsi.db")
    database.open()
    yield database
    database.close()


@given(name=names)
def test_camera_id_is_stable_text(name: bytes) -> None:
    """Valid UTF-8 is its own id; anything else a printable-safe id, the same every time."""
    folder = os.fsdecode(name)
    ident = camera_id(folder)
    assert is_utf8(ident)
    assert ident == camera_id(os.fsdecode(bytes(name)))
    assert (ident == folder) == is_utf8(folder)
    assert is_utf8(readable(folder))
    if not is_utf8(folder):
        assert "\ufffd" in readable(folder)


@given(a=names, b=names)
def test_camera_ids_of_different_names_differ(a: bytes, b: bytes) -> None:
    """Two folders never share a camera id (a valid sibling of the `_` form included)."""
    sibling = os.fsencode(camera_id(os.fsdecode(a)).rsplit("_", 1)[0])
    for x, y in ((a, b), (a, sibling)):
        if x != y:
            assert camera_id(os.fsdecode(x)) != camera_id(os.fsdecode(y))


@settings(max_examples=60, deadline=None)
@given(name=names)
@example(name=b".\x01")
@example(name=b"caf\xe9")
def test_watcher_maps_real_folders(watcher: FileWatcher, name: bytes) -> None:
    """A real folder of any name: listed by its id, mapped back to the same bytes.

    A hidden folder (leading dot, e.g. an uploader's temp folder) is never a camera.
    """
    folder = os.path.join(os.fsencode(watcher.root), name)
    os.mkdir(folder)
    try:
        if name.startswith(b"."):
            assert watcher.camera_folders() == []
            return
        (ident,) = watcher.camera_folders()
        path = Path(os.fsdecode(os.path.join(folder, b"snap.jpg")))
        assert watcher.camera_id_for(path) == ident == camera_id(os.fsdecode(name))
        assert os.fsencode(watcher.folder_of(ident)) == folder
        assert is_utf8(watcher.label_of(ident))
    finally:
        os.rmdir(folder)


@settings(max_examples=150, deadline=None)
@given(name=names)
def test_ledger_keeps_path_bytes(db: Database, name: bytes) -> None:
    """Insert then read back the same path bytes, exactly once; a second insert adds nothing."""
    raw = b"/cams/front/" + name
    path = os.fsdecode(raw)
    image = NewImage("front", path, 1, 0.0, T0)
    if path in db.known_paths():
        assert db.record_images([image], T0) == []
        return
    (job,) = db.record_images([image, image], T0)
    assert os.fsencode(job.file_path) == raw
    assert db.record_images([image], T0) == []
    assert [j.file_path for j in db.pending_images()].count(path) == 1
    with closing(sqlite3.connect(db.path)) as conn:
        conn.text_factory = bytes
        rows = conn.execute("SELECT path FROM images WHERE id = ?", (job.image_id,)).fetchall()
    assert rows == [(raw,)]
