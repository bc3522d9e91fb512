"""Home Assistant in its own process, killed with SIGKILL mid-stream and started again.

The detector (in this test process) holds requests so work is in flight at the kill; the
second Home Assistant on the same config dir must finish every image exactly once and turn
every batch into exactly one event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from contextlib import closing
import json
import os
from pathlib import Path
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from custom_components.home_security_intelligence.const import (
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    CONF_UPLOAD_SETTLE,
    DATABASE_FILE,
    DEFAULT_OPTIONS,
    DOMAIN,
    STORAGE_DIR,
)
from homeassistant.core import HomeAssistant

from ..conftest import make_jpeg
from ..contract_servers import DetectorServer, LlmServer
from ..fault_servers import free_port

REPO = Path(__file__).resolve().parents[2]
ENTRY_ID = "01KILLRESTART0000000000000"
CONFIGURATION = """\
homeassistant:
  name: kill test
  latitude: 52.0
  longitude: 4.0
  elevation: 0
  unit_system: metric
  time_zone: UTC
  allowlist_external_dirs:
    - {root}
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
  logs:
    custom_components.home_security_intelligence: debug
"""


class HaProcess:
    """`python -m homeassistant` on a config dir; blocking methods, call from the executor."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        log = (self.config / f"ha-run{self.runs}.log").open("wb")
        with log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "homeassistant", "-c", str(self.config), "--skip-pip"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.config,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self) -> str:
        path = self.config / f"ha-run{self.runs}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


@pytest.fixture
async def ha_process(hass: HomeAssistant, tmp_path: Path) -> AsyncGenerator[HaProcess]:
    """The Home Assistant subprocess, always killed at teardown (from the executor)."""
    ha = HaProcess(tmp_path / "config")
    yield ha
    await hass.async_add_executor_job(ha.kill)


def _prepare(
    config: Path, root: Path, detector: DetectorServer, llm: LlmServer, redis_url: str
) -> None:
    """Write configuration.yaml, link the integration and pre-seed the config entry."""
    (config / ".storage").mkdir(parents=True)
    root.mkdir()
    (config / "configuration.yaml").write_text(
        CONFIGURATION.format(root=root.parent, port=free_port())
    )
    (config / "custom_components").mkdir()
    (config / "custom_components" / DOMAIN).symlink_to(REPO / "custom_components" / DOMAIN)
    data = {
        CONF_CAMERA_ROOT: str(root),
        CONF_DETECTOR_URL: detector.url,
        CONF_LLM_URL: llm.url,
    }
    if redis_url:
        data[CONF_REDIS_URL] = redis_url
    entry = {
        "created_at": "2026-11-24T00:00:00+00:00",
        "data": data,
        "discovery_keys": {},
        "disabled_by": None,
        "domain": DOMAIN,
        "entry_id": ENTRY_ID,
        "minor_version": 1,
        "modified_at": "2026-11-24T00:00:00+00:00",
        "options": {
            **DEFAULT_OPTIONS,
            CONF_BATCH_WINDOW: 4,
            CONF_BATCH_IDLE: 2,
            CONF_UPLOAD_SETTLE: 0.2,
        },
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [],
        "title": "cameras",
        "unique_id": str(root),
        "version": 1,
    }
    storage = {
        "version": 1,
        "minor_version": 5,
        "key": "core.config_entries",
        "data": {"entries": [entry]},
    }
    (config / ".storage" / "core.config_entries").write_text(json.dumps(storage))


def _facts(db: Path) -> dict[str, Any] | None:
    """Ledger, detections per image, events per batch and links, read from the file."""
    if not db.exists():
        return None
    with closing(sqlite3.connect(db, timeout=10)) as conn:
        try:
            return _read_facts(conn)
        except sqlite3.OperationalError:  # tables not created yet
            return None


def _read_facts(conn: sqlite3.Connection) -> dict[str, Any]:
    return {
        "states": dict(conn.execute("SELECT path, state FROM images")),
        "per_image": dict(
            conn.execute(
                "SELECT images.path, count(detections.id) FROM images "
                "LEFT JOIN detections ON detections.image_id = images.id GROUP BY images.id"
            )
        ),
        "unlinked": conn.execute(
            "SELECT count(*) FROM detections WHERE id NOT IN "
            "(SELECT detection_id FROM event_detections)"
        ).fetchone()[0],
        "links_per_detection": [
            n
            for (n,) in conn.execute("SELECT count(*) FROM event_detections GROUP BY detection_id")
        ],
        "events_per_batch": [
            n
            for (n,) in conn.execute(
                "SELECT count(DISTINCT events.id) FROM detections "
                "LEFT JOIN events ON events.batch_id = detections.batch_id "
                "GROUP BY detections.batch_id"
            )
        ],
        "mixed_events": conn.execute(
            "SELECT count(*) FROM event_detections "
            "JOIN events ON events.id = event_detections.event_id "
            "JOIN detections ON detections.id = event_detections.detection_id "
            "WHERE detections.batch_id IS NOT events.batch_id"
        ).fetchone()[0],
        "events": conn.execute("SELECT count(*) FROM events").fetchone()[0],
    }


