"""Camera registry: what entities show per camera and on the hub; the one place that publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from homeassistant.core import CALLBACK_TYPE, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import (
    CONF_OCCUPANCY_TIMEOUT,
    DOMAIN,
    EVENT_BATCH_STARTED,
    EVENT_DETECTION,
    EVENT_RISK,
    SIGNAL_CAMERA_UPDATED,
    SIGNAL_HUB_UPDATED,
    SIGNAL_NEW_CAMERA,
)
from .payload import clip_url, event_payload, image_urls
from .pipeline.clip_frames import is_clip_file
from .pipeline.detection import DetectedImage
from .pipeline.runtime import Runtime
from .snooze import Snoozes
from .state import CameraState, DetectionSummary, HubState, camera_name, groups_of
from .store.database import Database
from .store.records import EventQuery, EventRecord

UNREVIEWED_SHOWN = 5
"""Newest unreviewed events a camera's Unreviewed events sensor lists."""


def device_identifier(entry_id: str, camera_id: str) -> str:
    """Device identifier of a camera of an entry."""
    return f"{entry_id}:{camera_id}"


def camera_of_identifier(entry_id: str, identifier: str) -> str | None:
    """Camera id inside a device identifier of this entry, else None."""
    prefix = f"{entry_id}:"
    return identifier[len(prefix) :] if identifier.startswith(prefix) else None


