"""The key frame in each backend's request, and text-only requests for servers that refuse it."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator

import pytest

from custom_components.home_security_intelligence.pipeline.key_frame import probe_jpeg
from custom_components.home_security_intelligence.pipeline.llm_request import (
    DEFAULT_MEDIA_MARKER,
    build_request,
    is_local_url,
    read_props,
    refuses_image,
)
from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import (
    API_OPENAI,
    NemotronAnalyzer,
)
from custom_components.home_security_intelligence.pipeline.prompts import (
    IMAGE_NOTE,
    build_prompt,
    with_image,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..conftest import make_jpeg
from ..contract_servers import LlmServer, OpenAiServer

pytestmark = pytest.mark.usefixtures("socket_enabled")

FRAME = make_jpeg(64, 48)
PROMPT = build_prompt("Front <__media__> door", "a", "b", [("02:15:00", "person", 0.9)])


@pytest.fixture
async def openai(socket_enabled: None) -> AsyncGenerator[OpenAiServer]:
    server = OpenAiServer()
    await server.start()
    yield server
    await server.close()


def _analyzer(hass: HomeAssistant, url: str, api: str = "llamacpp") -> NemotronAnalyzer:
    key = "sk-test" if api == API_OPENAI else None
    return NemotronAnalyzer(async_get_clientsession(hass), url, api, key)


# Request bodies


def test_prompt_asks_for_one_sentence_about_the_picture() -> None:
    """The note comes before the answer format and says where the picture is."""
    text = with_image(PROMPT, "<M>")
    assert text.index("A picture from this camera comes with the data: <M>.") < text.index(
        "Answer with one JSON object"
    )
    assert "describe in one sentence what the picture shows" in text
    assert with_image(PROMPT) == PROMPT.replace(
        "Answer with", IMAGE_NOTE.format(marker="") + "Answer with"
    )


def test_llamacpp_body_carries_one_marker_per_picture() -> None:
    """The prompt becomes {prompt_string, multimodal_data}; untrusted markers are removed."""
    path, body = build_request("llamacpp", PROMPT, 9, None, "m", FRAME)
    assert path == "/completion"
    assert body["prompt"]["multimodal_data"] == [base64.b64encode(FRAME).decode()]
    assert body["prompt"]["prompt_string"].count(DEFAULT_MEDIA_MARKER) == 1
    assert "Front  door" in body["prompt"]["prompt_string"]
    _, plain = build_request("llamacpp", PROMPT, 9, None, "m")
    assert plain["prompt"] == PROMPT


def test_openai_body_has_text_and_image_url_parts() -> None:
    """Chat content parts: the text with the note, then a JPEG data URL."""
    path, body = build_request(API_OPENAI, PROMPT, 9, None, "m", FRAME)
    assert path == "/v1/chat/completions"
    text, image = body["messages"][0]["content"]
    assert text == {"type": "text", "text": with_image(PROMPT)}
    assert image == {
        "type": "image_url",
        "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(FRAME).decode()},
    }


@pytest.mark.parametrize(
    ("status", "detail", "refused"),
    [(400, "image input is not supported", True), (500, "model has no vision", True),
     (400, "bad json_schema", False), (404, "image not found", False),
     (401, "image", False), (200, "image", False)],
)  # fmt: skip
def test_refuses_image(status: int, detail: str, refused: bool) -> None:
    """Only an error that talks about pictures counts as refusing them."""
    assert refuses_image(status, detail) is refused


def test_read_props() -> None:
    """Vision and marker from /props; anything odd means 'not said' and the default marker."""
    assert read_props({"modalities": {"vision": True}, "media_marker": "<m>"}) == (True, "<m>")
    assert read_props({"modalities": {"vision": "yes"}}) == (None, DEFAULT_MEDIA_MARKER)
    assert read_props(None) == (None, DEFAULT_MEDIA_MARKER)


@pytest.mark.parametrize(
    ("url", "local"),
    [("http://127.0.0.1:8091", True), ("http://192.168.1.20:11434", True),
     ("http://10.0.0.5", True), ("http://[::1]:8080", True), ("http://[fd00::5]", True),
     ("http://nas.local:8080", True), ("http://llm:8091", True), ("http://box.home.arpa", True),
     ("https://api.openai.com", False), ("http://8.8.8.8", False),
     ("https://llm.example.com.", False), ("not a url", False)],
)  # fmt: skip
def test_is_local_url(url: str, local: bool) -> None:
    """Private, loopback, .local and single-label hosts are local; the rest is not."""
    assert is_local_url(url) is local


# Against real servers on 127.0.0.1


async def test_llamacpp_vision_server_gets_the_picture(hass: HomeAssistant) -> None:
    """With a projector, the key frame arrives base64 with the server's own marker."""
    server = LlmServer(vision=True)
    await server.start()
    try:
        result = await _analyzer(hass, server.url).analyze_batch(PROMPT, FRAME)
    finally:
        await server.close()
    assert result.risk_score == 72
    (sent,) = server.prompts
    assert base64.b64decode(sent["prompt"]["multimodal_data"][0]) == FRAME
    assert sent["prompt"]["prompt_string"].count(server.marker) == 1
    assert sent["json_schema"]


