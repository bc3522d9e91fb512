"""LLM answer parsing and the /completion client against real HTTP servers."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web
import pytest

from custom_components.home_security_intelligence.pipeline.level_belief import (
    Belief,
    Habit,
    calibrate,
    measure_habit,
)
from custom_components.home_security_intelligence.pipeline.models import RiskAssessment
from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import (
    API_OPENAI,
    MAX_COMPLETION_CHARS,
    MAX_DEPTH,
    MAX_RESPONSE_BYTES,
    N_PREDICT,
    TEMPERATURE,
    TOP_ALTERNATIVES,
    AnalyzerAuthError,
    AnalyzerProtocolError,
    AnalyzerUnreachableError,
    NemotronAnalyzer,
    parse_assessment,
)
from custom_components.home_security_intelligence.pipeline.prompts import (
    RISK_SCHEMA,
    content_free_prompts,
)
from custom_components.home_security_intelligence.risk_levels import level_for_score
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from ..contract_servers import LlmServer, level_tokens, serve_404
from .conftest import ServeFactory


def _obj(score: Any, level: str = "low", **extra: Any) -> str:
    return json.dumps({"risk_score": score, "risk_level": level, **extra})


def _analyzer(hass: HomeAssistant, url: str) -> NemotronAnalyzer:
    return NemotronAnalyzer(async_get_clientsession(hass), url)


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, "low"), (29, "low"), (30, "medium"), (59, "medium"), (60, "high"), (84, "high"),
     (85, "critical"), (100, "critical")],
)  # fmt: skip
def test_level_for_score_band_edges(score: int, level: str) -> None:
    """The bands are 0-29, 30-59, 60-84, 85-100."""
    assert level_for_score(score) == level


def test_clean_json() -> None:
    """A clean answer becomes an assessment with trimmed texts."""
    text = _obj(72, "high", summary=" Person at door. ", reasoning=" Night. ")
    assert parse_assessment(text) == RiskAssessment(72, "high", "Person at door.", "Night.")


def test_json_inside_prose() -> None:
    """Prose around the object is ignored."""
    text = "Sure! Here is my answer:\n" + _obj(45, "medium", summary="s") + "\nHope it helps {"
    assert parse_assessment(text) == RiskAssessment(45, "medium", "s", "")


def test_think_block_is_skipped() -> None:
    """An object inside <think>...</think> is not the answer."""
    text = "<THINK>maybe " + _obj(5) + " or not</think>\n" + _obj(80, "high", summary="x")
    assert parse_assessment(text).risk_score == 80


def test_unclosed_think_block_hides_everything() -> None:
    """A think block that never closes leaves no answer."""
    with pytest.raises(AnalyzerProtocolError):
        parse_assessment("<think>" + _obj(50))


def test_first_valid_object_wins() -> None:
    """Invalid objects are skipped; among valid ones the first is taken."""
    text = '{"note": 1} {broken ' + _obj("high") + _obj(33, summary="one") + _obj(90)
    assert parse_assessment(text) == RiskAssessment(33, "medium", "one", "")


def test_nested_object_is_found() -> None:
    """An assessment wrapped in another object is still found."""
    assert parse_assessment('{"answer": ' + _obj(61) + "}").risk_score == 61


@pytest.mark.parametrize(
    ("score", "expected", "level"),
    [(999, 100, "critical"), (-5, 0, "low"), ("72", 72, "high"), (" 72.6 ", 73, "high"),
     (29.4, 29, "low"), (84.5, 84, "high")],
)  # fmt: skip
def test_score_clamped_and_coerced(score: Any, expected: int, level: str) -> None:
    """Scores are rounded, clamped to 0-100, numeric strings accepted; level follows."""
    result = parse_assessment(_obj(score, "low"))
    assert (result.risk_score, result.risk_level) == (expected, level)


@pytest.mark.parametrize("score", ["high", True, None, [50], "NaN", float("nan"), "inf"])
def test_unusable_score_is_invalid(score: Any) -> None:
    """A non-numeric, bool or non-finite score gives no assessment."""
    with pytest.raises(AnalyzerProtocolError, match="no valid assessment"):
        parse_assessment(_obj(score))


def test_level_always_derived_from_score() -> None:
    """The model's own level is ignored."""
    assert parse_assessment(_obj(10, "critical")).risk_level == "low"
    assert parse_assessment(_obj(95, "low")).risk_level == "critical"


