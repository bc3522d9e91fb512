"""Servers that misbehave on purpose: a detector that drops connections, a restartable Redis,
and HTTP peers (detector or LLM) that answer in every broken way (`misbehaving_handler`)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import shutil
import socket
import subprocess
import time

from aiohttp import web

from .contract_servers import DetectorServer


@dataclass
class FaultyDetector(DetectorServer):
    """A DetectorServer that can also drop connections and counts its answers per file.

    While `drop` is set, every `/detect` request is read and its connection closed with
    no answer; while `misbehave` is set, it answers in that broken way. `answered` counts the 200 answers per uploaded filename (the server's own
    record of how often each image was detected).
    """

    drop: bool = False
    dropped: int = 0
    answered: Counter[str] = field(default_factory=Counter)
    misbehave: str | None = None  # one of MISBEHAVIOURS while set

    async def _detect(self, request: web.Request) -> web.StreamResponse:
        if self.misbehave is not None:
            return await misbehaving_handler(self.misbehave, "detections")(request)
        form = await request.post()
        upload = form.get("file") or form.get("image")
        name = upload.filename if isinstance(upload, web.FileField) else ""
        if self.drop:
            self.dropped += 1
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        response = await super()._detect(request)
        if response.status == 200 and response.content_type == "application/json":
            self.answered[name] += 1
        return response


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisProcess:
    """A private `redis-server` (no persistence) on a free port; blocking: use the executor."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def available() -> bool:
        """True when a redis-server binary is on PATH."""
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (PY314_PACKAGES=redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SHUTDOWN NOSAVE: every key is gone, as after a crash of a cache-only Redis."""
        if self.process is None:
            return
        try:
            with socket.create_connection(("127.0.0.1", self.port), 2) as sock:
                sock.sendall(b"SHUTDOWN NOSAVE\r\n")
                sock.recv(64)
        except OSError:
            pass
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down `down_for` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


MISBEHAVIOURS = (
    "stall_mid_body",
    "endless_body",
    "deep_nesting",
    "wrong_content_type",
    "close_mid_answer",
    "empty_200",
)


def misbehaving_handler(
    behaviour: str, key: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A handler answering like a broken peer; `key` names the answer's payload field.

    stall_mid_body: 200 and half an answer, then silence. endless_body: 200 and a body
    that never ends. deep_nesting: 100,000 nested lists under `key`. wrong_content_type:
    a proxy's HTML error page with status 200. close_mid_answer: the connection closes
    after a few bytes of a promised answer. empty_200: 200 with no body.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        if behaviour == "deep_nesting":
            body = f'{{"{key}": '.encode() + b"[" * 100_000 + b"]" * 100_000 + b"}"
            return web.Response(body=body, content_type="application/json")
        if behaviour == "wrong_content_type":
            return web.Response(
                text="<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        if behaviour == "empty_200":
            return web.Response(body=b"", content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        if behaviour != "endless_body":
            response.content_length = 4096
        await response.prepare(request)
        await response.write(f'{{"{key}": '.encode())
        if behaviour == "stall_mid_body":
            await asyncio.sleep(3600)
        elif behaviour == "close_mid_answer":
            if request.transport is not None:
                request.transport.abort()
        else:  # endless_body: until the client hangs up (bounded, should the test fail)
            for _ in range(4096):
                await response.write(b"[1]," * 16384)
        return response

    return handler
