"""Embedded backend: batches live in the SQLite file, queues are rebuilt from it."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from pathlib import Path

import pytest

from custom_components.home_security_intelligence.pipeline.models import ImageJob
from custom_components.home_security_intelligence.store.records import BatchState
from homeassistant.core import HomeAssistant

from .common import at
from .conftest import Backend


@pytest.fixture
async def embedded(hass: HomeAssistant, tmp_path: Path) -> AsyncGenerator[Backend]:
    """The embedded backend on a real SQLite file."""
    harness = Backend("embedded", hass, tmp_path / "hsi.db", None)
    await harness.start()
    yield harness
    await harness.stop()


async def test_closed_unanalysed_batches_survive_a_new_database_and_store(
    embedded: Backend,
) -> None:
    first, _ = await embedded.add("front", at(0))
    second, _ = await embedded.add("back", at(5))
    closed = await embedded.store.close_batch(first, at(40))
    await embedded.store.close_batch(second, at(41))
    done = await embedded.store.take_analysis()
    assert done is not None
    assert done == closed
    await embedded.store.ack_analysis(done)

    reopened = await embedded.new_store()  # a new Database on the same file
    assert await reopened.recover() == 1
    pending = await reopened.take_analysis()
    assert pending is not None
    assert (pending.batch_id, pending.camera_id) == (second, "back")


async def test_batch_states_follow_close_and_ack(embedded: Backend) -> None:
    batch_id, _ = await embedded.add("front", at(0))
    assert [b.batch_id for b in await embedded.run(embedded.db.batches, BatchState.OPEN)] == [
        batch_id
    ]
    closed = await embedded.store.close_batch(batch_id, at(40))
    assert closed is not None
    assert [b.batch_id for b in await embedded.run(embedded.db.batches, BatchState.CLOSED)] == [
        batch_id
    ]
    await embedded.store.ack_analysis(closed)
    assert await embedded.run(embedded.db.batches, BatchState.CLOSED) == []
    assert [b.batch_id for b in await embedded.run(embedded.db.batches, BatchState.ANALYZED)] == [
        batch_id
    ]


async def test_recover_drops_queued_images_the_ledger_will_requeue(embedded: Backend) -> None:
    jobs = [ImageJob(i, "front", f"/c/front/{i}.jpg", at(i).isoformat()) for i in (1, 2)]
    await embedded.store.push_images(jobs)
    assert await embedded.store.take_image() == jobs[0]
    await embedded.store.recover()
    assert await embedded.store.image_backlog() == 0
    assert await embedded.store.queued_image_ids() == set()