class CameraRegistry(Mapping[str, CameraState]):
    """The entry's cameras by id, the hub's figures, occupancy timers, bus events and signals."""

    def __init__(self, runtime: Runtime, db: Database) -> None:
        """Start empty; `load` reads the known cameras."""
        self._runtime = runtime
        self._hass = runtime.hass
        self._entry_id = runtime.entry_id
        self._db = db
        self._cameras: dict[str, CameraState] = {}
        self._timers: dict[tuple[str, str], CALLBACK_TYPE] = {}
        self.hub = HubState()
        self.snoozes = Snoozes(self._hass, self._notify)
        self._reviews_lock = asyncio.Lock()

    def __getitem__(self, camera_id: str) -> CameraState:
        """Return the state of a camera."""
        return self._cameras[camera_id]

    def __iter__(self) -> Iterator[str]:
        """Iterate over the camera ids."""
        return iter(self._cameras)

    def __len__(self) -> int:
        """Return the number of cameras."""
        return len(self._cameras)

    async def load(
        self,
        folders: list[str],
        label_of: Callable[[str], str],
        entities: Mapping[str, tuple[str, str]],
    ) -> None:
        """Load the known cameras and add the camera folders and entities present now.

        `label_of` gives a folder's name on disk; `entities` maps the camera id of each configured camera entity to (name, entity id).
        A camera whose folder or entity is gone and whose device the user removed is dropped
        for good.
        """
        devices = dr.async_get(self._hass)
        for record in await self._runtime.run(self._db.cameras):
            device = devices.async_get_device(
                identifiers={(DOMAIN, device_identifier(self._entry_id, record.id))}
            )
            if record.id not in folders and record.id not in entities and device is None:
                await self._runtime.run(self._db.remove_camera, record.id)
                continue
            self._cameras[record.id] = CameraState(
                record.id, record.name, record.latest_event, record.latest_thumbnail
            )
        for folder in folders:
            await self.add(folder, camera_name(label_of(folder)))
        for camera_id, (name, entity_id) in entities.items():
            await self.add(camera_id, name, entity_id)
        await self.refresh_reviews()

    async def add(self, camera_id: str, name: str | None = None, source: str | None = None) -> None:
        """Add a camera (once) and let the platforms create its entities.

        A camera entity (`source`) is named after it; a later name renames the device.
        """
        if (state := self._cameras.get(camera_id)) is not None:
            if source is not None and (state.source, state.name) != (source, name or state.name):
                state.source, state.name = source, name or state.name
                devices = dr.async_get(self._hass)
                if (device_id := self.device_id(camera_id)) is not None:
                    devices.async_update_device(device_id, name=state.name)
                self._notify(camera_id)
            return
        state = CameraState(camera_id, name or camera_name(camera_id), source=source)
        self._cameras[camera_id] = state
        await self._runtime.run(self._db.ensure_camera, camera_id, state.name, dt_util.utcnow())
        async_dispatcher_send(self._hass, SIGNAL_NEW_CAMERA.format(self._entry_id), camera_id)

    async def remove(self, camera_id: str) -> None:
        """Forget a camera whose device was removed; its folder, if re-created, comes back."""
        self._cameras.pop(camera_id, None)
        self.snoozes.forget(camera_id)
        for key in [key for key in self._timers if key[0] == camera_id]:
            self._timers.pop(key)()
        await self._runtime.run(self._db.remove_camera, camera_id)

    def display_name(self, camera_id: str) -> str:
        """Return the camera's name, or its id when unknown."""
        state = self._cameras.get(camera_id)
        return state.name if state else camera_id

    def payload(self, event: EventRecord) -> dict[str, Any]:
        """Return the `home_security_intelligence_event` payload of a stored event."""
        return event_payload(
            self._hass,
            self._entry_id,
            event,
            self.display_name(event.camera_id),
            self.device_id(event.camera_id),
        )

    def device_id(self, camera_id: str) -> str | None:
        """Return the device registry id of a camera, if its device exists."""
        device = dr.async_get(self._hass).async_get_device_by_identifier(
            (DOMAIN, device_identifier(self._entry_id, camera_id)), self._entry_id
        )
        return device.id if device else None

    @callback
    def detected(self, image: DetectedImage) -> None:
        """Turn occupancy on and fire the detection event, before any batch closes."""
        if image.waited is not None:
            self.hub.detection_latency_ms = round(image.waited * 1000, 1)
        job, ids = image.job, list(image.detection_ids)
        if (state := self._cameras.get(job.camera_id)) is None:
            return
        objects = {d.object_type for d in image.detections}
        summary = DetectionSummary(
            image.detection_ids,
            tuple(sorted(objects)),
            max(d.confidence for d in image.detections),
            datetime.fromisoformat(job.timestamp),
            image.thumbnail,
        )
        state.last_detection = summary
        previous = state.batch_started_at
        first = image.batch_id != state.batch_id
        if first:
            state.batch_id = image.batch_id
            state.batch_started_at = dt_util.utcnow()
        if image.thumbnail is not None:
            state.latest_thumbnail = image.thumbnail
        quiet = float(self._runtime.option(CONF_OCCUPANCY_TIMEOUT))
        for group in groups_of(objects):
            state.occupied[group] = True
            key = (job.camera_id, group)
            if (cancel := self._timers.pop(key, None)) is not None:
                cancel()
            self._timers[key] = async_call_later(
                self._hass, quiet, partial(self._clear_occupancy, job.camera_id, group)
            )
        payload = {
            "camera_id": state.camera_id,
            "camera_name": state.name,
            "device_id": self.device_id(state.camera_id),
            "objects": list(summary.objects),
            "confidence": summary.confidence,
            "detection_ids": ids,
            "captured_at": summary.captured_at.isoformat(),
            "batch_id": image.batch_id,
            "first_in_batch": first,
            "previous_batch_started_at": previous.isoformat() if first and previous else None,
            "snoozed": self.snoozes.active(state.camera_id),
            **image_urls(
                self._hass,
                self._entry_id,
                ids[0] if image.thumbnail else None,
                is_clip_file(Path(job.file_path)),
            ),
            "clip_url": clip_url(
                self._hass, self._entry_id, ids[0] if is_clip_file(Path(job.file_path)) else None
            ),
        }
        self._hass.bus.async_fire(EVENT_DETECTION, payload)
        if first:
            self._hass.bus.async_fire(EVENT_BATCH_STARTED, payload)
        self._notify(job.camera_id)

    @callback
    def _clear_occupancy(self, camera_id: str, group: str, _now: datetime) -> None:
        self._timers.pop((camera_id, group), None)
        if (state := self._cameras.get(camera_id)) is not None:
            state.occupied[group] = False
            self._notify(camera_id)

    @callback
    def event_stored(self, event: EventRecord) -> None:
        """Show a new or re-assessed event and fire its bus event."""
        state = self._cameras.get(event.camera_id)
        if state is not None and (state.latest_event is None or state.latest_event.id <= event.id):
            state.latest_event = event
        self._hass.bus.async_fire(EVENT_RISK, self.payload(event))
        self._notify(event.camera_id)
        self._runtime.start(self.refresh_reviews(), "unreviewed events")

    async def refresh_reviews(self) -> None:
        """Read the unreviewed events from the database; show the counts and the newest.

        Called when an event is stored or acknowledged; the hub's entities (the calendar
        among them) write their state after each read.
        """
        async with self._reviews_lock:
            counts, newest = await self._runtime.run(self._read_unreviewed, list(self._cameras))
            for camera_id, state in self._cameras.items():
                count, events = counts.get(camera_id, 0), newest.get(camera_id, ())
                if (state.unreviewed, state.unreviewed_events) != (count, events):
                    state.unreviewed, state.unreviewed_events = count, events
                    self._notify(camera_id)
            self.hub.unreviewed = sum(counts.values())
            self.notify_hub()

    def _read_unreviewed(
        self, cameras: list[str]
    ) -> tuple[dict[str, int], dict[str, tuple[EventRecord, ...]]]:
        counts = self._db.unreviewed_counts()
        newest = {
            camera_id: tuple(
                self._db.query_events(
                    EventQuery(camera_ids=(camera_id,), reviewed=False, limit=UNREVIEWED_SHOWN)
                )
            )
            for camera_id in cameras
            if counts.get(camera_id)
        }
        return counts, newest

    @callback
    def update_hub(self, waiting: int, open_batches: int) -> None:
        """Show the queue's and the batches' figures."""
        if (self.hub.images_waiting, self.hub.batches_open) != (waiting, open_batches):
            self.hub.images_waiting = waiting
            self.hub.batches_open = open_batches
            self.notify_hub()

    @callback
    def llm_answered(self, seconds: float) -> None:
        """Show how long the LLM took."""
        self.hub.llm_latency_s = seconds
        self.notify_hub()

    @callback
    def notify_hub(self) -> None:
        """Let the hub's entities write their state."""
        async_dispatcher_send(self._hass, SIGNAL_HUB_UPDATED.format(self._entry_id))

    @callback
    def camera_changed(self, camera_id: str) -> None:
        """Let a camera's entities write their state."""
        self._notify(camera_id)

    @callback
    def _notify(self, camera_id: str) -> None:
        async_dispatcher_send(self._hass, SIGNAL_CAMERA_UPDATED.format(self._entry_id, camera_id))

    @callback
    def stop(self) -> None:
        """Cancel the occupancy and snooze timers."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        self.snoozes.stop()
