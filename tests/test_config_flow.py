"""Config, reconfigure and options flows against real servers, folders and Redis."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import shutil
import socket
import tempfile
from typing import Any

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, get_schema_suggested_value

from custom_components.home_security_intelligence.const import (
    CONF_BATCH_IDLE,
    CONF_BATCH_WINDOW,
    CONF_CAMERA_ROOT,
    CONF_CONFIDENCE_THRESHOLD,
    CONF_DETECTOR_API,
    CONF_DETECTOR_URL,
    CONF_LLM_API,
    CONF_LLM_API_KEY,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    CONF_RETENTION_DAYS,
    CONF_UPLOAD_SETTLE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.pipeline import analysis as hsi_analysis
from custom_components.home_security_intelligence.risk_context import alarm_panel
from custom_components.home_security_intelligence.store.redis_store import RedisWorkStore
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from .conftest import EntryFactory, ledger, make_jpeg, wait_for, write_file
from .contract_servers import DetectorServer, LlmServer, OpenAiServer, serve_404
from .helpers import close_batch, drop_and_detect, runtime_of, suggested

pytestmark = pytest.mark.usefixtures("unload_entries")


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
async def wrong_api_url(socket_enabled: None) -> AsyncGenerator[str]:
    """A live HTTP server that answers 404 to everything."""
    server = await serve_404()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def other_servers(socket_enabled: None) -> AsyncGenerator[tuple[DetectorServer, LlmServer]]:
    """A second detector and LLM, to reconfigure an entry onto."""
    detector, llm = DetectorServer(), LlmServer()
    await detector.start()
    await llm.start()
    yield detector, llm
    await detector.close()
    await llm.close()


def user_input(
    root: Path | str, detector: DetectorServer, llm: LlmServer, **extra: str
) -> dict[str, Any]:
    """A filled-in connection form."""
    return {
        CONF_CAMERA_ROOT: str(root),
        CONF_DETECTOR_URL: detector.url,
        CONF_LLM_URL: llm.url,
        **extra,
    }


async def submit_user(hass: HomeAssistant, data: dict[str, Any]) -> dict[str, Any]:
    """Start a user flow and submit `data` once."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return dict(await hass.config_entries.flow.async_configure(result["flow_id"], data))


async def make_dir(hass: HomeAssistant, path: Path) -> None:
    """Create a folder from the executor."""
    await hass.async_add_executor_job(lambda: path.mkdir(parents=True, exist_ok=True))


# User step


