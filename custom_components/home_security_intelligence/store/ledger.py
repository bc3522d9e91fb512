"""The image ledger: every image that landed, and how far it got (blocking: use the executor)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update

from ..pipeline.models import ImageJob
from . import schema
from .engine import SqliteEngine, in_chunks
from .records import ImageState, NewImage


class ImageLedger(SqliteEngine):
    """The `images` table."""

    def known_paths(self) -> set[str]:
        """Return every path already in the ledger."""
        with self._session() as session:
            return set(session.scalars(select(schema.Image.path)))

    def record_images(self, images: Sequence[NewImage], now: datetime) -> list[ImageJob]:
        """Add images not in the ledger yet; return jobs for the ones added or reopened.

        An image refused as invalid that has changed since (a clip still being written
        when it was read, then completed) is reopened as pending with its new size.
        """
        if not images:
            return []
        latest = {i.path: i for i in images}
        with self._write() as session:
            known: dict[str, schema.Image] = {}
            for paths in in_chunks(latest):
                known.update(
                    (row.path, row)
                    for row in session.scalars(
                        select(schema.Image).where(schema.Image.path.in_(paths))
                    )
                )
            reopened = [
                _reopen(row, latest[path], now)
                for path, row in known.items()
                if row.state == ImageState.INVALID
                and (row.size, row.mtime) != (latest[path].size, latest[path].mtime)
            ]
            rows = [
                schema.Image(
                    camera_id=i.camera_id,
                    path=i.path,
                    size=i.size,
                    mtime=i.mtime,
                    captured_at=i.captured_at,
                    state=ImageState.PENDING,
                    attempts=0,
                    updated_at=now,
                )
                for i in latest.values()
                if i.path not in known
            ]
            session.add_all(rows)
            session.flush()
            return [_job(row) for row in (*reopened, *rows)]

    def pending_images(self) -> list[ImageJob]:
        """Return the ledger's images that still wait for detection."""
        with self._session() as session:
            rows = session.scalars(
                select(schema.Image)
                .where(schema.Image.state == ImageState.PENDING)
                .order_by(schema.Image.id)
            )
            return [_job(row) for row in rows]

    def image_state(self, image_id: int) -> ImageState | None:
        """Return the ledger state of an image."""
        with self._session() as session:
            state = session.scalar(select(schema.Image.state).where(schema.Image.id == image_id))
            return None if state is None else ImageState(state)

    def mark_image(
        self, image_id: int, state: ImageState, error: str | None, now: datetime
    ) -> None:
        """Set an image's state, counting the attempt and keeping the last error."""
        with self._write() as session:
            session.execute(
                update(schema.Image)
                .where(schema.Image.id == image_id)
                .values(
                    state=state,
                    last_error=error,
                    attempts=schema.Image.attempts + 1,
                    updated_at=now,
                )
            )

    def image_counts(self) -> dict[str, int]:
        """Return how many images are in each ledger state."""
        with self._session() as session:
            rows = session.execute(
                select(schema.Image.state, func.count()).group_by(schema.Image.state)
            )
            return dict(rows.tuples().all())


def _reopen(row: schema.Image, image: NewImage, now: datetime) -> schema.Image:
    """Make an invalid image pending again with what is on disk now."""
    row.size, row.mtime, row.captured_at = image.size, image.mtime, image.captured_at
    row.state, row.updated_at = ImageState.PENDING, now
    return row


def _job(row: schema.Image) -> ImageJob:
    return ImageJob(row.id, row.camera_id, row.path, row.captured_at.isoformat())
