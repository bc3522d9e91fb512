"""The roles step: display names, suggestions as defaults, later cameras, the REST form."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.const import CONF_CAMERA_ROLES, DEFAULT_OPTIONS
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component

from ..conftest import EntryFactory
from ..helpers import drop_and_detect

pytestmark = pytest.mark.usefixtures("unload_entries")

# The camera-entities step with no entity chosen: straight on to the roles.
NO_CAMERA_ENTITIES = {"snapshot_interval_seconds": 2, "snapshots_per_trigger": 10}


def _defaults(result: ConfigFlowResult) -> dict[str, Any]:
    return {str(key): key.default() for key in result["data_schema"].schema}


async def _roles_step(hass: HomeAssistant, entry_id: str) -> ConfigFlowResult:
    result = await hass.config_entries.options.async_init(entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], dict(DEFAULT_OPTIONS)
    )
    assert result["step_id"] == "camera_entities"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], NO_CAMERA_ENTITIES
    )
    assert result["step_id"] == "cameras"
    return result


async def _save_roles(
    hass: HomeAssistant, result: ConfigFlowResult, roles: dict[str, str]
) -> ConfigFlowResult:
    """Submit the roles, then save at the zone step without picking a camera."""
    result = await hass.config_entries.options.async_configure(result["flow_id"], roles)
    assert result["step_id"] == "zone_camera"
    return await hass.config_entries.options.async_configure(result["flow_id"], {})


async def test_roles_step_shows_suggestions_by_display_name(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """Folder names suggest the defaults; only changed roles are stored; later cameras too."""
    for folder in ("front_door", "FI9821P_cam"):
        await hass.async_add_executor_job((camera_root / folder).mkdir)
    entry = await setup_entry()

    result = await _roles_step(hass, entry.entry_id)
    assert _defaults(result) == {"Fi9821P Cam": "other", "Front Door": "entry_point"}
    result = await _save_roles(hass, result, {"Front Door": "entry_point", "Fi9821P Cam": "yard"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_CAMERA_ROLES] == {"FI9821P_cam": "yard"}

    # A camera that appears after the options were saved is listed with its suggestion.
    await drop_and_detect(hass, entry, camera_root, "back_garden")  # type: ignore[arg-type]
    result = await _roles_step(hass, entry.entry_id)
    assert _defaults(result) == {
        "Back Garden": "yard",
        "Fi9821P Cam": "yard",
        "Front Door": "entry_point",
    }


async def test_roles_step_tells_apart_cameras_with_the_same_display_name(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    for folder in ("front_door", "front-door"):
        await hass.async_add_executor_job((camera_root / folder).mkdir)
    entry = await setup_entry()
    result = await _roles_step(hass, entry.entry_id)
    assert _defaults(result) == {
        "Front Door (front-door)": "entry_point",
        "Front Door (front_door)": "entry_point",
    }
    result = await _save_roles(
        hass,
        result,
        {"Front Door (front-door)": "street", "Front Door (front_door)": "entry_point"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_CAMERA_ROLES] == {"front-door": "street"}


async def test_rest_form_carries_labels_and_suggested_defaults(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """What the frontend (and scripts/hsi_demo.py) receives: names and default roles."""
    for folder in ("front_door", "street"):
        await hass.async_add_executor_job((camera_root / folder).mkdir)
    entry = await setup_entry()
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    resp = await client.post(
        "/api/config/config_entries/options/flow", json={"handler": entry.entry_id}
    )
    assert resp.status == HTTPStatus.OK
    flow = await resp.json()
    resp = await client.post(
        f"/api/config/config_entries/options/flow/{flow['flow_id']}", json=dict(DEFAULT_OPTIONS)
    )
    assert resp.status == HTTPStatus.OK
    form = await resp.json()
    assert form["step_id"] == "camera_entities"
    resp = await client.post(
        f"/api/config/config_entries/options/flow/{flow['flow_id']}", json=NO_CAMERA_ENTITIES
    )
    assert resp.status == HTTPStatus.OK
    form = await resp.json()
    assert form["step_id"] == "cameras"
    shown = {field["name"]: field["default"] for field in form["data_schema"]}
    assert shown == {"Front Door": "entry_point", "Street": "street"}
