"""Camera-entity source: snapshots of HA camera entities, grabbed while their trigger is on.

trigger on / event fired / analyze_camera -> camera.async_get_image -> checked -> written to
the entry's snapshot folder (atomically) -> intake (ledger row, queued) -> the usual stages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
import logging
from pathlib import Path
from typing import Any

from homeassistant.components.camera import async_get_image
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
    split_entity_id,
)
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.util import dt as dt_util

from ..camera_sources import (
    EntityCamera,
    display_name,
    entity_cameras,
    snapshot_count,
    snapshot_interval,
)
from ..store.database import Database
from .image_loader import MAX_IMAGE_BYTES, InvalidImageError, LoadedImage, check_image
from .intake import Intake
from .runtime import Runtime
from .snapshot_files import SUFFIXES, scan_snapshots, write_snapshot

_LOGGER = logging.getLogger(__name__)

GRAB_TIMEOUT = 10


@dataclass(slots=True)
class _Burst:
    """Snapshots still to grab for one trigger, and a way to stop early."""

    remaining: int
    interval: float
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class CameraSource:
    """Grabs, stores and records snapshots of the entry's camera entities."""

    def __init__(
        self,
        runtime: Runtime,
        folder: Path,
        db: Database,
        intake: Intake,
        on_camera: Callable[[str, str, str], Coroutine[Any, Any, None]],
        on_change: Callable[[str], None],
        horizon: Callable[[], datetime | None],
    ) -> None:
        """Write snapshots under `folder`; `on_camera(id, name, entity)` adds or renames one."""
        self._runtime = runtime
        self._hass = runtime.hass
        self.folder = folder
        self._db = db
        self._intake = intake
        self._on_camera = on_camera
        self._on_change = on_change
        self._horizon = horizon
        self._cameras: dict[str, EntityCamera] = {}
        self._names: dict[str, str] = {}
        self._connected: dict[str, bool] = {}
        self._reported: set[str] = set()
        self._bursts: dict[str, _Burst] = {}
        self._manual: dict[str, _Burst] = {}
        self._unsubs: list[CALLBACK_TYPE] = []
        self._unlisten: CALLBACK_TYPE | None = None

    def load(self) -> dict[str, tuple[str, str]]:
        """Read the configured camera entities; return (name, entity id) by camera id."""
        self._cameras = entity_cameras(self._runtime.entry.options)
        self._names = {cid: display_name(self._hass, cam) for cid, cam in self._cameras.items()}
        self._connected = {
            cid: _available(self._hass.states.get(cam.entity_id))
            for cid, cam in self._cameras.items()
        }
        return {cid: (self._names[cid], cam.entity_id) for cid, cam in self._cameras.items()}

    def is_source(self, camera_id: str) -> bool:
        """Whether the camera is a configured camera entity."""
        return camera_id in self._cameras

    def camera_of(self, entity_id: str) -> str | None:
        """Camera id of a configured camera entity."""
        return next((c.camera_id for c in self._cameras.values() if c.entity_id == entity_id), None)

    def connected(self, camera_id: str) -> bool:
        """Whether the camera entity is available and gave an image the last time it was asked."""
        return self._connected.get(camera_id, False)

    async def start(self) -> None:
        """Follow the cameras and triggers, and record snapshots a stop left unrecorded."""
        self._unlisten = self._runtime.entry.add_update_listener(self._options_updated)
        self._follow(set(self._cameras))
        self._runtime.start(self._catch_up(), "snapshot catch-up")

    def stop(self) -> None:
        """Stop following and grabbing; running executor writes finish."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        self._unfollow()
        for burst in (*self._bursts.values(), *self._manual.values()):
            burst.stop.set()

    def _unfollow(self) -> None:
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()

    def _follow(self, fresh: set[str]) -> None:
        """Track the cameras' and triggers' states; `fresh` cameras start grabbing if triggered."""
        self._unfollow()
        cameras = self._cameras.values()
        watched = {c.entity_id for c in cameras} | {c.trigger for c in cameras if c.trigger}
        if watched:
            self._unsubs.append(
                async_track_state_change_event(self._hass, sorted(watched), self._state_changed)
            )
        for camera in cameras:
            if camera.camera_id in fresh and camera.trigger:
                trigger = self._hass.states.get(camera.trigger)
                if _domain(camera.trigger) == "binary_sensor" and _is_on(trigger):
                    self.trigger(camera.camera_id)

    async def _options_updated(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Apply changed camera entities at once: add devices, follow new triggers."""
        new = entity_cameras(entry.options)
        if new == self._cameras:
            return
        for camera_id in set(self._cameras) - set(new):
            if (burst := self._bursts.get(camera_id)) is not None:
                burst.stop.set()
        fresh = {cid for cid, cam in new.items() if self._cameras.get(cid) != cam}
        self._cameras = new
        for camera_id in fresh:
            self._connected.setdefault(
                camera_id, _available(self._hass.states.get(new[camera_id].entity_id))
            )
            await self._name(camera_id)
        self._follow(fresh)

    async def _name(self, camera_id: str) -> None:
        camera = self._cameras[camera_id]
        self._names[camera_id] = display_name(self._hass, camera)
        await self._on_camera(camera_id, self._names[camera_id], camera.entity_id)

    @callback
    def _state_changed(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        old, new = event.data["old_state"], event.data["new_state"]
        for camera in list(self._cameras.values()):
            if camera.entity_id == entity_id:
                if _available(old) != _available(new):
                    self._set_connected(camera.camera_id, _available(new), "it is unavailable")
                if new is not None and display_name(self._hass, camera) != self._names.get(
                    camera.camera_id
                ):
                    self._runtime.start(self._name(camera.camera_id), "camera name")
            if camera.trigger == entity_id:
                self._triggered(camera, old, new)

    def _triggered(self, camera: EntityCamera, old: State | None, new: State | None) -> None:
        """Start grabbing when a binary_sensor turns on or an event fires; stop when off."""
        if _domain(camera.trigger) == "binary_sensor":
            if _is_on(new) and not _is_on(old):
                self.trigger(camera.camera_id)
            elif not _is_on(new) and (burst := self._bursts.get(camera.camera_id)):
                burst.stop.set()
        elif (
            new is not None
            and old is not None
            and new.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)
            and old.state not in (STATE_UNAVAILABLE, new.state)
        ):
            self.trigger(camera.camera_id)

    @callback
    def trigger(self, camera_id: str) -> None:
        """Grab up to the configured number of snapshots (a running burst starts over)."""
        options = self._runtime.entry.options
        count = snapshot_count(options)
        burst = self._bursts.get(camera_id)
        if burst is not None and not burst.stop.is_set():
            burst.remaining = max(burst.remaining, count)
            return
        burst = self._bursts[camera_id] = _Burst(count, snapshot_interval(options))
        self._runtime.start(self._run(camera_id, burst), f"snapshots of {camera_id}")

    async def analyze(self, camera_id: str, count: int, interval: float) -> bool:
        """Grab one snapshot now and `count - 1` more in the background; False if none came.

        A call while the camera's last one still grabs extends it instead of adding another.
        """
        if not await self.grab(camera_id):
            return False
        if (burst := self._manual.get(camera_id)) is not None:
            burst.remaining = max(burst.remaining, count - 1)
        elif count > 1:
            burst = self._manual[camera_id] = _Burst(count - 1, interval)
            self._runtime.start(
                self._run(camera_id, burst, interval, self._manual), f"analysis of {camera_id}"
            )
        return True

    async def _run(
        self,
        camera_id: str,
        burst: _Burst,
        delay: float = 0.0,
        owner: dict[str, _Burst] | None = None,
    ) -> None:
        """Grab every `interval` seconds until the burst is used up or stopped."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + delay
        try:
            while burst.remaining > 0:
                if (wait := next_at - loop.time()) > 0:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(burst.stop.wait(), wait)
                if burst.stop.is_set():
                    return
                burst.remaining -= 1
                next_at = loop.time() + burst.interval
                await self.grab(camera_id)
        finally:
            running = self._bursts if owner is None else owner
            if running.get(camera_id) is burst:
                del running[camera_id]

    async def grab(self, camera_id: str) -> bool:
        """Grab, check, store and record one snapshot; False (and logged) when none came."""
        if (camera := self._cameras.get(camera_id)) is None:
            return False
        try:
            image = await async_get_image(self._hass, camera.entity_id, timeout=GRAB_TIMEOUT)
            loaded = await self._runtime.run(_usable, image.content)
        except InvalidImageError as err:
            self._set_connected(camera_id, False, f"its image is unusable ({err})")
            return False
        except Exception as err:  # noqa: BLE001 - whatever a camera integration raises means no image
            self._set_connected(camera_id, False, str(err) or type(err).__name__)
            return False
        self._set_connected(camera_id, True)
        captured = dt_util.utcnow()
        try:
            path = await self._runtime.run(
                write_snapshot,
                self.folder,
                camera_id,
                loaded.data,
                SUFFIXES[loaded.content_type],
                captured,
            )
        except OSError as err:
            _LOGGER.warning("Could not store a snapshot of %s: %s", camera.entity_id, err)
            return False
        await self._intake.record_own(camera_id, [(path, captured)])
        return True

    def _set_connected(self, camera_id: str, up: bool, reason: str = "") -> None:
        """Show connectivity; log an outage once, and its end."""
        entity_id = self._cameras[camera_id].entity_id
        if not up and camera_id not in self._reported:
            self._reported.add(camera_id)
            _LOGGER.warning(
                "Camera %s gives no image: %s. Nothing is queued for it until it does",
                entity_id,
                reason,
            )
        elif up and camera_id in self._reported:
            self._reported.discard(camera_id)
            _LOGGER.info("Camera %s gives images again", entity_id)
        if self._connected.get(camera_id) != up:
            self._connected[camera_id] = up
            self._on_change(camera_id)

    async def _catch_up(self) -> None:
        """Record snapshots written before a stop but not in the ledger yet."""
        found = await self._runtime.run(self._unrecorded)
        for camera_id, files in found.items():
            _LOGGER.info("Recording %d snapshots of %s left from before", len(files), camera_id)
            await self._intake.record_own(camera_id, files)

    def _unrecorded(self) -> dict[str, list[tuple[Path, datetime]]]:
        known = self._db.known_paths()
        horizon = self._horizon()
        found: dict[str, list[tuple[Path, datetime]]] = {}
        for camera_id, path, when in scan_snapshots(self.folder):
            if str(path) not in known and (horizon is None or when >= horizon):
                found.setdefault(camera_id, []).append((path, when))
        return found


def _usable(data: bytes) -> LoadedImage:
    """Check a camera's image as an upload is checked (blocking)."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidImageError(f"image too large ({len(data)} bytes)")
    return check_image(data)


def _domain(entity_id: str | None) -> str:
    return split_entity_id(entity_id)[0] if entity_id else ""


def _available(state: State | None) -> bool:
    return state is not None and state.state != STATE_UNAVAILABLE


def _is_on(state: State | None) -> bool:
    return state is not None and state.state == STATE_ON
