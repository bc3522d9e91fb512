"""Capture time of a camera upload: a stamp in the file name first, file mtime otherwise."""

from __future__ import annotations

from datetime import datetime, tzinfo
import re

# Local-time stamps cameras put in upload names, tried in order:
# Foscam `MDAlarm_20261124-021502`, Reolink `…_20261124021502` / `RecM01_20261124_021502_…`,
# Hikvision `…_20261124021502123_…` (milliseconds), and `2026-11-24_02-15-02` style names.
_STAMPS = (
    re.compile(r"(?<!\d)(\d{8})[-_T]?(\d{6})(?:\d{3})?(?!\d)"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})[ _T](\d{2})[-.:](\d{2})[-.:](\d{2})(?!\d)"),
)


def time_from_name(name: str, tz: tzinfo) -> datetime | None:
    """Return the local capture time stamped in a file name, or None if it has none."""
    for pattern in _STAMPS:
        for match in pattern.finditer(name):
            try:
                naive = datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")  # noqa: DTZ007
            except ValueError:
                continue
            return naive.replace(tzinfo=tz)
    return None


def capture_time(name: str, mtime: float, tz: tzinfo) -> datetime:
    """Return the timezone-aware capture time of an upload.

    Names such as `MDAlarm_20261124-021502.jpg` carry the local capture time
    (`time_from_name`); anything else falls back to the file's modification time.
    """
    return time_from_name(name, tz) or datetime.fromtimestamp(mtime, tz)
