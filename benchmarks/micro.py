"""Benchmarks 2-5: thumbnail, image validation, Redis round trips and stores, SQLite.

Run by scripts/bench as `python -m benchmarks.micro`; writes JSON results for the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
import io
import os
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any

from PIL import Image
import redis
from sqlalchemy import insert, select

from benchmarks.common import QUICK, photo_jpeg, save, summary
from custom_components.home_security_intelligence.pipeline.image_loader import load_image
from custom_components.home_security_intelligence.pipeline.models import Detection, ImageJob
from custom_components.home_security_intelligence.pipeline.thumbnail_generator import (
    THUMBNAIL_SIZE,
    ThumbnailGenerator,
)
from custom_components.home_security_intelligence.store import schema
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.embedded_store import EmbeddedWorkStore
from custom_components.home_security_intelligence.store.records import EventQuery, NewImage
from custom_components.home_security_intelligence.store.redis_store import RedisWorkStore, connect

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('HSI_TEST_REDIS_DB', '13')}"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BOXES = [
    Detection(name, 0.9, (100 + 300 * i, 150 + 100 * i, 250, 400))
    for i, name in enumerate(("person", "car", "dog", "bicycle", "person"))
]


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    """Run `func` `repeat` times after one warm-up; return CPU ms per call.

    CPU time of this thread, not wall time: other jobs on the machine then change the
    figures much less (what they still change is cache and frequency).
    """
    func()
    out = []
    for _ in range(repeat):
        start = time.thread_time()
        func()
        out.append((time.thread_time() - start) * 1000)
    return out


def naive_thumbnail(data: bytes, out: Path) -> None:
    """Do it the naive way: full decode, draw on the full frame, resize (default filter)."""
    with Image.open(io.BytesIO(data)) as src:
        frame = src.convert("RGB")
    ThumbnailGenerator(out.parent).draw_bounding_boxes(frame, BOXES, 1.0, (0, 0))
    scale = min(THUMBNAIL_SIZE[0] / frame.width, THUMBNAIL_SIZE[1] / frame.height)
    small = frame.resize((round(frame.width * scale), round(frame.height * scale)))
    canvas = Image.new("RGB", THUMBNAIL_SIZE)
    canvas.paste(
        small, ((THUMBNAIL_SIZE[0] - small.width) // 2, (THUMBNAIL_SIZE[1] - small.height) // 2)
    )
    canvas.save(out, "JPEG", quality=85)


def bench_thumbnail(tmp: Path) -> dict[str, Any]:
    """Benchmark 2: ThumbnailGenerator vs the naive full decode, same frames, same run."""
    repeat = 10 if QUICK else 40
    gen = ThumbnailGenerator(tmp / "thumbs")
    result: dict[str, Any] = {}
    for name, size in (("1080p", (1920, 1080)), ("1440p", (2560, 1440))):
        data = photo_jpeg(*size, seed=5)
        ours = timed(lambda data=data: gen.save(gen.render(data, BOXES), 1), repeat)
        naive = timed(lambda data=data: naive_thumbnail(data, tmp / "naive.jpg"), repeat)
        result[name] = {
            "ours_ms": summary(ours)["p50"],
            "naive_ms": summary(naive)["p50"],
            "ratio": summary(naive)["p50"] / summary(ours)["p50"],
        }
    return result


def full_decode(path: Path) -> None:
    """Read and decode every pixel."""
    with Image.open(path) as img:
        img.load()


def bench_validation(tmp: Path) -> dict[str, Any]:
    """Benchmark 3: load_image (header, size, end marker) vs a full decode, per image."""
    repeat = 20 if QUICK else 100
    result: dict[str, Any] = {}
    for name, size in (("1080p", (1920, 1080)), ("480p", (640, 480))):
        path = tmp / f"valid_{name}.jpg"
        path.write_bytes(photo_jpeg(*size, seed=7))
        ours = timed(lambda path=path: load_image(path, tmp), repeat)
        full = timed(lambda path=path: full_decode(path), repeat)
        result[name] = {
            "load_image_ms": summary(ours)["p50"],
            "full_decode_ms": summary(full)["p50"],
            "ratio": summary(full)["p50"] / summary(ours)["p50"],
        }
    return result


def commandstats(client: redis.Redis) -> dict[str, int]:
    """Return calls per command."""
    info = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


def delta(before: dict[str, int], after: dict[str, int], per: int) -> dict[str, float]:
    """Per-operation command calls between two commandstats snapshots (INFO itself left out)."""
    return {
        name: (calls - before.get(name, 0)) / per
        for name, calls in sorted(after.items())
        if calls - before.get(name, 0) > 0 and name != "info"
    }


async def store_ops(store: Any, ops: int, per_batch: int) -> float:
    """add_detections for `ops` detections, closing each camera's batch every `per_batch`."""
    start = time.perf_counter()
    for index in range(ops):
        camera = f"cam{index % 4}"
        batch_id = await store.add_detections(camera, [index + 1], T0, 600)
        if (index // 4) % per_batch == per_batch - 1:
            await store.close_batch(batch_id, T0)
    return ops / (time.perf_counter() - start)


async def bench_redis(tmp: Path) -> dict[str, Any]:
    """Benchmark 4: commands per detection and per close; embedded vs Redis throughput."""
    ops = 400 if QUICK else 4000
    raw = redis.Redis.from_url(REDIS_URL)
    raw.flushdb()
    store = RedisWorkStore(connect(REDIS_URL))
    loop = asyncio.get_running_loop()
    try:
        await store.ping()
        before = commandstats(raw)
        ids = [await store.add_detections("cam0", [i], T0, 600) for i in range(100)]
        mid = commandstats(raw)
        await store.close_batch(ids[-1], T0)
        after_close = commandstats(raw)
        await store.push_images(
            [ImageJob(i, "cam0", f"/c/{i}.jpg", T0.isoformat()) for i in range(100)]
        )
        taken = [await store.take_image() for _ in range(100)]
        for item in taken:
            assert item is not None
            await store.ack_image(item)
        after_queue = commandstats(raw)
        redis_rate = await store_ops(store, ops, 10)
        raw.flushdb()
    finally:
        await store.async_close()
        raw.close()
    db = Database(tmp / "embedded" / "hsi.db")
    db.open()
    embedded = EmbeddedWorkStore(db, lambda f, *a: loop.run_in_executor(None, f, *a))
    embedded_rate = await store_ops(embedded, ops // 4, 10)
    db.close()
    return {
        "per_add_detections": delta(before, mid, 100),
        "per_close_batch": delta(mid, after_close, 1),
        "per_queued_image": delta(after_close, after_queue, 100),
        "redis_ops_per_s": redis_rate,
        "embedded_ops_per_s": embedded_rate,
        "ratio": redis_rate / embedded_rate,
    }


def bench_sqlite(tmp: Path) -> dict[str, Any]:
    """Benchmark 5: store_detections rate; event queries on a table of 100 000 events."""
    db = Database(tmp / "sqlite" / "hsi.db")
    db.open()
    count = 200 if QUICK else 2000
    found = [Detection("person", 0.9, (1, 2, 3, 4)), Detection("car", 0.8, (5, 6, 7, 8))]
    jobs = db.record_images(
        [NewImage("cam0", f"/c/cam0/{i}.jpg", 1, 0.0, T0) for i in range(count)], T0
    )
    start = time.perf_counter()
    for job in jobs:
        db.store_detections(job, found, T0, T0)
    elapsed = time.perf_counter() - start
    events = 10_000 if QUICK else 100_000
    cameras = [f"cam{i}" for i in range(8)]
    rows = [
        {
            "batch_id": f"b{i}",
            "camera_id": cameras[i % 8],
            "started_at": T0 + timedelta(seconds=30 * i),
            "ended_at": T0 + timedelta(seconds=30 * i + 20),
            "risk_score": i % 100,
            "risk_level": "low",
            "summary": "A person walked by.",
            "reasoning": "Daytime, expected.",
            "analysis_status": "analyzed",
            "created_at": T0 + timedelta(seconds=30 * i + 25),
            "reviewed": False,
        }
        for i in range(events)
    ]
    engine = db._engine
    assert engine is not None
    with engine.begin() as conn:
        for start_row in range(0, events, 5000):
            conn.execute(insert(schema.Event), rows[start_row : start_row + 5000])
    span = timedelta(seconds=30 * events)
    rng = random.Random(1)  # noqa: S311 - sampling, not security
    repeat = 100 if QUICK else 500
    latest = timed(
        lambda: db.query_events(EventQuery(camera_ids=(rng.choice(cameras),), limit=1)), repeat
    )

    def by_camera_time() -> list[Any]:
        since = T0 + span * rng.random() * 0.9
        stmt = (
            select(schema.Event)
            .where(
                schema.Event.camera_id == rng.choice(cameras),
                schema.Event.started_at >= since,
                schema.Event.started_at < since + timedelta(days=1),
            )
            .order_by(schema.Event.started_at.desc())
            .limit(50)
        )
        with db._session() as session:
            return list(session.scalars(stmt))

    ranged = timed(by_camera_time, repeat)
    with engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE camera_id = 'cam1' AND "
            "started_at >= '2026-05-02' AND started_at < '2026-05-03' "
            "ORDER BY started_at DESC LIMIT 50"
        ).all()
        latest_plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT * FROM events WHERE camera_id = 'cam1' "
            "ORDER BY id DESC LIMIT 1"
        ).all()
    db.close()
    return {
        "store_detections_images": count,
        "detections_per_s": count * len(found) / elapsed,
        "images_per_s": count / elapsed,
        "events": events,
        "latest_event_ms": summary(latest),
        "latest_event_plan": " / ".join(str(row[-1]) for row in latest_plan),
        "camera_time_range_ms": summary(ranged),
        "camera_time_range_plan": " / ".join(str(row[-1]) for row in plan),
    }


async def main() -> None:
    """Run every micro benchmark and save the results."""
    with tempfile.TemporaryDirectory(prefix="hsi_bench_") as name:
        tmp = Path(name)
        results = {
            "thumbnail": bench_thumbnail(tmp),
            "validation": bench_validation(tmp),
            "redis": await bench_redis(tmp),
            "sqlite": bench_sqlite(tmp),
        }
    for key, value in results.items():
        save(key, value)
        print(f"{key}: {value}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