async def test_user_creates_entry_without_redis(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """A valid form creates an entry on the embedded store, with default options."""
    messy_root = f"  {camera_root}/sub/../  "
    result = await submit_user(
        hass, user_input(messy_root, detector, llm, **{CONF_REDIS_URL: "   "})
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "cameras"
    assert result["data"] == {
        CONF_CAMERA_ROOT: str(camera_root),
        CONF_DETECTOR_URL: detector.url,
        CONF_DETECTOR_API: "detect",
        CONF_LLM_URL: llm.url,
        CONF_LLM_API: "llamacpp",
    }
    assert result["options"] == DEFAULT_OPTIONS
    entry = result["result"]
    assert entry.unique_id == str(camera_root)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(detector.requests) == 1, "the detector was probed with a real image"
    assert llm.prompts, "the LLM was probed"


async def test_user_creates_entry_with_redis(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    redis_url: str,
) -> None:
    """A reachable Redis URL is kept and the entry runs on Redis."""
    result = await submit_user(
        hass, user_input(camera_root, detector, llm, **{CONF_REDIS_URL: f" {redis_url} "})
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_REDIS_URL] == redis_url
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.store, RedisWorkStore)


async def test_user_form_shows_empty_defaults(hass: HomeAssistant) -> None:
    """The first form asks for every field, Redis optional and blank."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    schema = result["data_schema"]
    defaults = {str(k): k.default() for k in schema.schema if callable(k.default)}
    assert defaults == {
        CONF_CAMERA_ROOT: "",
        CONF_DETECTOR_URL: "",
        CONF_DETECTOR_API: "detect",
        CONF_LLM_URL: "",
        CONF_LLM_API: "llamacpp",
    }
    assert get_schema_suggested_value(schema.schema, CONF_REDIS_URL) is None


@pytest.mark.parametrize(
    ("root", "error"),
    [
        pytest.param(lambda tmp: tmp / "absent", "folder_missing", id="missing"),
        pytest.param(lambda tmp: "cameras", "folder_missing", id="relative"),
        pytest.param(lambda tmp: "", "folder_missing", id="empty"),
        pytest.param(lambda tmp: tmp / "cameras" / "upload.jpg", "folder_missing", id="file"),
    ],
)
async def test_user_rejects_bad_folder(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    root: Any,
    error: str,
) -> None:
    """A path that is not an absolute, existing folder is refused."""
    await write_file(hass, camera_root / "upload.jpg", make_jpeg())
    result = await submit_user(hass, user_input(root(camera_root.parent), detector, llm))

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_CAMERA_ROOT: error}


async def test_user_rejects_folder_outside_allowlist(
    hass: HomeAssistant, tmp_path: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """An existing folder that HA may not read is refused."""
    outside = tmp_path / "elsewhere"
    await make_dir(hass, outside)
    hass.config.allowlist_external_dirs = {str(tmp_path / "cameras")}

    result = await submit_user(hass, user_input(outside, detector, llm))

    assert result["errors"] == {CONF_CAMERA_ROOT: "folder_not_allowed"}


NOBODY = 65534


@contextmanager
def unprivileged() -> Iterator[None]:
    """Run as `nobody` while inside, when the tests run as root (as CI does).

    Root passes every permission check, so the unreadable-folder branch is only reached
    without it. The real and effective uid drop for the whole process (os.access checks
    the real one); the saved uid stays 0, which is what allows going back afterwards.
    """
    if os.geteuid() != 0:
        yield
        return
    os.setresuid(NOBODY, NOBODY, 0)
    try:
        yield
    finally:
        os.setresuid(0, 0, 0)


@pytest.fixture
async def traversable_root(hass: HomeAssistant) -> AsyncGenerator[Path]:
    """An allowed camera folder whose parents `nobody` may traverse (tmp_path's may not)."""
    parent = Path(await hass.async_add_executor_job(tempfile.mkdtemp))
    await hass.async_add_executor_job(parent.chmod, 0o711)
    root = parent / "cameras"
    await make_dir(hass, root)
    hass.config.allowlist_external_dirs = {str(parent)}
    yield root
    await hass.async_add_executor_job(root.chmod, 0o755)
    await hass.async_add_executor_job(shutil.rmtree, parent)


async def test_user_rejects_unreadable_folder(
    hass: HomeAssistant, traversable_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """An allowed folder that exists but cannot be listed is refused (checked as `nobody`)."""
    # Control: readable, the folder passes the same check as the same user.
    await hass.async_add_executor_job(traversable_root.chmod, 0o755)
    with unprivileged():
        result = await submit_user(
            hass,
            {**user_input(traversable_root, detector, llm), CONF_DETECTOR_URL: closed_port_url()},
        )
    assert result["errors"] == {CONF_DETECTOR_URL: "detector_unreachable"}
    hass.config_entries.flow.async_abort(result["flow_id"])

    await hass.async_add_executor_job(traversable_root.chmod, 0)
    with unprivileged():
        result = await submit_user(hass, user_input(traversable_root, detector, llm))

    assert result["errors"] == {CONF_CAMERA_ROOT: "folder_not_allowed"}


async def test_user_reports_unreachable_services(
    hass: HomeAssistant, camera_root: Path, socket_enabled: None
) -> None:
    """Closed ports for detector, LLM and Redis each get their own error at once."""
    data = {
        CONF_CAMERA_ROOT: str(camera_root),
        CONF_DETECTOR_URL: closed_port_url(),
        CONF_LLM_URL: closed_port_url(),
        CONF_REDIS_URL: "redis://127.0.0.1:1",
    }
    result = await submit_user(hass, data)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {
        CONF_DETECTOR_URL: "detector_unreachable",
        CONF_LLM_URL: "llm_unreachable",
        CONF_REDIS_URL: "redis_unreachable",
    }
    assert not hass.config_entries.async_entries(DOMAIN)


async def test_user_reports_wrong_apis(
    hass: HomeAssistant, camera_root: Path, wrong_api_url: str
) -> None:
    """Servers that answer 404 are not a detector nor an LLM."""
    data = {
        CONF_CAMERA_ROOT: str(camera_root),
        CONF_DETECTOR_URL: wrong_api_url,
        CONF_LLM_URL: wrong_api_url,
    }
    result = await submit_user(hass, data)

    assert result["errors"] == {
        CONF_DETECTOR_URL: "detector_wrong_api",
        CONF_LLM_URL: "llm_wrong_api",
    }


async def test_user_reports_detector_without_detections(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """A detector answering 200 with JSON lacking `detections` is the wrong API."""
    detector.script = [{"objects": []}]

    result = await submit_user(hass, user_input(camera_root, detector, llm))

    assert result["errors"] == {CONF_DETECTOR_URL: "detector_wrong_api"}


@pytest.mark.parametrize("url", ["http://x", "redis://host:notaport/0", "redis://[::1"])
async def test_user_reports_invalid_redis_url(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer, url: str
) -> None:
    """A URL that redis-py cannot parse is refused as invalid, not as unreachable."""
    result = await submit_user(
        hass, user_input(camera_root, detector, llm, **{CONF_REDIS_URL: url})
    )

    assert result["errors"] == {CONF_REDIS_URL: "redis_invalid_url"}


async def test_user_error_keeps_input_and_can_be_fixed(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """After an error the form shows what was typed and a corrected submit succeeds."""
    bad = user_input(camera_root, detector, llm, **{CONF_REDIS_URL: "redis://127.0.0.1:1"})
    bad[CONF_LLM_URL] = closed_port_url()
    result = await submit_user(hass, bad)
    assert result["errors"] == {
        CONF_LLM_URL: "llm_unreachable",
        CONF_REDIS_URL: "redis_unreachable",
    }
    schema = result["data_schema"].schema
    shown = {str(k): k.default() for k in schema if callable(k.default)}
    assert shown[CONF_LLM_URL] == bad[CONF_LLM_URL]
    assert get_schema_suggested_value(schema, CONF_REDIS_URL) == "redis://127.0.0.1:1"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(camera_root, detector, llm)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_LLM_URL] == llm.url
    assert CONF_REDIS_URL not in result["data"]
    await hass.async_block_till_done()


async def test_user_aborts_when_root_already_configured(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """The same camera folder (however spelled) cannot be set up twice."""
    MockConfigEntry(domain=DOMAIN, unique_id=str(camera_root), data={}).add_to_hass(hass)

    result = await submit_user(hass, user_input(f"{camera_root}/", detector, llm))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert not detector.requests, "no service is probed for a duplicate"


# Reconfigure


async def start_reconfigure(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    return dict(result)


async def test_reconfigure_form_shows_current_values(
    hass: HomeAssistant, setup_entry: EntryFactory, redis_url: str
) -> None:
    """The reconfigure form starts from the entry's data."""
    entry = await setup_entry(redis=redis_url)

    result = await start_reconfigure(hass, entry)

    schema = result["data_schema"].schema
    shown = {str(k): k.default() for k in schema if callable(k.default)}
    assert shown == {
        **{k: entry.data[k] for k in (CONF_CAMERA_ROOT, CONF_DETECTOR_URL, CONF_LLM_URL)},
        CONF_DETECTOR_API: "detect",
        CONF_LLM_API: "llamacpp",
    }
    assert get_schema_suggested_value(schema, CONF_REDIS_URL) == redis_url


async def test_reconfigure_changes_urls_and_reloads(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    redis_url: str,
    other_servers: tuple[DetectorServer, LlmServer],
) -> None:
    """New service URLs are saved, Redis can be dropped, and the entry restarts on them."""
    entry = await setup_entry(redis=redis_url)
    old = entry.runtime_data
    detector, llm = other_servers

    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(camera_root, detector, llm, **{CONF_REDIS_URL: ""})
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {
        **user_input(camera_root, detector, llm),
        CONF_DETECTOR_API: "detect",
        CONF_LLM_API: "llamacpp",
    }
    assert entry.unique_id == str(camera_root)
    assert entry.state is ConfigEntryState.LOADED
    new = entry.runtime_data
    assert new is not old
    assert new.detector.url == detector.url
    assert new.analyzer.url == llm.url
    assert not isinstance(new.store, RedisWorkStore)
    assert detector.requests and llm.prompts, "the new services were probed"


async def test_reconfigure_moves_to_another_folder(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    llm: LlmServer,
) -> None:
    """A new allowed camera folder becomes the entry's unique id and watched root."""
    entry = await setup_entry()
    moved = camera_root.parent / "moved"
    await make_dir(hass, moved)

    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(moved, detector, llm)
    )
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == str(moved)
    assert entry.data[CONF_CAMERA_ROOT] == str(moved)
    assert entry.runtime_data.root == moved


async def test_reconfigure_aborts_on_folder_of_another_entry(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    llm: LlmServer,
) -> None:
    """Moving onto a folder another entry already watches is refused; nothing changes."""
    taken = camera_root.parent / "taken"
    await make_dir(hass, taken)
    MockConfigEntry(domain=DOMAIN, unique_id=str(taken), data={}).add_to_hass(hass)
    entry = await setup_entry()
    before = dict(entry.data)

    result = await start_reconfigure(hass, entry)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(taken, detector, llm)
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert dict(entry.data) == before
    assert entry.unique_id == str(camera_root)


async def test_reconfigure_shows_errors_then_succeeds(
    hass: HomeAssistant,
    camera_root: Path,
    setup_entry: EntryFactory,
    detector: DetectorServer,
    llm: LlmServer,
    wrong_api_url: str,
) -> None:
    """Validation errors keep the entry unchanged and the form open for a fix."""
    entry = await setup_entry()
    runtime = entry.runtime_data

    result = await start_reconfigure(hass, entry)
    bad = user_input(camera_root.parent / "absent", detector, llm)
    bad[CONF_DETECTOR_URL] = wrong_api_url
    result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {
        CONF_CAMERA_ROOT: "folder_missing",
        CONF_DETECTOR_URL: "detector_wrong_api",
    }
    assert entry.data[CONF_DETECTOR_URL] == detector.url
    assert entry.runtime_data is runtime

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input(camera_root, detector, llm)
    )
    await hass.async_block_till_done()
    assert result["reason"] == "reconfigure_successful"
    assert entry.state is ConfigEntryState.LOADED


# Options


async def test_options_offer_every_option_with_its_default(
    hass: HomeAssistant, camera_root: Path
) -> None:
    """An entry with no stored options is offered every option, at its default."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=str(camera_root), data={}, options={})
    entry.add_to_hass(hass)

    result = await hass.config_entries.options.async_init(entry.entry_id)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert suggested(result) == {
        **DEFAULT_OPTIONS,
        "person_entities": None,
        "alarm_entity": None,
        "guests_entity": None,
        "delivery_entity": None,
    }

    # HA's only alarm panel is the one scored with, so the form shows it.
    hass.states.async_set("alarm_control_panel.house", "disarmed")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert suggested(result)["alarm_entity"] == "alarm_control_panel.house"


async def test_options_without_a_panel_leave_the_alarm_to_a_later_one(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """Saved before HA had an alarm panel, the options choose none: one added later counts."""
    entry = await setup_entry()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    shown = {k: v for k, v in suggested(result).items() if v is not None}
    assert "alarm_entity" not in shown
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    while result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert "alarm_entity" not in entry.options
    hass.states.async_set("alarm_control_panel.house", "armed_night")
    assert alarm_panel(hass, entry.options.get("alarm_entity")) == "alarm_control_panel.house"


async def test_options_clearing_the_only_alarm_panel_leaves_it_out(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """The form fills in HA's only alarm panel; clearing it opts out, and stays cleared."""
    hass.states.async_set("alarm_control_panel.house", "armed_away")
    entry = await setup_entry()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    shown = {k: v for k, v in suggested(result).items() if v is not None}
    assert shown["alarm_entity"] == "alarm_control_panel.house"
    del shown["alarm_entity"]  # the user clears the field
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    while result["type"] is FlowResultType.FORM:  # roles and zones left as they are
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert entry.options["alarm_entity"] == ""
    assert alarm_panel(hass, entry.options.get("alarm_entity")) is None

    # Shown empty next time, and saving the form again keeps it out.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert suggested(result)["alarm_entity"] is None
    result = await hass.config_entries.options.async_configure(result["flow_id"], shown)
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    while result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert entry.options["alarm_entity"] == ""

    # Choosing it again counts it.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**shown, "alarm_entity": "alarm_control_panel.house"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    while result["type"] is FlowResultType.FORM:
        result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert alarm_panel(hass, entry.options["alarm_entity"]) == "alarm_control_panel.house"


async def test_options_apply_at_once_without_reload(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory, detector: DetectorServer
) -> None:
    """Saved options reach the running pipeline immediately; the entry is not reloaded."""
    entry = await setup_entry(retention_days=7)
    runtime = entry.runtime_data
    assert runtime.pipeline.runtime.option(CONF_CONFIDENCE_THRESHOLD) == 0.5

    result = await hass.config_entries.options.async_init(entry.entry_id)
    shown = suggested(result)
    assert shown[CONF_RETENTION_DAYS] == 7
    assert shown[CONF_UPLOAD_SETTLE] == 0.2
    assert shown[CONF_BATCH_WINDOW] == DEFAULT_OPTIONS[CONF_BATCH_WINDOW]

    new = {
        **{key: value for key, value in shown.items() if value is not None},
        CONF_CONFIDENCE_THRESHOLD: 0.95,
        CONF_BATCH_WINDOW: 120,
        CONF_BATCH_IDLE: 20,
        CONF_UPLOAD_SETTLE: 0.5,
        CONF_RETENTION_DAYS: 14,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], new)
    assert result["step_id"] == "camera_entities"
    snapshots = {"snapshot_interval_seconds": 2.0, "snapshots_per_trigger": 10}
    result = await hass.config_entries.options.async_configure(result["flow_id"], snapshots)
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(entry.options) == {
        **new,
        **snapshots,
        "camera_entities": {},
        "camera_roles": {},
    }
    assert entry.runtime_data is runtime
    assert {k: runtime.pipeline.runtime.option(k) for k in new} == new

    # The detector reports a person at 0.92: below the new threshold, so nothing is kept.
    await write_file(hass, camera_root / "porch" / "snap.jpg", make_jpeg())
    await wait_for(hass, lambda: _done(hass, entry))
    assert len(detector.requests) == 1
    assert runtime.cameras["porch"].latest_thumbnail is None


async def _done(hass: HomeAssistant, entry: MockConfigEntry) -> bool:
    return await ledger(hass, entry) == {"done": 1}


SNAPSHOTS = {"snapshot_interval_seconds": 2, "snapshots_per_trigger": 10}
"""The camera-entities step submitted without camera entities."""


async def test_options_ask_each_camera_role(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """With camera folders present, a second step sets each camera's role."""
    await hass.async_add_executor_job((camera_root / "front_door").mkdir)
    await hass.async_add_executor_job((camera_root / "street").mkdir)
    entry = await setup_entry()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    tuning = {k: v for k, v in suggested(result).items() if v is not None}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**tuning, "alarm_entity": "alarm_control_panel.house"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    assert result["step_id"] == "cameras"
    # Labelled with display names; the defaults are the roles the folder names suggest.
    defaults = {str(k): k.default() for k in result["data_schema"].schema}
    assert defaults == {"Front Door": "entry_point", "Street": "street"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"Front Door": "entry_point", "Street": "yard"}
    )
    assert result["step_id"] == "zone_camera"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    # Only the role the user changed is stored; the other keeps following its suggestion.
    assert entry.options["camera_roles"] == {"street": "yard"}
    assert entry.options["alarm_entity"] == "alarm_control_panel.house"

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], tuning)
    result = await hass.config_entries.options.async_configure(result["flow_id"], SNAPSHOTS)
    defaults = {str(k): k.default() for k in result["data_schema"].schema}
    assert defaults == {"Front Door": "entry_point", "Street": "yard"}


# Reauth: the OpenAI-compatible LLM refuses the API key


@pytest.fixture
async def openai(socket_enabled: None) -> AsyncGenerator[OpenAiServer]:
    """An OpenAI-compatible LLM on 127.0.0.1 that accepts only the key `sk-test`."""
    server = OpenAiServer()
    await server.start()
    yield server
    await server.close()


async def openai_entry(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    openai: OpenAiServer,
    key: str,
) -> MockConfigEntry:
    """An entry on the OpenAI-compatible LLM with `key`, set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            **user_input(camera_root, detector, openai),  # type: ignore[arg-type]
            CONF_LLM_API: "openai",
            CONF_LLM_API_KEY: key,
        },
        options={**DEFAULT_OPTIONS, "upload_settle_seconds": 0.2},
        unique_id=str(camera_root),
        title="cameras",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def reauth_flows(hass: HomeAssistant) -> list[Any]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]


async def test_reauth_tests_the_new_key_then_saves_it_and_reloads(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, openai: OpenAiServer
) -> None:
    """A refused key is kept out; an accepted one is saved and the entry reloaded with it."""
    entry = await openai_entry(hass, camera_root, detector, openai, "sk-revoked")
    before = runtime_of(entry)

    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": "cameras", "url": openai.url}
    assert [str(k) for k in result["data_schema"].schema] == [CONF_LLM_API_KEY]

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LLM_API_KEY: "still-wrong"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LLM_API_KEY: "llm_invalid_auth"}
    assert entry.data[CONF_LLM_API_KEY] == "sk-revoked"
    assert not openai.requests, "a refused request is not answered"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LLM_API_KEY: " sk-test "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_LLM_API_KEY] == "sk-test"
    assert entry.data[CONF_LLM_URL] == openai.url
    assert entry.state is ConfigEntryState.LOADED
    assert runtime_of(entry) is not before, "the entry was reloaded"
    assert [r["max_tokens"] for r in openai.requests] == [1], "the new key was tested once"


async def test_reauth_shows_an_unreachable_llm_at_the_top(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, openai: OpenAiServer
) -> None:
    """The form has only the key field, so an error of the LLM's URL is a form-wide one."""
    entry = await openai_entry(hass, camera_root, detector, openai, "sk-revoked")
    result = await entry.start_reauth_flow(hass)
    await openai.close()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_LLM_API_KEY: "sk-test"}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "llm_unreachable"}
    assert entry.data[CONF_LLM_API_KEY] == "sk-revoked"