def test_missing_or_bad_texts_become_empty_and_long_ones_cut() -> None:
    """Missing summary is '', non-text reasoning is '', long texts are cut."""
    assert parse_assessment('{"risk_score": 50, "reasoning": 5}') == RiskAssessment(
        50, "medium", "", ""
    )
    long = parse_assessment(_obj(50, summary="s" * 500, reasoning="r" * 900))
    assert (len(long.summary), len(long.reasoning)) == (300, 600)


@pytest.mark.parametrize("text", ["", "no json at all", "[1, 2, 3]", "{'risk_score': 50}"])
def test_no_json_is_protocol_error(text: str) -> None:
    """Text without a usable object is a protocol error quoting the text."""
    with pytest.raises(AnalyzerProtocolError, match="no valid assessment"):
        parse_assessment(text)


async def test_analyze_batch_request_and_answer(hass: HomeAssistant, llm: LlmServer) -> None:
    """analyze_batch sends the llama.cpp request and validates the answer."""
    result = await _analyzer(hass, llm.url + "/").analyze_batch("PROMPT TEXT")
    assert result == RiskAssessment(
        72,
        "high",
        "A person lingered at the front door at night.",
        "Unknown person near an entry point outside normal hours.",
    )
    sent = llm.prompts[-1]
    assert sent["prompt"] == "PROMPT TEXT"
    assert sent["temperature"] == TEMPERATURE
    assert sent["n_predict"] == N_PREDICT
    assert sent["json_schema"] == {**RISK_SCHEMA, "x-guidance": {"whitespace_flexible": False}}
    assert sent["stream"] is False


async def test_analyze_batch_invalid_content(hass: HomeAssistant, llm: LlmServer) -> None:
    """A 200 answer whose text holds no assessment is a protocol error."""
    llm.script = ["I cannot help with that."]
    with pytest.raises(AnalyzerProtocolError, match="no valid assessment"):
        await _analyzer(hass, llm.url).analyze_batch("p")


async def test_500_is_unreachable(hass: HomeAssistant, llm: LlmServer) -> None:
    """A 5xx answer means the LLM is down."""
    llm.script = ["500"]
    with pytest.raises(AnalyzerUnreachableError, match="HTTP 500"):
        await _analyzer(hass, llm.url).analyze_batch("p")


async def test_model_not_loaded_is_unreachable(hass: HomeAssistant, llm: LlmServer) -> None:
    """llama.cpp's 503 while loading is unreachable, and health is false."""
    llm.down = True
    analyzer = _analyzer(hass, llm.url)
    with pytest.raises(AnalyzerUnreachableError, match="HTTP 503"):
        await analyzer.analyze_batch("p")
    assert await analyzer.health_check() is False


async def test_404_is_protocol_error(hass: HomeAssistant, socket_enabled: None) -> None:
    """A server without /completion is the wrong API, for requests and verify."""
    server = await serve_404()
    try:
        analyzer = _analyzer(hass, str(server.make_url("")).rstrip("/"))
        with pytest.raises(AnalyzerProtocolError, match="HTTP 404"):
            await analyzer.analyze_batch("p")
        with pytest.raises(AnalyzerProtocolError, match="HTTP 404"):
            await analyzer.verify()
        assert await analyzer.health_check() is False
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"choices": []}', "no completion text"),
        (b"[1, 2]", "no completion text"),
        (b"<html>", "no completion text"),
        (b'{"content": 5}', "not text"),
        (b'{"content": null}', "not text"),
    ],
)
async def test_answer_without_content(
    hass: HomeAssistant, serve: ServeFactory, body: bytes, message: str
) -> None:
    """An answer without a text `content` is a protocol error."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, content_type="application/json")

    url = await serve({"POST /completion": handler})
    with pytest.raises(AnalyzerProtocolError, match=message):
        await _analyzer(hass, url).analyze_batch("p")


async def test_huge_answer_is_protocol_error(hass: HomeAssistant, serve: ServeFactory) -> None:
    """An answer over 1 MiB is cut off and refused."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b"x" * (MAX_RESPONSE_BYTES + 1))

    url = await serve({"POST /completion": handler})
    with pytest.raises(AnalyzerProtocolError, match="larger than"):
        await _analyzer(hass, url).analyze_batch("p")


