"""Final scores: the fact-based prior moved toward the LLM's score by at most a bound."""

from __future__ import annotations

from collections.abc import Iterable

from .pipeline.models import RiskAssessment
from .pipeline.nemotron_analyzer import level_for_score
from .pipeline.risk_prior import RiskPrior, bounded_score
from .store.records import RiskBreakdown

STATUS_ANALYZED = "analyzed"
STATUS_PRIOR_ONLY = "prior_only"


def prior_breakdown(prior: RiskPrior) -> RiskBreakdown:
    """Return the prior's part of a breakdown, before any LLM."""
    factors = tuple((f.name, f.contribution, f.detail) for f in prior.factors)
    return RiskBreakdown(prior.score, factors, None, 0)


def combine(
    prior: RiskBreakdown,
    assessment: RiskAssessment | None,
    objects: Iterable[str],
    bound: int,
) -> tuple[RiskAssessment, RiskBreakdown, str]:
    """Return the final assessment, its breakdown and its analysis status.

    Without an LLM answer the prior stands (`prior_only`), with a summary that says so.
    """
    if assessment is None:
        details = "; ".join(d for _, _, d in prior.factors) or "no risk factors"
        seen = ", ".join(sorted(set(objects)))
        return (
            RiskAssessment(
                prior.prior_score,
                level_for_score(prior.prior_score),
                f"{seen} seen; scored from the facts alone (LLM unavailable)",
                details,
            ),
            RiskBreakdown(prior.prior_score, prior.factors, None, 0),
            STATUS_PRIOR_ONLY,
        )
    score, adjustment = bounded_score(prior.prior_score, assessment.risk_score, bound)
    return (
        RiskAssessment(score, level_for_score(score), assessment.summary, assessment.reasoning),
        RiskBreakdown(prior.prior_score, prior.factors, assessment.risk_score, adjustment),
        STATUS_ANALYZED,
    )