async def test_llamacpp_without_vision_gets_text_only(hass: HomeAssistant, llm: LlmServer) -> None:
    """/props says no vision: the prompt goes alone, and no picture is ever tried."""
    analyzer = _analyzer(hass, llm.url)
    await analyzer.analyze_batch(PROMPT, FRAME)
    await analyzer.analyze_batch(PROMPT, FRAME)
    assert [p["prompt"] for p in llm.prompts] == [PROMPT, PROMPT]


async def test_refusal_is_remembered_for_the_session(hass: HomeAssistant) -> None:
    """A server without /props refuses the picture: text-only at once, and from then on."""
    server = LlmServer(props=False)
    await server.start()
    try:
        analyzer = _analyzer(hass, server.url)
        first = await analyzer.analyze_batch(PROMPT, FRAME)
        await analyzer.analyze_batch(PROMPT, FRAME)
    finally:
        await server.close()
    assert first.risk_score == 72
    kinds = [type(p["prompt"]).__name__ for p in server.prompts]
    assert kinds == ["dict", "str", "str"], "one refused picture, then text only"


async def test_openai_vision_server_gets_the_picture(
    hass: HomeAssistant, openai: OpenAiServer
) -> None:
    """OpenAI-compatible chat: the key frame arrives as an image_url data URL."""
    openai.vision = True
    await _analyzer(hass, openai.url, API_OPENAI).analyze_batch(PROMPT, FRAME)
    (sent,) = openai.requests
    _, image = sent["messages"][0]["content"]
    url = image["image_url"]["url"]
    assert base64.b64decode(url.removeprefix("data:image/jpeg;base64,")) == FRAME


async def test_openai_refusal_falls_back_to_text(hass: HomeAssistant, openai: OpenAiServer) -> None:
    """A chat server that refuses pictures gets the same prompt as plain text, then only that."""
    analyzer = _analyzer(hass, openai.url, API_OPENAI)
    result = await analyzer.analyze_batch(PROMPT, FRAME)
    await analyzer.analyze_batch(PROMPT, FRAME)
    assert result.risk_score == 72
    contents = [r["messages"][0]["content"] for r in openai.requests]
    assert isinstance(contents[0], list)
    assert contents[1:] == [PROMPT, PROMPT]


@pytest.mark.parametrize("vision", [True, False])
async def test_probe(hass: HomeAssistant, vision: bool) -> None:
    """The config-flow probe sends a tiny JPEG and tells whether it was accepted."""
    llama = LlmServer(vision=vision, props=False, marker=DEFAULT_MEDIA_MARKER)  # older server
    chat = OpenAiServer(vision=vision)
    await llama.start()
    await chat.start()
    try:
        tiny = await hass.async_add_executor_job(probe_jpeg)
        assert await _analyzer(hass, llama.url).accepts_images(tiny) is vision
        assert await _analyzer(hass, chat.url, API_OPENAI).accepts_images(tiny) is vision
    finally:
        await llama.close()
        await chat.close()
    assert base64.b64decode(llama.prompts[0]["prompt"]["multimodal_data"][0]) == tiny
