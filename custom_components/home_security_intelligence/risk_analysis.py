"""Scoring a batch: facts from HA and the camera's history, the prior, the LLM's answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .alert_text import EventText, async_event_text
from .const import CONF_LLM_BOUND, CONF_SEND_SNAPSHOTS
from .llm_backend import Analyzer
from .pipeline.image_loader import load_image
from .pipeline.key_frame import pick_key_frame
from .pipeline.models import RiskAssessment
from .pipeline.nemotron_analyzer import AnalyzerAuthError, AnalyzerError
from .pipeline.prompts import build_prompt
from .pipeline.risk_prior import RiskFacts, compute_prior, unusualness
from .risk_context import BASELINE_DAYS, build_facts, hourly_counts
from .risk_feedback import HORIZON, MAX_VERDICTS, feedback, lead_group, with_feedback
from .risk_levels import level_for_score
from .risk_scoring import prior_breakdown
from .service_health import ServiceHealth
from .store.database import Database
from .store.records import DetectionRecord, RiskBreakdown

type Runner = Callable[..., Awaitable[Any]]


class RiskAnalyst:
    """Builds a batch's prior, asks the LLM about it (with retries), and words its alert."""

    def __init__(
        self,
        hass: HomeAssistant,
        option: Callable[[str], Any],
        run: Runner,
        root: Path,
        db: Database,
        analyzer: Analyzer,
        health: ServiceHealth,
        camera_name: Callable[[str], str],
        on_llm_latency: Callable[[float], None],
    ) -> None:
        """Use `run` for blocking reads (uploads under `root`); report LLM health and latency."""
        self._hass = hass
        self._option = option
        self._run = run
        self._root = root
        self._db = db
        self._analyzer = analyzer
        self._health = health
        self._camera_name = camera_name
        self._on_llm_latency = on_llm_latency

    async def prior(
        self, camera_id: str, records: list[DetectionRecord]
    ) -> tuple[RiskBreakdown, RiskFacts]:
        """Score the facts (detections, time, role, rarity, household) and past verdicts."""
        started = records[0].detected_at
        times = await self._run(
            self._db.detection_times,
            camera_id,
            started - timedelta(days=BASELINE_DAYS),
            started - timedelta(hours=1),
        )
        unusual = unusualness(hourly_counts(times), dt_util.as_local(started).hour)
        facts = build_facts(self._hass, self._option, camera_id, records, unusual)
        verdicts = await self._run(
            self._db.verdicts, camera_id, started - HORIZON, started, MAX_VERDICTS
        )
        group = lead_group(r.object_type for r in records)
        return (
            with_feedback(
                prior_breakdown(compute_prior(facts)), feedback(verdicts, group, started)
            ),
            facts,
        )

    async def assess(
        self,
        camera_id: str,
        records: list[DetectionRecord],
        prior: RiskBreakdown,
        delays: tuple[float, ...],
    ) -> RiskAssessment | None:
        """Ask the LLM, retrying after each delay; None when it never gave a valid answer.

        With `send_snapshots` on, every attempt carries the batch's key frame.
        """
        prompt = self._prompt(camera_id, records, prior)
        image = await self._key_frame(records) if self._option(CONF_SEND_SNAPSHOTS) else None
        for delay in delays:
            if (assessment := await self._ask(prompt, image)) is not None:
                return assessment
            await asyncio.sleep(delay)
        return await self._ask(prompt, image)

    async def event_text(
        self,
        camera_id: str,
        records: list[DetectionRecord],
        facts: RiskFacts,
        llm_summary: str | None,
        final_level: str,
    ) -> EventText:
        """Word the alert from the facts; the LLM's summary replaces theirs if it passes."""
        return await async_event_text(
            self._hass,
            facts,
            self._camera_name(camera_id),
            dt_util.as_local(records[0].detected_at),
            llm_summary,
            final_level,
        )

    async def _key_frame(self, records: list[DetectionRecord]) -> bytes | None:
        """Return the batch's key frame from the original uploads (bounded reads), or None."""
        root = self._root

        def read(path: str) -> bytes:
            return load_image(Path(path), root).data

        frame: bytes | None = await self._run(pick_key_frame, records, read)
        return frame

    async def _ask(self, prompt: str, image: bytes | None) -> RiskAssessment | None:
        """One LLM call; its outcome is recorded in the service health and the hub."""
        started = time.monotonic()
        try:
            assessment = await self._analyzer.analyze_batch(prompt, image)
        except AnalyzerAuthError as err:
            self._health.refused("llm", str(err))
            return None
        except AnalyzerError as err:
            self._health.set("llm", False, str(err))
            return None
        self._health.set("llm", True)
        self._on_llm_latency(round(time.monotonic() - started, 2))
        return assessment

    def _prompt(
        self,
        camera_id: str,
        records: list[DetectionRecord],
        prior: RiskBreakdown,
    ) -> str:
        local = [dt_util.as_local(r.detected_at) for r in records]
        score, details = prior.prior_score, [d for _, _, d in prior.factors]
        return build_prompt(
            self._camera_name(camera_id),
            local[0].strftime("%Y-%m-%d %H:%M:%S %Z"),
            local[-1].strftime("%Y-%m-%d %H:%M:%S %Z"),
            [
                (when.strftime("%H:%M:%S"), r.object_type, r.confidence)
                for when, r in zip(local, records, strict=True)
            ],
            (score, level_for_score(score), details),
            int(self._option(CONF_LLM_BOUND)),
        )
