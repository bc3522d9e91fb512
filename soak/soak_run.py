"""The soak: several cameras upload real JPEGs while faults hit every dependency on a schedule.

The uploads include names that are not valid UTF-8 (one camera folder and every 7th file)
and growing files (written in chunks over a few seconds, with one pause longer than the
settle time, then closed).

Real Home Assistant (the test `hass`), a private `redis-server` that gets restarted (its
data gone), real HTTP detector and LLM servers on 127.0.0.1. At the end the SQLite file and
the servers' records are checked: every image written is done exactly once, every detection
belongs to exactly one event, and every batch became exactly one event.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import closing
from dataclasses import dataclass, field
import logging
import os
from pathlib import Path
import re
import sqlite3
import time

from pytest_homeassistant_custom_component.common import MockConfigEntry
import redis

from custom_components.home_security_intelligence.const import (
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from tests.conftest import make_jpeg
from tests.contract_servers import LlmServer
from tests.fault_servers import FaultyDetector, RedisProcess

_LOGGER = logging.getLogger(__name__)

QUEUES = ("detection_queue", "analysis_queue")
NOT_UTF8_EVERY = 7
"""Every 7th upload has a name that is not valid UTF-8."""
GROWING_EVERY = 25
"""Every 25th upload grows for a few seconds before it is closed."""
_DETECTOR_NAME = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class SoakConfig:
    """How long, how many cameras, how many images per second, and the batch timing."""

    seconds: float = 150.0
    cameras: int = 4
    rate: float = 3.0
    batch_window: float = 6.0
    batch_idle: float = 2.0
    settle: float = 0.2
    drain_timeout: float = 60.0
    llm_retry_delays: tuple[float, ...] = (0.5, 1.0, 1.5)


@dataclass
class SoakResult:
    """What the SQLite file and the servers show after the soak."""

    images: int = 0
    detections: int = 0
    events: int = 0
    lost: int = 0
    duplicated: int = 0
    drained: bool = False
    faults: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def line(self) -> str:
        """The one-line verdict."""
        return (
            f"images={self.images} detections={self.detections} events={self.events} "
            f"lost={self.lost} duplicated={self.duplicated}"
        )


@dataclass
class DbFacts:
    """Rows of the integration's SQLite file that the verdict needs."""

    images: dict[str, tuple[int, str]]
    detections: list[tuple[int, int, str | None]]
    events: dict[int, str]
    links: list[tuple[int, int]]
    statuses: dict[str, int]


def read_db(path: Path) -> DbFacts:
    """Read the ledger, detections, events and their links straight from the file.

    A path that is not valid UTF-8 is stored as its bytes (a BLOB): decoded as Python does.
    """
    with closing(sqlite3.connect(path)) as conn:
        return DbFacts(
            images={
                p if isinstance(p, str) else os.fsdecode(p): (i, s)
                for i, p, s in conn.execute("SELECT id, path, state FROM images")
            },
            detections=list(conn.execute("SELECT id, image_id, batch_id FROM detections")),
            events=dict(conn.execute("SELECT id, batch_id FROM events")),
            links=list(conn.execute("SELECT event_id, detection_id FROM event_detections")),
            statuses=dict(
                conn.execute(
                    "SELECT analysis_status, count(*) FROM events GROUP BY analysis_status"
                )
            ),
        )


def redis_backlog(url: str) -> dict[str, int]:
    """Lengths of the queues, their processing lists, and the open batch pointers."""
    with closing(redis.Redis.from_url(url, socket_timeout=2)) as client:
        found = {q: client.llen(q) + client.llen(f"{q}:processing") for q in QUEUES}
        found["open_batches"] = sum(1 for _ in client.scan_iter("batch:*:current"))
        return found


