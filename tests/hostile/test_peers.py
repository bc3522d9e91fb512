"""Detector and LLM servers that misbehave: each failure has its documented class and message,
and the event loop never stalls more than 100 ms while they do.

Detector: unreachable (stall, closed mid-answer) and protocol errors (endless, deeply
nested, HTML, empty) are outages: the image waits and is retried. LLM: unreachable and
protocol errors are retried, then the prior stands (`prior_only`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.home_security_intelligence.pipeline import (
    analysis as hsi_analysis,
    detector_client,
    nemotron_analyzer,
)
from custom_components.home_security_intelligence.pipeline.detector_client import (
    DetectorClient,
    DetectorProtocolError,
    DetectorUnreachableError,
)
from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import (
    AnalyzerProtocolError,
    AnalyzerUnreachableError,
    NemotronAnalyzer,
)
from custom_components.home_security_intelligence.store.records import AnalysisStatus
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..conftest import EntryFactory, make_jpeg, wait_for, write_file
from ..contract_servers import LlmServer
from ..fault_servers import FaultyDetector, misbehaving_handler
from ..helpers import runtime_of, stored_event

pytestmark = pytest.mark.usefixtures("unload_entries")

SHORT = aiohttp.ClientTimeout(total=1)
MAX_LAG = 0.1

# behaviour -> (error class, text of its message) for each peer
DETECTOR = {
    "stall_mid_body": (DetectorUnreachableError, "detector unreachable"),
    "endless_body": (DetectorProtocolError, "larger than"),
    "deep_nesting": (DetectorProtocolError, "nested too deeply"),
    "wrong_content_type": (DetectorProtocolError, "not JSON"),
    "close_mid_answer": (DetectorUnreachableError, "detector unreachable"),
    "empty_200": (DetectorProtocolError, "not JSON"),
}
LLM = {
    "stall_mid_body": (AnalyzerUnreachableError, "LLM unreachable"),
    "endless_body": (AnalyzerProtocolError, "larger than"),
    "deep_nesting": (AnalyzerProtocolError, "nested too deeply"),
    "wrong_content_type": (AnalyzerProtocolError, "no completion text"),
    "close_mid_answer": (AnalyzerUnreachableError, "LLM unreachable"),
    "empty_200": (AnalyzerProtocolError, "no completion text"),
}


@asynccontextmanager
async def peer(path: str, behaviour: str, key: str) -> AsyncGenerator[str]:
    """A real server on 127.0.0.1 answering `POST path` with `behaviour`; yields its URL."""
    app = web.Application()
    app.router.add_post(path, misbehaving_handler(behaviour, key))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(access_log=None)
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def without_stalls(action: Callable[[], Awaitable[object]]) -> float:
    """Run `action` (expected to raise) while a ticker measures the loop; return the worst lag."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            lags.append(now - last - 0.005)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        await action()
    finally:
        done.set()
        await tick
    return max(lags, default=0.0)


@pytest.mark.parametrize("behaviour", list(DETECTOR))
async def test_misbehaving_detector(
    hass: HomeAssistant,
    socket_enabled: None,
    monkeypatch: pytest.MonkeyPatch,
    behaviour: str,
) -> None:
    """Each broken detector answer is its documented error, the loop staying responsive."""
    monkeypatch.setattr(detector_client, "DETECT_TIMEOUT", SHORT)
    error, message = DETECTOR[behaviour]
    async with peer("/detect", behaviour, "detections") as url:
        client = DetectorClient(async_get_clientsession(hass), url)

        async def detect() -> None:
            with pytest.raises(error, match=message):
                await client.detect_objects(make_jpeg(), "a.jpg", "image/jpeg", (640, 480), 0.5)

        assert await without_stalls(detect) < MAX_LAG


@pytest.mark.parametrize("behaviour", list(LLM))
async def test_misbehaving_llm(
    hass: HomeAssistant,
    socket_enabled: None,
    monkeypatch: pytest.MonkeyPatch,
    behaviour: str,
) -> None:
    """Each broken LLM answer is its documented error, the loop staying responsive."""
    monkeypatch.setattr(nemotron_analyzer, "COMPLETION_TIMEOUT", SHORT)
    error, message = LLM[behaviour]
    async with peer("/completion", behaviour, "content") as url:
        analyzer = NemotronAnalyzer(async_get_clientsession(hass), url)

        async def analyze() -> None:
            with pytest.raises(error, match=message):
                await analyzer.analyze_batch("p")

        assert await without_stalls(analyze) < MAX_LAG


@pytest.mark.parametrize("behaviour", list(DETECTOR))
async def test_misbehaving_detector_is_an_outage_with_a_clear_log_line(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    detector: FaultyDetector,
    camera_root: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    behaviour: str,
) -> None:
    """In the running integration the upload waits (never `invalid`), the log says why."""
    monkeypatch.setattr(detector_client, "DETECT_TIMEOUT", SHORT)
    detector.misbehave = behaviour
    entry = await setup_entry()
    await write_file(hass, camera_root / "front_door" / "a.jpg", make_jpeg())
    _, message = DETECTOR[behaviour]
    line = await wait_for(
        hass,
        lambda: next(
            (
                r.getMessage()
                for r in caplog.records
                if r.getMessage().startswith("The detector is unavailable")
            ),
            None,
        ),
    )
    assert message in line
    assert line.endswith("work waits and is retried")
    counts = await hass.async_add_executor_job(runtime_of(entry).db.image_counts)
    assert not counts.get("invalid")
    assert not counts.get("detected")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, id="100k-nested-objects"),
        pytest.param("{" * (1024 * 1024 - 64), id="1MiB-of-braces"),
    ],
)
async def test_hostile_llm_answer_still_stores_a_prior_only_event(
    hass: HomeAssistant,
    setup_entry: EntryFactory,
    camera_root: Path,
    llm: LlmServer,
    monkeypatch: pytest.MonkeyPatch,
    content: str,
) -> None:
    """A nested or brace-flooded completion is a protocol error: the event is stored on its prior."""
    monkeypatch.setattr(hsi_analysis, "LLM_RETRY_DELAYS", (0,))
    llm.content = content
    entry = await setup_entry()
    event = await stored_event(hass, entry, camera_root, "front_door")
    assert event.analysis_status == AnalysisStatus.PRIOR_ONLY
    assert len(llm.prompts) >= 2  # retried before falling back
