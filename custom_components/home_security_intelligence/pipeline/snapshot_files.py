"""Camera-entity snapshots on disk: `<folder>/<camera_id>/<UTC capture time>.jpg` (blocking)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import os
from pathlib import Path
import tempfile

_NAME = "%Y%m%dT%H%M%S%fZ"
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png"}


def write_snapshot(
    folder: Path, camera_id: str, data: bytes, suffix: str, captured: datetime
) -> Path:
    """Write a snapshot atomically and return its path.

    The bytes go to a hidden temporary file first, which is then linked to its final
    name (never replacing another snapshot) and removed: a reader or a restart sees the
    whole file or none of it.
    """
    camera_dir = folder / camera_id
    camera_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=camera_dir)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        when = captured.astimezone(UTC)
        while True:
            target = camera_dir / f"{when.strftime(_NAME)}{suffix}"
            try:
                os.link(tmp, target)
            except FileExistsError:
                when += timedelta(microseconds=1)
                continue
            return target
    finally:
        os.unlink(tmp)


def captured_at(path: Path) -> datetime | None:
    """Capture time written in a snapshot's name, or None for another name."""
    try:
        return datetime.strptime(path.stem, _NAME).replace(tzinfo=UTC)
    except ValueError:
        return None


def scan_snapshots(folder: Path) -> Iterator[tuple[str, Path, datetime]]:
    """Yield (camera id, path, capture time) of every snapshot under `folder`."""
    if not folder.is_dir():
        return
    with os.scandir(folder) as cameras:
        camera_dirs = [e for e in cameras if e.is_dir(follow_symlinks=False)]
    for camera_dir in camera_dirs:
        with os.scandir(camera_dir.path) as files:
            for file in files:
                path = Path(file.path)
                if (
                    file.is_file(follow_symlinks=False)
                    and path.suffix in SUFFIXES.values()
                    and (when := captured_at(path)) is not None
                ):
                    yield camera_dir.name, path, when


def inside(path: Path, folder: Path) -> bool:
    """Tell whether `path` names a file under `folder` (lexically; reads check again)."""
    return Path(os.path.normpath(path)).is_relative_to(os.path.normpath(folder))
