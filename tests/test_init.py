"""Entry setup, unload, removal and camera devices, on real folders, SQLite and Redis."""

from __future__ import annotations

from pathlib import Path
import shutil
import uuid

import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
import redis

from custom_components.home_security_intelligence import entry_storage
from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    DATABASE_FILE,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.home_security_intelligence.hub import Pipeline
from custom_components.home_security_intelligence.store.embedded_store import EmbeddedWorkStore
from custom_components.home_security_intelligence.store.redis_store import RedisWorkStore
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from .conftest import EntryFactory, make_jpeg, wait_for, write_file
from .contract_servers import DetectorServer, LlmServer

pytestmark = pytest.mark.usefixtures("unload_entries")


async def make_dir(hass: HomeAssistant, path: Path) -> None:
    """Create a folder from the executor."""
    await hass.async_add_executor_job(lambda: path.mkdir(parents=True, exist_ok=True))


def camera_devices(hass: HomeAssistant, entry: MockConfigEntry) -> list[dr.DeviceEntry]:
    """The entry's camera devices (not its hub device)."""
    return [
        device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        if (DOMAIN, entry.entry_id) not in device.identifiers
    ]


def camera_device(
    hass: HomeAssistant, entry: MockConfigEntry, camera_id: str
) -> dr.DeviceEntry | None:
    """The registered device of one camera folder, or None."""
    return dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{entry.entry_id}:{camera_id}"), entry.entry_id
    )


