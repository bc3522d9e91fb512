"""Read HTTP answers with a size cap, so a huge or endless body cannot exhaust memory."""

from __future__ import annotations

import aiohttp


class BodyTooLargeError(Exception):
    """The answer exceeded the cap."""


async def read_limited(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the body, raising BodyTooLargeError past `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in resp.content.iter_chunked(65536):
        total += len(chunk)
        if total > limit:
            raise BodyTooLargeError(f"answer larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
