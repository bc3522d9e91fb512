"""Fixtures for pipeline tests: small aiohttp servers with odd answers, a closed port."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
import socket

from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
type ServeFactory = Callable[[dict[str, Handler]], Awaitable[str]]


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncGenerator[ServeFactory]:
    """Start real HTTP servers on 127.0.0.1 from `{"METHOD /path": handler}`; return their URL."""
    servers: list[TestServer] = []

    async def factory(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for key, handler in routes.items():
            method, path = key.split(" ", 1)
            app.router.add_route(method, path, handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(access_log=None)
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield factory
    for server in servers:
        await server.close()


@pytest.fixture
def closed_port_url(socket_enabled: None) -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
