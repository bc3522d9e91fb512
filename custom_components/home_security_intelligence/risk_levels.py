"""The risk bands, in one place: 0-29 low, 30-59 medium, 60-84 high, 85-100 critical."""

from __future__ import annotations

from enum import StrEnum


class RiskLevel(StrEnum):
    """A risk band, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


MIN_SCORE: dict[RiskLevel, int] = {
    RiskLevel.LOW: 0,
    RiskLevel.MEDIUM: 30,
    RiskLevel.HIGH: 60,
    RiskLevel.CRITICAL: 85,
}
BANDS_TEXT = ", ".join(
    f"{MIN_SCORE[level]}-{(MIN_SCORE[nxt] - 1) if nxt else 100} {level}"
    for level, nxt in zip(RiskLevel, [*list(RiskLevel)[1:], None], strict=True)
)


def level_for_score(score: int) -> RiskLevel:
    """Map a 0-100 score to its band."""
    for level in reversed(RiskLevel):
        if score >= MIN_SCORE[level]:
            return level
    return RiskLevel.LOW
