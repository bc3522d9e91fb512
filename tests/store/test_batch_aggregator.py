"""BatchAggregator on both backends: window and idle timeouts, live options, key TTL."""

from __future__ import annotations

import asyncio

from custom_components.home_security_intelligence.pipeline.batch_aggregator import BatchAggregator
from custom_components.home_security_intelligence.store.redis_store import RedisWorkStore, connect

from .common import at, seed_detections
from .conftest import Backend, RawRedis


def _aggregator(backend: Backend, options: dict[str, float]) -> BatchAggregator:
    return BatchAggregator(backend.store, lambda: options["window"], lambda: options["idle"])


async def _add(backend: Backend, aggregator: BatchAggregator, camera: str, seconds: float) -> str:
    ids: list[int] = await backend.run(seed_detections, backend.db, camera, at(seconds))
    batch_id = await aggregator.add_detection(camera, ids, at(seconds))
    if not backend.store.records_membership:
        await backend.run(backend.db.assign_batch, ids, batch_id)
    return batch_id


async def test_batch_closes_when_its_window_has_passed(backend: Backend) -> None:
    aggregator = _aggregator(backend, {"window": 90, "idle": 30})
    batch_id = await _add(backend, aggregator, "front", 0)
    for second in (20, 40, 60, 80, 89):
        assert await _add(backend, aggregator, "front", second) == batch_id

    assert await aggregator.check_batch_timeouts(at(89.5)) == []
    assert aggregator.open_count == 1

    (closed,) = await aggregator.check_batch_timeouts(at(90))
    assert (closed.batch_id, closed.started_at, closed.ended_at) == (batch_id, at(0), at(89))
    assert len(closed.detection_ids) == 6
    assert aggregator.open_count == 0
    assert await backend.store.take_analysis() == closed


async def test_batch_closes_after_an_idle_gap(backend: Backend) -> None:
    aggregator = _aggregator(backend, {"window": 90, "idle": 30})
    batch_id = await _add(backend, aggregator, "front", 0)
    await _add(backend, aggregator, "front", 10)

    assert await aggregator.check_batch_timeouts(at(39.9)) == []
    (closed,) = await aggregator.check_batch_timeouts(at(40))
    assert closed.batch_id == batch_id
    assert await aggregator.check_batch_timeouts(at(200)) == []


async def test_younger_batches_stay_open(backend: Backend) -> None:
    aggregator = _aggregator(backend, {"window": 90, "idle": 30})
    old = await _add(backend, aggregator, "front", 0)
    young = await _add(backend, aggregator, "back", 25)

    closed = await aggregator.check_batch_timeouts(at(31))

    assert [b.batch_id for b in closed] == [old]
    assert aggregator.open_count == 1
    assert [b.batch_id for b in await backend.store.open_batches()] == [young]


async def test_options_are_read_live(backend: Backend) -> None:
    options = {"window": 90.0, "idle": 60.0}
    aggregator = _aggregator(backend, options)
    batch_id = await _add(backend, aggregator, "front", 0)
    assert await aggregator.check_batch_timeouts(at(40)) == []

    options["window"] = 40
    assert [b.batch_id for b in await aggregator.check_batch_timeouts(at(40))] == [batch_id]

    second = await _add(backend, aggregator, "front", 50)
    assert await aggregator.check_batch_timeouts(at(60)) == []
    options["idle"] = 10
    assert [b.batch_id for b in await aggregator.check_batch_timeouts(at(60))] == [second]


async def test_close_batch_closes_now_and_only_once(backend: Backend) -> None:
    aggregator = _aggregator(backend, {"window": 90, "idle": 30})
    batch_id = await _add(backend, aggregator, "front", 0)
    closed = await aggregator.close_batch(batch_id, at(5))
    assert closed is not None
    assert closed.batch_id == batch_id
    assert await aggregator.close_batch(batch_id, at(6)) is None
    assert await aggregator.check_batch_timeouts(at(500)) == []


async def test_ttl_outlives_any_batch_and_follows_options(backend: Backend) -> None:
    options = {"window": 90.0, "idle": 30.0}
    aggregator = _aggregator(backend, options)
    assert aggregator.ttl == 90 * 4 + 600
    options["idle"] = 200.5
    assert aggregator.ttl == int(200.5 * 4 + 600)
    assert aggregator.ttl > options["idle"] and aggregator.ttl > options["window"]


async def test_redis_batch_keys_get_the_aggregator_ttl(redis_url: str, raw: RawRedis) -> None:
    store = RedisWorkStore(connect(redis_url))
    try:
        aggregator = BatchAggregator(store, lambda: 100.0, lambda: 30.0)
        batch_id = await aggregator.add_detection("front", [1], at(0))
        assert aggregator.ttl == 1000
        for key in ("batch:front:current", f"batch:{batch_id}:started_at"):
            assert 990 < await raw.ttl(key) <= 1000
    finally:
        await store.async_close()


async def test_concurrent_checks_close_a_batch_once_and_count_it_closed(
    backend: Backend,
) -> None:
    options = {"window": 90.0, "idle": 30.0}
    first, second = _aggregator(backend, options), _aggregator(backend, options)
    batch_ids = [await _add(backend, first, f"cam{i}", i) for i in range(6)]

    results = await asyncio.gather(
        first.check_batch_timeouts(at(100)), second.check_batch_timeouts(at(100))
    )

    closed = sorted(b.batch_id for found in results for b in found)
    assert closed == sorted(batch_ids)
    assert (first.open_count, second.open_count) == (0, 0)
    queued = [await backend.store.take_analysis() for _ in range(7)]
    assert sorted(b.batch_id for b in queued if b is not None) == sorted(batch_ids)
