"""Hostile-peer tests run the integration against a detector that can misbehave."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import pytest

from ..fault_servers import FaultyDetector


@pytest.fixture
async def detector(socket_enabled: None) -> AsyncGenerator[FaultyDetector]:
    """A FaultyDetector in place of the contract detector (`misbehave` to break it)."""
    server = FaultyDetector()
    await server.start()
    yield server
    await server.close()