async def _until(
    hass: HomeAssistant,
    ha: HaProcess,
    condition: Callable[[], Any],
    what: str,
    timeout: float = 40.0,
) -> Any:
    """Poll `condition` in the executor (the servers in this loop keep answering)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if result := await hass.async_add_executor_job(condition):
            return result
        if not await hass.async_add_executor_job(ha.alive):
            tail = await hass.async_add_executor_job(ha.log_tail)
            pytest.fail(f"Home Assistant exited while waiting for {what}:\n{tail}")
        await asyncio.sleep(0.2)
    tail = await hass.async_add_executor_job(ha.log_tail)
    pytest.fail(f"timed out waiting for {what}:\n{tail}")


def _write(root: Path, names: list[str]) -> list[str]:
    paths = []
    for index, name in enumerate(names):
        path = root / ("front" if index % 2 else "back") / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(make_jpeg(320, 240, seed=index))
        paths.append(str(path))
    return paths


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_sigkill_mid_stream_then_restart_processes_every_image_once(
    hass: HomeAssistant,
    tmp_path: Path,
    detector: DetectorServer,
    llm: LlmServer,
    ha_process: HaProcess,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """Kill -9 with detections held in flight; the next start finishes all, once each."""
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    config, root = ha_process.config, tmp_path / "cameras"
    db = config / STORAGE_DIR / ENTRY_ID / DATABASE_FILE
    await hass.async_add_executor_job(_prepare, config, root, detector, llm, redis_url)
    await hass.async_add_executor_job(ha_process.start)

    first = await hass.async_add_executor_job(_write, root, [f"a{i}.jpg" for i in range(4)])

    def first_done() -> bool:
        facts = _facts(db)
        return facts is not None and all(facts["states"].get(p) == "done" for p in first)

    await _until(hass, ha_process, first_done, "the first images", timeout=60)

    detector.hold = asyncio.Event()
    held = await hass.async_add_executor_job(_write, root, [f"b{i}.jpg" for i in range(8)])

    def in_flight() -> bool:
        facts = _facts(db)
        return (
            facts is not None
            and all(p in facts["states"] for p in held)
            and len(detector.requests) >= len(first) + 4
        )

    await _until(hass, ha_process, in_flight, "detections in flight")
    await hass.async_add_executor_job(ha_process.kill)
    at_kill = await hass.async_add_executor_job(_facts, db)
    assert at_kill is not None
    pending = [p for p in held if at_kill["states"][p] == "pending"]
    assert len(pending) == len(held), "the kill was not mid-stream"

    hold, detector.hold = detector.hold, None
    hold.set()
    late = await hass.async_add_executor_job(_write, root, ["c0.jpg", "c1.jpg"])
    everything = first + held + late

    await hass.async_add_executor_job(ha_process.start)

    def finished() -> dict[str, Any] | None:
        facts = _facts(db)
        if facts is None or any(facts["states"].get(p) != "done" for p in everything):
            return None
        return facts if facts["unlinked"] == 0 else None

    facts = await _until(hass, ha_process, finished, "every image and batch after restart")
    await hass.async_add_executor_job(ha_process.stop)
    facts = await hass.async_add_executor_job(_facts, db)

    assert sorted(facts["states"]) == sorted(everything)
    assert facts["per_image"] == dict.fromkeys(everything, 1)
    assert facts["links_per_detection"] == [1] * len(everything)
    assert set(facts["events_per_batch"]) == {1}
    assert facts["mixed_events"] == 0
    assert facts["events"] == len(facts["events_per_batch"])
    requested = {r["filename"] for r in detector.requests}
    assert requested >= {Path(p).name for p in everything}
    log = await hass.async_add_executor_job((config / "ha-run2.log").read_text)
    ours = [line for line in log.splitlines() if "home_security_intelligence" in line]
    assert not [line for line in ours if " ERROR " in line], "\n".join(ours)
