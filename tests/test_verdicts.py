"""Verdicts through the real integration: `acknowledge` teaches the prior of similar events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
import probatio
import pytest

from custom_components.home_security_intelligence.const import DOMAIN
from custom_components.home_security_intelligence.store.records import EventRecord
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .conftest import EntryFactory
from .helpers import runtime_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=dt_util.get_default_time_zone())


async def _acknowledge(hass: HomeAssistant, events: list[EventRecord], **data: Any) -> None:
    await hass.services.async_call(
        DOMAIN,
        "acknowledge",
        {"event_ids": [e.id for e in events], **data},
        blocking=True,
    )


def _feedback(event: EventRecord) -> list[tuple[str, int, str]]:
    assert event.breakdown is not None
    return [f for f in event.breakdown.factors if f[0] == "feedback"]


async def test_false_alarms_lower_the_next_similar_event_and_missed_threats_raise(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Four evening false alarms at the front door: the fifth evening visit scores lower.

    The factor names itself; the same camera in the morning and another camera are not
    touched; a missed threat on the back door raises its next evening event.
    """
    freezer.move_to(_local(24, 21))
    entry = await setup_entry(
        llm_bound=0, camera_roles={"front_door": "entry_point", "back_door": "entry_point"}
    )
    evenings = [
        await stored_event(
            hass, entry, camera_root, "front_door", _local(day, 19, 30), day, freezer
        )
        for day in (20, 21, 22, 23)
    ]
    assert not any(_feedback(e) for e in evenings)
    await _acknowledge(hass, evenings, verdict="false_alarm")

    fifth = await stored_event(
        hass, entry, camera_root, "front_door", _local(24, 19, 45), 5, freezer
    )
    (factor,) = _feedback(fifth)
    assert factor[1] < 0
    assert factor[2] == f"your feedback: 4 false alarms here in the evening: {factor[1]:+d}"
    assert fifth.risk_score is not None and evenings[0].risk_score is not None
    assert fifth.risk_score == evenings[0].risk_score + factor[1]
    assert fifth.analysis_status == "analyzed"
    state = runtime_of(entry).cameras["front_door"]
    assert state.latest_event is not None and state.latest_event.id == fifth.id

    morning = await stored_event(hass, entry, camera_root, "front_door", _local(24, 9), 6, freezer)
    back = await stored_event(hass, entry, camera_root, "back_door", _local(23, 20), 7, freezer)
    assert not _feedback(morning) and not _feedback(back)

    await _acknowledge(hass, [back], verdict="missed_threat", note="tried the handle")
    raised = await stored_event(hass, entry, camera_root, "back_door", _local(24, 20), 8, freezer)
    (factor,) = _feedback(raised)
    assert factor[1] > 0
    assert factor[2].startswith("your feedback: 1 missed threat here in the evening: +")
    assert raised.risk_score is not None and back.risk_score is not None
    assert raised.risk_score == back.risk_score + factor[1]

    response = await hass.services.async_call(
        DOMAIN, "get_events", {"cameras": ["back_door"]}, blocking=True, return_response=True
    )
    assert response is not None
    judged = {e["event_id"]: (e["verdict"], e["note"]) for e in response["events"]}  # type: ignore[union-attr]
    assert judged == {raised.id: (None, None), back.id: ("missed_threat", "tried the handle")}


async def test_an_unknown_verdict_is_refused(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    with pytest.raises(probatio.Invalid):
        await _acknowledge(hass, [event], verdict="maybe")
    stored = await hass.async_add_executor_job(runtime_of(entry).db.event, event.id)
    assert stored is not None and not stored.reviewed
