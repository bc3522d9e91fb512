"""Redis backend: the seed's batch keys, updated atomically by Lua, and reliable queues.

Keys: `batch:{camera_id}:current` and `batch:{batch_id}:camera_id|detections|started_at|
last_activity`, all with a TTL. Queues `detection_queue` and `analysis_queue` are lists;
a taken item moves to `<queue>:processing` (LMOVE) and leaves it on acknowledgement, so a
process that dies mid-item gets it back from `recover()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
import json
from typing import Any
import uuid

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from ..pipeline.models import ClosedBatch, ImageJob, OpenBatch
from .work_store import WorkStoreError

DETECTION_QUEUE = "detection_queue"
ANALYSIS_QUEUE = "analysis_queue"
PROCESSING = ":processing"
MARKER_TTL = 86400

_ADD_FUNCTION = """
local function add(pointer, camera, new_id, at, ttl, first)
  local current = redis.call('GET', pointer)
  if current and redis.call('EXISTS', 'batch:' .. current .. ':started_at') == 0 then
    current = false
  end
  if not current then
    current = new_id
    redis.call('SET', 'batch:' .. current .. ':started_at', at, 'EX', ttl)
  end
  local p = 'batch:' .. current .. ':'
  redis.call('SET', pointer, current, 'EX', ttl)
  redis.call('SET', p .. 'camera_id', camera, 'EX', ttl)
  redis.call('SET', p .. 'last_activity', at, 'EX', ttl)
  redis.call('EXPIRE', p .. 'started_at', ttl)
  if #ARGV >= first then redis.call('RPUSH', p .. 'detections', unpack(ARGV, first)) end
  redis.call('EXPIRE', p .. 'detections', ttl)
  return current
end
"""

_ADD = _ADD_FUNCTION + "return add(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), 5)\n"

# KEYS: batch pointer, detection_queue, its processing list.
# ARGV: camera, new batch id, at, ttl, finished job ('' for none), '1' to take, ids...
_ADD_TAKE = (
    _ADD_FUNCTION
    + """
local current = add(KEYS[1], ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), 7)
if ARGV[5] ~= '' then redis.call('LREM', KEYS[3], 1, ARGV[5]) end
local taken = false
if ARGV[6] == '1' then taken = redis.call('LMOVE', KEYS[2], KEYS[3], 'RIGHT', 'LEFT') end
return {current, taken}
"""
)

_CLOSE = """
local p = 'batch:' .. ARGV[1] .. ':'
local camera = redis.call('GET', p .. 'camera_id')
if not camera then return false end
local started = redis.call('GET', p .. 'started_at')
local last = redis.call('GET', p .. 'last_activity')
local ids = redis.call('LRANGE', p .. 'detections', 0, -1)
local msg = cjson.encode({batch_id = ARGV[1], camera_id = camera, started_at = started,
  ended_at = last, timestamp = ARGV[2], detection_ids = ids})