async def add_entry(
    hass: HomeAssistant,
    root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    redis: str | None = None,
) -> MockConfigEntry:
    """Add an entry and try to set it up; return it whatever the outcome."""
    data = {CONF_CAMERA_ROOT: str(root), CONF_DETECTOR_URL: detector.url, CONF_LLM_URL: llm.url}
    if redis:
        data[CONF_REDIS_URL] = redis
    entry = MockConfigEntry(
        domain=DOMAIN, data=data, options=dict(DEFAULT_OPTIONS), unique_id=str(root)
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.mark.parametrize("backend", ["embedded", "redis"])
async def test_setup_and_unload(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    request: pytest.FixtureRequest,
    backend: str,
) -> None:
    """Setup runs a pipeline on the chosen store; unload stops it cleanly."""
    redis = request.getfixturevalue("redis_url") if backend == "redis" else None
    entry = await setup_entry(redis=redis)

    assert entry.state is ConfigEntryState.LOADED
    runtime = entry.runtime_data
    assert isinstance(runtime.pipeline, Pipeline)
    assert isinstance(runtime.store, RedisWorkStore if redis else EmbeddedWorkStore)
    db_file = entry_storage(hass, entry.entry_id) / DATABASE_FILE
    assert db_file == Path(hass.config.path(DOMAIN, entry.entry_id, DATABASE_FILE))
    assert await hass.async_add_executor_job(db_file.is_file)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(RuntimeError, match="closed"):
        await hass.async_add_executor_job(runtime.db.cameras)


async def test_setup_and_unload_twice_resumes(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """A reload reopens the same database and knows the cameras it saw before."""
    await make_dir(hass, camera_root / "garage")
    entry = await setup_entry()

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.LOADED
    assert list(entry.runtime_data.cameras) == ["garage"]


async def test_missing_camera_root_retries_setup(
    hass: HomeAssistant, tmp_path: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """A camera folder that is not there (yet) makes HA retry later."""
    entry = await add_entry(hass, tmp_path / "unmounted", detector, llm)

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "camera_root_missing"
    assert not await hass.async_add_executor_job(entry_storage(hass, entry.entry_id).exists)


async def test_unreachable_redis_retries_setup(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """Redis down at start-up makes HA retry later."""
    entry = await add_entry(hass, camera_root, detector, llm, redis="redis://127.0.0.1:1")

    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "redis_unreachable"


async def test_unopenable_database_fails_setup(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """A storage path that cannot hold the database is a setup error, not a retry."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={
            CONF_CAMERA_ROOT: str(camera_root),
            CONF_DETECTOR_URL: detector.url,
            CONF_LLM_URL: llm.url,
        },
        unique_id=str(camera_root),
    )
    entry.add_to_hass(hass)
    await write_file(hass, entry_storage(hass, entry.entry_id), b"not a folder")

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "database_error"
    await hass.async_add_executor_job(entry_storage(hass, entry.entry_id).unlink)


async def test_remove_entry_deletes_its_storage_only(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """Removing the entry deletes its database and thumbnails, never the uploads."""
    upload = camera_root / "porch" / "snap.jpg"
    await write_file(hass, upload, make_jpeg())
    entry = await setup_entry()
    storage = entry_storage(hass, entry.entry_id)
    assert await hass.async_add_executor_job(storage.is_dir)

    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert not await hass.async_add_executor_job(storage.exists)
    assert await hass.async_add_executor_job(upload.is_file)


async def test_remove_entry_without_storage(
    hass: HomeAssistant, tmp_path: Path, detector: DetectorServer, llm: LlmServer
) -> None:
    """Removing an entry that never stored anything succeeds."""
    entry = await add_entry(hass, tmp_path / "unmounted", detector, llm)

    assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False
    assert hass.config_entries.async_get_entry(entry.entry_id) is None


async def test_existing_folders_become_devices_at_setup(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """Camera folders present at start-up get devices before any upload arrives."""
    await make_dir(hass, camera_root / "front_door")
    await make_dir(hass, camera_root / "back-yard")
    await make_dir(hass, camera_root / ".hidden")

    entry = await setup_entry()

    assert sorted(d.name for d in camera_devices(hass, entry)) == ["Back Yard", "Front Door"]
    assert camera_device(hass, entry, "front_door") is not None


async def test_new_folder_becomes_device(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """A camera folder created while running gets a device (seen by the watcher)."""
    entry = await setup_entry()
    assert not camera_devices(hass, entry)

    await make_dir(hass, camera_root / "driveway")

    device = await wait_for(hass, lambda: camera_device(hass, entry, "driveway"))
    assert device.name == "Driveway"


async def test_device_removal_only_when_folder_is_gone(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_root: Path,
    setup_entry: EntryFactory,
) -> None:
    """A camera device can be deleted once its folder is gone, not while it exists."""
    assert await async_setup_component(hass, "config", {})
    await make_dir(hass, camera_root / "garage")
    await make_dir(hass, camera_root / "porch")
    entry = await setup_entry()
    garage = camera_device(hass, entry, "garage")
    porch = camera_device(hass, entry, "porch")
    assert garage is not None and porch is not None
    await hass.async_add_executor_job(shutil.rmtree, camera_root / "garage")
    client = await hass_ws_client(hass)

    await client.send_json_auto_id({"type": "config/device_registry/remove", "device_id": porch.id})
    kept = await client.receive_json()
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": garage.id}
    )
    removed = await client.receive_json()

    assert not kept["success"]
    assert "rejected by integration" in kept["error"]["message"]
    assert camera_device(hass, entry, "porch") is not None
    assert removed["success"]
    assert camera_device(hass, entry, "garage") is None


async def test_hub_device_cannot_be_removed(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    setup_entry: EntryFactory,
) -> None:
    """The pipeline's own device stays while the entry exists."""
    assert await async_setup_component(hass, "config", {})
    entry = await setup_entry()
    hub = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert hub is not None
    client = await hass_ws_client(hass)

    await client.send_json_auto_id({"type": "config/device_registry/remove", "device_id": hub.id})
    answer = await client.receive_json()

    assert not answer["success"]
    assert dr.async_get(hass).async_get(hub.id) is not None


async def test_device_removal_when_camera_root_is_gone(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_root: Path,
    setup_entry: EntryFactory,
) -> None:
    """With the whole camera root unmounted, a camera device answers cleanly."""
    assert await async_setup_component(hass, "config", {})
    await make_dir(hass, camera_root / "garage")
    entry = await setup_entry()
    garage = camera_device(hass, entry, "garage")
    assert garage is not None
    await hass.async_add_executor_job(shutil.rmtree, camera_root)
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": garage.id}
    )
    answer = await client.receive_json()

    assert answer["success"], answer


async def test_device_removal_while_entry_not_loaded(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_root: Path,
    setup_entry: EntryFactory,
) -> None:
    """A stale camera device can be removed while the entry is stopped."""
    assert await async_setup_component(hass, "config", {})
    await make_dir(hass, camera_root / "garage")
    entry = await setup_entry()
    garage = camera_device(hass, entry, "garage")
    assert garage is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_add_executor_job(shutil.rmtree, camera_root / "garage")
    client = await hass_ws_client(hass)

    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": garage.id}
    )
    answer = await client.receive_json()

    assert answer["success"], answer
    assert camera_device(hass, entry, "garage") is None


async def test_removed_camera_stays_gone_and_comes_back_with_its_folder(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_root: Path,
    setup_entry: EntryFactory,
) -> None:
    """A removed camera is forgotten: not back at reload, back at once when its folder is."""
    assert await async_setup_component(hass, "config", {})
    await make_dir(hass, camera_root / "garage")
    entry = await setup_entry()
    garage = camera_device(hass, entry, "garage")
    assert garage is not None
    await hass.async_add_executor_job(shutil.rmtree, camera_root / "garage")
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": garage.id}
    )
    assert (await client.receive_json())["success"]
    assert "garage" not in entry.runtime_data.cameras
    known = await hass.async_add_executor_job(entry.runtime_data.db.cameras)
    assert [c.id for c in known] == []

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert camera_device(hass, entry, "garage") is None
    assert "garage" not in entry.runtime_data.cameras

    await make_dir(hass, camera_root / "garage")
    device = await wait_for(hass, lambda: camera_device(hass, entry, "garage"))
    assert device.name == "Garage"


async def test_camera_removed_while_stopped_is_dropped_at_the_next_start(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    camera_root: Path,
    setup_entry: EntryFactory,
) -> None:
    """A camera whose folder and device are gone is dropped from the database at setup."""
    assert await async_setup_component(hass, "config", {})
    await make_dir(hass, camera_root / "garage")
    entry = await setup_entry()
    garage = camera_device(hass, entry, "garage")
    assert garage is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_add_executor_job(shutil.rmtree, camera_root / "garage")
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "config/device_registry/remove", "device_id": garage.id}
    )
    assert (await client.receive_json())["success"]

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert "garage" not in entry.runtime_data.cameras
    assert await hass.async_add_executor_job(entry.runtime_data.db.cameras) == []
    assert camera_device(hass, entry, "garage") is None