async def test_closed_port_is_unreachable(hass: HomeAssistant, closed_port_url: str) -> None:
    """Connection refused is unreachable; health and verify agree."""
    analyzer = _analyzer(hass, closed_port_url)
    with pytest.raises(AnalyzerUnreachableError, match="unreachable"):
        await analyzer.analyze_batch("p")
    with pytest.raises(AnalyzerUnreachableError):
        await analyzer.verify()
    assert await analyzer.health_check() is False


async def test_health_check_ok(hass: HomeAssistant, llm: LlmServer) -> None:
    """The contract server is healthy."""
    assert await _analyzer(hass, llm.url).health_check() is True


async def test_verify_asks_for_one_token(hass: HomeAssistant, llm: LlmServer) -> None:
    """verify sends a one-token request and accepts any text content."""
    llm.script = ["OK"]
    await _analyzer(hass, llm.url).verify()
    sent = llm.prompts[-1]
    assert (sent["prompt"], sent["n_predict"]) == ("OK", 1)
    assert "json_schema" not in sent


async def test_verify_wrong_api(hass: HomeAssistant, serve: ServeFactory) -> None:
    """An OpenAI-style server without `content` fails verify."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"choices": [{"text": "OK"}]})

    url = await serve({"POST /completion": handler})
    with pytest.raises(AnalyzerProtocolError, match="no completion text"):
        await _analyzer(hass, url).verify()


# OpenAI-compatible servers (Ollama, llama-server, vLLM): /v1/chat/completions


class OpenAiServer:
    """Records chat requests and answers them like an OpenAI-compatible server."""

    def __init__(self, content: str | None, status: int = 200) -> None:
        self.content = content
        self.status = status
        self.requests: list[tuple[dict[str, Any], str | None]] = []

    async def chat(self, request: web.Request) -> web.Response:
        self.requests.append((await request.json(), request.headers.get("Authorization")))
        if self.status != 200:
            return web.json_response({"error": "no"}, status=self.status)
        if self.content is None:
            return web.json_response({"choices": []})
        return web.json_response({"choices": [{"message": {"content": self.content}}]})

    async def models(self, request: web.Request) -> web.Response:
        ok = request.headers.get("Authorization") == "Bearer sk-test"
        return web.json_response({"data": []}, status=200 if ok else 401)


async def _openai(serve: ServeFactory, server: OpenAiServer) -> str:
    return await serve({"POST /v1/chat/completions": server.chat, "GET /v1/models": server.models})


def _openai_analyzer(
    hass: HomeAssistant, url: str, key: str | None = "sk-test"
) -> NemotronAnalyzer:
    return NemotronAnalyzer(async_get_clientsession(hass), url, API_OPENAI, key, "qwen3")


async def test_openai_request_and_answer(hass: HomeAssistant, serve: ServeFactory) -> None:
    """Chat request with model, messages, max_tokens, JSON-schema format and bearer key."""
    server = OpenAiServer(_obj(88, "low", summary="Break-in"))
    url = await _openai(serve, server)
    result = await _openai_analyzer(hass, url).analyze_batch("PROMPT")
    assert result == RiskAssessment(88, "critical", "Break-in", "")
    body, auth = server.requests[-1]
    assert auth == "Bearer sk-test"
    assert body["model"] == "qwen3"
    assert body["messages"] == [{"role": "user", "content": "PROMPT"}]
    assert (body["max_tokens"], body["temperature"], body["stream"]) == (
        N_PREDICT,
        TEMPERATURE,
        False,
    )
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == RISK_SCHEMA


async def test_openai_without_key_sends_no_header(hass: HomeAssistant, serve: ServeFactory) -> None:
    """No key, no Authorization header; the model defaults to a placeholder name."""
    server = OpenAiServer("OK")
    url = await _openai(serve, server)
    analyzer = NemotronAnalyzer(async_get_clientsession(hass), url, API_OPENAI)
    await analyzer.verify()
    body, auth = server.requests[-1]
    assert auth is None
    assert body["max_tokens"] == 1
    assert body["model"] == "local"
    assert "response_format" not in body
    assert await analyzer.health_check() is False


@pytest.mark.parametrize("status", [401, 403])
async def test_openai_refused_key(hass: HomeAssistant, serve: ServeFactory, status: int) -> None:
    """401/403 is an authentication error (a kind of protocol error)."""
    url = await _openai(serve, OpenAiServer("x", status))
    with pytest.raises(AnalyzerAuthError, match=f"HTTP {status}"):
        await _openai_analyzer(hass, url).verify()


async def test_openai_empty_choices(hass: HomeAssistant, serve: ServeFactory) -> None:
    """An answer without choices has no completion text."""
    url = await _openai(serve, OpenAiServer(None))
    with pytest.raises(AnalyzerProtocolError, match="no completion text"):
        await _openai_analyzer(hass, url).analyze_batch("p")


async def test_openai_health_uses_model_list(hass: HomeAssistant, serve: ServeFactory) -> None:
    """Health is the model list answering 200 with the key."""
    url = await _openai(serve, OpenAiServer("x"))
    assert await _openai_analyzer(hass, url).health_check() is True
    assert await _openai_analyzer(hass, url, "wrong").health_check() is False


async def test_llamacpp_server_in_openai_mode_is_wrong_api(
    hass: HomeAssistant, llm: LlmServer
) -> None:
    """A llama.cpp-only server has no /v1/chat/completions: verify fails."""
    with pytest.raises(AnalyzerProtocolError, match=r"HTTP (404|405)"):
        await _openai_analyzer(hass, llm.url).verify()


# Token probabilities: the level's alternatives, calibrated against content-free prompts

LEANING = {"low": 0.3, "medium": 0.1, "high": 0.3, "critical": 0.3}


def _steady(mean: Belief) -> Habit:
    habit = measure_habit([mean])
    assert habit is not None
    return habit


HABIT = {"low": 0.45, "medium": 0.1, "high": 0.3, "critical": 0.15}


async def test_probabilities_give_a_calibrated_belief(hass: HomeAssistant, llm: LlmServer) -> None:
    """The level's probabilities are divided by the model's habit, measured once."""
    llm.levels, llm.bias = LEANING, HABIT
    analyzer = _analyzer(hass, llm.url)
    first = await analyzer.analyze_batch("PROMPT")
    # the three content-free answers are the same: a habit without noise
    expected = calibrate((0.3, 0.1, 0.3, 0.3), _steady((0.45, 0.1, 0.3, 0.15)))
    assert first.belief == pytest.approx(expected)
    assert first.risk_score == 72  # the sampled answer is kept as it was
    sent = [body["prompt"] for body in llm.prompts]
    assert sent[0] == "PROMPT"
    assert sent[1:] == content_free_prompts()
    assert all(body["n_probs"] == TOP_ALTERNATIVES for body in llm.prompts)
    await analyzer.analyze_batch("AGAIN")
    assert [body["prompt"] for body in llm.prompts][4:] == ["AGAIN"]  # the habit is cached


async def test_an_outage_measures_the_habit_again(hass: HomeAssistant, llm: LlmServer) -> None:
    """After the server was unreachable it may run another model: calibrate again."""
    llm.levels, llm.bias = LEANING, HABIT
    analyzer = _analyzer(hass, llm.url)
    await analyzer.analyze_batch("ONE")
    llm.down = True
    with pytest.raises(AnalyzerUnreachableError):
        await analyzer.analyze_batch("TWO")
    llm.down = False
    await analyzer.analyze_batch("THREE")
    prompts = [body["prompt"] for body in llm.prompts]
    assert prompts[5:] == ["THREE", *content_free_prompts()]


async def test_no_probabilities_anywhere_leaves_no_belief(
    hass: HomeAssistant, llm: LlmServer
) -> None:
    """Without probabilities (or none for the content-free prompts) there is no belief."""
    analyzer = _analyzer(hass, llm.url)
    assert (await analyzer.analyze_batch("p")).belief is None
    assert len(llm.prompts) == 1  # no calibration asked for
    llm.levels = LEANING  # the answer has them, the content-free prompts do not
    assert (await analyzer.analyze_batch("p")).belief is None
    assert len(llm.prompts) == 5


@pytest.mark.parametrize(
    "probabilities",
    [
        {"not": "a list"},
        [{"token": 5}],
        [{"token": '{"risk_level":"', "top_logprobs": "nope"}, {"token": "low"}],
        ["junk"],
    ],
)
async def test_malformed_probabilities_are_ignored(
    hass: HomeAssistant, serve: ServeFactory, probabilities: Any
) -> None:
    """Odd probability fields never fail an answer; they only leave no belief."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        answer = {"content": _obj(40, "medium"), "completion_probabilities": probabilities}
        return web.json_response(answer)

    url = await serve({"POST /completion": handler})
    result = await _analyzer(hass, url).analyze_batch("p")
    assert (result.risk_score, result.belief) == (40, None)


