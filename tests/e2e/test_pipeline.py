"""Outside-in: config flow, real files, real detector/LLM servers, time advanced, states read."""

from __future__ import annotations

from datetime import datetime, timedelta
import os
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_DETECTION, EVENT_RISK
from custom_components.home_security_intelligence.risk_levels import level_for_score
from homeassistant import config_entries
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from ..conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from ..contract_servers import DetectorServer, LlmServer


@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_upload_to_risk_event(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    freezer: FrozenDateTimeFactory,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """Uploads become detections, one batch, an LLM assessment, entity states and a bus event."""
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    user_input = {
        "camera_root": str(camera_root),
        "detector_url": detector.url,
        "llm_url": llm.url,
    }
    if redis_url:
        user_input["redis_url"] = redis_url
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_RISK)
    detector.requests.clear()
    llm.prompts.clear()

    folder = camera_root / "front_door" / "snap"
    await write_file(hass, folder / "MDAlarm_20261124-021502.jpg", make_jpeg(seed=1))
    await write_file(hass, folder / "MDAlarm_20261124-021510.jpg", make_jpeg(seed=2))
    await write_file(hass, folder / "MDAlarm_20261124-021512.jpg", b"\xff\xd8\xff\xe0corrupt")

    registry = er.async_get(hass)
    camera_entity = await wait_for(
        hass,
        lambda: registry.async_get_entity_id(
            "camera", DOMAIN, f"{entry.entry_id}_front_door_snapshot"
        ),
    )
    runtime = entry.runtime_data
    await wait_for(hass, lambda: _settled(hass, entry), freezer=freezer)
    assert len(detector.requests) == 2
    assert detector.requests[0]["content_type"] == "image/jpeg"
    assert runtime.cameras["front_door"].latest_thumbnail
    assert not llm.prompts

    freezer.tick(timedelta(seconds=31))
    await wait_for(hass, lambda: events, freezer=freezer)

    data = events[0].data
    assert data["camera_id"] == "front_door"
    assert data["camera_name"] == "Front Door"
    breakdown = data["breakdown"]
    assert breakdown["llm_score"] == 72
    assert breakdown["source"] == "prior+llm"
    assert any("person" in f["detail"] for f in breakdown["factors"])
    # Default bound: the LLM moves the prior by at most 20 points toward its own score.
    final = breakdown["prior"] + max(-20, min(20, 72 - breakdown["prior"]))
    assert data["risk_score"] == breakdown["final"] == final
    assert breakdown["llm_adjustment"] == final - breakdown["prior"]
    assert data["risk_level"] == level_for_score(final)
    assert data["analysis_status"] == "analyzed"
    assert data["objects"] == ["person"]
    local = dt_util.get_default_time_zone()
    assert datetime.fromisoformat(data["started_at"]) == datetime(
        2026, 11, 24, 2, 15, 2, tzinfo=local
    )
    assert datetime.fromisoformat(data["ended_at"]) == datetime(
        2026, 11, 24, 2, 15, 10, tzinfo=local
    )
    prompt = llm.prompts[0]["prompt"]
    assert '"Front Door"' in prompt and "02:15:02" in prompt and '"person"' in prompt
    assert f"risk prior: {breakdown['prior']}" in prompt
    assert llm.prompts[0]["json_schema"]["required"]

    score = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_front_door_risk_score"
    )
    level = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_front_door_risk_level"
    )
    event_entity = registry.async_get_entity_id(
        "event", DOMAIN, f"{entry.entry_id}_front_door_risk_event"
    )
    assert hass.states.get(score).state == str(final)
    assert hass.states.get(level).state == level_for_score(final)
    event_state = hass.states.get(event_entity)
    assert event_state.attributes["event_type"] == level_for_score(final)
    assert event_state.attributes["risk_score"] == final
    assert event_state.attributes["breakdown"] == breakdown
    assert hass.states.get(camera_entity) is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _settled(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Both photos detected and batched, the corrupt file refused."""
    runtime = entry.runtime_data
    batches = await runtime.store.open_batches()
    return (
        await ledger(hass, entry) == {"done": 2, "invalid": 1}
        and len(batches) == 1
        and (await hass.async_add_executor_job(runtime.db.unbatched_detections)) == {}
    )


@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_a_burst_draws_only_the_thumbnails_shown_at_once(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    hass_client: ClientSessionGenerator,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """A backlog of one camera: the batch's first image and the newest are drawn at once.

    Every other thumbnail is drawn on its first request, from the original upload, and
    kept under the same name; every thumbnail URL works before and after.
    """
    count = 8
    for index in range(count):
        path = camera_root / "front_door" / f"MDAlarm_20261124-0215{index:02d}.jpg"
        await write_file(hass, path, make_jpeg(seed=index))
        # Settled long ago: the start-up scan queues all of them at once.
        settled = dt_util.utcnow().timestamp() - 600
        await hass.async_add_executor_job(os.utime, path, (settled, settled))
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    detected = async_capture_events(hass, EVENT_DETECTION)
    entry = await setup_entry(redis=redis_url)
    runtime = entry.runtime_data
    await wait_for(hass, lambda: len(detected) == count, timeout=30)
    assert (await ledger(hass, entry))["done"] == count
    db = runtime.db
    records = await hass.async_add_executor_job(
        db.detections, range(1, 10 * count)
    )  # every detection of the run
    assert len({r.image_id for r in records}) == count
    paths = {r.image_id: Path(r.thumbnail_path or "") for r in records}
    assert all(p.name == f"{image_id}.jpg" for image_id, p in paths.items())
    drawn = {i for i, p in paths.items() if await hass.async_add_executor_job(p.is_file)}
    newest = max(paths)
    assert newest in drawn
    assert len(drawn) <= 2, drawn  # the first of the batch and the newest

    client = await hass_client()
    for record in records:
        response = await client.get(f"/api/{DOMAIN}/{entry.entry_id}/thumbnail/{record.id}")
        assert response.status == 200
    assert all([await hass.async_add_executor_job(p.is_file) for p in paths.values()])
