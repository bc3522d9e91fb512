"""Property tests (Hypothesis): hostile bytes, names, sizes and answers never break a contract.

Example counts stay modest (the machine is shared); raise them locally with
`--hypothesis-seed` / HYPOTHESIS profiles when hunting.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import tempfile
import time

from hypothesis import HealthCheck, assume, given, settings, strategies as st
import pytest

from custom_components.home_security_intelligence.llm_text_checks import check_llm_text
from custom_components.home_security_intelligence.pipeline import image_loader
from custom_components.home_security_intelligence.pipeline.image_loader import (
    InvalidImageError,
    LoadedImage,
    load_image,
)
from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import (
    AnalyzerProtocolError,
    parse_assessment,
)
from custom_components.home_security_intelligence.pipeline.prompts import (
    MAX_FIELD,
    MAX_LINES,
    build_prompt,
)
from custom_components.home_security_intelligence.views import MAX_ID, parse_detection_id

from ..conftest import make_jpeg

MODEST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
JPEG = make_jpeg(64, 48)
names = st.text(
    st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1, max_size=60
).filter(lambda n: n not in (".", "..") and len(n.encode()) <= 200)


@pytest.fixture(scope="module")
def camera_root() -> Iterator[Path]:
    """A camera root with one camera folder, shared by the examples."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "front").mkdir()
        yield Path(tmp)


@MODEST
@given(
    name=names,
    data=st.one_of(
        st.binary(max_size=4096),
        st.integers(0, len(JPEG)).map(lambda n: JPEG[:n]),
        st.tuples(st.integers(0, len(JPEG) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda t: JPEG[: t[0]] + t[1] + JPEG[t[0] + len(t[1]) :]
        ),
    ),
    cap=st.sampled_from([16, 1024, 1 << 20]),
)
def test_image_loader_only_ever_raises_invalid_image(
    camera_root: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, cap: int
) -> None:
    """Any name, bytes and cap: a LoadedImage within the cap, or InvalidImageError."""
    monkeypatch.setattr(image_loader, "MAX_IMAGE_BYTES", cap)
    path = camera_root / "front" / name
    path.write_bytes(data)
    try:
        result = load_image(path, camera_root)
    except InvalidImageError:
        return
    finally:
        path.unlink()
    assert isinstance(result, LoadedImage)
    assert 0 < len(result.data) <= cap


json_like = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["risk_score", "summary", "reasoning", "risk_level", "x"]),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)
answers = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet='{}[]":,\\ risk_core0123456789<>think/', max_size=3000),
    st.tuples(st.text(max_size=50), json_like, st.text(max_size=50)).map(
        lambda t: t[0] + json.dumps(t[1]) + t[2]
    ),
    st.integers(1, 200_000).map(lambda n: "{" * n),
)


@MODEST
@given(text=answers)
def test_answer_parser_gives_an_assessment_or_a_protocol_error(text: str) -> None:
    """Any text: a valid assessment or AnalyzerProtocolError, quickly."""
    started = time.monotonic()
    try:
        result = parse_assessment(text)
    except AnalyzerProtocolError:
        pass
    else:
        assert 0 <= result.risk_score <= 100
        assert len(result.summary) <= 300
        assert len(result.reasoning) <= 600
        assert "<" not in result.summary + result.reasoning
    assert time.monotonic() - started < 1


def _data_block(prompt: str) -> str:
    return prompt.split("\nDATA\n", 1)[1].split("\nEND DATA\n", 1)[0]


@MODEST
@given(
    camera=st.text(max_size=200),
    classes=st.lists(st.text(max_size=200), max_size=60),
)
def test_prompt_keeps_any_name_inside_the_quoted_data_block(
    camera: str, classes: list[str]
) -> None:
    """Names stay one quoted JSON string on their own line, cut to MAX_FIELD; size bounded."""
    lines = [("02:15:02", name, 0.5) for name in classes]
    prompt = build_prompt(camera, "02:15:02", "02:16:32", lines)
    assert prompt.count("\nDATA\n") == 1
    assert prompt.count("\nEND DATA\n") == 1
    block = _data_block(prompt).splitlines()
    assert json.loads(block[0].removeprefix("camera: ")) == camera[:MAX_FIELD]
    shown = [line for line in block if line.startswith("- 02:15:02 ")]
    assert len(shown) == min(len(classes), MAX_LINES)
    for line, name in zip(shown, classes, strict=False):
        quoted = line.removeprefix("- 02:15:02 ").removesuffix(" confidence 0.50")
        assert json.loads(quoted) == name[:MAX_FIELD]
    assert len(prompt) < 40_000


@MODEST
@given(text=st.one_of(st.text(max_size=40), st.integers(-(2**70), 2**70).map(str)))
def test_view_id_parser_accepts_only_ascii_ids_in_sqlite_range(text: str) -> None:
    """An id is 1-19 ASCII digits in 1..2**63-1; anything else is no id (404)."""
    result = parse_detection_id(text)
    if result is None:
        assume(True)
        return
    assert text.isascii()
    assert text.isdigit()
    assert len(text) <= 19
    assert 1 <= result <= MAX_ID
    assert result == int(text)


WORDS = [
    "a",
    "the",
    "3",
    "two",
    "12",
    "99",
    "person",
    "people",
    "dog",
    "car",
    "at",
    "for",
    "minutes",
    "risk",
    "high",
    "score",
    ".",
    "02:15",
    "no",
]


@MODEST
@given(
    text=st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join),
    ),
    counts=st.dictionaries(
        st.sampled_from(["person", "dog", "car", "umbrella"]), st.integers(0, 5)
    ),
    level=st.sampled_from(["low", "medium", "high", "critical"]),
)
def test_any_llm_text_gets_a_verdict(text: str, counts: dict[str, int], level: str) -> None:
    """Whatever an LLM writes, the checks answer with reasons, never an exception."""
    verdict = check_llm_text(text, list(counts), level, counts)
    assert verdict.accepted is (not verdict.reasons)
