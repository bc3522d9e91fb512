"""SQLAlchemy tables of the integration's own SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
import os

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SCHEMA_VERSION = 6

AUTOINCREMENT_TABLES = ("images", "detections", "events")
"""Tables whose ids are never handed out twice: signed image URLs and thumbnails name them."""
_NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as naive UTC (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to naive UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC."""
        return None if value is None else value.replace(tzinfo=UTC)


class FsPath(TypeDecorator[str]):
    """A file system path, lossless: TEXT when it is valid UTF-8, else its bytes as a BLOB.

    Python keeps a name byte that is not UTF-8 as a surrogate escape, which SQLite's
    driver cannot encode. SQLite stores any value in any column, so such a path goes in
    as its raw bytes and comes back decoded the same way; every other path stays readable
    TEXT, files made before this type need no upgrade, and UNIQUE still holds (a BLOB
    never equals a TEXT, and the same path is always stored the same way).
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | bytes | None:
        """Keep valid UTF-8 as text; give the driver the bytes of anything else."""
        if value is None:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return os.fsencode(value)
        return value

    def process_result_value(self, value: str | bytes | None, dialect: Dialect) -> str | None:
        """Decode a stored BLOB back to the path Python uses (surrogate escapes)."""
        return os.fsdecode(value) if isinstance(value, bytes) else value


class Base(DeclarativeBase):
    """Declarative base."""


class SchemaVersion(Base):
    """One row: the schema version of this file."""

    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class Camera(Base):
    """A camera folder under the root."""

    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Image(Base):
    """The ledger: every image that landed, and how far it got."""

    __tablename__ = "images"
    __table_args__ = _NEVER_REUSE_IDS
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(255), index=True)
    path: Mapped[str] = mapped_column(FsPath, unique=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime: Mapped[float] = mapped_column(Float)
    captured_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Detection(Base):
    """One object found in one image."""

    __tablename__ = "detections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    camera_id: Mapped[str] = mapped_column(String(255))
    object_type: Mapped[str] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(Float)
    bbox_x: Mapped[int] = mapped_column(Integer)
    bbox_y: Mapped[int] = mapped_column(Integer)
    bbox_width: Mapped[int] = mapped_column(Integer)
    bbox_height: Mapped[int] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    thumbnail_path: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    frame_offset_s: Mapped[float | None] = mapped_column(Float)  # into a clip; None for stills
    filtered: Mapped[str | None] = mapped_column(String(32))  # zones.FilterReason; None counts

    __table_args__ = (
        Index("ix_detections_camera_time", "camera_id", "detected_at"),
        _NEVER_REUSE_IDS,
    )


class Batch(Base):
    """A batch of the embedded backend (the Redis backend keeps them in Redis)."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_activity: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Event(Base):
    """A risk event: one analysed batch."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), unique=True)
    camera_id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime] = mapped_column(UtcDateTime)
    risk_score: Mapped[int | None] = mapped_column(Integer)
    risk_level: Mapped[str | None] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    reasoning: Mapped[str] = mapped_column(Text)
    analysis_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)
    snoozed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The camera's alerts were snoozed when the event was stored."""
    verdict: Mapped[str | None] = mapped_column(String(16))  # the household's Verdict
    prior_score: Mapped[int | None] = mapped_column(Integer)
    llm_score: Mapped[int | None] = mapped_column(Integer)
    llm_adjustment: Mapped[int | None] = mapped_column(Integer)
    factors: Mapped[str | None] = mapped_column(Text)  # JSON list of {name, contribution, detail}
    llm_belief: Mapped[str | None] = mapped_column(Text)  # JSON [P(low), P(medium), ...]
    title: Mapped[str | None] = mapped_column(Text)
    llm_summary: Mapped[str | None] = mapped_column(Text)  # the LLM's text, pushed or not
    text_source: Mapped[str | None] = mapped_column(String(16))  # which summary is pushed

    __table_args__ = (
        Index("ix_events_camera_time", "camera_id", "started_at", "id"),
        _NEVER_REUSE_IDS,
    )


class EventDetection(Base):
    """Which detections an event covers."""

    __tablename__ = "event_detections"
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    detection_id: Mapped[int] = mapped_column(
        ForeignKey("detections.id", ondelete="CASCADE"), primary_key=True
    )
