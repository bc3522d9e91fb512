"""Retention: once a day, delete events, detections and their thumbnail files past the horizon."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
import logging
from pathlib import Path

from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util import dt as dt_util

from .const import CONF_RETENTION_DAYS
from .pipeline.runtime import Runtime
from .store.database import Database
from .store.records import PurgeResult

_LOGGER = logging.getLogger(__name__)

RETENTION_INTERVAL = timedelta(hours=24)
FIRST_RETENTION_DELAY = timedelta(minutes=5)


class Retention:
    """Purges old rows and files daily, and on request."""

    def __init__(
        self, runtime: Runtime, db: Database, purged: Callable[[], Awaitable[None]]
    ) -> None:
        """Purge `db` by the entry's retention option; await `purged` after events went."""
        self._runtime = runtime
        self._db = db
        self._purged = purged

    def horizon(self) -> datetime | None:
        """Oldest time kept, None when kept forever."""
        days = int(self._runtime.option(CONF_RETENTION_DAYS))
        return None if days <= 0 else dt_util.utcnow() - timedelta(days=days)

    def schedule(self) -> list[CALLBACK_TYPE]:
        """Purge a few minutes after start, then daily; return the cancel callbacks."""
        hass = self._runtime.hass
        return [
            async_track_time_interval(hass, self._daily, RETENTION_INTERVAL, name="hsi retention"),
            async_call_later(hass, FIRST_RETENTION_DELAY, self._daily),
        ]

    async def _daily(self, _now: datetime) -> None:
        if (horizon := self.horizon()) is not None:
            await self.purge(horizon)

    async def purge(self, before: datetime) -> PurgeResult | None:
        """Delete rows and thumbnails older than `before`; a failure is logged, never raised."""
        try:
            result = await self._runtime.run(self._purge, before)
        except Exception:
            _LOGGER.exception("Purging events older than %s failed; will try again", before)
            return None
        if result.events or result.detections:
            _LOGGER.info(
                "Purged %d events, %d detections and %d thumbnails older than %s",
                result.events,
                result.detections,
                len(result.files),
                before.date(),
            )
        if result.events:
            await self._purged()
        return result

    def _purge(self, before: datetime) -> PurgeResult:
        result = self._db.purge(before)
        for name in result.files:
            try:
                Path(name).unlink(missing_ok=True)
            except OSError as err:
                _LOGGER.warning("Could not delete thumbnail %s: %s", name, err)
        return result
