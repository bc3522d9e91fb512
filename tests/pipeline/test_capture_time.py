"""Capture time from Foscam names, with the file mtime as fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from custom_components.home_security_intelligence.pipeline.capture_time import capture_time

BERLIN = ZoneInfo("Europe/Berlin")
MTIME = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    "name",
    [
        "MDAlarm_20261124-021502.jpg",
        "Schedule_20261124-021502.jpg",
        "front_door_cam_MDAlarm_20261124-021502.jpg",
        "MDAlarm_20261124_021502.jpg",
        "20261124021502.jpg",
        "Camera1_00_20261124021502.mp4",  # Reolink
        "RecM01_20261124_021502_021530_6D28808_1A2B3C.mp4",  # Reolink, newer
        "192.168.1.64_01_20261124021502123_MOTION_DETECTION.mp4",  # Hikvision, with ms
        "front_2026-11-24_02-15-02.mkv",
        "x_2026-11-24 02.15.02.avi",
        "cam_20261399-000000_20261124-021502.jpg",  # first stamp impossible, second used
    ],
)
def test_foscam_name_gives_local_capture_time(name: str) -> None:
    """The stamp in the name is the local time in the given zone, not the mtime."""
    result = capture_time(name, MTIME, BERLIN)
    assert result == datetime(2026, 11, 24, 2, 15, 2, tzinfo=BERLIN)
    assert result.tzinfo is BERLIN
    assert result.utcoffset() == timedelta(hours=1)


def test_stamp_in_summer_uses_summer_offset() -> None:
    """The zone's own offset for that date applies (DST)."""
    result = capture_time("MDAlarm_20260701-120000.jpg", MTIME, BERLIN)
    assert result.utcoffset() == timedelta(hours=2)
    assert result.astimezone(UTC) == datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "MDAlarm_20261399-021502.jpg",  # month 13, day 99
        "MDAlarm_20261124-256199.jpg",  # hour 25
        "MDAlarm_20260230-101010.jpg",  # 30 February
    ],
)
def test_invalid_date_falls_back_to_mtime(name: str) -> None:
    """An impossible stamp is ignored and the file mtime is used."""
    assert capture_time(name, MTIME, BERLIN) == datetime(2025, 3, 4, 6, 6, 7, tzinfo=BERLIN)


@pytest.mark.parametrize(
    "name",
    [
        "snapshot.jpg",
        "IMG_1234.jpg",
        "MDAlarm_2026112-021502.jpg",  # 7-digit date
        "x120261124-0215021.jpg",  # digits glued on both sides
    ],
)
def test_name_without_stamp_uses_mtime(name: str) -> None:
    """No stamp: mtime converted into the given zone."""
    result = capture_time(name, MTIME, BERLIN)
    assert result.tzinfo is BERLIN
    assert result.astimezone(UTC) == datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_mtime_result_is_aware_in_fixed_offset_zone() -> None:
    """The fallback is timezone-aware in whatever tzinfo is passed."""
    tz = timezone(timedelta(hours=-5))
    result = capture_time("plain.png", MTIME, tz)
    assert result.utcoffset() == timedelta(hours=-5)
    assert result.hour == 0
