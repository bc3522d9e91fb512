"""Runtime data of a config entry: its collaborators, and the entry's typed alias."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from homeassistant.config_entries import ConfigEntry

from .cameras import CameraRegistry
from .hub import Pipeline
from .llm_backend import Analyzer
from .pipeline.detector_client import DetectorClient
from .service_health import ServiceHealth
from .store.database import Database
from .store.work_store import WorkStore


@dataclass(frozen=True, slots=True)
class HsiRuntimeData:
    """What the platforms, actions, views, media source and diagnostics of one entry use."""

    entry_id: str
    hub_device_id: str
    """Device registry id of the entry's hub device, the parent of its camera devices."""
    pipeline: Pipeline
    cameras: CameraRegistry
    db: Database
    store: WorkStore
    health: ServiceHealth
    root: Path
    thumbnail_dir: Path
    detector: DetectorClient
    analyzer: Analyzer
    """The LLM client; diagnostics show its habit."""

    @property
    def originals(self) -> tuple[Path, ...]:
        """The folders uploads and camera-entity snapshots are read from."""
        return (self.root, self.pipeline.camera_source.folder)


type HsiConfigEntry = ConfigEntry[HsiRuntimeData]
