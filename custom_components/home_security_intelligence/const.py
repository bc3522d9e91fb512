"""Constants for Home Security Intelligence."""

from __future__ import annotations

from typing import Final

from .risk_levels import RiskLevel

DOMAIN: Final = "home_security_intelligence"

CONF_CAMERA_ROOT: Final = "camera_root"
CONF_DETECTOR_URL: Final = "detector_url"
CONF_LLM_URL: Final = "llm_url"
CONF_REDIS_URL: Final = "redis_url"
CONF_DETECTOR_API: Final = "detector_api"
CONF_LLM_API: Final = "llm_api"
CONF_LLM_API_KEY: Final = "llm_api_key"
CONF_LLM_MODEL: Final = "llm_model"
CONF_AI_TASK_ENTITY: Final = "ai_task_entity"

CONF_CONFIDENCE_THRESHOLD: Final = "confidence_threshold"
CONF_BATCH_WINDOW: Final = "batch_window_seconds"
CONF_BATCH_IDLE: Final = "batch_idle_timeout_seconds"
CONF_UPLOAD_SETTLE: Final = "upload_settle_seconds"
CONF_RETENTION_DAYS: Final = "retention_days"
CONF_OCCUPANCY_TIMEOUT: Final = "occupancy_timeout_seconds"
CONF_LLM_BOUND: Final = "llm_bound"
CONF_CAMERA_ROLES: Final = "camera_roles"
CONF_PERSON_ENTITIES: Final = "person_entities"
CONF_ALARM_ENTITY: Final = "alarm_entity"
NO_ALARM: Final = ""  # the user cleared the alarm field: no panel, not even HA's only one
CONF_GUESTS_ENTITY: Final = "guests_entity"
CONF_DELIVERY_ENTITY: Final = "delivery_entity"
CONF_ZONES: Final = "zones"
"""Per camera id: its zones and filters (`pipeline.zones.ZoneFilter.to_options`)."""
CONF_SEND_SNAPSHOTS: Final = "send_snapshots"
CONF_CAMERA_ENTITIES: Final = "camera_entities"
CONF_SNAPSHOT_INTERVAL: Final = "snapshot_interval_seconds"
CONF_SNAPSHOT_COUNT: Final = "snapshots_per_trigger"

DEFAULT_CONFIDENCE_THRESHOLD: Final = 0.5
DEFAULT_BATCH_WINDOW: Final = 90
DEFAULT_BATCH_IDLE: Final = 30
DEFAULT_UPLOAD_SETTLE: Final = 2.0
DEFAULT_RETENTION_DAYS: Final = 30
DEFAULT_OCCUPANCY_TIMEOUT: Final = 60
DEFAULT_LLM_BOUND: Final = 20

DEFAULT_OPTIONS: Final = {
    CONF_CONFIDENCE_THRESHOLD: DEFAULT_CONFIDENCE_THRESHOLD,
    CONF_BATCH_WINDOW: DEFAULT_BATCH_WINDOW,
    CONF_BATCH_IDLE: DEFAULT_BATCH_IDLE,
    CONF_UPLOAD_SETTLE: DEFAULT_UPLOAD_SETTLE,
    CONF_RETENTION_DAYS: DEFAULT_RETENTION_DAYS,
    CONF_OCCUPANCY_TIMEOUT: DEFAULT_OCCUPANCY_TIMEOUT,
    CONF_LLM_BOUND: DEFAULT_LLM_BOUND,
    # Entries are created with it on when the LLM is local and accepts a picture.
    CONF_SEND_SNAPSHOTS: False,
}

EVENT_RISK: Final = f"{DOMAIN}_event"
EVENT_DETECTION: Final = f"{DOMAIN}_detection"
EVENT_BATCH_STARTED: Final = f"{DOMAIN}_batch_started"

SIGNAL_NEW_CAMERA: Final = f"{DOMAIN}_new_camera_{{}}"
SIGNAL_CAMERA_UPDATED: Final = f"{DOMAIN}_camera_updated_{{}}_{{}}"
SIGNAL_HUB_UPDATED: Final = f"{DOMAIN}_hub_updated_{{}}"

STORAGE_DIR: Final = DOMAIN
DATABASE_FILE: Final = "hsi.db"
THUMBNAIL_DIR: Final = "thumbnails"
SNAPSHOT_DIR: Final = "snapshots"

IMAGE_SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png"})
CLIP_CONTENT_TYPES: Final = {
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mov": "video/quicktime",
}
CLIP_SUFFIXES: Final = frozenset(CLIP_CONTENT_TYPES)
UPLOAD_SUFFIXES: Final = IMAGE_SUFFIXES | CLIP_SUFFIXES

RISK_LEVELS: Final = tuple(RiskLevel)
