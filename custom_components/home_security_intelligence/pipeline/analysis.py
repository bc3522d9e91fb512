"""Analysis: a closed batch gets its prior and the LLM's bounded move, and becomes an event."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
import logging

from homeassistant.util import dt as dt_util

from ..alert_text import EventText
from ..const import CONF_LLM_BOUND
from ..risk_analysis import RiskAnalyst
from ..risk_scoring import combine
from ..store.database import Database
from ..store.records import DetectionRecord, EventRecord, RiskBreakdown
from .models import ClosedBatch, RiskAssessment
from .risk_prior import RiskFacts
from .runtime import Runtime
from .work_queue import WorkQueue

_LOGGER = logging.getLogger(__name__)

LLM_RETRY_DELAYS: tuple[float, ...] = (5.0, 15.0, 30.0)
REANALYZE_BATCH = 20


class AnalysisStage:
    """One worker turns closed batches into stored events and hands them to `on_event`."""

    def __init__(
        self,
        runtime: Runtime,
        db: Database,
        queue: WorkQueue,
        analyst: RiskAnalyst,
        on_event: Callable[[EventRecord], None],
        snoozed: Callable[[str], bool],
    ) -> None:
        """Score batches with `analyst`; store the events in `db`, marked while `snoozed`."""
        self._runtime = runtime
        self._db = db
        self._queue = queue
        self._analyst = analyst
        self._on_event = on_event
        self._snoozed = snoozed
        self._ready = asyncio.Event()
        self.analysing: set[str] = set()
        """Ids of batches being analysed now (recovery must not queue them again)."""

    def wake(self) -> None:
        """Look for closed batches now."""
        self._ready.set()

    def start(self) -> None:
        """Start the analysis worker."""
        self._runtime.start(self._worker(), "analysis worker")

    async def _worker(self) -> None:
        store = self._queue.store
        while True:
            self._ready.clear()
            batch = await self._queue.call(store.take_analysis)
            if batch is None:
                await self._ready.wait()
                continue
            self.analysing.add(batch.batch_id)
            try:
                await self._analyze(batch)
            except Exception:
                _LOGGER.exception(
                    "Unexpected error analysing batch %s; it is retried at the next start",
                    batch.batch_id,
                )
                continue
            finally:
                self.analysing.discard(batch.batch_id)
            await self._queue.call(store.ack_analysis, batch)

    async def _analyze(self, batch: ClosedBatch) -> None:
        records = await self._runtime.run(self._db.detections, batch.detection_ids)
        if not records:
            _LOGGER.debug("Batch %s has no stored detections; nothing to analyse", batch.batch_id)
            return
        prior, facts = await self._analyst.prior(batch.camera_id, records)
        try:
            assessment = await self._analyst.assess(
                batch.camera_id, records, prior, LLM_RETRY_DELAYS
            )
        except Exception:
            _LOGGER.exception(
                "Unexpected error asking the LLM about batch %s; scoring it from the facts alone",
                batch.batch_id,
            )
            assessment = None
        final, breakdown, status, text = await self._final(
            batch.camera_id, records, facts, prior, assessment
        )
        snoozed = self._snoozed(batch.camera_id)
        event, new = await self._runtime.run(
            self._db.store_event,
            batch,
            final,
            status,
            dt_util.utcnow(),
            breakdown,
            snoozed,
            text.title,
            text.llm_summary,
        )
        if new:
            self._on_event(event)

    async def _final(
        self,
        camera_id: str,
        records: list[DetectionRecord],
        facts: RiskFacts,
        prior: RiskBreakdown,
        assessment: RiskAssessment | None,
    ) -> tuple[RiskAssessment, RiskBreakdown, str, EventText]:
        """Combine the prior and the LLM's answer; the summary pushed is the checked one."""
        bound = int(self._runtime.option(CONF_LLM_BOUND))
        final, breakdown, status = combine(prior, assessment, bound)
        text = await self._analyst.event_text(
            camera_id, records, facts, assessment.summary if assessment else None, final.risk_level
        )
        return (
            replace(final, summary=text.summary),
            replace(breakdown, text_source=text.text_source),
            status,
            text,
        )

    async def reanalyze(self, event_id: int) -> EventRecord | None:
        """Run the LLM again on a stored event; return it updated, or None if that failed."""
        event = await self._runtime.run(self._db.event, event_id)
        if event is None:
            return None
        records = await self._runtime.run(self._db.detections, event.detection_ids)
        if not records:
            return None
        fresh, facts = await self._analyst.prior(event.camera_id, records)
        prior = event.breakdown or fresh
        assessment = await self._analyst.assess(event.camera_id, records, prior, ())
        if assessment is None:
            return None
        # The household's state then is not known now: the texts leave it out.
        facts = replace(
            facts, people_home=None, alarm_state=None, guests_expected=None, delivery_expected=None
        )
        final, breakdown, status, text = await self._final(
            event.camera_id, records, facts, prior, assessment
        )
        updated = await self._runtime.run(
            self._db.update_assessment,
            event_id,
            final,
            status,
            breakdown,
            text.title,
            text.llm_summary,
        )
        if updated is not None:
            self._on_event(updated)
        return updated

    async def reanalyze_unassessed(self) -> int:
        """Ask the LLM about events scored from the facts alone; return how many it assessed."""
        done = 0
        for event in await self._runtime.run(self._db.unassessed_events, REANALYZE_BATCH):
            if await self.reanalyze(event.id) is None:
                break
            done += 1
        if done:
            _LOGGER.info("Re-assessed %d events stored while the LLM was unavailable", done)
        return done
