"""The options flow's zones step: one camera's filters, validated, saved, applied at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.home_security_intelligence.const import DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.translation import async_get_translations

from .conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from .test_config_flow import suggested

pytestmark = pytest.mark.usefixtures("unload_entries")

PREFIX = f"component.{DOMAIN}.options"
SNAPSHOTS = {"snapshot_interval_seconds": 2.0, "snapshots_per_trigger": 10}


async def _zones_form(hass: HomeAssistant, entry: MockConfigEntry, camera: str) -> dict[str, Any]:
    """Walk the options flow to the zones form of `camera`, keeping tuning and roles."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    tuning = {k: v for k, v in suggested(result).items() if v is not None}
    result = await hass.config_entries.options.async_configure(result["flow_id"], tuning)
    assert result["step_id"] == "camera_entities"
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    assert result["step_id"] == "cameras"
    roles = {str(k): k.default() for k in result["data_schema"].schema}
    result = await hass.config_entries.options.async_configure(result["flow_id"], roles)
    assert result["step_id"] == "zone_camera"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"camera": camera}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zones"
    assert result["description_placeholders"] == {"camera": camera}
    return dict(result)


@pytest.mark.parametrize(
    ("entered", "field", "code"),
    [
        pytest.param({"min_size": 1.0}, "min_size", "invalid_min_size", id="size"),
        pytest.param(
            {"min_confidence_vehicle": 1.5},
            "min_confidence_vehicle",
            "invalid_min_confidence",
            id="confidence",
        ),
        pytest.param({"ignore_areas": "0,0,1"}, "ignore_areas", "invalid_area", id="three"),
        pytest.param({"ignore_areas": "0.5,0,0.2,1"}, "ignore_areas", "invalid_area", id="order"),
        pytest.param(
            {"ignore_areas": "; ".join(["0,0,0.1,0.1"] * 5)},
            "ignore_areas",
            "too_many_areas",
            id="five",
        ),
    ],
)
async def test_zones_step_shows_each_error_on_its_field(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    entered: dict[str, Any],
    field: str,
    code: str,
) -> None:
    """A wrong value keeps the form open with a translated error on its field; nothing is saved."""
    await hass.async_add_executor_job((camera_root / "street").mkdir)
    entry = await setup_entry()
    before = dict(entry.options)
    result = await _zones_form(hass, entry, "street")

    result = await hass.config_entries.options.async_configure(result["flow_id"], entered)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {field: code}
    assert dict(entry.options) == before
    texts = await async_get_translations(hass, "en", "options", [DOMAIN])
    assert texts[f"{PREFIX}.error.{code}"]
    for key in result["data_schema"].schema:
        assert texts[f"{PREFIX}.step.zones.data.{key}"]
        assert texts[f"{PREFIX}.step.zones.data_description.{key}"]


async def test_zones_step_saves_one_camera_and_applies_at_once(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """The README's street example saved for one camera filters its next upload; none is a no-op."""
    for camera in ("street", "porch"):
        await hass.async_add_executor_job((camera_root / camera).mkdir)
    entry = await setup_entry(zones={"porch": {"min_size": 0.05}})
    runtime = entry.runtime_data
    result = await _zones_form(hass, entry, "street")
    assert suggested(result)["min_size"] == 0.0
    assert suggested(result)["ignore_areas"] == ""

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"min_size": 0.01, "min_confidence_person": 0.95, "ignore_areas": "0,0,1,0.4"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["zones"] == {
        "porch": {"min_size": 0.05},  # another camera's zones are kept as they were
        "street": {
            "min_size": 0.01,
            "min_confidence": {"person": 0.95},
            "ignore_areas": [[0.0, 0.0, 1.0, 0.4]],
        },
    }
    # Shown again as entered.
    result = await _zones_form(hass, entry, "street")
    shown = suggested(result)
    assert (shown["min_size"], shown["min_confidence_person"], shown["ignore_areas"]) == (
        0.01,
        0.95,
        "0,0,1,0.4",
    )
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert "street" not in entry.options["zones"]  # an empty form clears the camera's zones
    assert entry.runtime_data is runtime

    # Skipping the camera pick keeps the zones as they are.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    tuning = {k: v for k, v in suggested(result).items() if v is not None}
    result = await hass.config_entries.options.async_configure(result["flow_id"], tuning)
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    roles = {str(k): k.default() for k in result["data_schema"].schema}
    result = await hass.config_entries.options.async_configure(result["flow_id"], roles)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["zones"] == {"porch": {"min_size": 0.05}}

    # The saved filter applies without a reload: the detector's 0.92 person is below 0.95.
    result = await _zones_form(hass, entry, "street")
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"min_confidence_person": 0.95}
    )
    await write_file(hass, camera_root / "street" / "snap.jpg", make_jpeg())

    async def done() -> bool:
        return await ledger(hass, entry) == {"done": 1}

    await wait_for(hass, done)
    [stored] = await hass.async_add_executor_job(runtime.db.detections, [1])
    assert stored.filtered == "low_confidence"
    assert runtime.cameras["street"].last_detection is None
