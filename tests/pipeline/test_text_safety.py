"""Model-written texts lose markup and control characters before they reach HA."""

from __future__ import annotations

import pytest

from custom_components.home_security_intelligence.pipeline.nemotron_analyzer import parse_assessment
from custom_components.home_security_intelligence.pipeline.text_safety import plain_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Person at the door.", "Person at the door."),
        ("<script>alert(1)</script>Person", "Person"),
        ("<SCRIPT src=x>fetch('/api')</SCRIPT >ok", "ok"),
        ("<script>never closed", ""),
        ('a <img src=x onerror="alert(1)"> b', "a b"),
        ("<img src=x onerror=alert(1)//", "img src=x onerror=alert(1)//"),
        ("<b>bold</b> and <a href='javascript:x'>link</a>", "bold and link"),
        ("<style>body{display:none}</style>text", "text"),
        ("risk < 50 and > 10", "risk 50 and 10"),
        ("line\none\r\x00\x1b[31mred\x7f", "line one [31mred"),
        ("evil\u202etxt.exe\u200b", "evil txt.exe"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("&lt;script&gt;", "&lt;script&gt;"),
    ],
)
def test_plain_text(text: str, expected: str) -> None:
    """Tags, script blocks, stray brackets and control characters go; entities stay inert."""
    assert plain_text(text, 300) == expected


def test_plain_text_is_cut_to_the_limit() -> None:
    """The result never exceeds the limit, whatever the input."""
    assert plain_text("x" * 10_000, 300) == "x" * 300
    assert plain_text("<i>" * 10_000 + "y", 300) == ""


def test_summary_and_reasoning_reach_the_assessment_without_markup() -> None:
    """The analyzer applies it to the texts it builds the RiskAssessment from."""
    result = parse_assessment(
        '{"risk_score": 70, "summary": "<script>alert(1)</script>Man at <b>door</b>",'
        ' "reasoning": "<img src=x onerror=alert(1)>Night\\u0007"}'
    )
    assert (result.summary, result.reasoning) == ("Man at door", "Night")
