"""Benchmarks 1 and 6: the whole pipeline in a real HA instance, and a backlog at start-up.

Run by scripts/bench (`pytest benchmarks/test_pipeline.py -p no:cacheprovider -s`).
These are measurements, not tests of speed: they fail only when the pipeline stops
working (images not processed), never on timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import os
from pathlib import Path
import resource
import threading
import time
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import redis
from redis.asyncio.connection import AbstractConnection

from benchmarks.common import (
    CAMERAS,
    QUICK,
    frames,
    percentile,
    photo_jpeg,
    plan,
    rss_mb,
    save,
    summary,
)
from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
    EVENT_DETECTION,
)
from custom_components.home_security_intelligence.pipeline.thumbnail_generator import (
    ThumbnailGenerator,
)
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.work_store import WorkStore
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HomeAssistant, callback
from tests.contract_servers import LlmServer

RATE = 20.0 if QUICK else 50.0  # images/s in the fixed-rate phase
RATE_IMAGES = 60 if QUICK else 500
BURST_IMAGES = 120 if QUICK else 1000
BACKLOG = 500 if QUICK else 10_000
BACKLOG_CAP_S = 40.0 if QUICK else 200.0
SETTLE_S = float(DEFAULT_OPTIONS["upload_settle_seconds"])


@dataclass
class Probe:
    """Timestamps (time.monotonic, seconds) of each image along the pipeline."""

    complete: dict[str, float] = field(default_factory=dict)
    stored: dict[str, float] = field(default_factory=dict)
    published: dict[str, float] = field(default_factory=dict)
    entity: dict[str, float] = field(default_factory=dict)
    path_of: dict[int, str] = field(default_factory=dict)
    lags: list[tuple[float, float]] = field(default_factory=list)
    stage_cpu: dict[str, float] = field(default_factory=dict)


_NESTED = threading.local()


def cpu_timed(probe: Probe, stage: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func`, adding the CPU time of its thread in each call to `probe.stage_cpu[stage]`.

    Exclusive time: a timed call made inside another counts for itself only, not twice.
    """
    lock = threading.Lock()

    def timed(*args: Any) -> Any:
        stack: list[float] = _NESTED.__dict__.setdefault("stack", [])
        stack.append(0.0)
        start = time.thread_time()
        try:
            return func(*args)
        finally:
            spent = time.thread_time() - start
            inner = stack.pop()
            if stack:
                stack[-1] += spent
            with lock:
                probe.stage_cpu[stage] = probe.stage_cpu.get(stage, 0.0) + spent - inner

    return timed


class RoundTrips:
    """Records the requests sent to Redis (a pipeline is one), by wrapping redis-py's send.

    Only a reference to each packed request is kept while counting; `kinds` names their
    commands afterwards, so the measured CPU is not inflated by the parsing.
    """

    def __init__(self) -> None:
        """Start with nothing sent."""
        self.sent: list[Any] = []

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Record while inside the block."""
        original = AbstractConnection.send_packed_command

        async def send(conn: AbstractConnection, command: Any, *args: Any, **kwargs: Any) -> None:
            self.sent.append(command)
            await original(conn, command, *args, **kwargs)

        AbstractConnection.send_packed_command = send  # type: ignore[method-assign]
        try:
            yield
        finally:
            AbstractConnection.send_packed_command = original  # type: ignore[method-assign]

    def kinds(self, start: int = 0, end: int | None = None) -> dict[str, int]:
        """Round trips by the commands they carried (`LREM+LMOVE` for a pipeline of two)."""
        counts: dict[str, int] = {}
        for packed in self.sent[start:end]:
            name = command_names(packed)
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))


def command_names(packed: Any) -> str:
    """Return the command names in a packed RESP request, joined by '+'."""
    if isinstance(packed, str):
        data = packed.encode()
    elif isinstance(packed, (list, tuple)):
        data = b"".join(part.encode() if isinstance(part, str) else bytes(part) for part in packed)
    else:
        data = bytes(packed)
    names: list[str] = []
    pos = 0
    while data.startswith(b"*", pos):
        end = data.index(b"\r\n", pos)
        count, pos = int(data[pos + 1 : end]), end + 2
        for index in range(count):
            end = data.index(b"\r\n", pos)
            length, pos = int(data[pos + 1 : end]), end + 2
            if index == 0:
                names.append(data[pos : pos + length].decode().upper())
            pos += length + 2
    return "+".join(names) or "?"


def commandstats(url: str) -> dict[str, int]:
    """Return calls per command from `INFO commandstats` (blocking)."""
    client = redis.Redis.from_url(url)
    try:
        info = client.info("commandstats")
    finally:
        client.close()
    return {key.removeprefix("cmdstat_"): int(val["calls"]) for key, val in info.items()}


def write_all(
    files: list[tuple[Path, bytes]], rate: float | None, probe: Probe
) -> tuple[float, float]:
    """Write files as an uploader would (open, write, close) at `rate`/s or as fast as possible.

    Blocking (runs in the executor); returns (wall seconds, CPU seconds of this thread).
    """
    cpu0, start = time.thread_time(), time.monotonic()
    for index, (path, data) in enumerate(files):
        if rate is not None and (delay := start + index / rate - time.monotonic()) > 0:
            time.sleep(delay)
        with open(path, "wb") as out:
            out.write(data)
        probe.complete[str(path)] = time.monotonic()
    return time.monotonic() - start, time.thread_time() - cpu0


async def sample_lag(probe: Probe, stop: asyncio.Event) -> None:
    """Sleep 10 ms again and again; the overshoot is how late the loop ran us."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.01)
        after = time.monotonic()
        probe.lags.append((after, (after - before - 0.01) * 1000))


