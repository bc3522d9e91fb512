"""Read a file from one open descriptor, checked after opening, never more than a cap."""

from __future__ import annotations

import os
from pathlib import Path
import stat

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1024 * 1024


class UnsafeFileError(Exception):
    """The file is not a regular file inside the folder; the message says why."""


class OutsideFolderError(UnsafeFileError):
    """The file, or what it was swapped for, lies outside the folder."""


class FileTooLargeError(UnsafeFileError):
    """More than the cap could be read; `read` is how many bytes were (cap + 1)."""

    def __init__(self, read: int) -> None:
        """Keep how many bytes were read."""
        super().__init__(f"file too large ({read} bytes or more)")
        self.read = read


def read_inside(path: Path, folder: Path, cap: int) -> bytes:
    """Return the bytes of the regular file `path` resolves to inside `folder` (blocking).

    The path is resolved and checked, then opened once (no final symlink, no waiting on
    a FIFO); the open descriptor must be a regular file whose real location is still
    inside `folder`. At most `cap` + 1 bytes are read from it, whatever its size said.
    Raises UnsafeFileError, or OSError when it cannot be opened or read.
    """
    fd, _info = open_inside(path, folder)
    try:
        data = _read_at_most(fd, cap + 1)
    finally:
        os.close(fd)
    if len(data) > cap:
        raise FileTooLargeError(len(data))
    return data


def open_inside(path: Path, folder: Path) -> tuple[int, os.stat_result]:
    """Open the regular file `path` resolves to inside `folder`; return its fd and stat.

    Checked as `read_inside` describes; the caller closes the descriptor. Raises
    UnsafeFileError, or OSError when it cannot be opened.
    """
    root = folder.resolve()
    target = path.resolve()
    if not target.is_relative_to(root):
        raise OutsideFolderError("it points outside the camera folder")
    fd = os.open(target, _FLAGS)
    try:
        info = os.fstat(fd)
        problem = (
            UnsafeFileError("not a regular file")
            if not stat.S_ISREG(info.st_mode)
            else None
            if _opened_inside(fd, info, target, root)
            else OutsideFolderError("it points outside the camera folder")
        )
    except BaseException:
        os.close(fd)
        raise
    if problem is not None:
        os.close(fd)
        raise problem
    return fd, info


def _opened_inside(fd: int, info: os.stat_result, target: Path, root: Path) -> bool:
    """Tell whether the open file is the one at a path inside `root` (Linux: /proc/self/fd)."""
    try:
        where = Path(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:
        where = target.resolve()
    try:
        now = os.stat(where, follow_symlinks=False)
    except OSError:
        return False
    return where.is_relative_to(root) and (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
