"""Size-capped reading of HTTP answers from a real server."""

from __future__ import annotations

from aiohttp import web
import pytest

from custom_components.home_security_intelligence.pipeline.http_body import (
    BodyTooLargeError,
    read_limited,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .conftest import ServeFactory

LIMIT = 200_000


async def _url(serve: ServeFactory) -> str:
    async def sized(request: web.Request) -> web.StreamResponse:
        size = int(request.match_info["size"])
        resp = web.StreamResponse()
        await resp.prepare(request)
        for start in range(0, size, 30_000):
            await resp.write(bytes([start % 251]) * min(30_000, size - start))
        await resp.write_eof()
        return resp

    return await serve({"GET /{size}": sized})


@pytest.mark.parametrize("size", [0, 1, LIMIT - 1, LIMIT])
async def test_body_up_to_limit_is_returned_whole(
    hass: HomeAssistant, serve: ServeFactory, size: int
) -> None:
    """Streamed bodies up to the limit come back byte for byte."""
    url = await _url(serve)
    async with async_get_clientsession(hass).get(f"{url}/{size}") as resp:
        body = await read_limited(resp, LIMIT)
    expected = b"".join(
        bytes([start % 251]) * min(30_000, size - start) for start in range(0, size, 30_000)
    )
    assert body == expected


async def test_body_over_limit_raises(hass: HomeAssistant, serve: ServeFactory) -> None:
    """One byte past the limit raises."""
    url = await _url(serve)
    async with async_get_clientsession(hass).get(f"{url}/{LIMIT + 1}") as resp:
        with pytest.raises(BodyTooLargeError, match=f"larger than {LIMIT} bytes"):
            await read_limited(resp, LIMIT)
