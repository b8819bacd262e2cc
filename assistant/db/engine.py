"""Async SQLAlchemy engines for SQLite (default) and PostgreSQL.

SQLite allows one writer at a time. A deferred transaction that reads and
then writes can fail at once with "database is locked" when another writer
got there first, so write transactions start with ``BEGIN IMMEDIATE`` and
wait for the lock instead. Reads use a separate engine with ordinary
deferred transactions so they never queue behind writers (WAL mode).

A server whose write transactions are all short (the backend) may ask for
them to run on the event loop's own thread (``inline_writes``); see
``assistant.db.inline_sqlite`` for why and what that keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from assistant.db.engine_options import ENGINE_OPTIONS
from assistant.db.inline_sqlite import SQLITE_BUSY_TIMEOUT_MS, InlineWriter

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept the plain URLs Rasa and humans use and pick our async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return str(parsed.set(drivername=ASYNC_DRIVERS[backend]))


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode=WAL``, waiting while another connection holds the file.

    Switching a new database to WAL needs the file to itself, and SQLite
    answers "database is locked" at once, without its busy handler, while
    another connection opens the same new file (two Rasa servers starting on
    one channel state, a service and a command): measured, one start in five
    of two at once. So it is tried again, as the busy handler would, up to the
    busy timeout. A database already in WAL mode answers at once.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    wait = 0.001
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, as aiosqlite's adapter or pysqlite raises it
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(wait)  # only ever while a connection is made, and only on a file being created
        wait = min(wait * 2, 0.05)


def async_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine on ``url`` (plain or driver URL) with our options (``engine_options``) and the caller's."""
    return create_async_engine(async_url(url), **ENGINE_OPTIONS, **options)


def _sqlite_engine(url: str, begin_statement: str, inline: InlineWriter | None = None) -> AsyncEngine:
    options: dict[str, Any] = {"creator": inline.connect} if inline is not None else {}
    engine = async_engine(url, poolclass=AsyncAdaptedQueuePool, pool_size=5, max_overflow=10, **options)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if inline is not None:
            inline.configure(dbapi_connection)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if inline is not None:
            inline.begin_immediate(connection.connection.dbapi_connection)
        else:
            connection.exec_driver_sql(begin_statement)

    return engine


@dataclass
class Database:
    url: str
    reader_engine: AsyncEngine
    writer_engine: AsyncEngine
    inline_writer: InlineWriter | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # SQLite has one writer at a time. Queueing our own writers here is
        # first-come-first-served; leaving it to busy_timeout makes them poll
        # with growing sleeps and gives multi-second tails under load.
        self._write_turn = asyncio.Lock() if self.is_sqlite else None
        self._reader_sessions = sessionmaker(
            self.reader_engine, class_=AsyncSession, expire_on_commit=False, future=True
        )
        self._writer_sessions = sessionmaker(
            self.writer_engine, class_=AsyncSession, expire_on_commit=False, future=True
        )

    @classmethod
    def connect(cls, url: str, *, inline_writes: bool = False) -> Database:
        """The engines for ``url``.

        ``inline_writes`` (SQLite only; ignored for PostgreSQL): run write
        transactions on the event loop's thread instead of aiosqlite's. For a
        server whose every write transaction is short; a long one (building
        an index on a large table) would hold up everything else the loop serves.
        """
        if is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            inline = InlineWriter(url) if inline_writes else None
            return cls(url, _sqlite_engine(url, "BEGIN"), _sqlite_engine(url, "BEGIN IMMEDIATE", inline), inline)
        engine = async_engine(url, pool_size=10, max_overflow=20)
        return cls(url, engine, engine)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._reader_sessions() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction, committed on success."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            session = await stack.enter_async_context(self._writer_sessions())
            async with session.begin():
                yield session
            if self.inline_writer is not None:  # the COMMIT has returned (a failed one raised above)
                self.inline_writer.committed()

    async def migrate(self, database: str = "backend") -> str:
        """This database brought to the newest revision of ``database`` (``assistant.db.migrations``); the revision.

        A database newer than this release is refused untouched (``DatabaseTooNew``).
        """
        from assistant.db.migrations import migrate

        return await asyncio.to_thread(migrate, self.url, database)

    async def dispose(self) -> None:
        if self.inline_writer is not None:
            await self.inline_writer.settle()
        await self.reader_engine.dispose()
        if self.writer_engine is not self.reader_engine:
            await self.writer_engine.dispose()
