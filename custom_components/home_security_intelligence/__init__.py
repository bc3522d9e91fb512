"""Home Security Intelligence: camera uploads become risk-scored security events."""

from __future__ import annotations

import logging
import os
from pathlib import Path
import shutil

from sqlalchemy.exc import SQLAlchemyError

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceEntry
from homeassistant.helpers.typing import ConfigType

from .blueprint_install import async_install_blueprint
from .camera_sources import entity_cameras
from .cameras import camera_of_identifier
from .const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_API,
    CONF_DETECTOR_URL,
    CONF_REDIS_URL,
    DATABASE_FILE,
    DOMAIN,
    STORAGE_DIR,
    THUMBNAIL_DIR,
)
from .data import HsiConfigEntry, HsiRuntimeData
from .entity import hub_device_info
from .hub import Pipeline
from .llm_backend import build_analyzer
from .pipeline.detector_client import API_DETECT, DetectorClient
from .pipeline.fs_names import camera_id as folder_camera_id
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .repairs import async_clear_unusable_database, async_report_unusable_database
from .services import async_register_services
from .store.database import Database
from .store.embedded_store import EmbeddedWorkStore
from .store.redis_store import RedisWorkStore, connect
from .store.work_store import WorkStore, WorkStoreError
from .urls import redact_url
from .views import ImageView

_LOGGER = logging.getLogger(__name__)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CALENDAR,
    Platform.CAMERA,
    Platform.EVENT,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and the image view, once for all entries."""
    async_register_services(hass)
    hass.http.register_view(ImageView())
    async_install_blueprint(hass)
    return True


def entry_storage(hass: HomeAssistant, entry_id: str) -> Path:
    """Folder of an entry's database and thumbnails."""
    return Path(hass.config.path(STORAGE_DIR, entry_id))


async def async_setup_entry(hass: HomeAssistant, entry: HsiConfigEntry) -> bool:
    """Start the pipeline of one camera root."""
    root = Path(entry.data[CONF_CAMERA_ROOT])
    if not await hass.async_add_executor_job(root.is_dir):
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="camera_root_missing",
            translation_placeholders={"path": str(root)},
        )
    storage = entry_storage(hass, entry.entry_id)
    db = Database(storage / DATABASE_FILE)
    try:
        await hass.async_add_executor_job(db.open)
    except (SQLAlchemyError, OSError) as err:
        if await async_report_unusable_database(hass, entry.entry_id, db.path, err):
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="database_unusable",
                translation_placeholders={"path": str(db.path), "error": str(err)},
            ) from err
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="database_error",
            translation_placeholders={"error": str(err)},
        ) from err
    async_clear_unusable_database(hass, entry.entry_id)
    store: WorkStore
    if redis_url := entry.data.get(CONF_REDIS_URL):
        redis_store = RedisWorkStore(connect(redis_url))
        try:
            await redis_store.ping()
        except WorkStoreError as err:
            await redis_store.async_close()
            await hass.async_add_executor_job(db.close)
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="redis_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        store = redis_store
    else:
        store = EmbeddedWorkStore(db, hass.async_add_executor_job)
    session = async_get_clientsession(hass)
    analyzer = build_analyzer(hass, entry.data, entry.entry_id, storage)
    detector = DetectorClient(
        session, entry.data[CONF_DETECTOR_URL], entry.data.get(CONF_DETECTOR_API, API_DETECT)
    )
    thumbnail_dir = storage / THUMBNAIL_DIR
    pipeline = Pipeline(
        hass,
        entry,
        root,
        db,
        store,
        detector,
        analyzer,
        ThumbnailGenerator(thumbnail_dir),
        redact_url(redis_url) if redis_url else "",
    )
    hub_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, **hub_device_info(entry.entry_id, entry.title)
    )
    try:
        await pipeline.async_load()
        entry.runtime_data = HsiRuntimeData(
            entry.entry_id,
            hub_device.id,
            pipeline,
            pipeline.cameras,
            db,
            store,
            pipeline.health,
            root,
            thumbnail_dir,
            detector,
            analyzer,
        )
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        await pipeline.async_start()
        entry.async_on_unload(
            hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, pipeline.async_stop)
        )
    except BaseException:
        await pipeline.async_stop()
        raise
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HsiConfigEntry) -> bool:
    """Stop the pipeline; unfinished work resumes at the next setup."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.pipeline.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: HsiConfigEntry) -> None:
    """Delete the entry's database and thumbnails (camera uploads are left alone)."""
    await hass.async_add_executor_job(shutil.rmtree, entry_storage(hass, entry.entry_id), True)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: HsiConfigEntry, device: DeviceEntry
) -> bool:
    """Allow removing a camera device once its folder or camera entity is gone; the hub stays.

    The camera is forgotten too, so it does not come back at the next start, and a folder
    created again later becomes a new device at once.
    """
    if (DOMAIN, entry.entry_id) in device.identifiers:
        return False
    root = Path(entry.data[CONF_CAMERA_ROOT])
    camera_ids = [
        camera_id
        for domain, ident in device.identifiers
        if domain == DOMAIN and (camera_id := camera_of_identifier(entry.entry_id, ident))
    ]

    def present() -> bool:
        """Whether a camera folder of the device is there (names mapped as the watcher does)."""
        try:
            names = os.listdir(root)
        except OSError:
            return False
        return any(
            folder_camera_id(name) in camera_ids
            and (root / name).is_dir()
            and not (root / name).is_symlink()
            for name in names
        )

    if set(camera_ids) & set(entity_cameras(entry.options)):
        return False
    if await hass.async_add_executor_job(present):
        return False
    if entry.state is ConfigEntryState.LOADED:
        for camera_id in camera_ids:
            await entry.runtime_data.cameras.remove(camera_id)
    return True
