"""Media browser: cameras, then days, then events, then their clips and annotated images."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
import re

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .ai_task_client import KEYFRAME_DIR
from .const import CLIP_CONTENT_TYPES, DOMAIN
from .data import HsiRuntimeData
from .store.records import AnalysisStatus, DetectionRecord, EventQuery, EventRecord
from .urls import image_path, signed_image_url

MAX_EVENTS_PER_DAY = 500
_KEY_FRAME_NAME = re.compile(r"[0-9a-f]{32}")


async def async_get_media_source(hass: HomeAssistant) -> HsiMediaSource:
    """Return the integration's media source."""
    return HsiMediaSource(hass)


class HsiMediaSource(MediaSource):
    """Browses stored events; identifiers are `entry/camera[/day[/event]]` or `entry/kind/id`.

    `kind` is image (annotated), snapshot (the original still) or clip (the video clip).
    """

    name = "Home Security Intelligence"

    def __init__(self, hass: HomeAssistant) -> None:
        """Create the source."""
        super().__init__(DOMAIN)
        self.hass = hass

    def _runtime(self, entry_id: str) -> HsiRuntimeData:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
            raise _unresolvable(translation_key="media_unknown_entry", item=entry_id)
        data: HsiRuntimeData = entry.runtime_data
        return data

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Resolve a thumbnail, an annotated full-size frame, a snapshot or a clip to its view URL."""
        parts = item.identifier.split("/")
        if len(parts) == 3 and parts[1] == "keyframe":
            return await self._key_frame(parts[0], parts[2])
        if (
            len(parts) != 3
            or parts[1] not in ("image", "annotated", "snapshot", "clip")
            or not parts[2].isdecimal()
        ):
            raise _unresolvable(translation_key="media_not_an_image", item=item.identifier)
        runtime = self._runtime(parts[0])
        detection_id = int(parts[2])
        if parts[1] == "image":
            return PlayMedia(image_path(parts[0], "thumbnail", detection_id), "image/jpeg")
        if parts[1] == "annotated":
            return PlayMedia(image_path(parts[0], "annotated", detection_id), "image/jpeg")
        records = await self.hass.async_add_executor_job(runtime.db.detections, [detection_id])
        if not records:
            raise _unresolvable(translation_key="media_unknown_item", item=str(detection_id))
        clip_mime = _clip_mime(records[0])
        if parts[1] == "clip":
            if clip_mime is None:
                raise _unresolvable(translation_key="media_not_an_image", item=item.identifier)
            return PlayMedia(image_path(parts[0], "clip", detection_id), clip_mime)
        if clip_mime is not None:
            raise _unresolvable(translation_key="media_not_an_image", item=item.identifier)
        mime = "image/png" if records[0].file_path.lower().endswith(".png") else "image/jpeg"
        return PlayMedia(image_path(parts[0], "snapshot", detection_id), mime)

    async def _key_frame(self, entry_id: str, name: str) -> PlayMedia:
        """Resolve a key frame kept on disk for one AI Task request: a path, no URL."""
        runtime = self._runtime(entry_id)
        path = runtime.thumbnail_dir.parent / KEYFRAME_DIR / f"{name}.jpg"
        if not _KEY_FRAME_NAME.fullmatch(name) or not await self.hass.async_add_executor_job(
            path.is_file
        ):
            raise _unresolvable(translation_key="media_unknown_item", item=name)
        return PlayMedia("", "image/jpeg", path=path)

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """Browse one level."""
        parts = item.identifier.split("/") if item.identifier else []
        if not parts:
            return self._root()
        runtime = self._runtime(parts[0])
        if len(parts) == 2:
            return await self._camera(runtime, parts[1])
        try:
            day = date.fromisoformat(parts[2])
        except ValueError as err:
            raise _unresolvable(translation_key="media_unknown_item", item=item.identifier) from err
        if len(parts) == 3:
            return await self._day(runtime, parts[1], day)
        if len(parts) == 4 and parts[3].isdecimal():
            return await self._event(runtime, parts[1], day, int(parts[3]))
        raise _unresolvable(translation_key="media_unknown_item", item=item.identifier)

    def _root(self) -> BrowseMediaSource:
        children = [
            _folder(f"{c.entry_id}/{camera_id}", state.name)
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.state is ConfigEntryState.LOADED
            for c in (entry.runtime_data,)
            for camera_id, state in sorted(c.cameras.items())
        ]
        return _folder(None, self.name, children, MediaClass.APP)

    async def _camera(self, runtime: HsiRuntimeData, camera_id: str) -> BrowseMediaSource:
        if camera_id not in runtime.cameras:
            raise _unresolvable(translation_key="media_unknown_item", item=camera_id)
        times = await self.hass.async_add_executor_job(runtime.db.event_times, camera_id)
        days = sorted({dt_util.as_local(t).date() for t in times}, reverse=True)
        base = f"{runtime.entry_id}/{camera_id}"
        children = [_folder(f"{base}/{day.isoformat()}", day.isoformat()) for day in days]
        return _folder(base, runtime.cameras[camera_id].name, children)

    async def _events(
        self, runtime: HsiRuntimeData, camera_id: str, day: date
    ) -> list[EventRecord]:
        start = datetime.combine(day, time.min, dt_util.get_default_time_zone())
        query = EventQuery(
            camera_ids=(camera_id,),
            since=dt_util.as_utc(start),
            until=dt_util.as_utc(start + timedelta(days=1)) - timedelta(microseconds=1),
            limit=MAX_EVENTS_PER_DAY,
        )
        return await self.hass.async_add_executor_job(runtime.db.query_events, query)

    async def _day(self, runtime: HsiRuntimeData, camera_id: str, day: date) -> BrowseMediaSource:
        base = f"{runtime.entry_id}/{camera_id}/{day.isoformat()}"
        children = [
            _folder(
                f"{base}/{event.id}",
                _event_title(event),
                thumbnail=self._thumbnail(runtime, event.detection_ids[-1])
                if event.thumbnail_path and event.detection_ids
                else None,
            )
            for event in await self._events(runtime, camera_id, day)
        ]
        return _folder(base, day.isoformat(), children)

    async def _event(
        self, runtime: HsiRuntimeData, camera_id: str, day: date, event_id: int
    ) -> BrowseMediaSource:
        event = await self.hass.async_add_executor_job(runtime.db.event, event_id)
        if event is None or event.camera_id != camera_id:
            raise _unresolvable(translation_key="media_unknown_item", item=str(event_id))
        detections = await self.hass.async_add_executor_job(
            runtime.db.detections, event.detection_ids
        )
        seen: set[str] = set()
        children = self._clips(runtime, detections)
        for det in reversed(detections):
            if det.thumbnail_path is None or det.thumbnail_path in seen:
                continue
            seen.add(det.thumbnail_path)
            when = dt_util.as_local(det.detected_at).strftime("%H:%M:%S")
            thumbnail = self._thumbnail(runtime, det.id)
            kinds = [("image", "")]
            if _clip_mime(det) is None:  # a clip frame is drawn at once, not from the original
                kinds += [("annotated", " annotated full size"), ("snapshot", " full snapshot")]
            children.extend(
                BrowseMediaSource(
                    domain=DOMAIN,
                    identifier=f"{runtime.entry_id}/{kind}/{det.id}",
                    media_class=MediaClass.IMAGE,
                    media_content_type="image/jpeg",
                    title=f"{when}{suffix}",
                    can_play=True,
                    can_expand=False,
                    thumbnail=thumbnail,
                )
                for kind, suffix in kinds
            )
        base = f"{runtime.entry_id}/{camera_id}/{day.isoformat()}/{event_id}"
        return _folder(base, _event_title(event), children)

    def _clips(
        self, runtime: HsiRuntimeData, detections: list[DetectionRecord]
    ) -> list[BrowseMediaSource]:
        """Return a playable video item per clip of the event, newest first."""
        newest: dict[str, DetectionRecord] = {}
        for det in detections:
            if _clip_mime(det) is not None:
                newest[det.file_path] = det
        items: list[BrowseMediaSource] = []
        for det in sorted(newest.values(), key=lambda d: d.detected_at, reverse=True):
            first = min(d.detected_at for d in detections if d.file_path == det.file_path)
            when = dt_util.as_local(first).strftime("%H:%M:%S")
            items.append(
                BrowseMediaSource(
                    domain=DOMAIN,
                    identifier=f"{runtime.entry_id}/clip/{det.id}",
                    media_class=MediaClass.VIDEO,
                    media_content_type=_clip_mime(det) or "",
                    title=f"{when} clip {Path(det.file_path).name}",
                    can_play=True,
                    can_expand=False,
                    thumbnail=self._thumbnail(runtime, det.id) if det.thumbnail_path else None,
                )
            )
        return items

    def _thumbnail(self, runtime: HsiRuntimeData, detection_id: int) -> str:
        return signed_image_url(self.hass, runtime.entry_id, "thumbnail", detection_id)


def _clip_mime(detection: DetectionRecord) -> str | None:
    """Return the video MIME type of the clip a detection came from; None for a still."""
    return CLIP_CONTENT_TYPES.get(Path(detection.file_path).suffix.lower())


def _event_title(event: EventRecord) -> str:
    when = dt_util.as_local(event.started_at).strftime("%H:%M:%S")
    level = event.risk_level or "not assessed"
    if event.analysis_status == AnalysisStatus.PRIOR_ONLY:
        level += " (facts only)"
    return f"{when} {level}: {event.title or ', '.join(event.objects)}"


def _folder(
    identifier: str | None,
    title: str,
    children: list[BrowseMediaSource] | None = None,
    media_class: MediaClass = MediaClass.DIRECTORY,
    thumbnail: str | None = None,
) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=identifier,
        media_class=media_class,
        media_content_type="",
        title=title,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=MediaClass.IMAGE if children is not None else None,
        thumbnail=thumbnail,
    )


def _unresolvable(*, translation_key: str, item: str) -> Unresolvable:
    """Return a translated error for a media item that does not resolve."""
    return Unresolvable(
        translation_domain=DOMAIN,
        translation_key=translation_key,
        translation_placeholders={"item": item[:200]},
    )
