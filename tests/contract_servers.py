"""Real HTTP servers on 127.0.0.1 that speak the detector and LLM contracts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import io
import json
import math
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from custom_components.home_security_intelligence.pipeline.prompts import content_free_prompts


@dataclass
class LocalServer:
    """An aiohttp app served on 127.0.0.1 at a free port."""

    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def _serve(self, app: web.Application) -> None:
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server(access_log=None)

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


@dataclass
class DetectorServer(LocalServer):
    """`POST /detect` and `GET /health`: finds a person filling the middle of every image.

    `script` lists answers for the next requests ("500", "timeout", "garbage", or a JSON
    body); after it runs out, the normal answer comes back.
    """

    objects: list[tuple[str, float]] = field(default_factory=lambda: [("person", 0.92)])
    script: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    hold: asyncio.Event | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/detect", self._detect)
        app.router.add_get("/health", self._health)
        await self._serve(app)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _detect(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form.get("file") or form.get("image")
        if not isinstance(upload, web.FileField):
            return web.json_response({"error": "no file"}, status=400)
        data = upload.file.read()
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
        except OSError:
            return web.json_response({"error": "not an image"}, status=400)
        self.requests.append(
            {"filename": upload.filename, "content_type": upload.content_type, "size": len(data)}
        )
        if self.hold is not None:
            await self.hold.wait()
        if self.script:
            step = self.script.pop(0)
            if step == "500":
                return web.json_response({"error": "boom"}, status=500)
            if step == "garbage":
                return web.Response(text="<html>not json</html>")
            return web.json_response(step)
        return web.json_response(
            {
                "detections": [
                    {
                        "class": name,
                        "confidence": conf,
                        "bbox": [width // 4, height // 4, width // 2, height // 2],
                    }
                    for name, conf in self.objects
                ],
                "image_width": width,
                "image_height": height,
            }
        )


IMAGE_REFUSAL = "image input is not supported - hint: you may need to provide the mmproj"


@dataclass
class LlmServer(LocalServer):
    """llama.cpp-style `POST /completion`; answers `content` (or scripted failures).

    With `vision`, a prompt object carrying `multimodal_data` (one `marker` per picture) is
    answered; without, it is refused with a 400 naming the image, as llama-server does.
    `GET /props` tells both (404 when `props` is False, like an older server).
    """

    content: str = json.dumps(
        {
            "risk_score": 72,
            "risk_level": "high",
            "summary": "A person lingered at the front door at night.",
            "reasoning": "Unknown person near an entry point outside normal hours.",
        }
    )
    script: list[Any] = field(default_factory=list)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    # Token probabilities of the level, as llama.cpp's n_probs gives them: `levels` for
    # analysis prompts, `bias` for the content-free calibration prompts (None: not sent).
    levels: dict[str, float] | None = None
    bias: dict[str, float] | None = None
    vision: bool = False
    props: bool = True
    marker: str = "<__media_Xq7tT2__>"

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/completion", self._completion)
        app.router.add_get("/health", self._health)
        app.router.add_get("/props", self._props)
        await self._serve(app)

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, status=503 if self.down else 200)

    async def _props(self, request: web.Request) -> web.Response:
        if not self.props:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(
            {"modalities": {"vision": self.vision, "audio": False}, "media_marker": self.marker}
        )

    async def _completion(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.prompts.append(body)
        if self.down:
            return web.json_response({"error": "model not loaded"}, status=503)
        if isinstance(prompt := body["prompt"], dict):
            if not self.vision:
                return _error(400, IMAGE_REFUSAL)
            if prompt["prompt_string"].count(self.marker) != len(prompt["multimodal_data"]):
                return _error(400, "number of media markers does not match the media")
        if self.script:
            step = self.script.pop(0)
            if step == "500":
                return web.json_response({"error": "boom"}, status=500)
            return web.json_response({"content": step})
        levels = self.bias if body["prompt"] in content_free_prompts() else self.levels
        answer: dict[str, Any] = {"content": self.content}
        if levels is not None and body.get("n_probs"):
            answer["completion_probabilities"] = level_tokens(self.content, levels)
        return web.json_response(answer)


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"code": status, "message": message, "type": "invalid_request_error"}},
        status=status,
    )


def level_tokens(content: str, levels: dict[str, float]) -> list[dict[str, Any]]:
    """Split an answer into three tokens; the level's carries `levels` as alternatives."""
    key = re.search(r'"risk_level":\s*"', content)
    assert key is not None, "the answer names no level"
    head, (word, tail) = content[: key.start()], content[key.end() :].split('"', 1)
    top = [{"token": token, "logprob": math.log(p)} for token, p in levels.items()]
    return [
        {"token": head + '"risk_level":"', "logprob": -0.01, "top_logprobs": []},
        {"token": word, "logprob": -0.5, "top_logprobs": top},
        {"token": '"' + tail, "logprob": -0.01, "top_logprobs": []},
    ]


async def serve_404() -> TestServer:
    """A server that answers 404 to everything (a wrong API)."""
    server = TestServer(web.Application(), host="127.0.0.1")
    await server.start_server(access_log=None)
    return server


@dataclass
class DeepStackServer(LocalServer):
    """DeepStack / CodeProject.AI `POST /v1/vision/detection` (form field `image`)."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/vision/detection", self._detect)
        await self._serve(app)

    async def _detect(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("image")
        if not isinstance(upload, web.FileField):
            return web.json_response({"success": False, "error": "no image"}, status=400)
        with Image.open(io.BytesIO(upload.file.read())) as img:
            width, height = img.size
        min_conf = float(str(form.get("min_confidence", "0.4")))
        self.requests.append({"min_confidence": min_conf, "filename": upload.filename})
        predictions = [
            {
                "label": "person",
                "confidence": 0.88,
                "x_min": width // 4,
                "y_min": height // 4,
                "x_max": width * 3 // 4,
                "y_max": height,
            },
            {"label": "dog", "confidence": 0.3, "x_min": 0, "y_min": 0, "x_max": 10, "y_max": 10},
        ]
        return web.json_response(
            {
                "success": True,
                "predictions": [p for p in predictions if p["confidence"] >= min_conf],
            }
        )


@dataclass
class OpenAiServer(LocalServer):
    """OpenAI-compatible `POST /v1/chat/completions` and `GET /v1/models` with a bearer key.

    Without `vision`, a message with an `image_url` part is refused with a 400.
    """

    api_key: str = "sk-test"
    content: str = LlmServer.content
    requests: list[dict[str, Any]] = field(default_factory=list)
    vision: bool = False

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        await self._serve(app)

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def _models(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        return web.json_response({"data": [{"id": "local"}]})

    async def _chat(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        body = await request.json()
        self.requests.append(body)
        content = body["messages"][-1]["content"]
        if not self.vision and isinstance(content, list):
            if any(part.get("type") == "image_url" for part in content):
                return _error(400, "this model does not support image input")
        return web.json_response(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": self.content}}]}
        )
