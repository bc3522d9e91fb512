"""Request bodies for the LLM backends, with the batch's key frame when one is sent.

llama.cpp `POST /completion`: the prompt becomes `{"prompt_string", "multimodal_data"}` with
the server's media marker where the picture goes. OpenAI-compatible chat: the user message
becomes content parts, the text and an `image_url` data URL.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Any, Final

from yarl import URL

from .prompts import with_image

API_LLAMACPP: Final = "llamacpp"
API_OPENAI: Final = "openai"
LLM_APIS: Final = (API_LLAMACPP, API_OPENAI)

TEMPERATURE = 0.1
TOP_ALTERNATIVES = 10
DEFAULT_MEDIA_MARKER: Final = "<__media__>"  # llama.cpp's default; /props may name another
_REFUSAL = re.compile(r"image|multimodal|vision|media|mmproj|modalit", re.IGNORECASE)
_NOT_REFUSALS: Final = frozenset({401, 403, 404})
_LOCAL_SUFFIXES: Final = (".local", ".lan", ".home.arpa", ".internal")


def build_request(
    api: str,
    prompt: str,
    tokens: int,
    schema: dict[str, Any] | None,
    model: str,
    image: bytes | None = None,
    marker: str = DEFAULT_MEDIA_MARKER,
) -> tuple[str, dict[str, Any]]:
    """Return the path and JSON body asking `api` to complete `prompt` (with `image`, a JPEG)."""
    if api == API_OPENAI:
        return "/v1/chat/completions", _chat(prompt, tokens, schema, model, image)
    return "/completion", _completion(prompt, tokens, schema, image, marker)


def _chat(
    prompt: str, tokens: int, schema: dict[str, Any] | None, model: str, image: bytes | None
) -> dict[str, Any]:
    content: str | list[dict[str, Any]] = prompt
    if image is not None:
        content = [
            {"type": "text", "text": with_image(prompt)},
            {"type": "image_url", "image_url": {"url": data_url(image)}},
        ]
    request: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "temperature": TEMPERATURE,
        "max_tokens": tokens,
        "stream": False,
    }
    if schema is not None:
        request["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "risk_assessment", "schema": schema},
        }
        request["logprobs"] = True
        request["top_logprobs"] = TOP_ALTERNATIVES
    return request


def _completion(
    prompt: str,
    tokens: int,
    schema: dict[str, Any] | None,
    image: bytes | None,
    marker: str,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "prompt": prompt,
        "temperature": TEMPERATURE,
        "n_predict": tokens,
        "stream": False,
    }
    if image is not None:
        # Exactly one marker: none may come from the untrusted data in the prompt.
        request["prompt"] = {
            "prompt_string": with_image(prompt.replace(marker, ""), marker),
            "multimodal_data": [base64.b64encode(image).decode("ascii")],
        }
    if schema is not None:
        # llama.cpp's grammar engine: compact JSON, so small models cannot pad
        # whitespace until n_predict runs out.
        request["json_schema"] = {**schema, "x-guidance": {"whitespace_flexible": False}}
        request["n_probs"] = TOP_ALTERNATIVES
    return request


def data_url(image: bytes) -> str:
    """Return a JPEG as a `data:` URL."""
    return "data:image/jpeg;base64," + base64.b64encode(image).decode("ascii")


def refuses_image(status: int, detail: str) -> bool:
    """Whether an error answer to a request with a picture says the server takes no pictures."""
    return status >= 400 and status not in _NOT_REFUSALS and bool(_REFUSAL.search(detail))


def read_props(props: object) -> tuple[bool | None, str]:
    """Vision support (None: not said) and media marker from llama.cpp's `GET /props`."""
    if not isinstance(props, dict):
        return None, DEFAULT_MEDIA_MARKER
    modalities = props.get("modalities")
    vision = modalities.get("vision") if isinstance(modalities, dict) else None
    marker = props.get("media_marker")
    return (
        vision if isinstance(vision, bool) else None,
        marker if isinstance(marker, str) and marker.strip() else DEFAULT_MEDIA_MARKER,
    )


def is_local_url(url: str) -> bool:
    """Whether a server is on the local network (pictures may go there by default).

    Local: a private, loopback or link-local address, a `.local`, `.lan`, `.home.arpa` or
    `.internal` name, or a single-label host name.
    """
    try:
        host = (URL(url).host or "").rstrip(".").lower()
    except ValueError:
        return False
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host or host.endswith(_LOCAL_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local