def judge(written: dict[str, str], facts: DbFacts, detector: FaultyDetector) -> SoakResult:
    """Compare what was written with what the ledger, detections and events show."""
    result = SoakResult(
        images=len(written), detections=len(facts.detections), events=len(facts.events)
    )
    expected = len(detector.objects)
    per_image = Counter(image_id for _, image_id, _ in facts.detections)
    not_done = {p for p in written if facts.images.get(p, (0, "missing"))[1] != "done"}
    if not_done:
        states = Counter(facts.images.get(p, (0, "missing"))[1] for p in not_done)
        result.details.append(f"images not done: {dict(states)}")
    result.lost += len(not_done)
    empty = [p for p in written if p not in not_done and per_image[facts.images[p][0]] == 0]
    if empty:
        result.details.append(
            f"images done with no detections (an outage faked as 'nothing seen'): {len(empty)}"
        )
    result.lost += len(empty)
    unanswered = [p for p in written if p not in not_done and not detector.answered[written[p]]]
    if unanswered:
        result.details.append(f"images done without a detector answer: {len(unanswered)}")
    result.lost += len(unanswered)
    extra = sum(max(0, n - expected) for n in per_image.values())
    if extra:
        result.details.append(f"extra detection rows (an image detected twice): {extra}")
    result.duplicated += extra

    events_of = Counter(detection_id for _, detection_id in facts.links)
    unlinked = [d for d, _, _ in facts.detections if events_of[d] == 0]
    if unlinked:
        batches = Counter(b for d, _, b in facts.detections if events_of[d] == 0)
        result.details.append(
            f"detections in no event: {len(unlinked)} from {len(batches)} batches "
            f"({sum(1 for b in batches if b is None)} never batched)"
        )
    result.lost += len(unlinked)
    multi = sum(n - 1 for n in events_of.values() if n > 1)
    if multi:
        result.details.append(f"detections in more than one event: {multi}")
    result.duplicated += multi

    batch_of = {d: b for d, _, b in facts.detections}
    event_batches: dict[int, set[str | None]] = {}
    for event_id, detection_id in facts.links:
        event_batches.setdefault(event_id, set()).add(batch_of.get(detection_id))
    mixed = [e for e, batches in event_batches.items() if batches != {facts.events[e]}]
    if mixed:
        result.details.append(f"events covering detections of another batch: {len(mixed)}")
    result.duplicated += len(mixed)
    per_batch = Counter(facts.events.values())
    if dupes := sum(n - 1 for n in per_batch.values() if n > 1):
        result.details.append(f"batches with more than one event: {dupes}")
    result.duplicated += dupes

    result.details.append(f"events by analysis status: {facts.statuses}")
    redone = sum(1 for n in detector.answered.values() if n > 1)
    result.details.append(
        f"detector: {sum(detector.answered.values())} answers, {detector.dropped} dropped, "
        f"{redone} images answered twice (work cut by a reload, stored once)"
    )
    return result


