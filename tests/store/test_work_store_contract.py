"""The WorkStore contract, run against both backends (embedded SQLite and real Redis)."""

from __future__ import annotations

from custom_components.home_security_intelligence.pipeline.models import ClosedBatch, ImageJob

from .common import at, seed_detections
from .conftest import Backend


def _job(image_id: int) -> ImageJob:
    return ImageJob(image_id, "front", f"/cameras/front/{image_id}.jpg", at(image_id).isoformat())


async def test_images_come_out_oldest_first_and_stay_in_flight_until_acked(
    backend: Backend,
) -> None:
    store = backend.store
    await store.push_images([_job(1), _job(2)])
    await store.push_images([_job(3)])
    assert await store.image_backlog() == 3
    assert await store.queued_image_ids() == {1, 2, 3}

    first = await store.take_image()
    assert first == _job(1)
    assert await store.image_backlog() == 3
    assert await store.queued_image_ids() == {1, 2, 3}

    await store.ack_image(first)
    assert await store.image_backlog() == 2
    assert await store.queued_image_ids() == {2, 3}
    assert await store.take_image() == _job(2)
    assert await store.take_image() == _job(3)


async def test_take_returns_none_on_empty_queues(backend: Backend) -> None:
    assert await backend.store.take_image() is None
    assert await backend.store.take_analysis() is None
    assert await backend.store.image_backlog() == 0
    assert await backend.store.queued_image_ids() == set()


async def test_pushing_no_images_queues_nothing(backend: Backend) -> None:
    await backend.store.push_images([])
    assert await backend.store.image_backlog() == 0


async def test_acking_an_image_never_taken_keeps_it_queued(backend: Backend) -> None:
    await backend.store.push_images([_job(7)])
    await backend.store.ack_image(_job(7))
    assert await backend.store.queued_image_ids() == {7}
    assert await backend.store.take_image() == _job(7)


async def test_add_detections_opens_one_batch_per_camera_and_reuses_it(backend: Backend) -> None:
    first, _ = await backend.add("front", at(0))
    second, _ = await backend.add("front", at(5))
    assert first == second
    assert [b.batch_id for b in await backend.store.open_batches()] == [first]


async def test_cameras_get_separate_batches(backend: Backend) -> None:
    front, _ = await backend.add("front", at(0))
    back, _ = await backend.add("back", at(1))
    assert front != back
    batches = {b.camera_id: b.batch_id for b in await backend.store.open_batches()}
    assert batches == {"front": front, "back": back}


async def test_open_batches_report_start_and_last_activity(backend: Backend) -> None:
    batch_id, _ = await backend.add("front", at(0))
    await backend.add("front", at(12))
    (batch,) = await backend.store.open_batches()
    assert batch.batch_id == batch_id
    assert batch.camera_id == "front"
    assert batch.started_at == at(0)
    assert batch.last_activity == at(12)


async def test_close_batch_queues_everything_analysis_needs(backend: Backend) -> None:
    batch_id, ids1 = await backend.add("front", at(0), ("person", "car"))
    _, ids2 = await backend.add("front", at(20), ("dog",))

    closed = await backend.store.close_batch(batch_id, at(50))

    assert closed == ClosedBatch(batch_id, "front", (*ids1, *ids2), at(0), at(20))
    assert await backend.store.open_batches() == []
    assert await backend.store.take_analysis() == closed
    await backend.store.ack_analysis(closed)
    assert await backend.store.take_analysis() is None


async def test_closing_twice_or_an_unknown_batch_returns_none(backend: Backend) -> None:
    batch_id, _ = await backend.add("front", at(0))
    assert await backend.store.close_batch(batch_id, at(40)) is not None
    assert await backend.store.close_batch(batch_id, at(41)) is None
    assert await backend.store.close_batch("no-such-batch", at(41)) is None
    assert await backend.store.take_analysis() is not None
    assert await backend.store.take_analysis() is None


async def test_adding_after_close_opens_a_new_batch(backend: Backend) -> None:
    old, _ = await backend.add("front", at(0))
    await backend.store.close_batch(old, at(40))
    new, ids = await backend.add("front", at(45))
    assert new != old
    (batch,) = await backend.store.open_batches()
    assert (batch.batch_id, batch.started_at) == (new, at(45))
    closed = await backend.store.close_batch(new, at(60))
    assert closed is not None
    assert closed.detection_ids == tuple(ids)


