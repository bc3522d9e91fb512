"""The two references the pipeline's CPU per image is held to: the seed's way and a floor.

Both process the files a pipeline run writes (same folder layout, same frames) against the
same detector process, one image after another, with their blocking work in one thread of
their own. CPU is counted as for the pipeline: `time.process_time()` of the whole process
over the run, divided by the images (the detector and Redis run in other processes).

- *Seed's way*: per image a new `aiohttp.ClientSession`, a full PIL decode to validate
  (`Image.open(...).load()`), the naive thumbnail (full decode, boxes and labels drawn on the
  full frame, resize, encode, write), one SQLite commit of the detections, and one Redis
  command (one round trip) per key of the seed layout: LPUSH and RPOP `detection_queue`,
  GET `batch:{camera_id}:current`, for a new batch SET `…:current`, `batch:{id}:camera_id`
  and `…:started_at`, then RPUSH and EXPIRE `…:detections` and SET `…:last_activity`.
- *Floor*: per image the least any pipeline has to do: read the file, decode it once at
  1/4 scale (PIL draft mode), one HTTP round trip on a kept-alive session, one SQLite commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
import io
import json
from pathlib import Path
import sqlite3
import time
from typing import Any
import uuid

import aiohttp
from PIL import Image, ImageDraw, ImageFont
from redis import asyncio as aioredis

from custom_components.home_security_intelligence.pipeline.models import Detection
from custom_components.home_security_intelligence.pipeline.thumbnail_generator import (
    JPEG_QUALITY,
    THUMBNAIL_SIZE,
    color_for,
)

BATCH_TTL = 900
_FONT = ImageFont.load_default(size=11)
_SCHEMA = """CREATE TABLE IF NOT EXISTS detections (
  id INTEGER PRIMARY KEY, camera_id TEXT, file_path TEXT, object_type TEXT, confidence REAL,
  bbox_x INTEGER, bbox_y INTEGER, bbox_width INTEGER, bbox_height INTEGER, detected_at REAL)"""


def naive_thumbnail(data: bytes, detections: Sequence[Detection]) -> bytes:
    """Draw the annotated thumbnail naively: full decode, draw on the full frame, resize."""
    with Image.open(io.BytesIO(data)) as src:
        frame = src.convert("RGB")
    draw = ImageDraw.Draw(frame)
    for det in detections:
        x, y, w, h = det.bbox
        color = color_for(det.object_type)
        draw.rectangle((x, y, x + w, y + h), outline=color, width=2)
        label = f"{det.object_type} {det.confidence:.0%}"
        right, bottom = draw.textbbox((x + 2, y + 2), label, font=_FONT)[2:]
        draw.rectangle((x, y, right + 2, bottom + 2), fill=color)
        draw.text((x + 2, y + 2), label, fill="#000000", font=_FONT)
    scale = min(THUMBNAIL_SIZE[0] / frame.width, THUMBNAIL_SIZE[1] / frame.height)
    small = frame.resize((round(frame.width * scale), round(frame.height * scale)))
    canvas = Image.new("RGB", THUMBNAIL_SIZE)
    canvas.paste(
        small, ((THUMBNAIL_SIZE[0] - small.width) // 2, (THUMBNAIL_SIZE[1] - small.height) // 2)
    )
    out = io.BytesIO()
    canvas.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def open_sqlite(path: Path) -> sqlite3.Connection:
    """Open a SQLite file set up as the integration's: WAL, synchronous=NORMAL (blocking)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(_SCHEMA)
    conn.commit()
    return conn


def store(conn: sqlite3.Connection, camera_id: str, path: Path, found: list[Detection]) -> int:
    """Insert an image's detections and commit once; return the first row id (blocking)."""
    first = 0
    now = time.time()
    for det in found:
        cursor = conn.execute(
            "INSERT INTO detections (camera_id, file_path, object_type, confidence, bbox_x,"
            " bbox_y, bbox_width, bbox_height, detected_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (camera_id, str(path), det.object_type, det.confidence, *det.bbox, now),
        )
        first = first or int(cursor.lastrowid or 0)
    conn.commit()
    return first


def _detections(payload: Any) -> list[Detection]:
    return [
        Detection(str(d["class"]), float(d["confidence"]), tuple(d["bbox"]))
        for d in payload["detections"]
    ]


