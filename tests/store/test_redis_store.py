"""Redis backend: the seed's key layout, TTLs, queue payloads, SCAN, round trips, outages."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
import json
from typing import Any

import pytest
from redis import asyncio as aioredis

from custom_components.home_security_intelligence.pipeline.models import ImageJob
from custom_components.home_security_intelligence.store.redis_store import (
    ANALYSIS_QUEUE,
    DETECTION_QUEUE,
    PROCESSING,
    RedisWorkStore,
    connect,
)
from custom_components.home_security_intelligence.store.work_store import WorkStoreError

from .common import at
from .conftest import RawRedis

FIELDS = ("camera_id", "detections", "started_at", "last_activity")


@dataclass
class Wire:
    """What a client sent over its sockets: writes (round trips) and command names."""

    round_trips: int = 0
    commands: list[str] = field(default_factory=list)

    def reset(self) -> None:
        """Start counting afresh."""
        self.round_trips = 0
        self.commands.clear()


@dataclass
class Counted:
    """A Redis store on a client whose connections record their traffic in `wire`."""

    store: RedisWorkStore
    wire: Wire


@pytest.fixture
async def store(redis_url: str) -> AsyncGenerator[RedisWorkStore]:
    """The Redis store as the integration builds it."""
    redis_store = RedisWorkStore(connect(redis_url))
    yield redis_store
    await redis_store.async_close()


@pytest.fixture
async def counted(redis_url: str) -> AsyncGenerator[Counted]:
    """A Redis store whose (real) connections count what they send."""
    wire = Wire()

    class CountingConnection(aioredis.Connection):
        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            wire.round_trips += 1
            await super().send_packed_command(command, check_health)

        def pack_command(self, *args: Any) -> list[bytes]:
            wire.commands.append(str(args[0]).upper())
            return super().pack_command(*args)

    client: aioredis.Redis = aioredis.from_url(
        redis_url, decode_responses=True, connection_class=CountingConnection
    )
    redis_store = RedisWorkStore(client)
    yield Counted(redis_store, wire)
    await redis_store.async_close()


def _job(image_id: int, camera_id: str = "front") -> ImageJob:
    return ImageJob(image_id, camera_id, f"/cameras/{camera_id}/{image_id}.jpg", at(0).isoformat())


async def test_add_writes_the_seed_key_layout_with_ttls(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    batch_id = await store.add_detections("front", [4, 5], at(0), 900)
    await store.add_detections("front", [6], at(10), 900)

    assert await raw.get("batch:front:current") == batch_id
    assert await raw.get(f"batch:{batch_id}:camera_id") == "front"
    assert await raw.lrange(f"batch:{batch_id}:detections", 0, -1) == ["4", "5", "6"]
    assert await raw.get(f"batch:{batch_id}:started_at") == at(0).isoformat()
    assert await raw.get(f"batch:{batch_id}:last_activity") == at(10).isoformat()
    keys = ["batch:front:current", *(f"batch:{batch_id}:{f}" for f in FIELDS)]
    assert sorted(await raw.keys("*")) == sorted(keys)
    for key in keys:
        assert 890 < await raw.ttl(key) <= 900, key


async def test_close_deletes_the_batch_keys(store: RedisWorkStore, raw: RawRedis) -> None:
    batch_id = await store.add_detections("front", [1], at(0), 900)
    other = await store.add_detections("back", [2], at(0), 900)
    assert await store.close_batch(batch_id, at(30)) is not None
    for name in FIELDS:
        assert not await raw.exists(f"batch:{batch_id}:{name}")
    assert not await raw.exists("batch:front:current")
    assert await raw.get("batch:back:current") == other


async def test_close_keeps_a_current_pointer_that_names_another_batch(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    batch_id = await store.add_detections("front", [1], at(0), 900)
    await raw.set("batch:front:current", "newer")
    assert await store.close_batch(batch_id, at(30)) is not None
    assert await raw.get("batch:front:current") == "newer"


async def test_a_stale_current_pointer_does_not_pin_the_camera(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    await raw.set("batch:front:current", "gone", ex=900)
    await raw.set("batch:gone:camera_id", "front", ex=900)  # its started_at expired

    batch_id = await store.add_detections("front", [1], at(0), 900)

    assert batch_id != "gone"
    assert await raw.get("batch:front:current") == batch_id
    (batch,) = await store.open_batches()
    assert (batch.batch_id, batch.started_at) == (batch_id, at(0))


async def test_open_batches_skip_pointers_to_vanished_batches(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    live = await store.add_detections("front", [1], at(0), 900)
    await raw.set("batch:back:current", "vanished", ex=900)
    assert [b.batch_id for b in await store.open_batches()] == [live]


async def test_open_batches_scan_many_keys_without_keys_command(
    counted: Counted, raw: RawRedis
) -> None:
    store, wire = counted.store, counted.wire
    cameras = {f"cam{i:04d}" for i in range(300)}
    for camera in cameras:
        await store.add_detections(camera, [1], at(0), 900)
    await raw.mset({f"noise:{i}": "x" for i in range(3000)})
    wire.reset()

    batches = await store.open_batches()

    assert {b.camera_id for b in batches} == cameras
    assert wire.commands.count("SCAN") > 1
    assert "KEYS" not in wire.commands


async def test_add_detections_and_close_are_one_round_trip_each(
    counted: Counted, raw: RawRedis
) -> None:
    store, wire = counted.store, counted.wire
    warm = await store.add_detections("warm", [1], at(0), 900)  # connects, loads the script
    await store.close_batch(warm, at(1))
    before = int((await raw.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0))
    wire.reset()

    batch_id = await store.add_detections("front", [1, 2, 3, 4, 5], at(0), 900)
    assert (wire.round_trips, wire.commands) == (1, ["EVALSHA"])
    await store.close_batch(batch_id, at(30))
    assert (wire.round_trips, wire.commands) == (2, ["EVALSHA", "EVALSHA"])
    after = int((await raw.info("commandstats"))["cmdstat_evalsha"]["calls"])
    assert after - before >= 2


async def test_add_ack_and_take_is_one_round_trip(counted: Counted, raw: RawRedis) -> None:
    """The batch add, the acknowledgement and the next take travel as one script."""
    store, wire = counted.store, counted.wire
    await store.push_images([_job(1), _job(2)])
    done = await store.take_image()
    assert done == _job(1)
    await store.add_detections_and_take("warm", [1], at(0), 900, _job(0), False)  # loads it
    wire.reset()

    batch_id, taken = await store.add_detections_and_take("front", [7, 8], at(0), 900, done, True)

    assert taken == _job(2)
    assert (wire.round_trips, wire.commands) == (1, ["EVALSHA"])
    assert await raw.lrange(f"batch:{batch_id}:detections", 0, -1) == ["7", "8"]
    assert await raw.get("batch:front:current") == batch_id
    assert await raw.lrange(DETECTION_QUEUE, 0, -1) == []
    (in_flight,) = await raw.lrange(DETECTION_QUEUE + PROCESSING, 0, -1)
    assert json.loads(in_flight)["image_id"] == 2
    wire.reset()
    await store.add_detections_and_take("front", [9], at(1), 900, _job(2), True)
    assert (wire.round_trips, wire.commands) == (1, ["EVALSHA"])
    assert await raw.llen(DETECTION_QUEUE + PROCESSING) == 0


async def test_detection_queue_carries_the_seed_payload(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    await store.push_images([_job(3)])
    (payload,) = [json.loads(m) for m in await raw.lrange(DETECTION_QUEUE, 0, -1)]
    assert payload == {
        "image_id": 3,
        "camera_id": "front",
        "file_path": "/cameras/front/3.jpg",
        "timestamp": at(0).isoformat(),
    }


async def test_analysis_queue_carries_the_seed_payload(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    batch_id = await store.add_detections("front", [8, 9], at(0), 900)
    await store.add_detections("front", [10], at(15), 900)
    await store.close_batch(batch_id, at(45))
    (payload,) = [json.loads(m) for m in await raw.lrange(ANALYSIS_QUEUE, 0, -1)]
    assert payload == {
        "batch_id": batch_id,
        "camera_id": "front",
        "detection_ids": ["8", "9", "10"],
        "timestamp": at(45).isoformat(),
        "started_at": at(0).isoformat(),
        "ended_at": at(15).isoformat(),
    }


async def test_take_moves_items_to_processing_and_ack_removes_them(
    store: RedisWorkStore, raw: RawRedis
) -> None:
    await store.push_images([_job(1)])
    job = await store.take_image()
    assert job == _job(1)
    assert await raw.llen(DETECTION_QUEUE) == 0
    assert await raw.llen(DETECTION_QUEUE + ":processing") == 1
    await store.ack_image(job)
    assert await raw.llen(DETECTION_QUEUE + ":processing") == 0

    batch_id = await store.add_detections("front", [1], at(0), 900)
    await store.close_batch(batch_id, at(30))
    batch = await store.take_analysis()
    assert batch is not None
    assert await raw.llen(ANALYSIS_QUEUE + ":processing") == 1
    await store.ack_analysis(batch)
    assert await raw.llen(ANALYSIS_QUEUE + ":processing") == 0


async def test_recover_returns_processing_items_of_a_dead_process(
    store: RedisWorkStore, redis_url: str, raw: RawRedis
) -> None:
    await store.push_images([_job(1), _job(2)])
    batch_id = await store.add_detections("front", [1], at(0), 900)
    closed = await store.close_batch(batch_id, at(30))
    assert await store.take_image() == _job(1)
    assert await store.take_analysis() == closed
    await store.async_close()  # dies without acknowledging

    restarted = RedisWorkStore(connect(redis_url))
    try:
        assert await restarted.recover() == 2
        assert await raw.llen(DETECTION_QUEUE + ":processing") == 0
        assert await raw.llen(ANALYSIS_QUEUE + ":processing") == 0
        assert await restarted.take_image() == _job(1)
        assert await restarted.take_image() == _job(2)
        assert await restarted.take_analysis() == closed
    finally:
        await restarted.async_close()


async def test_ping_answers_on_a_live_server(store: RedisWorkStore) -> None:
    await store.ping()


OUTAGE_CALLS: dict[str, Callable[[RedisWorkStore], Awaitable[Any]]] = {
    "ping": lambda s: s.ping(),
    "recover": lambda s: s.recover(),
    "push_images": lambda s: s.push_images([_job(1)]),
    "queued_image_ids": lambda s: s.queued_image_ids(),
    "take_image": lambda s: s.take_image(),
    "image_backlog": lambda s: s.image_backlog(),
    "add_detections": lambda s: s.add_detections("front", [1], at(0), 900),
    "open_batches": lambda s: s.open_batches(),
    "close_batch": lambda s: s.close_batch("b", at(0)),
    "take_analysis": lambda s: s.take_analysis(),
}


@pytest.mark.parametrize("call", OUTAGE_CALLS)
async def test_an_unreachable_server_raises_work_store_error(
    socket_enabled: None, call: str
) -> None:
    store = RedisWorkStore(connect("redis://127.0.0.1:1"))
    try:
        with pytest.raises(WorkStoreError, match="Redis"):
            await OUTAGE_CALLS[call](store)
    finally:
        await store.async_close()