async def test_openai_logprobs_give_a_belief(hass: HomeAssistant, serve: ServeFactory) -> None:
    """OpenAI-style `logprobs.content` is read like llama.cpp's probabilities."""
    content = json.dumps({"risk_level": "high", "risk_score": 70, "summary": "s"})
    requests: list[dict[str, Any]] = []

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        requests.append(body)
        habit = body["messages"][0]["content"] in content_free_prompts()
        tokens = level_tokens(content, HABIT if habit else LEANING)
        choice = {"message": {"content": content}, "logprobs": {"content": tokens}}
        return web.json_response({"choices": [choice]})

    url = await serve({"POST /v1/chat/completions": chat})
    result = await _openai_analyzer(hass, url).analyze_batch("PROMPT")
    assert result.belief == pytest.approx(
        calibrate((0.3, 0.1, 0.3, 0.3), _steady((0.45, 0.1, 0.3, 0.15)))
    )
    assert requests[0]["logprobs"] is True
    assert requests[0]["top_logprobs"] == TOP_ALTERNATIVES
    assert len(requests) == 4


def test_deeply_nested_completion_is_a_protocol_error() -> None:
    """100,000 nested levels in the completion text: no RecursionError, no assessment."""
    with pytest.raises(AnalyzerProtocolError, match="no valid assessment"):
        parse_assessment("[" * 50_000 + "{" * 100_000 + _obj(50) + "}" * 100_000)


