"""Fixtures for the store tests: a real SQLite file and both work-store backends."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from redis import asyncio as aioredis

from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.embedded_store import EmbeddedWorkStore
from custom_components.home_security_intelligence.store.redis_store import RedisWorkStore, connect
from custom_components.home_security_intelligence.store.work_store import WorkStore
from homeassistant.core import HomeAssistant

from .common import seed_detections

BACKENDS = ["embedded", "redis"]


@dataclass
class Backend:
    """One work-store backend with the SQLite file the pipeline keeps beside it."""

    name: str
    hass: HomeAssistant
    path: Path
    redis_url: str | None
    db: Database = field(init=False)
    store: WorkStore = field(init=False)
    _dbs: list[Database] = field(default_factory=list)
    _stores: list[WorkStore] = field(default_factory=list)

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run blocking code in HA's executor."""
        return await self.hass.async_add_executor_job(func, *args)

    async def start(self) -> None:
        """Open the database and the first store."""
        self.db = await self.open_db()
        self.store = await self.new_store(self.db)

    async def open_db(self) -> Database:
        """Open (another) Database on the same file."""
        db = Database(self.path)
        await self.run(db.open)
        self._dbs.append(db)
        return db

    async def new_store(self, db: Database | None = None) -> WorkStore:
        """A fresh store instance on the same backing storage, as after a restart."""
        store: WorkStore
        if self.redis_url is None:
            store = EmbeddedWorkStore(db or await self.open_db(), self.hass.async_add_executor_job)
        else:
            store = RedisWorkStore(connect(self.redis_url))
        self._stores.append(store)
        return store

    async def stop(self) -> None:
        """Close every store and database opened."""
        for store in self._stores:
            await store.async_close()
        for db in self._dbs:
            await self.run(db.close)

    async def add(
        self,
        camera_id: str,
        when: datetime,
        objects: Sequence[str] = ("person",),
        ttl: int = 600,
    ) -> tuple[str, list[int]]:
        """Store detections and add them to the camera's batch, as the detection and batching stages do.

        Like the batching stage, record membership with `assign_batch` only for a store that
        does not record it itself (Redis).
        """
        ids: list[int] = await self.run(seed_detections, self.db, camera_id, when, objects)
        batch_id = await self.store.add_detections(camera_id, ids, when, ttl)
        if not self.store.records_membership:
            await self.run(self.db.assign_batch, ids, batch_id)
        return batch_id, ids


@pytest.fixture
def hass_config_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty config dir of this test's own: these tests only need HA's executor.

    Copying the shared testing_config (as tests/conftest.py does) races with other
    test runs writing the integration's files there.
    """
    return str(tmp_path_factory.mktemp("config"))


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest, hass: HomeAssistant, tmp_path: Path
) -> AsyncGenerator[Backend]:
    """Each backend in turn: embedded on a real SQLite file, Redis on the real server."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    harness = Backend(request.param, hass, tmp_path / "hsi" / "hsi.db", url)
    await harness.start()
    yield harness
    await harness.stop()


# redis-py types its commands as returning "value or awaitable of value" (one class serves
# the sync and asyncio clients), which mypy cannot await; tests inspect through `Any`.
type RawRedis = Any


@pytest.fixture
async def raw(redis_url: str) -> AsyncGenerator[RawRedis]:
    """A separate client on the test database, to look at what the store wrote."""
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
