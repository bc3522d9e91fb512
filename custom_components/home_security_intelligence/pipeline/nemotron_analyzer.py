"""Client for the LLM: llama.cpp `POST {url}/completion`, answer validated into a RiskAssessment."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import json
import math
import re
from typing import Any

import aiohttp

from ..risk_levels import level_for_score
from .http_body import BodyTooLargeError, read_limited
from .level_belief import (
    Habit,
    TokenAlternatives,
    calibrate,
    measure_habit,
    read_level_probabilities,
)
from .llm_request import (  # the request constants stay importable from here
    API_LLAMACPP as API_LLAMACPP,  # noqa: PLC0414
    API_OPENAI as API_OPENAI,  # noqa: PLC0414
    DEFAULT_MEDIA_MARKER,
    LLM_APIS as LLM_APIS,  # noqa: PLC0414
    TEMPERATURE as TEMPERATURE,  # noqa: PLC0414
    TOP_ALTERNATIVES as TOP_ALTERNATIVES,  # noqa: PLC0414
    build_request,
    read_props,
    refuses_image,
)
from .models import RiskAssessment
from .prompts import RISK_SCHEMA, content_free_prompts
from .text_safety import plain_text

COMPLETION_TIMEOUT = aiohttp.ClientTimeout(total=120)
PROBE_TIMEOUT = aiohttp.ClientTimeout(total=30)
MAX_RESPONSE_BYTES = 1024 * 1024
N_PREDICT = 320
N_PREDICT_HABIT = 12  # enough to reach the level in a content-free answer
MAX_ERROR_BYTES = 64 * 1024
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
MAX_COMPLETION_CHARS = 16 * 1024  # an answer is N_PREDICT tokens; more is not an answer
MAX_DEPTH = 16  # deepest object nesting the parser looks into
OFF_LOOP_BYTES = 64 * 1024  # larger HTTP bodies are decoded in the executor
OFF_LOOP_CHARS = 2048  # longer completion texts are parsed in the executor


class AnalyzerError(Exception):
    """The LLM could not be reached or gave no usable assessment."""


class AnalyzerUnreachableError(AnalyzerError):
    """No HTTP answer, a timeout, or a 5xx."""


class AnalyzerProtocolError(AnalyzerError):
    """The server answered, but not with the completion contract or a valid assessment."""


class AnalyzerAuthError(AnalyzerProtocolError):
    """The server refused the API key (401 or 403)."""


class ImageRefusedError(AnalyzerProtocolError):
    """The server refused a request because it carried a picture."""


class NemotronAnalyzer:
    """Asks the LLM for a risk assessment over one long-lived session.

    `api` is `llamacpp` (native `POST /completion` with `json_schema`) or `openai`
    (`POST /v1/chat/completions` with a JSON-schema `response_format`: Ollama,
    llama-server, vLLM, LocalAI), with an optional bearer `api_key` and `model`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        api: str = API_LLAMACPP,
        api_key: str | None = None,
        model: str | None = None,
    ) -> None:
        """Use `session` (HA's shared one) for every call to `url`."""
        self._session = session
        self.url = url.rstrip("/")
        self.api = api
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._model = model or "local"
        self._habit: Habit | None = None
        self._images: bool | None = None  # False once the server refused a picture
        self._marker = DEFAULT_MEDIA_MARKER

    @property
    def habit(self) -> Habit | None:
        """The model's measured habit; None before the first answer with probabilities."""
        return self._habit

    async def analyze_batch(self, prompt: str, image: bytes | None = None) -> RiskAssessment:
        """Return the validated assessment for a filled prompt; raise AnalyzerError otherwise.

        `image` (JPEG bytes, the batch's key frame) goes with the prompt unless the server
        refused pictures before; a refusal is remembered and the prompt sent alone.
        When the server gives token probabilities, the assessment carries the model's
        calibrated belief over the levels (its habit is measured once per server run).
        """
        try:
            body, tokens = await self._complete_with(prompt, image)
            assessment = await _off_loop_if(len(body) > OFF_LOOP_CHARS, parse_assessment, body)
            probabilities = read_level_probabilities(tokens)
            if probabilities is None:
                return assessment
            habit = self._habit or await self._measure_habit()
        except AnalyzerUnreachableError:
            # The server may come back with another model (or projector).
            self._habit = self._images = None
            raise
        if habit is None:
            return assessment
        return replace(assessment, belief=calibrate(probabilities, habit))

    async def _measure_habit(self) -> Habit | None:
        """Ask the content-free prompts; keep the model's habit (mean and noise per level)."""
        samples = []
        for prompt in content_free_prompts():
            _, tokens = await self._complete(
                prompt, N_PREDICT_HABIT, COMPLETION_TIMEOUT, RISK_SCHEMA
            )
            if (probabilities := read_level_probabilities(tokens)) is not None:
                samples.append(probabilities)
        self._habit = measure_habit(samples)
        return self._habit

    async def _complete_with(
        self, prompt: str, image: bytes | None
    ) -> tuple[str, TokenAlternatives]:
        """Ask with the picture while the server takes pictures, else with the prompt alone."""
        if image is not None and await self._takes_images():
            try:
                return await self._complete(
                    prompt, N_PREDICT, COMPLETION_TIMEOUT, RISK_SCHEMA, image
                )
            except ImageRefusedError:
                self._images = False
        return await self._complete(prompt, N_PREDICT, COMPLETION_TIMEOUT, RISK_SCHEMA)

    async def _takes_images(self) -> bool:
        """Say whether to send pictures: not once refused; llama.cpp's `/props` may tell at once."""
        if self._images is None and self.api == API_LLAMACPP:
            vision, self._marker = read_props(await self._get_json("/props"))
            self._images = vision
        return self._images is not False

    async def _get_json(self, path: str) -> object:
        """GET a JSON document; None when the server has none there."""
        try:
            async with self._session.get(
                f"{self.url}{path}", headers=self._headers, timeout=PROBE_TIMEOUT
            ) as resp:
                if resp.status != 200:
                    return None
                return json.loads(await read_limited(resp, MAX_ERROR_BYTES))
        except (aiohttp.ClientError, TimeoutError, BodyTooLargeError, ValueError):
            return None

    async def accepts_images(self, image: bytes) -> bool:
        """Whether the server answers a request carrying `image`, a tiny JPEG (config flow).

        Any failure counts as no.
        """
        if not await self._takes_images():
            return False
        try:
            await self._complete("OK", 1, PROBE_TIMEOUT, None, image)
        except AnalyzerError:
            return False
        return True

    async def _complete(
        self,
        prompt: str,
        tokens: int,
        limit: aiohttp.ClientTimeout,
        schema: dict[str, Any] | None = None,
        image: bytes | None = None,
    ) -> tuple[str, TokenAlternatives]:
        """Return the completion text and, when the server sent them, its token alternatives."""
        path, request = build_request(
            self.api, prompt, tokens, schema, self._model, image, self._marker
        )
        try:
            async with self._session.post(
                f"{self.url}{path}", json=request, headers=self._headers, timeout=limit
            ) as resp:
                if image is not None and resp.status >= 400:
                    detail = await read_limited(resp, MAX_ERROR_BYTES)
                    if refuses_image(resp.status, detail.decode(errors="replace")):
                        raise ImageRefusedError(f"LLM refused the picture (HTTP {resp.status})")
                if resp.status >= 500:
                    raise AnalyzerUnreachableError(f"LLM answered HTTP {resp.status}")
                if resp.status in (401, 403):
                    raise AnalyzerAuthError(f"LLM refused the API key (HTTP {resp.status})")
                if resp.status != 200:
                    raise AnalyzerProtocolError(f"LLM answered HTTP {resp.status}")
                raw = await read_limited(resp, MAX_RESPONSE_BYTES)
        except BodyTooLargeError as err:
            raise AnalyzerProtocolError(str(err)) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AnalyzerUnreachableError(f"LLM unreachable: {err or type(err).__name__}") from err
        return await _off_loop_if(len(raw) > OFF_LOOP_BYTES, self._read_answer, raw)

    def _read_answer(self, raw: bytes) -> tuple[str, TokenAlternatives]:
        """Decode the body into the completion text and its token alternatives."""
        try:
            data = json.loads(raw)
            if self.api == API_OPENAI:
                choice = data["choices"][0]
                content = choice["message"]["content"]
                probabilities = (choice.get("logprobs") or {}).get("content")
            else:
                content = data["content"]
                probabilities = data.get("completion_probabilities")
        except RecursionError as err:
            raise AnalyzerProtocolError("LLM answer is nested too deeply") from err
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
            raise AnalyzerProtocolError("LLM answer has no completion text") from err
        if not isinstance(content, str):
            raise AnalyzerProtocolError("LLM completion is not text")
        return content, _alternatives(probabilities)

    async def health_check(self) -> bool:
        """Return True when the server answers its health (llama.cpp) or model list (OpenAI)."""
        path = "/v1/models" if self.api == API_OPENAI else "/health"
        try:
            async with self._session.get(
                f"{self.url}{path}", headers=self._headers, timeout=PROBE_TIMEOUT
            ) as resp:
                return resp.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def verify(self) -> None:
        """Ask for one token to check the API (config flow)."""
        await self._complete("OK", 1, PROBE_TIMEOUT)