def test_parsing_cost_is_linear() -> None:
    """A megabyte of `{`, or of unfinished keys, is refused at once, not per brace."""
    started = time.monotonic()
    for text in ("{" * MAX_RESPONSE_BYTES, '{"a":' * 200_000, '{"' * 500_000):
        with pytest.raises(AnalyzerProtocolError):
            parse_assessment(text)
    assert time.monotonic() - started < 2


def test_answer_after_the_completion_cap_is_not_read() -> None:
    """Only the first MAX_COMPLETION_CHARS of the text are looked at."""
    assert parse_assessment(_obj(40) + " " * MAX_COMPLETION_CHARS).risk_score == 40
    with pytest.raises(AnalyzerProtocolError):
        parse_assessment(" " * MAX_COMPLETION_CHARS + _obj(40))


def test_objects_with_braces_in_strings_and_shallow_wrappers_are_found() -> None:
    """Braces inside JSON strings do not confuse the scan; shallow nesting is looked into."""
    text = '{"summary": "a } and a {", "risk_score": 12}'
    assert parse_assessment(text).summary == "a } and a {"
    wrapped = '{"a": ' * (MAX_DEPTH - 1) + _obj(66) + "}" * (MAX_DEPTH - 1)
    assert parse_assessment(wrapped).risk_score == 66


async def test_deeply_nested_http_body_is_a_protocol_error(
    hass: HomeAssistant, serve: ServeFactory
) -> None:
    """A body nested 100,000 levels deep is a protocol error, not a RecursionError."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(
            body=b'{"content": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            content_type="application/json",
        )

    url = await serve({"POST /completion": handler})
    with pytest.raises(AnalyzerProtocolError, match="nested too deeply"):
        await _analyzer(hass, url).analyze_batch("p")


async def test_mostly_braces_answer_never_stalls_the_loop(
    hass: HomeAssistant, serve: ServeFactory
) -> None:
    """An answer just under 1 MiB of `{` is parsed without the loop stalling 100 ms."""
    content = "{" * (MAX_RESPONSE_BYTES - 64)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"content": content})

    url = await serve({"POST /completion": handler})
    lags: list[float] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def ticker() -> None:
        last = loop.time()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = loop.time()
            lags.append(now - last - 0.005)
            last = now

    tick = asyncio.create_task(ticker())
    try:
        with pytest.raises(AnalyzerProtocolError, match="no valid assessment"):
            await _analyzer(hass, url).analyze_batch("p")
    finally:
        done.set()
        await tick
    assert lags
    assert max(lags) < 0.1, max(lags)
