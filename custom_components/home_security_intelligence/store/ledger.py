"""The image ledger: every image that landed, and how far it got (blocking: use the executor)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
import logging

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from ..pipeline.fs_names import readable
from ..pipeline.models import ImageJob
from . import schema
from .engine import SqliteEngine, in_chunks
from .records import ImageState, NewImage

_LOGGER = logging.getLogger(__name__)


class ImageLedger(SqliteEngine):
    """The `images` table.

    Paths are keys exactly as Python decodes them from the file system, surrogate escapes
    included (see `schema.FsPath`): what goes in comes back unchanged.
    """

    def known_paths(self) -> set[str]:
        """Return every path already in the ledger."""
        with self._session() as session:
            return set(session.scalars(select(schema.Image.path)))

    def record_images(self, images: Sequence[NewImage], now: datetime) -> list[ImageJob]:
        """Add images not in the ledger yet, and queue again refused ones whose file changed.

        Return jobs for both.

        All in one transaction; if that fails, each image in its own, so one image the
        ledger cannot take is logged and the others are recorded.
        """
        try:
            return self._insert_new(images, now)
        except (SQLAlchemyError, ValueError) as err:
            if len(images) == 1:
                _LOGGER.error("Could not record %s: %s", readable(images[0].path), err)
                return []
            _LOGGER.warning("Recording %d images failed (%s); trying each", len(images), err)
        jobs: list[ImageJob] = []
        for image in images:
            try:
                jobs.extend(self._insert_new([image], now))
            except (SQLAlchemyError, ValueError) as err:
                _LOGGER.error("Could not record %s: %s", readable(image.path), err)
        return jobs

    def _insert_new(self, images: Sequence[NewImage], now: datetime) -> list[ImageJob]:
        if not images:
            return []
        with self._write() as session:
            known: dict[str, schema.Image] = {}
            for paths in in_chunks(i.path for i in images):
                known.update(
                    (row.path, row)
                    for row in session.scalars(
                        select(schema.Image).where(schema.Image.path.in_(paths))
                    )
                )
            again = [
                _retry(row, i, now)
                for i in {i.path: i for i in images if i.path in known}.values()
                if _changed_since_refused(row := known[i.path], i)
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
                for i in {i.path: i for i in images if i.path not in known}.values()
            ]
            session.add_all(rows)
            session.flush()
            return [_job(row) for row in (*again, *rows)]

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


def _changed_since_refused(row: schema.Image, image: NewImage) -> bool:
    """Return True for a refused image whose file has changed since it was read.

    An upload that pauses for longer than the settle time is read before it is complete
    and refused (truncated); when it is closed, it is read again.
    """
    return row.state == ImageState.INVALID and (row.size, row.mtime) != (image.size, image.mtime)


def _retry(row: schema.Image, image: NewImage, now: datetime) -> schema.Image:
    """Queue a refused image again with its new size and time."""
    _LOGGER.info("Reading %s again: it changed after it was refused", readable(image.path))
    row.size, row.mtime, row.captured_at = image.size, image.mtime, image.captured_at
    row.state, row.last_error, row.updated_at = ImageState.PENDING, None, now
    return row


def _job(row: schema.Image) -> ImageJob:
    return ImageJob(row.id, row.camera_id, row.path, row.captured_at.isoformat())
