"""Supervision: the one-second tick, the camera root's presence, the LLM probe, store loss."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from pathlib import Path

from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .cameras import CameraRegistry
from .const import DOMAIN
from .llm_backend import Analyzer
from .pipeline.analysis import AnalysisStage
from .pipeline.batching import Batching
from .pipeline.intake import Intake
from .pipeline.recovery import Recovery
from .pipeline.runtime import Runtime
from .pipeline.work_queue import WorkQueue
from .service_health import ServiceHealth
from .store.work_store import WorkStoreError

_LOGGER = logging.getLogger(__name__)

LLM_PROBE_INTERVAL = timedelta(seconds=60)
ROOT_CHECK_INTERVAL = timedelta(seconds=10)


class Supervisor:
    """Each tick closes due batches, refreshes the hub's figures and checks what may be down."""

    def __init__(
        self,
        runtime: Runtime,
        root: Path,
        queue: WorkQueue,
        intake: Intake,
        batching: Batching,
        analysis: AnalysisStage,
        recovery: Recovery,
        analyzer: Analyzer,
        health: ServiceHealth,
        cameras: CameraRegistry,
    ) -> None:
        """Watch over the stages of one entry."""
        self._runtime = runtime
        self._root = root
        self._queue = queue
        self._intake = intake
        self._batching = batching
        self._analysis = analysis
        self._recovery = recovery
        self._analyzer = analyzer
        self._health = health
        self._cameras = cameras
        self._ticking = False
        self._llm_probed = self._root_checked = dt_util.utcnow()
        self._root_present = True

    async def tick(self, _now: datetime | None = None) -> None:
        """Close due batches and update the hub; a store outage is shown, never waited out."""
        if self._ticking:
            return
        self._ticking = True
        store = self._queue.store
        try:
            if await store.data_lost():
                self._runtime.start(self._recovery.resync(), "store resync")
            await self._batching.close_due()
            waiting = await store.image_backlog()
        except WorkStoreError as err:
            self._health.set("store", False, str(err))
            return
        finally:
            self._ticking = False
        self._health.set("store", True)
        self._cameras.update_hub(waiting + self._intake.waiting, self._batching.open_count)
        now = dt_util.utcnow()
        self._health.check_repairs(now)
        if now - self._root_checked >= ROOT_CHECK_INTERVAL:
            self._root_checked = now
            self._runtime.start(self._check_root(), "camera root check")
        if not self._health.up["llm"] and now - self._llm_probed >= LLM_PROBE_INTERVAL:
            self._llm_probed = now
            self._runtime.start(self._probe_llm(), "LLM probe")

    async def _check_root(self) -> None:
        """Notice the camera root disappearing and coming back; re-watch and catch up then."""
        present = await self._runtime.run(self._root.is_dir)
        if present == self._root_present:
            return
        self._root_present = present
        issue_id = f"camera_root_missing_{self._runtime.entry_id}"
        if not present:
            _LOGGER.warning("The camera folder %s is gone; waiting for it to come back", self._root)
            ir.async_create_issue(
                self._runtime.hass,
                DOMAIN,
                issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="camera_root_missing",
                translation_placeholders={"path": str(self._root)},
            )
            return
        _LOGGER.info("The camera folder %s is back; watching it again", self._root)
        ir.async_delete_issue(self._runtime.hass, DOMAIN, issue_id)
        await self._intake.rewatch()

    async def _probe_llm(self) -> None:
        """While the LLM is down, check it now and then; when back, re-assess what waited."""
        if await self._analyzer.health_check():
            self._health.set("llm", True)
            await self._analysis.reanalyze_unassessed()
