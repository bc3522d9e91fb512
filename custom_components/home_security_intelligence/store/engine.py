"""The SQLite file itself: engine, sessions, the write lock, pragmas and upgrades of older files.

Every method blocks: call it from the executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import closing
import itertools
import logging
from pathlib import Path
import sqlite3
import stat
import threading
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, delete, event, inspect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.schema import CreateIndex, CreateTable

from . import schema

_LOGGER = logging.getLogger(__name__)

TITLES_SINCE = 6
"""The schema version whose events carry a title."""
MAX_IDS_PER_STATEMENT = 500
"""Values bound in one `IN (...)`, far below SQLite's limit on variables per statement."""


def in_chunks[T: (int, str)](values: Iterable[T]) -> Iterator[tuple[T, ...]]:
    """Return the distinct values, sorted, in groups small enough for one `IN (...)`."""
    return itertools.batched(sorted(set(values)), MAX_IDS_PER_STATEMENT, strict=False)


class UnusableDatabaseError(SQLAlchemyError):
    """The file exists but cannot serve as the database: damaged, or marked read-only."""

    def __init__(self, message: str, *, read_only: bool) -> None:
        """Say what is wrong; `read_only` tells a read-only file from a damaged one."""
        super().__init__(message)
        self.read_only = read_only


class SqliteEngine:
    """The connection pool of `hsi.db` and the lock that serialises this process's writers."""

    def __init__(self, path: Path) -> None:
        """Remember the path; `open` creates the file."""
        self.path = path
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._write_lock = threading.Lock()

    def open(self) -> None:
        """Create the folder, the file and the tables, upgrade an older file; turn on WAL.

        A file whose mode forbids writing is refused (even to root, who could write it),
        and so is one SQLite's quick check finds damaged: `UnusableDatabaseError`.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and not self.path.stat().st_mode & stat.S_IWUSR:
            raise UnusableDatabaseError("the file is read-only", read_only=True)
        engine = create_engine(
            f"sqlite:///{self.path}",
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        try:
            _check_integrity(engine)
            schema.Base.metadata.create_all(engine)
            _add_missing_columns(engine)
            _use_autoincrement(engine, self.path)
            _title_old_events(engine)
        except BaseException:
            engine.dispose()
            raise
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        with self._session() as session, session.begin():
            if session.get(schema.SchemaVersion, schema.SCHEMA_VERSION) is None:
                session.execute(delete(schema.SchemaVersion))
                session.add(schema.SchemaVersion(version=schema.SCHEMA_VERSION))

    def close(self) -> None:
        """Dispose of the connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._sessions = None

    def _session(self) -> Session:
        if self._sessions is None:
            raise RuntimeError("database is closed")
        return self._sessions()

    def _write(self) -> _WriteTx:
        return _WriteTx(self._session(), self._write_lock)


class _WriteTx:
    """A session in a transaction, serialised with other writers of this process."""

    def __init__(self, session: Session, lock: threading.Lock) -> None:
        self._session = session
        self._lock = lock

    def __enter__(self) -> Session:
        self._lock.acquire()
        self._session.begin()
        return self._session

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self._session.commit()
            else:
                self._session.rollback()
        finally:
            self._session.close()
            self._lock.release()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _check_integrity(engine: Engine) -> None:
    """Refuse a damaged file (a truncated copy opens fine and fails on later reads)."""
    with engine.connect() as conn:
        result = conn.exec_driver_sql("PRAGMA quick_check(1)").scalar()
    if result != "ok":
        raise UnusableDatabaseError(f"database disk image is malformed ({result})", read_only=False)


def _add_missing_columns(engine: Engine) -> None:
    """Upgrade a file made by an older version: add the columns it lacks (all nullable)."""
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in schema.Base.metadata.sorted_tables:
            have = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                default = "" if column.nullable else " DEFAULT 0"
                conn.exec_driver_sql(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} "
                    f"{column.type.compile(engine.dialect)}{default}"
                )
                _LOGGER.info("Database upgrade: added %s.%s", table.name, column.name)


def _use_autoincrement(engine: Engine, path: Path) -> None:
    """Upgrade a file made before schema 4: rebuild tables whose ids could be reused.

    Without AUTOINCREMENT SQLite hands out the highest id + 1, so after a purge old ids
    (and the signed image URLs that name them) come back. SQLite cannot alter a table to
    AUTOINCREMENT; each table is rebuilt with its rows and ids, all in one transaction,
    and its sequence starts at its highest id.
    """
    tables = [
        schema.Base.metadata.tables[name]
        for name in schema.AUTOINCREMENT_TABLES
        if "AUTOINCREMENT" not in _table_sql(engine, name).upper()
    ]
    if not tables:
        return
    copies = MetaData()
    for table in schema.Base.metadata.sorted_tables:
        table.to_metadata(copies)
    # Foreign keys off: dropping the old `images` must not cascade to `detections`.
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                new = f"{table.name}_new"
                columns = ", ".join(column.name for column in table.columns)
                ddl = CreateTable(table.to_metadata(copies, name=new))
                conn.execute(str(ddl.compile(dialect=engine.dialect)))
                conn.execute(
                    f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {table.name}"  # noqa: S608 - our own table names
                )
                conn.execute(f"DROP TABLE {table.name}")
                conn.execute(f"ALTER TABLE {new} RENAME TO {table.name}")
                for index in table.indexes:
                    conn.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
                conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table.name,))
                conn.execute(
                    f"INSERT INTO sqlite_sequence (name, seq) "  # noqa: S608 - our own table names
                    f"SELECT ?, coalesce(max(id), 0) FROM {table.name}",
                    (table.name,),
                )
                _LOGGER.info("Database upgrade: %s ids are never reused", table.name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _title_old_events(engine: Engine) -> None:
    """Upgrade a file made before schema 5: give its events a title ("Camera: objects").

    Events stored since carry the title composed from their facts.
    """
    with engine.begin() as conn:
        version = conn.exec_driver_sql("SELECT max(version) FROM schema_version").scalar()
        if version is None or version >= TITLES_SINCE:
            return
        rows = conn.exec_driver_sql(
            "SELECT e.id, coalesce(c.name, e.camera_id), d.object_type FROM events e "
            "LEFT JOIN cameras c ON c.id = e.camera_id "
            "LEFT JOIN event_detections ed ON ed.event_id = e.id "
            "LEFT JOIN detections d ON d.id = ed.detection_id "
            "WHERE e.title IS NULL"
        )
        seen: dict[int, tuple[str, set[str]]] = {}
        for event_id, camera, object_type in rows.tuples():
            seen.setdefault(event_id, (camera, set()))[1].update(filter(None, [object_type]))
        if not seen:
            return
        conn.exec_driver_sql(
            "UPDATE events SET title = ? WHERE id = ?",
            [
                (f"{camera}: {', '.join(sorted(objects))}" if objects else camera, event_id)
                for event_id, (camera, objects) in seen.items()
            ],
        )
        _LOGGER.info("Database upgrade: %d events got a title", len(seen))


def _table_sql(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).scalar()
    return str(sql or "")
