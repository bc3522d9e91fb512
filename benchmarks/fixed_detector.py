"""A detector on 127.0.0.1 that answers at once with a fixed result (own process).

Run as `python benchmarks/fixed_detector.py`; prints the port on stdout, serves until killed.
It reads the whole upload (as a real server must) but decodes nothing, so what the
pipeline benchmark measures is the integration's overhead, not inference. Living in its
own process, its parsing does not load Home Assistant's event loop or GIL.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web

ANSWER = json.dumps(
    {
        "detections": [
            {"class": "person", "confidence": 0.92, "bbox": [160, 120, 320, 240]},
            {"class": "car", "confidence": 0.81, "bbox": [20, 200, 200, 150]},
        ]
    }
).encode()


async def detect(request: web.Request) -> web.Response:
    """Drain the multipart upload and answer the fixed detections."""
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    """Answer healthy."""
    return web.json_response({"status": "ok"})


async def main() -> None:
    """Serve on a free port and print it."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/detect", detect)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