redis.call('LPUSH', KEYS[1], msg)
redis.call('DEL', p .. 'camera_id', p .. 'started_at', p .. 'last_activity', p .. 'detections')
local current = 'batch:' .. camera .. ':current'
if redis.call('GET', current) == ARGV[1] then redis.call('DEL', current) end
return msg
"""

_OPEN = """
local rows = {}
for _, pointer in ipairs(KEYS) do
  local id = redis.call('GET', pointer)
  if id then
    local p = 'batch:' .. id .. ':'
    local v = redis.call('MGET', p .. 'camera_id', p .. 'started_at', p .. 'last_activity')
    if v[1] and v[2] and v[3] then rows[#rows + 1] = {id, v[1], v[2], v[3]} end
  end
end
return rows
"""

_RECOVER = """
local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end
return n
"""


def connect(url: str) -> aioredis.Redis:
    """Return a client for `url` (no I/O until first use)."""
    client: aioredis.Redis = aioredis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
    )
    return client


class RedisWorkStore:
    """WorkStore on a Redis server."""

    name = "redis"
    records_membership = False

    def __init__(self, client: aioredis.Redis) -> None:
        """Use `client`; the store owns it and closes it."""
        self._redis = client
        self._add = client.register_script(_ADD)
        self._add_take = client.register_script(_ADD_TAKE)
        self._close = client.register_script(_CLOSE)
        self._open = client.register_script(_OPEN)
        self._recover = client.register_script(_RECOVER)
        self._in_flight: dict[str, str] = {}
        self._marker = f"hsi:alive:{uuid.uuid4().hex}"

    async def ping(self) -> None:
        """Raise WorkStoreError when the server does not answer."""
        await self._call(self._redis.ping())

    async def async_close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def _call(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        except (RedisError, OSError) as err:
            raise WorkStoreError(f"Redis: {err}") from err

    async def recover(self) -> int:
        """Move items left in the processing lists back to the consumer end of their queues."""
        self._in_flight.clear()
        moved = 0
        for queue in (DETECTION_QUEUE, ANALYSIS_QUEUE):
            moved += int(await self._call(self._recover(keys=[queue + PROCESSING, queue])))
        return moved

    async def data_lost(self) -> bool:
        """Set this client's marker key (refreshing its TTL); True when it was missing.

        True at the first call after start-up too (the caller then looks for lost
        batches, which is harmless); later, a missing marker means Redis lost its data.
        """
        previous = await self._call(self._redis.set(self._marker, "1", ex=MARKER_TTL, get=True))
        return previous is None

    async def queued_batch_ids(self) -> set[str]:
        """Ids of closed batches queued or in flight for analysis."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrange(ANALYSIS_QUEUE, 0, -1)
        pipe.lrange(ANALYSIS_QUEUE + PROCESSING, 0, -1)
        queued, taken = await self._call(pipe.execute())
        return {str(json.loads(raw)["batch_id"]) for raw in (*queued, *taken)}

    async def push_analysis(self, batch: ClosedBatch) -> None:
        """LPUSH a closed batch onto `analysis_queue`."""
        await self._call(self._redis.lpush(ANALYSIS_QUEUE, json.dumps(batch.to_message())))

    async def push_images(self, jobs: Sequence[ImageJob]) -> None:
        """LPUSH the jobs onto `detection_queue` in one round trip."""
        if jobs:
            await self._call(
                self._redis.lpush(DETECTION_QUEUE, *(json.dumps(j.to_message()) for j in jobs))
            )

    async def queued_image_ids(self) -> set[int]:
        """Ids of queued or in-flight images."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.lrange(DETECTION_QUEUE, 0, -1)
        pipe.lrange(DETECTION_QUEUE + PROCESSING, 0, -1)
        queued, taken = await self._call(pipe.execute())
        return {int(json.loads(raw)["image_id"]) for raw in (*queued, *taken)}

    async def take_image(self, done: ImageJob | None = None) -> ImageJob | None:
        """LREM `done` and LMOVE the oldest job into `detection_queue:processing`, pipelined."""
        token = f"i{done.image_id}" if done is not None else ""
        if (finished := self._in_flight.get(token)) is None:
            raw = await self._take(DETECTION_QUEUE)
        else:
            pipe = self._redis.pipeline(transaction=False)
            pipe.lrem(DETECTION_QUEUE + PROCESSING, 1, finished)
            pipe.lmove(DETECTION_QUEUE, DETECTION_QUEUE + PROCESSING, "RIGHT", "LEFT")
            _, raw = await self._call(pipe.execute())
            del self._in_flight[token]
        if raw is None:
            return None
        job = ImageJob.from_message(json.loads(raw))
        self._in_flight[f"i{job.image_id}"] = raw
        return job

    async def ack_image(self, job: ImageJob) -> None:
        """LREM the job from the processing list."""
        await self._ack(DETECTION_QUEUE, f"i{job.image_id}")

    async def image_backlog(self) -> int:
        """Queued plus in-flight images."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.llen(DETECTION_QUEUE)
        pipe.llen(DETECTION_QUEUE + PROCESSING)
        return sum(await self._call(pipe.execute()))

    async def add_detections(
        self, camera_id: str, detection_ids: Sequence[int], at: datetime, ttl: int
    ) -> str:
        """Append to the camera's current batch in one round trip, opening one if needed."""
        batch_id: str = await self._call(
            self._add(
                keys=[f"batch:{camera_id}:current"],
                args=[camera_id, uuid.uuid4().hex, at.isoformat(), ttl, *detection_ids],
            )
        )
        return batch_id

    async def add_detections_and_take(
        self,
        camera_id: str,
        detection_ids: Sequence[int],
        at: datetime,
        ttl: int,
        done: ImageJob,
        take_next: bool,
    ) -> tuple[str, ImageJob | None]:
        """Add to the batch, LREM `done` and LMOVE the next job, in one script (one round trip)."""
        token = f"i{done.image_id}"
        batch_id, raw = await self._call(
            self._add_take(
                keys=[
                    f"batch:{camera_id}:current",
                    DETECTION_QUEUE,
                    DETECTION_QUEUE + PROCESSING,
                ],
                args=[
                    camera_id,
                    uuid.uuid4().hex,
                    at.isoformat(),
                    ttl,
                    self._in_flight.get(token, ""),
                    "1" if take_next else "0",
                    *detection_ids,
                ],
            )
        )
        self._in_flight.pop(token, None)
        if raw is None:
            return str(batch_id), None
        job = ImageJob.from_message(json.loads(raw))
        self._in_flight[f"i{job.image_id}"] = raw
        return str(batch_id), job

    async def open_batches(self) -> list[OpenBatch]:
        """SCAN the `batch:*:current` pointers, then read their batches in one round trip."""
        keys: list[str] = await self._call(self._scan("batch:*:current"))
        if not keys:
            return []
        rows: list[list[str]] = await self._call(self._open(keys=keys))
        return [
            OpenBatch(
                batch_id, camera, datetime.fromisoformat(started), datetime.fromisoformat(last)
            )
            for batch_id, camera, started, last in rows
        ]

    async def _scan(self, match: str) -> list[str]:
        return [key async for key in self._redis.scan_iter(match=match, count=500)]

    async def close_batch(self, batch_id: str, closed_at: datetime) -> ClosedBatch | None:
        """Atomically read, delete and queue the batch for analysis."""
        raw = await self._call(
            self._close(keys=[ANALYSIS_QUEUE], args=[batch_id, closed_at.isoformat()])
        )
        return None if not raw else _closed_batch(raw)

    async def take_analysis(self) -> ClosedBatch | None:
        """LMOVE the oldest closed batch into `analysis_queue:processing`."""
        raw = await self._take(ANALYSIS_QUEUE)
        if raw is None:
            return None
        batch = _closed_batch(raw)
        self._in_flight[f"b{batch.batch_id}"] = raw
        return batch

    async def ack_analysis(self, batch: ClosedBatch) -> None:
        """LREM the batch from the processing list."""
        await self._ack(ANALYSIS_QUEUE, f"b{batch.batch_id}")

    async def _take(self, queue: str) -> str | None:
        raw: str | None = await self._call(
            self._redis.lmove(queue, queue + PROCESSING, "RIGHT", "LEFT")
        )
        return raw

    async def _ack(self, queue: str, token: str) -> None:
        if (raw := self._in_flight.get(token)) is not None:
            await self._call(self._redis.lrem(queue + PROCESSING, 1, raw))
            del self._in_flight[token]


def _closed_batch(raw: str) -> ClosedBatch:
    data = json.loads(raw)
    if isinstance(data.get("detection_ids"), dict):  # cjson encodes an empty list as {}
        data["detection_ids"] = []
    return ClosedBatch.from_message(data)
