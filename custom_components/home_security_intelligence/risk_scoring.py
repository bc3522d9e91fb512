"""Final scores: the fact-based prior moved by the LLM's evidence, at most a bound."""

from __future__ import annotations

from .pipeline.level_belief import adjustment, toward_score
from .pipeline.models import RiskAssessment
from .pipeline.risk_prior import RiskPrior
from .risk_levels import level_for_score
from .store.records import AnalysisStatus, RiskBreakdown


def prior_breakdown(prior: RiskPrior) -> RiskBreakdown:
    """Return the prior's part of a breakdown, before any LLM."""
    factors = tuple((f.name, f.contribution, f.detail) for f in prior.factors)
    return RiskBreakdown(prior.score, factors, None, 0, None)


def combine(
    prior: RiskBreakdown,
    assessment: RiskAssessment | None,
    bound: int,
) -> tuple[RiskAssessment, RiskBreakdown, str]:
    """Return the final assessment, its breakdown and its analysis status.

    Without an LLM answer the prior stands (`prior_only`), with no summary: the facts'
    text is the event's (alert_text). The LLM's calibrated belief over the levels moves
    the prior (see level_belief); an answer without token probabilities moves it toward
    the LLM's own score. The summary is the LLM's, before its checks.
    """
    if assessment is None:
        details = "; ".join(d for _, _, d in prior.factors) or "no risk factors"
        return (
            RiskAssessment(prior.prior_score, level_for_score(prior.prior_score), "", details),
            RiskBreakdown(prior.prior_score, prior.factors, None, 0, None),
            AnalysisStatus.PRIOR_ONLY,
        )
    if assessment.belief is None:
        step = toward_score(prior.prior_score, assessment.risk_score, bound)
    else:
        step = adjustment(prior.prior_score, assessment.belief, bound)
    score = prior.prior_score + step
    return (
        RiskAssessment(score, level_for_score(score), assessment.summary, assessment.reasoning),
        RiskBreakdown(
            prior.prior_score, prior.factors, assessment.risk_score, step, assessment.belief
        ),
        AnalysisStatus.ANALYZED,
    )
