"""Repairs: a database file the integration cannot use, and the fix that moves it aside."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
import logging
import os
from pathlib import Path
import sqlite3
import stat

import probatio

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .store.engine import UnusableDatabaseError

_LOGGER = logging.getLogger(__name__)

_DAMAGED = ("not a database", "malformed", "corrupt")
_READ_ONLY = ("readonly", "read-only")


def database_issue_id(entry_id: str) -> str:
    """Id of an entry's unusable-database issue."""
    return f"database_unusable_{entry_id}"


async def async_report_unusable_database(
    hass: HomeAssistant, entry_id: str, path: Path, err: Exception
) -> bool:
    """File a fixable issue if the file exists but is damaged or read-only; True if filed."""
    found = await hass.async_add_executor_job(_diagnose, path, err)
    if found is None:
        return False
    kind, since = found
    _LOGGER.error("The database %s is %s: %s", path, kind.replace("_", "-"), err)
    ir.async_create_issue(
        hass,
        DOMAIN,
        database_issue_id(entry_id),
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=f"database_{kind}",
        translation_placeholders={
            "path": str(path),
            "error": str(err),
            "since": since,
            "name": path.name,
        },
        data={"entry_id": entry_id, "path": str(path)},
    )
    return True


def async_clear_unusable_database(hass: HomeAssistant, entry_id: str) -> None:
    """Drop the issue once the database opened (fixed by hand, or no longer broken)."""
    ir.async_delete_issue(hass, DOMAIN, database_issue_id(entry_id))


def _diagnose(path: Path, err: Exception) -> tuple[str, str] | None:
    """Return ("corrupt" or "read_only", newest readable time) for a file at fault (blocking)."""
    try:
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    message = str(err).lower()
    if isinstance(err, UnusableDatabaseError):
        kind = "read_only" if err.read_only else "corrupt"
    elif any(word in message for word in _READ_ONLY) or not os.access(path, os.W_OK):
        kind = "read_only"
    elif any(word in message for word in _DAMAGED):
        kind = "corrupt"
    else:
        return None
    newest = _newest_event(path) or datetime.fromtimestamp(info.st_mtime, UTC)
    return kind, dt_util.as_local(newest).strftime("%Y-%m-%d %H:%M")


def _newest_event(path: Path) -> datetime | None:
    """Start of the newest event still readable from the file, if any (blocking)."""
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            value = conn.execute("SELECT max(started_at) FROM events").fetchone()[0]
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC) if value else None
    except (sqlite3.Error, ValueError):
        return None


def move_aside(path: Path, now: datetime) -> Path:
    """Rename the file (and its WAL files) to `<name>.broken-<timestamp>`; return the new name."""
    stamp = now.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    for suffix in ("-wal", "-shm", ""):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(path.with_name(target.name + suffix))
    return target


class MoveDatabaseAsideFlow(RepairsFlow):
    """Confirm, move the file aside, drop the issue and reload the entry on a fresh file."""

    def __init__(self, entry_id: str, path: Path) -> None:
        """Fix the database at `path` of entry `entry_id`."""
        self._entry_id = entry_id
        self._path = path

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Go to the confirm step."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Ask, then move the file aside and reload."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=probatio.Schema({}),
                description_placeholders={"path": str(self._path)},
            )
        try:
            moved = await self.hass.async_add_executor_job(move_aside, self._path, dt_util.now())
        except OSError as err:
            return self.async_abort(
                reason="move_failed", description_placeholders={"error": str(err)}
            )
        _LOGGER.warning("Moved the unusable database aside to %s; starting fresh", moved)
        ir.async_delete_issue(self.hass, DOMAIN, database_issue_id(self._entry_id))
        self.hass.config_entries.async_schedule_reload(self._entry_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the fix flow of an unusable-database issue."""
    if data is None:
        raise ValueError(f"issue {issue_id} carries no data")
    return MoveDatabaseAsideFlow(str(data["entry_id"]), Path(str(data["path"])))