async def _off_loop_if[T, R](large: bool, func: Callable[[T], R], arg: T) -> R:
    """Run `func(arg)` here, or in the executor when the input is large."""
    if not large:
        return func(arg)
    return await asyncio.get_running_loop().run_in_executor(None, func, arg)


def _alternatives(probabilities: object) -> TokenAlternatives:
    """Read llama.cpp's `completion_probabilities` or OpenAI's `logprobs.content`.

    Both are lists of {token, logprob, top_logprobs: [{token, logprob}]}; anything
    malformed yields no alternatives (the answer then counts without probabilities).
    """
    if not isinstance(probabilities, list):
        return []
    tokens: list[tuple[str, list[tuple[str, float]]]] = []
    for entry in probabilities:
        if not isinstance(entry, dict) or not isinstance(token := entry.get("token"), str):
            return []
        top = entry.get("top_logprobs")
        tokens.append(
            (
                token,
                [
                    (alt["token"], float(alt["logprob"]))
                    for alt in (top if isinstance(top, list) else [])
                    if isinstance(alt, dict)
                    and isinstance(alt.get("token"), str)
                    and isinstance(alt.get("logprob"), (int, float))
                ],
            )
        )
    return tokens


def parse_assessment(text: str) -> RiskAssessment:
    """Find the first JSON object with a usable `risk_score` in the model's text.

    Only the first MAX_COMPLETION_CHARS are read. One pass finds the balanced objects
    (nesting at most MAX_DEPTH deep, so decoding them costs at most MAX_DEPTH times the
    text); they are decoded in the order they start. The score is clamped to 0-100, the
    level always follows from it, and the texts are stripped of markup.
    """
    text = _THINK.sub("", text[:MAX_COMPLETION_CHARS])
    for start, end in _objects(text):
        try:
            obj = json.loads(text[start:end])
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict) and (assessment := _from_object(obj)) is not None:
            return assessment
    raise AnalyzerProtocolError(f"no valid assessment in LLM answer: {text[:120]!r}")


