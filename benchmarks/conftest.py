"""Fixtures of the HA benchmarks: a real HA test instance run like production (no loop debug)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
import logging
import os
from pathlib import Path
import subprocess
import sys

import pytest
import redis

from homeassistant import block_async_io
from tests.contract_servers import LlmServer

REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('HSI_TEST_REDIS_DB', '13')}"

# Production HA runs with the blocking-call detector on: keep it (and its small cost).
block_async_io.enable()
# The test plugin logs every SQL statement (sqlalchemy.engine at INFO); HA does not, and
# the captured records would cost CPU and inflate the RSS figures.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override the test plugin's fixture: HA does not run its loop in debug mode.

    Debug mode adds a traceback to every task and handle and would dominate the figures.
    """
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom integrations."""


@pytest.fixture
def hass_config_dir(tmp_path: Path) -> str:
    """Use a config folder per run, so thumbnails and databases do not pile up in the venv."""
    path = tmp_path / "config"
    path.mkdir()
    return str(path)


@pytest.fixture(scope="session")
def detector_url() -> Generator[str]:
    """Start the fixed-answer detector in a process of its own."""
    script = Path(__file__).with_name("fixed_detector.py")
    proc = subprocess.Popen(  # noqa: S603 - our own script with this interpreter
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait()  # no timeout: a timed wait polls with time.sleep, flagged as blocking


@pytest.fixture
async def llm(socket_enabled: None) -> AsyncGenerator[LlmServer]:
    """Serve an LLM for batches that close during a run (rare: one per camera per idle gap)."""
    server = LlmServer()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def redis_url(socket_enabled: None) -> Generator[str]:
    """Use the real Redis server, on the database of this benchmark run, emptied around it."""
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()