async def test_a_batch_without_detections_closes_empty(backend: Backend) -> None:
    batch_id, ids = await backend.add("front", at(0), objects=())
    assert ids == []
    closed = await backend.store.close_batch(batch_id, at(30))
    assert closed == ClosedBatch(batch_id, "front", (), at(0), at(0))


async def test_recover_requeues_analysis_taken_but_not_acked(backend: Backend) -> None:
    batch_id, _ = await backend.add("front", at(0))
    closed = await backend.store.close_batch(batch_id, at(40))
    assert await backend.store.take_analysis() == closed
    assert await backend.store.take_analysis() is None

    assert await backend.store.recover() == 1
    assert await backend.store.take_analysis() == closed


async def test_a_restarted_store_recovers_what_a_dead_one_had_taken(backend: Backend) -> None:
    batch_id, _ = await backend.add("front", at(0))
    closed = await backend.store.close_batch(batch_id, at(40))
    assert closed is not None
    assert await backend.store.take_analysis() == closed

    restarted = await backend.new_store()
    assert await restarted.recover() == 1
    assert await restarted.take_analysis() == closed
    await restarted.ack_analysis(closed)

    again = await backend.new_store()
    assert await again.recover() == 0
    assert await again.take_analysis() is None


async def test_acked_analysis_is_not_recovered(backend: Backend) -> None:
    batch_id, _ = await backend.add("front", at(0))
    await backend.store.close_batch(batch_id, at(40))
    taken = await backend.store.take_analysis()
    assert taken is not None
    await backend.store.ack_analysis(taken)
    assert await backend.store.recover() == 0
    assert await backend.store.take_analysis() is None


async def _add_and_take(
    backend: Backend, done: ImageJob, take: bool, when: int = 0
) -> tuple[str, list[int], ImageJob | None]:
    """Store detections, then add them, acknowledge `done` and maybe take, in one call."""
    ids: list[int] = await backend.run(seed_detections, backend.db, "front", at(when), ("person",))
    batch_id, taken = await backend.store.add_detections_and_take(
        "front", ids, at(when), 600, done, take
    )
    if not backend.store.records_membership:
        await backend.run(backend.db.assign_batch, ids, batch_id)
    return batch_id, ids, taken


async def test_add_and_take_acks_the_done_image_and_takes_the_next(backend: Backend) -> None:
    """One call adds to the batch, forgets the finished image and takes the oldest waiting."""
    store = backend.store
    await store.push_images([_job(1), _job(2), _job(3)])
    first = await store.take_image()
    assert first == _job(1)

    batch_id, ids, taken = await _add_and_take(backend, first, take=True)

    assert taken == _job(2)
    assert await store.queued_image_ids() == {2, 3}
    assert await store.image_backlog() == 2
    assert [b.batch_id for b in await store.open_batches()] == [batch_id]
    again, more, nothing = await _add_and_take(backend, taken, take=False, when=5)
    assert (again, nothing) == (batch_id, None)
    assert await store.queued_image_ids() == {3}
    closed = await store.close_batch(batch_id, at(30))
    assert closed == ClosedBatch(batch_id, "front", (*ids, *more), at(0), at(5))


async def test_add_and_take_on_an_empty_queue_takes_nothing(backend: Backend) -> None:
    """Asked to take with nothing queued, the call still adds and acknowledges."""
    store = backend.store
    await store.push_images([_job(4)])
    job = await store.take_image()
    assert job == _job(4)
    batch_id, _, taken = await _add_and_take(backend, job, take=True)
    assert taken is None
    assert await store.image_backlog() == 0
    assert [b.batch_id for b in await store.open_batches()] == [batch_id]


async def test_an_image_taken_by_add_and_take_is_recovered_after_a_crash(
    backend: Backend,
) -> None:
    """The image the combined call took stays in flight: a new store gets it back."""
    store = backend.store
    await store.push_images([_job(5), _job(6)])
    job = await store.take_image()
    assert job is not None
    _, _, taken = await _add_and_take(backend, job, take=True)
    assert taken == _job(6)
    if backend.redis_url is None:
        await store.recover()  # the embedded queue lives in memory: its ledger requeues
        assert await store.queued_image_ids() == set()
        return
    restarted = await backend.new_store()
    assert await restarted.recover() == 1
    assert await restarted.take_image() == _job(6)