def _objects(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) of every balanced `{...}` nested at most MAX_DEPTH deep.

    Outside any object quotes are prose; inside, JSON strings (with escapes) are skipped.
    An object holding something deeper than MAX_DEPTH is not a candidate.
    """
    found: list[tuple[int, int]] = []
    stack: list[list[int]] = []  # [start, spoiled] of the open objects
    too_deep = 0  # open braces beyond MAX_DEPTH
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"' and stack:
            in_string = True
        elif ch == "{":
            if len(stack) < MAX_DEPTH:
                stack.append([i, 0])
            else:
                too_deep += 1
                stack[-1][1] = 1
        elif ch == "}" and stack:
            if too_deep:
                too_deep -= 1
                continue
            start, spoiled = stack.pop()
            if not spoiled:
                found.append((start, i + 1))
            elif stack:
                stack[-1][1] = 1
    found.sort()
    return found


def _from_object(obj: dict[str, Any]) -> RiskAssessment | None:
    raw = obj.get("risk_score")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    score = max(0, min(100, round(raw)))
    summary, reasoning = obj.get("summary"), obj.get("reasoning")
    return RiskAssessment(
        risk_score=score,
        risk_level=level_for_score(score),
        summary=plain_text(summary, 300) if isinstance(summary, str) else "",
        reasoning=plain_text(reasoning, 600) if isinstance(reasoning, str) else "",
    )