def lag_stats(probe: Probe, start: float, end: float) -> dict[str, float]:
    """Loop lag (ms) between two instants."""
    lags = [lag for when, lag in probe.lags if start <= when <= end]
    return {
        "n": len(lags),
        "p50": percentile(lags, 50),
        "p99": percentile(lags, 99),
        "max": max(lags, default=float("nan")),
    }


def latencies(probe: Probe, paths: list[str]) -> dict[str, Any]:
    """File complete -> detection stored / detection event / entity state, ms."""

    def gaps(marks: dict[str, float]) -> list[float]:
        return [(marks[p] - probe.complete[p]) * 1000 for p in paths if p in marks]

    return {
        "stored": summary(gaps(probe.stored)),
        "event": summary(gaps(probe.published)),
        "entity": summary(gaps(probe.entity)),
    }


def collaborators(entry: MockConfigEntry) -> tuple[Database, WorkStore]:
    """Return the entry's database and work store."""
    data = entry.runtime_data
    return data.db, data.store


def instrument(hass: HomeAssistant, probe: Probe) -> Callable[[], None]:
    """Time-stamp each image when its detections are committed, published and shown.

    Wraps `Database.store_detections` (same call, result untouched) and listens to the
    detection bus event and to state changes of the last-detection sensors. Also adds up the
    CPU time of four executor stages: the ledger insert at intake (`record_images`), the
    thumbnail's render and file write, and the detections' transaction. The classes are
    wrapped, so this holds wherever the pipeline keeps its instances.
    """
    original, render, record, write = (
        Database.store_detections,
        ThumbnailGenerator.render,
        Database.record_images,
        ThumbnailGenerator.save,
    )
    committed = cpu_timed(probe, "SQLite store_detections", original)

    def store_detections(db: Database, job: Any, *args: Any) -> list[int]:
        ids: list[int] = committed(db, job, *args)
        probe.stored[job.file_path] = time.monotonic()
        for detection_id in ids:
            probe.path_of[detection_id] = job.file_path
        return ids

    Database.store_detections = store_detections  # type: ignore[method-assign]
    ThumbnailGenerator.render = cpu_timed(probe, "thumbnail render", render)  # type: ignore[method-assign]
    Database.record_images = cpu_timed(probe, "SQLite ledger insert (intake)", record)  # type: ignore[method-assign]
    ThumbnailGenerator.save = cpu_timed(probe, "thumbnail write", write)  # type: ignore[method-assign]

    @callback
    def on_detection(event: Event) -> None:
        if (path := probe.path_of.get(event.data["detection_ids"][0])) is not None:
            probe.published.setdefault(path, time.monotonic())

    @callback
    def on_state(event: Event) -> None:
        new = event.data.get("new_state")
        if new is None or not new.entity_id.startswith("sensor."):
            return
        if (ids := new.attributes.get("detection_ids")) and (
            path := probe.path_of.get(ids[0])
        ) is not None:
            probe.entity.setdefault(path, time.monotonic())

    unsubs = [
        hass.bus.async_listen(EVENT_DETECTION, on_detection),
        hass.bus.async_listen(EVENT_STATE_CHANGED, on_state),
    ]

    def undo() -> None:
        for unsub in unsubs:
            unsub()
        Database.store_detections = original  # type: ignore[method-assign]
        Database.record_images = record  # type: ignore[method-assign]
        ThumbnailGenerator.render = render  # type: ignore[method-assign]
        ThumbnailGenerator.save = write  # type: ignore[method-assign]

    return undo


