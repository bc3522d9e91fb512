"""The hub: builds an entry's pipeline stages, starts them in flow order, stops them in reverse.

upload -> intake -> work queue -> detection -> batching -> analysis -> cameras (HA)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.event import async_track_time_interval

from .cameras import CameraRegistry
from .const import CONF_BATCH_IDLE, CONF_BATCH_WINDOW, DOMAIN, SNAPSHOT_DIR, STORAGE_DIR
from .llm_backend import Analyzer
from .pipeline.analysis import AnalysisStage
from .pipeline.batch_aggregator import BatchAggregator
from .pipeline.batching import Batching
from .pipeline.camera_source import CameraSource
from .pipeline.detection import DetectionStage
from .pipeline.detector_client import DetectorClient
from .pipeline.intake import Intake
from .pipeline.recovery import Recovery
from .pipeline.runtime import Runtime
from .pipeline.thumbnail_generator import ThumbnailGenerator
from .pipeline.work_queue import WorkQueue
from .retention import Retention
from .risk_analysis import RiskAnalyst
from .service_health import ServiceHealth
from .store.database import Database
from .store.work_store import WorkStore, WorkStoreError
from .supervision import Supervisor

TICK_INTERVAL = timedelta(seconds=1)


class Pipeline:
    """The stages of one config entry, wired; nothing runs until `async_start`."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        root: Path,
        db: Database,
        store: WorkStore,
        detector: DetectorClient,
        analyzer: Analyzer,
        thumbnails: ThumbnailGenerator,
        store_url: str = "",
    ) -> None:
        """Build the stages; each hands its typed result to the next."""
        runtime = self.runtime = Runtime(hass, entry)
        self.db = db
        self.store = store
        self.cameras = CameraRegistry(runtime, db)
        self.health = ServiceHealth(
            hass,
            entry.entry_id,
            {"detector": detector.url, "llm": analyzer.url, "store": store_url},
            self.cameras.notify_hub,
        )
        self.queue = WorkQueue(store, self.health)
        snapshots = Path(hass.config.path(STORAGE_DIR, entry.entry_id, SNAPSHOT_DIR))
        self.retention = Retention(runtime, db, snapshots, self.cameras.refresh_reviews)
        self.intake = Intake(
            runtime, root, db, self.queue, self.cameras.add, self.retention.horizon
        )
        self.camera_source = CameraSource(
            runtime,
            snapshots,
            db,
            self.intake,
            self.cameras.add,
            self.cameras.camera_changed,
            self.retention.horizon,
        )
        analyst = RiskAnalyst(
            hass,
            runtime.option,
            runtime.run,
            root,
            db,
            analyzer,
            self.health,
            self.cameras.display_name,
            self.cameras.llm_answered,
        )
        self.analysis = AnalysisStage(
            runtime, db, self.queue, analyst, self.cameras.event_stored, self.cameras.snoozes.active
        )
        aggregator = BatchAggregator(
            store,
            lambda: float(runtime.option(CONF_BATCH_WINDOW)),
            lambda: float(runtime.option(CONF_BATCH_IDLE)),
        )
        self.batching = Batching(runtime, db, self.queue, aggregator, self.analysis.wake)
        self.detection = DetectionStage(
            runtime,
            root,
            db,
            self.queue,
            detector,
            thumbnails,
            self.health,
            self.batching,
            self.cameras.detected,
            snapshots,
        )
        self.recovery = Recovery(runtime, db, self.queue, self.batching, self.analysis)
        self.supervisor = Supervisor(
            runtime,
            root,
            self.queue,
            self.intake,
            self.batching,
            self.analysis,
            self.recovery,
            analyzer,
            self.health,
            self.cameras,
        )
        self._unsubs: list[CALLBACK_TYPE] = []
        self._stopped = False

    async def async_load(self) -> None:
        """Load the cameras and recover unfinished work, before the platforms set up.

        A work store that does not answer now makes HA retry the setup later.
        """
        entities = self.camera_source.load()
        watcher = self.intake.watcher
        await self.cameras.load(
            await self.runtime.run(watcher.camera_folders), watcher.label_of, entities
        )
        try:
            await self.recovery.start_up()
        except WorkStoreError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="redis_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err

    async def async_start(self) -> None:
        """Start intake, the workers, the tick and retention."""
        self.queue.patient = True
        await self.intake.start()
        await self.camera_source.start()
        self.detection.start()
        self.analysis.start()
        self._unsubs.append(
            async_track_time_interval(
                self.runtime.hass, self.supervisor.tick, TICK_INTERVAL, name="hsi batch timeouts"
            )
        )
        self._unsubs.extend(self.retention.schedule())
        self.runtime.start(self.supervisor.tick(), "first tick")

    async def async_stop(self, *_: Any) -> None:
        """Stop everything; unfinished work stays in the ledger and queues for next time."""
        if self._stopped:
            return
        self._stopped = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        self.camera_source.stop()
        await self.intake.stop()
        await self.runtime.stop()
        self.cameras.stop()
        await self.store.async_close()
        await self.runtime.run(self.db.close)