async def test_camera_devices_hang_off_the_hub_device(
    hass: HomeAssistant, camera_root: Path, setup_entry: EntryFactory
) -> None:
    """Every camera device names the entry's pipeline device as the device it connects via."""
    await make_dir(hass, camera_root / "front_door")
    entry = await setup_entry()
    hub = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.entry_id), entry.entry_id
    )
    assert hub is not None
    assert hub.via_device_id is None
    cameras = camera_devices(hass, entry)
    assert [d.name for d in cameras] == ["Front Door"]
    assert cameras[0].via_device_id == hub.id


async def test_store_failing_during_start_retries_setup(
    hass: HomeAssistant,
    camera_root: Path,
    detector: DetectorServer,
    llm: LlmServer,
    redis_url: str,
) -> None:
    """A Redis that answers PING but refuses the recovery makes HA retry, not wait forever."""
    admin = redis.Redis.from_url(redis_url)
    user = f"hsi_ping_only_{uuid.uuid4().hex[:8]}"
    admin.acl_setuser(
        user, enabled=True, passwords=["+secret"], commands=["+ping", "+hello", "+client"]
    )
    try:
        limited = redis_url.replace("redis://", f"redis://{user}:secret@")
        entry = await add_entry(hass, camera_root, detector, llm, redis=limited)

        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.error_reason_translation_key == "redis_unreachable"
    finally:
        admin.acl_deluser(user)
        admin.close()