async def test_key_refused_while_running_starts_one_reauth(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    openai: OpenAiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 401 from the LLM during analysis asks for a new key once; the new key is then used."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    entry = await openai_entry(hass, camera_root, detector, openai, "sk-revoked")
    assert not reauth_flows(hass)

    await drop_and_detect(hass, entry, camera_root, "porch")
    event = await close_batch(hass, entry, "porch")
    assert event.analysis_status == "prior_only"
    assert not runtime_of(entry).health.up["llm"]
    await hass.async_block_till_done()
    flows = reauth_flows(hass)
    assert len(flows) == 1, "two refused calls (first try and retry), one reauth"
    assert flows[0]["context"]["entry_id"] == entry.entry_id

    await drop_and_detect(hass, entry, camera_root, "porch", seed=1)
    event = await close_batch(hass, entry, "porch")
    assert event.analysis_status == "prior_only"
    await hass.async_block_till_done()
    assert len(reauth_flows(hass)) == 1, "a later refusal does not start another"

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_LLM_API_KEY: "sk-test"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert not reauth_flows(hass)
    await drop_and_detect(hass, entry, camera_root, "porch", seed=2)
    event = await close_batch(hass, entry, "porch")
    assert event.analysis_status == "analyzed"
    assert openai.requests, "the LLM answered with the new key"
