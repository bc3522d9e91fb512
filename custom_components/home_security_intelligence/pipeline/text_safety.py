"""Model-written text made safe to show anywhere: no markup, no control characters."""

from __future__ import annotations

import re
import unicodedata

_BLOCK = re.compile(r"<\s*(script|style)\b.*?(<\s*/\s*\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[/!?]?[A-Za-z][^<>]*>")
_SPACE = re.compile(r"\s+")


def plain_text(text: str, limit: int) -> str:
    """Return `text` as plain text of at most `limit` characters.

    HTML tags, script/style blocks, stray angle brackets and control or format characters
    (bidi overrides included) are removed, whitespace is collapsed.
    """
    text = _BLOCK.sub(" ", text[: limit * 4])
    text = _TAG.sub(" ", text).replace("<", " ").replace(">", " ")
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in text
    )
    return _SPACE.sub(" ", text).strip()[:limit]
