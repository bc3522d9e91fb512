"""An unusable database: a fixable repair issue, and its fix flow through HA's repairs API."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
import os
from pathlib import Path
import sqlite3

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence import entry_storage
from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    DATABASE_FILE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.repairs import database_issue_id
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import NewImage
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util

from .conftest import ledger, make_jpeg, wait_for, write_file
from .contract_servers import DetectorServer, LlmServer

pytestmark = pytest.mark.usefixtures("unload_entries")

NEWEST_EVENT = datetime(2026, 11, 20, 18, 45, tzinfo=UTC)


@pytest.fixture
def entry(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> MockConfigEntry:
    """An entry on the test servers, added but not set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_CAMERA_ROOT: str(camera_root),
            CONF_DETECTOR_URL: detector.url,
            CONF_LLM_URL: llm.url,
        },
        options={**DEFAULT_OPTIONS, "upload_settle_seconds": 0.2},
        unique_id=str(camera_root),
    )
    entry.add_to_hass(hass)
    return entry


def _database_file(hass: HomeAssistant, entry: MockConfigEntry) -> Path:
    return entry_storage(hass, entry.entry_id) / DATABASE_FILE


def _real_database(path: Path) -> None:
    """A database as the integration leaves it: 3000 images and one event (blocking)."""
    db = Database(path)
    db.open()
    images = [
        NewImage("front", f"/cams/front/{i:05d}.jpg", 1, 0.0, NEWEST_EVENT) for i in range(3000)
    ]
    db.record_images(images, NEWEST_EVENT)
    db.close()
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute(
            "INSERT INTO events (batch_id, camera_id, started_at, ended_at, summary, reasoning,"
            " analysis_status, created_at, reviewed) VALUES ('b1', 'front', ?, ?, '', '',"
            " 'prior_only', ?, 0)",
            (NEWEST_EVENT.replace(tzinfo=None).isoformat(sep=" "),) * 3,
        )


def _corrupt(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))


def _truncated(path: Path) -> None:
    path.parent.mkdir(parents=True)
    _real_database(path)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)


def _read_only(path: Path) -> None:
    path.parent.mkdir(parents=True)
    _real_database(path)
    path.chmod(0o444)


def _local(when: datetime) -> str:
    return dt_util.as_local(when).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("damage", "kind"),
    [(_corrupt, "corrupt"), (_truncated, "corrupt"), (_read_only, "read_only")],
    ids=["corrupt", "truncated", "read_only"],
)
async def test_unusable_database_files_a_fixable_issue(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    damage: object,
    kind: str,
) -> None:
    """Setup fails with a translated error after filing a fixable, translated issue."""
    path = _database_file(hass, entry)
    await hass.async_add_executor_job(damage, path)  # type: ignore[arg-type]

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "database_unusable"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, database_issue_id(entry.entry_id))
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_key == f"database_{kind}"
    placeholders = issue.translation_placeholders or {}
    assert placeholders["path"] == str(path)
    assert placeholders["name"] == DATABASE_FILE
    if damage is _corrupt:
        mtime = await hass.async_add_executor_job(lambda: path.stat().st_mtime)
        assert placeholders["since"] == _local(datetime.fromtimestamp(mtime, UTC))
    if damage is _read_only:
        assert placeholders["since"] == _local(NEWEST_EVENT)
        assert "read-only" in placeholders["error"]
    else:
        assert placeholders["error"]


async def test_fix_flow_moves_the_file_aside_and_reloads(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    camera_root: Path,
    hass_client: ClientSessionGenerator,
) -> None:
    """Through the repairs HTTP API: confirm, the file moves aside, the entry runs again."""
    path = _database_file(hass, entry)
    await hass.async_add_executor_job(_truncated, path)
    assert await async_setup_component(hass, "repairs", {})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue_id = database_issue_id(entry.entry_id)
    client = await hass_client()

    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == 200
    flow = await resp.json()
    assert flow["step_id"] == "confirm"
    assert flow["description_placeholders"] == {"path": str(path)}
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert resp.status == 200
    assert (await resp.json())["type"] == "create_entry"

    await wait_for(hass, lambda: entry.state is ConfigEntryState.LOADED)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    moved = await hass.async_add_executor_job(
        lambda: sorted(p.name for p in path.parent.glob(f"{DATABASE_FILE}.broken-*"))
    )
    # The file and its WAL files, under one name: `hsi.db.broken-<stamp>[-wal|-shm]`.
    assert moved[0].startswith(f"{DATABASE_FILE}.broken-")
    assert set(moved) <= {moved[0], f"{moved[0]}-wal", f"{moved[0]}-shm"}
    await write_file(hass, camera_root / "front" / "a.jpg", make_jpeg())
    await wait_for(hass, lambda: _done(hass, entry))


async def test_fixed_by_hand_clears_the_issue(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Made writable again and reloaded: the entry runs on its old file and the issue goes."""
    path = _database_file(hass, entry)
    await hass.async_add_executor_job(_read_only, path)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    issue_id = database_issue_id(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None

    await hass.async_add_executor_job(path.chmod, 0o644)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert sum((await ledger(hass, entry)).values()) == 3000


async def _done(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
    return (await ledger(hass, entry)).get("done") == 1