async def _post(session: aiohttp.ClientSession, url: str, data: bytes, name: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=name, content_type="image/jpeg")
    async with session.post(f"{url}/detect", data=form) as resp:
        resp.raise_for_status()
        return await resp.json()


def _validate(path: Path) -> bytes:
    """Read the file and decode every pixel to check it (the seed's validation)."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        img.load()
    return data


def _write_thumbnail(data: bytes, found: list[Detection], out: Path) -> None:
    out.write_bytes(naive_thumbnail(data, found))


def _decode_quarter(path: Path) -> bytes:
    """Read the file and decode it once at 1/4 scale (JPEG draft mode)."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (img.width // 4, img.height // 4))
        img.load()
    return data


async def _add_to_batch(client: aioredis.Redis, camera_id: str, ids: list[int]) -> None:
    """Update the batch the seed's way: one command, one round trip, per key."""
    at = str(time.time())
    batch_id = await client.get(f"batch:{camera_id}:current")
    if batch_id is None:
        batch_id = uuid.uuid4().hex
        await client.set(f"batch:{camera_id}:current", batch_id, ex=BATCH_TTL)
        await client.set(f"batch:{batch_id}:camera_id", camera_id, ex=BATCH_TTL)
        await client.set(f"batch:{batch_id}:started_at", at, ex=BATCH_TTL)
    await client.rpush(f"batch:{batch_id}:detections", *ids)
    await client.expire(f"batch:{batch_id}:detections", BATCH_TTL)
    await client.set(f"batch:{batch_id}:last_activity", at, ex=BATCH_TTL)


class _Runner:
    """One image after another, blocking work in a thread of its own, CPU and wall timed."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="hsi_bench_reference")

    async def run[T](self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, func, *args)

    async def timed(
        self, files: list[Path], warm_up: int, one: Callable[[Path], Awaitable[None]]
    ) -> dict[str, float]:
        """Run `one` on the first `warm_up` files untimed, then on every file timed."""
        for path in files[:warm_up]:
            await one(path)
        cpu0, wall0 = time.process_time(), time.monotonic()
        for path in files:
            await one(path)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        return {
            "images": len(files),
            "cpu_ms_per_image": cpu * 1000 / len(files),
            "images_per_s": len(files) / wall,
        }


async def seed_way(
    files: list[Path], detector_url: str, redis_url: str, work: Path, warm_up: int = 4
) -> dict[str, float]:
    """Process `files` the seed's way; return CPU ms per image and images/s."""
    runner = _Runner()
    conn = await runner.run(open_sqlite, work / "seed.db")
    await runner.run(lambda: (work / "thumbs").mkdir(parents=True, exist_ok=True))
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)

    async def one(path: Path) -> None:
        camera_id = path.parent.parent.name
        job = {"camera_id": camera_id, "file_path": str(path), "timestamp": str(time.time())}
        await client.lpush("detection_queue", json.dumps(job))
        taken = json.loads(await client.rpop("detection_queue"))
        data = await runner.run(_validate, Path(taken["file_path"]))
        async with aiohttp.ClientSession() as session:
            found = _detections(await _post(session, detector_url, data, path.name))
        first = await runner.run(store, conn, camera_id, path, found)
        await runner.run(_write_thumbnail, data, found, work / "thumbs" / f"{first}_thumb.jpg")
        await _add_to_batch(client, camera_id, list(range(first, first + len(found))))

    try:
        return await runner.timed(files, warm_up, one)
    finally:
        await client.aclose()
        await runner.run(conn.close)
        runner.pool.shutdown()


async def floor(
    files: list[Path], detector_url: str, work: Path, warm_up: int = 4
) -> dict[str, float]:
    """Process `files` with the least work per image; return CPU ms per image and images/s."""
    runner = _Runner()
    conn = await runner.run(open_sqlite, work / "floor.db")
    session = aiohttp.ClientSession()

    async def one(path: Path) -> None:
        data = await runner.run(_decode_quarter, path)
        found = _detections(await _post(session, detector_url, data, path.name))
        await runner.run(store, conn, path.parent.parent.name, path, found)

    try:
        return await runner.timed(files, warm_up, one)
    finally:
        await session.close()
        await runner.run(conn.close)
        runner.pool.shutdown()
