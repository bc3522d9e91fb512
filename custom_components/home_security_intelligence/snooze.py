"""Snoozed alerts per camera: off until a time (or until turned on), back on by themselves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

MIN_SNOOZE = timedelta(minutes=1)
MAX_SNOOZE = timedelta(days=7)


class Snoozes:
    """Which cameras' alerts are snoozed, and until when; `changed(camera_id)` on each change.

    The pipeline records everything meanwhile; events only carry `snoozed: true`.
    """

    def __init__(self, hass: HomeAssistant, changed: Callable[[str], None]) -> None:
        """Start with every camera alerting."""
        self._hass = hass
        self._changed = changed
        self._until: dict[str, datetime | None] = {}
        self._timers: dict[str, CALLBACK_TYPE] = {}

    def active(self, camera_id: str) -> bool:
        """Return True while the camera's alerts are snoozed."""
        return camera_id in self._until

    def until(self, camera_id: str) -> datetime | None:
        """Return when the camera's snooze ends (None: not snoozed, or until turned on)."""
        return self._until.get(camera_id)

    @callback
    def snooze(self, camera_id: str, until: datetime | None) -> None:
        """Snooze the camera's alerts until `until` (UTC), or indefinitely with None.

        A time already past leaves the alerts on.
        """
        self._cancel(camera_id)
        if until is not None and until <= dt_util.utcnow():
            self.resume(camera_id)
            return
        self._until[camera_id] = until
        if until is not None:
            self._timers[camera_id] = async_track_point_in_utc_time(
                self._hass, self._expired(camera_id), until
            )
        self._changed(camera_id)

    @callback
    def resume(self, camera_id: str) -> None:
        """Turn the camera's alerts back on."""
        self._cancel(camera_id)
        if camera_id in self._until:
            del self._until[camera_id]
            self._changed(camera_id)

    def _expired(self, camera_id: str) -> Callable[[datetime], None]:
        @callback
        def expired(_now: datetime) -> None:
            self._timers.pop(camera_id, None)
            self.resume(camera_id)

        return expired

    def _cancel(self, camera_id: str) -> None:
        if (cancel := self._timers.pop(camera_id, None)) is not None:
            cancel()

    @callback
    def forget(self, camera_id: str) -> None:
        """Drop a removed camera's snooze."""
        self._cancel(camera_id)
        self._until.pop(camera_id, None)

    @callback
    def stop(self) -> None:
        """Cancel the timers (the Alerts switches restore the snoozes at the next start)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