async def wait_until(condition: Callable[[], bool], limit: float) -> bool:
    """Poll `condition` every 20 ms; False if it is still not met after `limit` s."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def add_entry(
    hass: HomeAssistant, root: Path, detector_url: str, llm: LlmServer, redis_url: str | None
) -> tuple[MockConfigEntry, float]:
    """Create the config entry and set it up; return it and how long setup took (s)."""
    hass.config.allowlist_external_dirs = {str(root.parent)}
    data = {CONF_CAMERA_ROOT: str(root), CONF_DETECTOR_URL: detector_url, CONF_LLM_URL: llm.url}
    if redis_url:
        data[CONF_REDIS_URL] = redis_url
    entry = MockConfigEntry(
        domain=DOMAIN, data=data, options=dict(DEFAULT_OPTIONS), unique_id=str(root)
    )
    entry.add_to_hass(hass)
    start = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    return entry, time.perf_counter() - start


def make_folders(root: Path) -> None:
    """Create the camera folders (blocking)."""
    for cam in range(CAMERAS):
        (root / f"cam{cam}" / "snap").mkdir(parents=True, exist_ok=True)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_pipeline_throughput(
    hass: HomeAssistant,
    tmp_path: Path,
    detector_url: str,
    llm: LlmServer,
    backend: str,
    request: pytest.FixtureRequest,
    socket_enabled: None,
) -> None:
    """Fixed-rate then burst uploads through watcher, detector, SQLite, batcher, entities."""
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    root = tmp_path / "cameras"
    await hass.async_add_executor_job(make_folders, root)
    images = await hass.async_add_executor_job(frames)
    entry, setup_s = await add_entry(hass, root, detector_url, llm, redis_url)
    await hass.async_block_till_done()
    probe = Probe()
    undo = instrument(hass, probe)
    stop = asyncio.Event()
    sampler = hass.async_create_background_task(sample_lag(probe, stop), "bench loop lag")
    trips = RoundTrips()
    result: dict[str, Any] = {
        "backend": backend,
        "cameras": CAMERAS,
        "setup_s": setup_s,
        "settle_s": SETTLE_S,
    }
    stats_before = await hass.async_add_executor_job(commandstats, redis_url) if redis_url else {}
    phase_trips: dict[str, tuple[int, int]] = {}
    with trips.counting():
        for phase, count, rate in (("rate", RATE_IMAGES, RATE), ("burst", BURST_IMAGES, None)):
            files = plan(root, phase, count, images)
            paths = [str(p) for p, _ in files]
            sent0, stages0 = len(trips.sent), dict(probe.stage_cpu)
            cpu0, start = time.process_time(), time.monotonic()
            wall, writer_cpu = await hass.async_add_executor_job(write_all, files, rate, probe)
            done = await wait_until(
                lambda paths=paths: all(p in probe.entity for p in paths), 120.0
            )
            end = time.monotonic()
            cpu = time.process_time() - cpu0 - writer_cpu
            phase_trips[phase] = (sent0, len(trips.sent))
            stored = [probe.stored[p] for p in paths if p in probe.stored]
            assert done, f"{phase}: only {len(stored)} of {count} images went through the pipeline"
            first = min(probe.complete[p] for p in paths)
            result[phase] = {
                "images": count,
                "rate_asked": rate,
                "write_s": wall,
                "images_per_s": count / (max(stored) - first),
                "latency_ms": latencies(probe, paths),
                "loop_lag_ms": lag_stats(probe, start, end),
                "cpu_ms_per_image": cpu * 1000 / count,
                "stage_cpu_ms_per_image": {
                    stage: (spent - stages0.get(stage, 0.0)) * 1000 / count
                    for stage, spent in probe.stage_cpu.items()
                },
            }
            await asyncio.sleep(0.5)
    if redis_url:
        after = await hass.async_add_executor_job(commandstats, redis_url)
        total = RATE_IMAGES + BURST_IMAGES
        result["redis"] = {
            "round_trips_per_image": len(trips.sent) / total,
            "round_trips_per_image_by_phase": {
                phase: (end - start) / result[phase]["images"]
                for phase, (start, end) in phase_trips.items()
            },
            "round_trips_by_request": {
                phase: {
                    kind: n / result[phase]["images"] for kind, n in trips.kinds(start, end).items()
                }
                for phase, (start, end) in phase_trips.items()
            },
            "commands_per_image": {
                name: (calls - stats_before.get(name, 0)) / total
                for name, calls in sorted(after.items())
                if calls - stats_before.get(name, 0) > 0 and name != "info"
            },
        }
    stop.set()
    await sampler
    undo()
    assert await hass.config_entries.async_unload(entry.entry_id)
    save(f"pipeline_{backend}", result)
    print(f"\npipeline {backend}: {result}")


def make_backlog(root: Path, count: int) -> None:
    """`count` uploads spread over the camera folders: hard links of one 640x480 frame."""
    make_folders(root)
    source = root / "source.jpg.bin"
    source.write_bytes(photo_jpeg(640, 480, seed=3))
    for index in range(count):
        os.link(source, root / f"cam{index % CAMERAS}" / "snap" / f"backlog_{index:05d}.jpg")


@pytest.mark.timeout(600)
async def test_backlog_memory_and_setup(
    hass: HomeAssistant,
    tmp_path: Path,
    detector_url: str,
    llm: LlmServer,
    socket_enabled: None,
) -> None:
    """Set up with a backlog waiting: setup time, then RSS while the backlog drains."""
    root = tmp_path / "cameras"
    await hass.async_add_executor_job(make_backlog, root, BACKLOG)
    await hass.async_block_till_done()
    rss0 = await hass.async_add_executor_job(rss_mb)
    peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    entry, setup_s = await add_entry(hass, root, detector_url, llm, None)
    db, store = collaborators(entry)
    samples: list[float] = []
    start = time.monotonic()
    counts: dict[str, int] = {}
    while time.monotonic() - start < BACKLOG_CAP_S:
        samples.append(await hass.async_add_executor_job(rss_mb))
        counts = await hass.async_add_executor_job(db.image_counts)
        if counts.get("done", 0) + counts.get("invalid", 0) >= BACKLOG:
            break
        await asyncio.sleep(0.5)
    drained_s = time.monotonic() - start
    rss1 = await hass.async_add_executor_job(rss_mb)
    peak1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    done = counts.get("done", 0)
    assert done > 0, f"no backlog image processed in {BACKLOG_CAP_S} s: {counts}"
    # Unload only once the workers are idle: async_stop clears the occupancy timers before
    # it cancels the workers, so a worker finishing meanwhile leaves a timer behind (reported).
    deadline = time.monotonic() + 30
    while await store.image_backlog() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)
    assert await hass.config_entries.async_unload(entry.entry_id)
    result = {
        "backlog": BACKLOG,
        "setup_s": setup_s,
        "processed": done,
        "drain_s": drained_s,
        "drain_images_per_s": done / drained_s,
        "rss_before_mb": rss0,
        "rss_after_mb": rss1,
        "rss_peak_during_mb": max(samples, default=rss1),
        "rss_growth_mb": max(samples, default=rss1) - rss0,
        "maxrss_growth_mb": peak1 - peak0,
        "threads": threading.active_count(),
    }
    save("backlog", result)
    print(f"\nbacklog: {result}")
