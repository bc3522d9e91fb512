"""Upload settling on HA's loop: at once when complete, after quiet time otherwise."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.home_security_intelligence.pipeline.upload_settler import UploadSettler
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ..conftest import wait_for

A = Path("/cams/front/a.jpg")
B = Path("/cams/front/b.jpg")


def _fire(hass: HomeAssistant, seconds: float) -> None:
    """Run loop timers due within `seconds` from now."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))


def _settler(hass: HomeAssistant, seconds: list[float]) -> tuple[UploadSettler, list[Path]]:
    ready: list[Path] = []
    return UploadSettler(hass.loop, lambda: seconds[0], ready.append), ready


async def test_complete_is_ready_at_once(hass: HomeAssistant) -> None:
    """A closed or renamed upload is handed on synchronously."""
    settler, ready = _settler(hass, [30.0])
    settler.touch(A, complete=True)
    assert ready == [A]
    assert settler.pending == 0


async def test_incomplete_waits_real_settle_time(hass: HomeAssistant) -> None:
    """An unclosed upload is ready after the settle time on the real loop clock."""
    settler, ready = _settler(hass, [0.05])
    start = hass.loop.time()
    settler.touch(A, complete=False)
    assert ready == []
    assert settler.pending == 1
    await wait_for(hass, lambda: ready)
    assert hass.loop.time() - start >= 0.05
    assert ready == [A]
    assert settler.pending == 0


async def test_incomplete_not_ready_before_settle_time(hass: HomeAssistant) -> None:
    """Nothing happens before the settle time, it happens once after."""
    settler, ready = _settler(hass, [30.0])
    settler.touch(A, complete=False)
    _fire(hass, 20)
    assert ready == []
    assert settler.pending == 1
    _fire(hass, 31)
    assert ready == [A]
    assert settler.pending == 0
    _fire(hass, 120)
    assert ready == [A]


async def test_repeated_touch_resets_timer(hass: HomeAssistant) -> None:
    """A new event cancels the old timer: the first deadline passes without a call."""
    seconds = [5.0]
    settler, ready = _settler(hass, seconds)
    settler.touch(A, complete=False)
    seconds[0] = 60.0  # read on every touch, so an option change applies
    settler.touch(A, complete=False)
    assert settler.pending == 1
    _fire(hass, 10)
    assert ready == []
    _fire(hass, 61)
    assert ready == [A]
    _fire(hass, 300)
    assert ready == [A]


async def test_complete_after_incomplete_fires_once(hass: HomeAssistant) -> None:
    """A close event after writes hands the file on at once and drops its timer."""
    settler, ready = _settler(hass, [10.0])
    settler.touch(A, complete=False)
    settler.touch(A, complete=True)
    assert ready == [A]
    assert settler.pending == 0
    _fire(hass, 60)
    assert ready == [A]


async def test_paths_settle_independently(hass: HomeAssistant) -> None:
    """Each path has its own timer."""
    seconds = [10.0]
    settler, ready = _settler(hass, seconds)
    settler.touch(A, complete=False)
    seconds[0] = 40.0
    settler.touch(B, complete=False)
    assert settler.pending == 2
    _fire(hass, 15)
    assert ready == [A]
    assert settler.pending == 1
    _fire(hass, 45)
    assert ready == [A, B]


async def test_cancel_drops_timers(hass: HomeAssistant) -> None:
    """cancel() forgets every pending upload; nothing fires later."""
    settler, ready = _settler(hass, [10.0])
    settler.touch(A, complete=False)
    settler.touch(B, complete=False)
    settler.cancel()
    assert settler.pending == 0
    _fire(hass, 60)
    assert ready == []
    settler.cancel()
    assert settler.pending == 0
