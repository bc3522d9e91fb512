"""Restarts mid-stream: every image is detected once, every batch becomes one event."""

from __future__ import annotations

import asyncio
from contextlib import closing
from datetime import timedelta
from pathlib import Path
import sqlite3

from freezegun.api import FrozenDateTimeFactory
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_test_home_assistant

from homeassistant.core import HomeAssistant
from homeassistant.loader import DATA_CUSTOM_COMPONENTS

from ..conftest import EntryFactory, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer, LlmServer


def _db_facts(path: Path) -> dict[str, object]:
    """Read the SQLite file directly: ledger states, detections per image, events."""
    with closing(sqlite3.connect(path)) as conn:
        return {
            "states": dict(conn.execute("SELECT state, count(*) FROM images GROUP BY state")),
            "per_image": [
                n for (n,) in conn.execute("SELECT count(*) FROM detections GROUP BY image_id")
            ],
            "detections": conn.execute("SELECT count(*) FROM detections").fetchone()[0],
            "events": conn.execute(
                "SELECT camera_id, count(*) FROM events GROUP BY camera_id"
            ).fetchall(),
            "linked": conn.execute(
                "SELECT count(DISTINCT detection_id) FROM event_detections"
            ).fetchone()[0],
        }


async def _facts(hass: HomeAssistant, path: Path) -> dict[str, object]:
    return await hass.async_add_executor_job(_db_facts, path)


async def _drop(hass: HomeAssistant, root: Path, count: int) -> list[Path]:
    paths = [
        root / ("front" if i % 2 else "back") / f"MDAlarm_20261124-0215{i:02d}.jpg"
        for i in range(count)
    ]
    for index, path in enumerate(paths):
        await write_file(hass, path, make_jpeg(320, 240, seed=index))
    return paths


async def test_entry_reload_mid_stream(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Unloading while the detector holds requests loses nothing and duplicates nothing."""
    entry = await setup_entry()
    db_path = entry.runtime_data.db.path
    detector.hold = asyncio.Event()
    await _drop(hass, camera_root, 8)
    await wait_for(hass, lambda: _states(hass, db_path, {"pending": 8}), freezer=freezer)
    await wait_for(hass, lambda: len(detector.requests) >= 4, freezer=freezer)
    assert await hass.config_entries.async_unload(entry.entry_id)
    detector.hold.set()
    facts = await _facts(hass, db_path)
    assert facts["states"] == {"pending": 8}
    assert facts["detections"] == 0

    detector.hold = None
    detector.requests.clear()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await wait_for(
        hass,
        lambda: _facts(hass, db_path),
        freezer=freezer,
    )
    await wait_for(hass, lambda: _done(hass, db_path, 8), freezer=freezer)
    await wait_for(hass, lambda: _all_batched(hass, db_path), freezer=freezer)
    assert sorted(r["filename"] for r in detector.requests) == sorted(
        {r["filename"] for r in detector.requests}
    )
    freezer.tick(timedelta(seconds=31))
    await wait_for(hass, lambda: _events(hass, db_path, 2), freezer=freezer)
    facts = await _facts(hass, db_path)
    assert facts["per_image"] == [1] * 8
    assert sorted(facts["events"]) == [("back", 1), ("front", 1)]
    assert facts["linked"] == 8


async def _states(hass: HomeAssistant, path: Path, states: dict[str, int]) -> bool:
    facts = await _facts(hass, path)
    return facts["states"] == states


async def _done(hass: HomeAssistant, path: Path, count: int) -> bool:
    return await _states(hass, path, {"done": count})


async def _all_batched(hass: HomeAssistant, path: Path) -> bool:
    """Every stored detection is in a batch (the ledger says done a moment before)."""

    def unbatched() -> int:
        with closing(sqlite3.connect(path)) as conn:
            return int(
                conn.execute("SELECT count(*) FROM detections WHERE batch_id IS NULL").fetchone()[0]
            )

    return await hass.async_add_executor_job(unbatched) == 0


async def _events(hass: HomeAssistant, path: Path, count: int) -> bool:
    facts = await _facts(hass, path)
    return sum(n for _, n in facts["events"]) == count  # type: ignore[union-attr]


async def test_home_assistant_restart_mid_stream(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """HA stops with work queued and an open batch; a new HA on the same config finishes it."""
    entry = await setup_entry()
    db_path = entry.runtime_data.db.path
    await _drop(hass, camera_root, 2)
    await wait_for(hass, lambda: _done(hass, db_path, 2), freezer=freezer)
    detector.hold = asyncio.Event()
    await _drop(hass, camera_root, 6)
    await wait_for(hass, lambda: _states(hass, db_path, {"done": 2, "pending": 4}), freezer=freezer)
    await wait_for(hass, lambda: len(detector.requests) >= 4, freezer=freezer)
    await hass.async_stop()
    detector.hold.set()
    facts = await _facts(hass, db_path)
    assert facts["states"] == {"done": 2, "pending": 4}
    detector.hold = None

    def write_while_down() -> None:
        (camera_root / "front" / "MDAlarm_20261124-031000.jpg").write_bytes(make_jpeg(seed=50))

    await asyncio.get_running_loop().run_in_executor(None, write_while_down)
    async with async_test_home_assistant(config_dir=hass.config.config_dir) as hass2:
        hass2.config.allowlist_external_dirs = hass.config.allowlist_external_dirs
        hass2.data.pop(DATA_CUSTOM_COMPONENTS)
        again = MockConfigEntry(
            domain=entry.domain,
            entry_id=entry.entry_id,
            data=dict(entry.data),
            options=dict(entry.options),
            unique_id=entry.unique_id,
        )
        again.add_to_hass(hass2)
        assert await hass2.config_entries.async_setup(again.entry_id)
        await wait_for(hass2, lambda: _done(hass2, db_path, 7), freezer=freezer)
        await wait_for(hass2, lambda: _all_batched(hass2, db_path), freezer=freezer)
        freezer.tick(timedelta(seconds=31))
        await wait_for(hass2, lambda: _events(hass2, db_path, 2), freezer=freezer)
        facts = await _facts(hass2, db_path)
        assert facts["per_image"] == [1] * 7
        assert sorted(facts["events"]) == [("back", 1), ("front", 1)]
        assert facts["linked"] == 7
        assert await hass2.config_entries.async_unload(again.entry_id)
        await hass2.async_stop()