class _Soak:
    """One soak run: the writer, the fault schedule and the final drain."""

    def __init__(
        self,
        hass: HomeAssistant,
        workdir: Path,
        config: SoakConfig,
        detector: FaultyDetector,
        llm: LlmServer,
        redis_server: RedisProcess,
    ) -> None:
        self.hass = hass
        self.root = workdir / "cameras"
        self.workdir = workdir
        self.config = config
        self.detector = detector
        self.llm = llm
        self.redis = redis_server
        self.written: dict[str, str] = {}
        self.faults: list[str] = []
        self.entry: MockConfigEntry | None = None
        self.start = 0.0

    def _log(self, text: str) -> None:
        stamp = asyncio.get_running_loop().time() - self.start
        self.faults.append(f"{stamp:6.1f}s {text}")
        _LOGGER.warning("soak %6.1fs: %s", stamp, text)

    async def run(self) -> SoakResult:
        await self.hass.async_add_executor_job(self.root.mkdir)
        self.hass.config.allowlist_external_dirs = {str(self.workdir)}
        cfg = self.config
        self.entry = entry = MockConfigEntry(
            domain=DOMAIN,
            data={
                CONF_CAMERA_ROOT: str(self.root),
                CONF_DETECTOR_URL: self.detector.url,
                CONF_LLM_URL: self.llm.url,
                CONF_REDIS_URL: self.redis.url,
            },
            options={
                **DEFAULT_OPTIONS,
                CONF_BATCH_WINDOW: cfg.batch_window,
                CONF_BATCH_IDLE: cfg.batch_idle,
                CONF_UPLOAD_SETTLE: cfg.settle,
            },
            unique_id=str(self.root),
            title="soak",
        )
        entry.add_to_hass(self.hass)
        assert await self.hass.config_entries.async_setup(entry.entry_id)
        db_path: Path = entry.runtime_data.db.path
        self.start = asyncio.get_running_loop().time()
        try:
            await asyncio.gather(self._write(), *self._schedule())
            drained = await self._drain(db_path)
        finally:
            if entry.state is ConfigEntryState.LOADED:
                await self.hass.config_entries.async_unload(entry.entry_id)
            await self.hass.async_block_till_done()
        facts = await self.hass.async_add_executor_job(read_db, db_path)
        result = judge(self.written, facts, self.detector)
        result.drained = drained
        result.faults = self.faults
        result.details.append(
            f"LLM: {len(self.llm.prompts)} prompts; "
            f"{'drained' if drained else 'NOT drained'} after the last upload"
        )
        return result

    async def _sleep_until(self, offset: float) -> None:
        delay = self.start + offset - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _write(self) -> None:
        """Write a few real JPEGs per second, round robin over the cameras.

        The last camera's folder name and every 7th file name are not valid UTF-8; every
        25th file grows over a few seconds (in the background, the others go on).
        """
        cfg = self.config
        frames = await self.hass.async_add_executor_job(
            lambda: [make_jpeg(320, 240, seed=s) for s in range(8)]
        )
        cameras = [f"cam{i}" for i in range(cfg.cameras - 1)] + [os.fsdecode(b"cam\xe9")]
        growing: list[asyncio.Future[None]] = []
        total = int(cfg.seconds * cfg.rate)
        for index in range(total):
            await self._sleep_until(index / cfg.rate)
            raw = f"soak_{index:05d}".encode()
            if index % NOT_UTF8_EVERY == 3:
                raw += b"_\xff\xe9"
            name = os.fsdecode(raw + b".jpg")
            path = self.root / cameras[index % len(cameras)] / name
            data = frames[index % len(frames)]
            if index % GROWING_EVERY == 5:
                growing.append(self.hass.async_add_executor_job(_grow_file, path, data))
            else:
                await self.hass.async_add_executor_job(_write_file, path, data)
            # The detector sees the name the integration sends: anything odd becomes `_`.
            self.written[str(path)] = _DETECTOR_NAME.sub("_", name)
        await asyncio.gather(*growing)

    def _schedule(self) -> list[Awaitable[None]]:
        """Faults at fixed fractions of the run."""
        span = self.config.seconds
        plan: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (0.08, self._detector_5xx),
            (0.16, self._detector_drops),
            (0.26, self._detector_hold),
            (0.34, self._detector_garbage),
            (0.42, self._entry_reload),
            (0.50, self._llm_outage),
            (0.68, self._redis_restart),
            (0.85, self._detector_5xx),
        ]
        return [self._at(at * span, fault) for at, fault in plan]

    async def _at(self, offset: float, fault: Callable[[], Awaitable[None]]) -> None:
        await self._sleep_until(offset)
        await fault()

    async def _detector_5xx(self) -> None:
        burst = max(4, int(self.config.rate * 2))
        self._log(f"detector answers HTTP 500 to the next {burst} requests")
        self.detector.script.extend(["500"] * burst)

    async def _detector_garbage(self) -> None:
        self._log("detector answers non-JSON to the next 3 requests")
        self.detector.script.extend(["garbage"] * 3)

    async def _detector_drops(self) -> None:
        span = max(2.0, self.config.seconds * 0.05)
        self._log(f"detector drops every connection for {span:.0f}s")
        self.detector.drop = True
        await asyncio.sleep(span)
        self.detector.drop = False
        self._log("detector answers again")

    async def _detector_hold(self) -> None:
        self._log("detector holds requests for 3s")
        hold = self.detector.hold = asyncio.Event()
        await asyncio.sleep(3)
        self.detector.hold = None
        hold.set()
        self._log("detector releases held requests")

    async def _llm_outage(self) -> None:
        span = max(6.0, self.config.seconds * 0.12)
        self._log(f"LLM down (503) for {span:.0f}s")
        self.llm.down = True
        await asyncio.sleep(span)
        self.llm.down = False
        self._log("LLM back")

    async def _redis_restart(self) -> None:
        self._log("Redis SHUTDOWN NOSAVE; down 1.5s; started again empty")
        await self.hass.async_add_executor_job(self.redis.restart, 1.5)
        self._log("Redis back")

    async def _entry_reload(self) -> None:
        assert self.entry is not None
        self._log("config entry reload")
        assert await self.hass.config_entries.async_reload(self.entry.entry_id)
        self._log("config entry reloaded")

    async def _drain(self, db_path: Path) -> bool:
        """Wait until every image is done, the queues are empty and every batch closed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_timeout
        while loop.time() < deadline:
            facts = await self.hass.async_add_executor_job(read_db, db_path)
            backlog = await self.hass.async_add_executor_job(redis_backlog, self.redis.url)
            linked = {d for _, d in facts.links}
            if (
                all(facts.images.get(p, (0, ""))[1] == "done" for p in self.written)
                and not any(backlog.values())
                and all(d in linked for d, _, _ in facts.detections)
            ):
                return True
            await asyncio.sleep(0.5)
        _LOGGER.warning("soak: not drained; Redis backlog %s", backlog)
        return False


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


GROW_CHUNKS = 30
GROW_STEP = 0.1
GROW_PAUSE = 1.0


def _grow_file(path: Path, data: bytes) -> None:
    """Append to one open file for about 4 s, pausing once past the settle time, then close.

    Written in the soak's own executor thread, as a slow uploader would; while it pauses the
    integration may read the half file and refuse it, and must read it again once closed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    step = -(-len(data) // GROW_CHUNKS)
    with path.open("wb") as fh:
        for start in range(0, len(data), step):
            fh.write(data[start : start + step])
            fh.flush()
            time.sleep(GROW_PAUSE if start == step * (GROW_CHUNKS // 2) else GROW_STEP)


async def run_soak(hass: HomeAssistant, workdir: Path, config: SoakConfig) -> SoakResult:
    """Start the servers, run the soak on `hass`, stop the servers; return the verdict."""
    redis_server = RedisProcess()
    await hass.async_add_executor_job(redis_server.start)
    detector = FaultyDetector()
    llm = LlmServer()
    saved = hsi_analysis.LLM_RETRY_DELAYS
    hsi_analysis.LLM_RETRY_DELAYS = config.llm_retry_delays
    try:
        await detector.start()
        await llm.start()
        return await _Soak(hass, workdir, config, detector, llm, redis_server).run()
    finally:
        hsi_analysis.LLM_RETRY_DELAYS = saved
        await detector.close()
        await llm.close()
        await hass.async_add_executor_job(redis_server.stop)


def report(result: SoakResult) -> list[str]:
    """Return the lines to print: schedule, findings, and the verdict last."""
    return [*(f"fault {f}" for f in result.faults), *result.details, result.line]
