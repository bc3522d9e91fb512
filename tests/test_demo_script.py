"""scripts/hsi_demo.py against a real Home Assistant: the options flow it walks."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.home_security_intelligence.camera_roles import camera_role
from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ENTITIES,
    CONF_CAMERA_ROLES,
    CONF_SEND_SNAPSHOTS,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from .conftest import EntryFactory
from .test_blueprint import demo_script

pytestmark = pytest.mark.usefixtures("unload_entries")


@pytest.mark.parametrize("street_role", ["street", "yard"])
async def test_demo_walks_every_options_step(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_access_token: str,
    setup_entry: EntryFactory,
    camera_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    street_role: str,
) -> None:
    """The demo's answers reach the end of the options flow through HA's REST API.

    Its timings and camera roles are saved (the demo's own roles are the suggestions, so a
    role other than the suggestion shows the roles step was answered); the steps it does
    not answer keep their values.
    """
    demo = demo_script(monkeypatch)
    answers = {**demo.DEMO_ANSWERS}
    answers[demo.ROLES_STEP] = {**answers[demo.ROLES_STEP], "Street": street_role}
    monkeypatch.setitem(demo.DEMO_CAMERAS, "street", ("Street", street_role))

    def make_folders() -> None:
        for camera in demo.DEMO_CAMERAS:
            (camera_root / camera / "snap").mkdir(parents=True)

    await hass.async_add_executor_job(make_folders)
    assert await async_setup_component(hass, "config", {})
    entry = await setup_entry(send_snapshots=True)
    monkeypatch.setattr(demo, "HA_URL", "")  # the test client takes paths
    api = demo.HomeAssistantApi(await hass_client())
    api.tokens = {"long_lived": hass_access_token}

    await api.set_options(entry.entry_id, answers)

    chosen = entry.options.get(CONF_CAMERA_ROLES, {})
    assert camera_role(chosen, "front_door") == "entry_point"
    assert camera_role(chosen, "street") == street_role
    for key, value in demo.DEMO_OPTIONS.items():
        assert entry.options[key] == value, key
    assert entry.options[CONF_SEND_SNAPSHOTS] is True
    assert entry.options[CONF_CAMERA_ENTITIES] == {}
