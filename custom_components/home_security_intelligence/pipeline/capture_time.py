"""Capture time of a camera upload: Foscam file names first, file mtime otherwise."""

from __future__ import annotations

from datetime import datetime, tzinfo
import re

_STAMP = re.compile(r"(?<!\d)(\d{8})[-_]?(\d{6})(?!\d)")


def capture_time(name: str, mtime: float, tz: tzinfo) -> datetime:
    """Return the timezone-aware capture time of an upload.

    Foscam names such as `MDAlarm_20261124-021502.jpg` carry the local capture
    time; anything else falls back to the file's modification time.
    """
    if match := _STAMP.search(name):
        try:
            naive = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")  # noqa: DTZ007
        except ValueError:
            pass
        else:
            return naive.replace(tzinfo=tz)
    return datetime.fromtimestamp(mtime, tz)
