"""Calendar per entry: every stored event as a calendar item, so HA's calendar is the timeline."""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .data import HsiConfigEntry, HsiRuntimeData
from .entity import HsiHubEntity
from .store.records import EventRecord
from .urls import signed_image_url

PARALLEL_UPDATES = 0

MAX_CALENDAR_EVENTS = 2000
"""Most events one range shows (the newest of them); a month of a busy camera fits."""

EVENTS = CalendarEntityDescription(key="events", translation_key="events")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HsiConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entry's events calendar."""
    async_add_entities([EventCalendar(entry.runtime_data, entry.title)])


def event_title(event: EventRecord, camera_name: str) -> str:
    """Return the event's own title, else "<Level> risk: <objects> at <camera>"."""
    if title := getattr(event, "title", None):
        return str(title)
    objects = ", ".join(event.objects) or "activity"
    level = f"{event.risk_level.capitalize()} risk" if event.risk_level else "Event"
    return f"{level}: {objects} at {camera_name}"


class EventCalendar(HsiHubEntity, CalendarEntity):
    """The entry's events, one calendar item each, from their first to their last detection.

    The description holds the level, score, summary and a signed link to the image; the
    items are read from the database in one executor job per range asked.
    """

    entity_description = EVENTS

    def __init__(self, data: HsiRuntimeData, title: str) -> None:
        """Attach to the entry's hub device."""
        super().__init__(data, title, EVENTS.key)

    @property
    def event(self) -> CalendarEvent | None:
        """The newest stored event of any camera (from memory)."""
        latest = [c.latest_event for c in self.data.cameras.values() if c.latest_event]
        if not latest:
            return None
        return self._item(max(latest, key=lambda e: (e.started_at, e.id)))

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the events that overlap the range, oldest first."""
        events = await hass.async_add_executor_job(
            self.data.db.events_overlapping,
            dt_util.as_utc(start_date),
            dt_util.as_utc(end_date),
            MAX_CALENDAR_EVENTS,
        )
        return [self._item(event) for event in events]

    def _item(self, event: EventRecord) -> CalendarEvent:
        camera = self.data.cameras.display_name(event.camera_id)
        lines = [
            f"Level: {event.risk_level or 'not assessed'} (score {event.risk_score})",
            event.summary,
            f"Objects: {', '.join(event.objects)}",
            f"Camera: {camera}",
            f"Event id: {event.id}"
            + (" · reviewed" if event.reviewed else "")
            + (" · snoozed" if event.snoozed else ""),
        ]
        if event.shown_detection_id is not None:
            lines.append(
                "Image: "
                + signed_image_url(
                    self.hass, self.data.entry_id, "snapshot", event.shown_detection_id
                )
            )
        return CalendarEvent(
            start=dt_util.as_local(event.started_at),
            end=dt_util.as_local(event.ended_at),
            summary=event_title(event, camera),
            description="\n".join(line for line in lines if line),
            location=camera,
            uid=f"{self.data.entry_id}_{event.id}",
        )
