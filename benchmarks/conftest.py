"""Fixtures of the HA benchmarks: a real HA test instance run like production (no loop debug)."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
import logging
from pathlib import Path
import subprocess
import sys

import pytest

from tests import conftest as shared

# The shared fixtures (importing them also turns HA's blocking-call detector on, as in
# production): custom integrations, a config dir per test, the LLM server and real Redis.
auto_enable_custom_integrations = shared.auto_enable_custom_integrations
hass_config_dir = shared.hass_config_dir
llm = shared.llm
redis_url = shared.redis_url

# The test plugin logs every SQL statement (sqlalchemy.engine at INFO); HA does not, and
# the captured records would cost CPU and inflate the RSS figures.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override the test plugin's fixture: HA does not run its loop in debug mode.

    Debug mode adds a traceback to every task and handle and would dominate the figures.
    """
    asyncio.get_running_loop().set_debug(False)


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
