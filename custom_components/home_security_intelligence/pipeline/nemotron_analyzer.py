"""Client for the LLM: llama.cpp `POST {url}/completion`, answer validated into a RiskAssessment."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import aiohttp

from .http_body import BodyTooLargeError, read_limited
from .models import RiskAssessment
from .prompts import RISK_SCHEMA

COMPLETION_TIMEOUT = aiohttp.ClientTimeout(total=120)
PROBE_TIMEOUT = aiohttp.ClientTimeout(total=30)
MAX_RESPONSE_BYTES = 1024 * 1024
N_PREDICT = 320
TEMPERATURE = 0.1
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_DECODER = json.JSONDecoder()


class AnalyzerError(Exception):
    """The LLM could not be reached or gave no usable assessment."""


class AnalyzerUnreachableError(AnalyzerError):
    """No HTTP answer, a timeout, or a 5xx."""


class AnalyzerProtocolError(AnalyzerError):
    """The server answered, but not with the completion contract or a valid assessment."""


def level_for_score(score: int) -> str:
    """Map a 0-100 score to its band: 0-29 low, 30-59 medium, 60-84 high, 85-100 critical."""
    if score >= 85:
        return "critical"
    if score >= 60:
        return "high"
    if score >= 30:
        return "medium"
    return "low"


class NemotronAnalyzer:
    """Asks the LLM for a risk assessment over one long-lived session."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        """Use `session` (HA's shared one) for every call to `url`."""
        self._session = session
        self.url = url.rstrip("/")

    async def analyze_batch(self, prompt: str) -> RiskAssessment:
        """Return the validated assessment for a filled prompt; raise AnalyzerError otherwise."""
        body = await self._complete(
            {
                "prompt": prompt,
                "temperature": TEMPERATURE,
                "n_predict": N_PREDICT,
                "json_schema": RISK_SCHEMA,
                "stream": False,
            },
            COMPLETION_TIMEOUT,
        )
        return parse_assessment(body)

    async def _complete(self, request: dict[str, Any], limit: aiohttp.ClientTimeout) -> str:
        try:
            async with self._session.post(
                f"{self.url}/completion", json=request, timeout=limit
            ) as resp:
                if resp.status >= 500:
                    raise AnalyzerUnreachableError(f"LLM answered HTTP {resp.status}")
                if resp.status != 200:
                    raise AnalyzerProtocolError(f"LLM answered HTTP {resp.status}")
                raw = await read_limited(resp, MAX_RESPONSE_BYTES)
        except BodyTooLargeError as err:
            raise AnalyzerProtocolError(str(err)) from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AnalyzerUnreachableError(f"LLM unreachable: {err or type(err).__name__}") from err
        try:
            content = json.loads(raw)["content"]
        except (ValueError, KeyError, TypeError) as err:
            raise AnalyzerProtocolError("LLM answer has no `content`") from err
        if not isinstance(content, str):
            raise AnalyzerProtocolError("LLM `content` is not text")
        return content

    async def health_check(self) -> bool:
        """Return True when `/health` answers 200."""
        try:
            async with self._session.get(f"{self.url}/health", timeout=PROBE_TIMEOUT) as resp:
                return resp.status == 200
        except aiohttp.ClientError, TimeoutError:
            return False

    async def verify(self) -> None:
        """Ask for one token to check the completion contract (config flow)."""
        await self._complete({"prompt": "OK", "n_predict": 1}, PROBE_TIMEOUT)


def parse_assessment(text: str) -> RiskAssessment:
    """Find the first JSON object with a usable `risk_score` in the model's text.

    The score is clamped to 0-100 and the level always follows from it.
    """
    text = _THINK.sub("", text)
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(obj, dict) and (assessment := _from_object(obj)) is not None:
            return assessment
    raise AnalyzerProtocolError(f"no valid assessment in LLM answer: {text[:120]!r}")


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
        summary=summary.strip()[:300] if isinstance(summary, str) else "",
        reasoning=reasoning.strip()[:600] if isinstance(reasoning, str) else "",
    )
