"""Shared fixtures: real HA, real Redis, real files, real HTTP servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
import inspect
import io
import logging
import os
from pathlib import Path
import time
from typing import Any
import uuid

from freezegun.api import FrozenDateTimeFactory
from PIL import Image, ImageDraw
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
import redis

from custom_components.home_security_intelligence.const import (
    CONF_CAMERA_ROOT,
    CONF_DETECTOR_URL,
    CONF_LLM_URL,
    CONF_REDIS_URL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from homeassistant import block_async_io
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .contract_servers import DetectorServer, LlmServer

REDIS_TEST_URL = f"redis://127.0.0.1:6379/{os.environ.get('HSI_TEST_REDIS_DB', '13')}"

block_async_io.enable()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations in every test."""


@pytest.fixture
def hass_config_dir(hass_tmp_config_dir: str) -> str:
    """Give every test its own HA config dir (the integration's database lives there)."""
    return hass_tmp_config_dir


@pytest.fixture(autouse=True)
def no_blocking_calls(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail a test in which HA's blocking-call detector reported our code."""
    yield
    reports = [
        r.getMessage()
        for r in caplog.get_records("call")
        if "Detected blocking call" in r.getMessage()
    ]
    assert not reports, reports


def make_jpeg(width: int = 640, height: int = 480, seed: int = 0) -> bytes:
    """A real JPEG photo-like frame: a gradient with a figure in the middle."""
    img = Image.new("RGB", (width, height), (40 + seed % 50, 60, 90))
    draw = ImageDraw.Draw(img)
    for y in range(0, height, 8):
        draw.line((0, y, width, y), fill=(40 + y * 120 // height, 80, 110 + seed % 60))
    draw.ellipse((width * 0.45, height * 0.25, width * 0.55, height * 0.38), fill=(220, 180, 150))
    draw.rectangle((width * 0.42, height * 0.38, width * 0.58, height * 0.75), fill=(30, 30, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


@pytest.fixture
def camera_root(hass: HomeAssistant, tmp_path: Path) -> Path:
    """An allowed, empty camera upload folder."""
    root = tmp_path / "cameras"
    root.mkdir()
    hass.config.allowlist_external_dirs = {str(tmp_path)}
    return root


@pytest.fixture
async def detector(socket_enabled: None) -> AsyncGenerator[DetectorServer]:
    """A detector speaking the /detect contract on 127.0.0.1."""
    server = DetectorServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def llm(socket_enabled: None) -> AsyncGenerator[LlmServer]:
    """An LLM speaking llama.cpp's /completion contract on 127.0.0.1."""
    server = LlmServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def redis_url(socket_enabled: None) -> Generator[str]:
    """The real Redis server, on a database of its own emptied around the test."""
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


type EntryFactory = Callable[..., Awaitable[MockConfigEntry]]


type Grant = Callable[[list[str]], Awaitable[None]]
"""Give a test's Redis user these ACL command categories (e.g. ["-@all"] to refuse)."""


@pytest.fixture
async def redis_user(hass: HomeAssistant, redis_url: str) -> AsyncGenerator[tuple[str, Grant]]:
    """A Redis ACL user of the test's own, allowed everything at first; PING always works.

    Yields its URL and `grant`, which switches what it may run (a store refusing mid-run).
    """
    admin = redis.Redis.from_url(redis_url)
    user = f"hsi_test_{uuid.uuid4().hex[:8]}"

    def set_user(categories: list[str]) -> None:
        admin.acl_setuser(
            user,
            enabled=True,
            passwords=["+secret"],
            categories=categories,
            commands=["+ping"],
            keys=["*"],
        )

    async def grant(categories: list[str]) -> None:
        await hass.async_add_executor_job(set_user, categories)

    await grant(["+@all"])
    yield redis_url.replace("redis://", f"redis://{user}:secret@"), grant
    await hass.async_add_executor_job(admin.acl_deluser, user)
    await hass.async_add_executor_job(admin.close)


@pytest.fixture
def setup_entry(
    hass: HomeAssistant, camera_root: Path, detector: DetectorServer, llm: LlmServer
) -> EntryFactory:
    """Create and set up an entry on the test servers."""

    async def factory(redis: str | None = None, **options: Any) -> MockConfigEntry:
        data = {
            CONF_CAMERA_ROOT: str(camera_root),
            CONF_DETECTOR_URL: detector.url,
            CONF_LLM_URL: llm.url,
        }
        if redis:
            data[CONF_REDIS_URL] = redis
        entry = MockConfigEntry(
            domain=DOMAIN,
            data=data,
            # llm_bound 100: the LLM's score passes through unchanged, so tests of the LLM
            # contract read the model's answer; tests/test_risk_scoring.py covers the bound.
            options={**DEFAULT_OPTIONS, "upload_settle_seconds": 0.2, "llm_bound": 100, **options},
            unique_id=str(camera_root),
            title="cameras",
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        return entry

    return factory


@pytest.fixture
async def unload_entries(hass: HomeAssistant) -> AsyncGenerator[None]:
    """Stop every loaded or retrying entry, so no thread, task or timer outlives the test."""
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def wait_for(
    hass: HomeAssistant,
    condition: Callable[[], Any],
    timeout: float = 15.0,
    freezer: FrozenDateTimeFactory | None = None,
) -> Any:
    """Let real threads (watchdog, executor) work until `condition()` is truthy.

    Counts real sleeps rather than reading the clock, which tests may freeze; with
    `freezer`, frozen time moves on with each sleep and time listeners run.
    """
    step = 0.02
    for _ in range(int(timeout / step)):
        await hass.async_block_till_done()
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await hass.async_add_executor_job(time.sleep, step)
        if freezer is not None:
            freezer.tick(step)
            async_fire_time_changed(hass)
    raise AssertionError("condition not met in time")


async def ledger(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, int]:
    """Image counts per ledger state, read from the entry's SQLite file."""
    db = entry.runtime_data.db
    return await hass.async_add_executor_job(db.image_counts)


async def write_file(hass: HomeAssistant, path: Path, data: bytes) -> None:
    """Write a file from the executor, as an uploader would (open, write, close)."""

    def _write() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    await hass.async_add_executor_job(_write)


logging.getLogger("watchdog").setLevel(logging.INFO)
