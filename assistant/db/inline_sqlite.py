"""SQLite write transactions run on the event loop's own thread, for a server whose writes are short.

Why: aiosqlite runs every call on a thread of its own, and SQLAlchemy's
adapter makes three or four such calls per statement (cursor, execute,
fetch, close). Each hand-over costs a wake-up of that thread and a wake-up
of the loop, and under load the GIL makes each of them wait for the loop's
switch interval. Writers take turns (one SQLite writer at a time), so that
wait is paid in series: a booking's dozen statements cost tens of ms of hand-
overs while SQLite itself needs tens of µs per statement. Run on the loop's
thread, a short write transaction is cheaper than a single hand-over.

What it keeps: the same pragmas (WAL, ``synchronous=NORMAL``, foreign keys,
the 30 s busy timeout inside a transaction), so the same durability, and
a caller still hears of success only after its COMMIT returned.

What must not block the loop, and does not:

- Waiting for another process's write lock (the console, a command, a
  second backend): ``BEGIN IMMEDIATE`` is tried without a busy timeout and,
  while the lock is held, retried after asynchronous sleeps.
- Checkpoints, which copy the WAL into the database file and fsync it
  (tens of ms on a slow disk): SQLite's automatic checkpoint would run them
  inside a COMMIT, on the loop. It is switched off on these connections;
  every ``CHECKPOINT_EVERY`` commits one runs on a worker thread, on a
  connection of its own, in ``PASSIVE`` mode (it never waits for readers or
  writers, and they never wait for it).

The connection is a ``sqlite3`` connection handed to SQLAlchemy's aiosqlite
dialect through ``creator``: the dialect drives a DB-API cursor, and
pysqlite's is one whose calls simply return.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any

from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.util import await_only

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# SQLite's own automatic checkpoint comes every 1000 WAL pages; a booking writes some ten.
CHECKPOINT_EVERY = 100
# Polling for another process's write lock: like SQLite's busy handler, short sleeps growing to a cap.
FIRST_WAIT_SECONDS = 0.001
LONGEST_WAIT_SECONDS = 0.05


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


async def _resolved() -> None:
    """An await that never suspends."""


class _Cursor(sqlite3.Cursor):
    # SQLAlchemy's async connection refuses a statement that awaited nothing (it takes that for a
    # driver that is not async at all); awaiting a finished coroutine costs two greenlet switches.
    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:
        super().execute(sql, parameters)
        await_only(_resolved())
        return self

    def executemany(self, sql: str, parameters: Any, /) -> _Cursor:
        super().executemany(sql, parameters)
        await_only(_resolved())
        return self


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


class InlineWriter:
    """The writer engine's connections for one SQLite database, and its checkpoints."""

    def __init__(self, url: str) -> None:
        # The same file name and driver options SQLAlchemy would give pysqlite for this URL.
        args, options = SQLiteDialect_pysqlite().create_connect_args(make_url(url))
        self._args: list[Any] = list(args)
        self._options: dict[str, Any] = {**options, "check_same_thread": False}
        self._in_memory = self._args[0] == ":memory:"
        self._commits = 0
        self._checkpoint_due = False
        self._checkpoints: asyncio.Task[None] | None = None

    def connect(self) -> sqlite3.Connection:
        """A new connection (SQLAlchemy's ``creator``); the engine's ``connect`` event sets its pragmas."""
        # check_same_thread off: the pool may close a connection from the garbage collector's thread.
        return sqlite3.connect(*self._args, **self._options, factory=_Connection)

    def configure(self, connection: sqlite3.Connection) -> None:
        """After the engine's pragmas: checkpoints are ours to run, off the loop."""
        connection.execute("PRAGMA wal_autocheckpoint=0")

    def begin_immediate(self, connection: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, waiting for another process's write lock without blocking the loop.

        Called from SQLAlchemy's ``begin`` event, inside the greenlet of an
        awaited call, so it may await (``await_only``).
        """
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        wait = FIRST_WAIT_SECONDS
        connection.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _busy(exc) or time.monotonic() >= deadline:
                        # As SQLAlchemy raises a driver's error everywhere else (this event runs outside its wrapping).
                        raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
                await_only(asyncio.sleep(wait))
                wait = min(wait * 2, LONGEST_WAIT_SECONDS)
        finally:
            # Inside the transaction, SQLite's own busy handling as before (in WAL mode the holder
            # of the write lock practically never meets it).
            connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

    def committed(self) -> None:
        """A write transaction's COMMIT has returned: every ``CHECKPOINT_EVERY`` commits, checkpoint.

        Called once the COMMIT is done (``Database.write``), never from
        SQLAlchemy's ``commit`` event, which fires before the COMMIT runs: a
        checkpoint started there could copy the WAL before this commit reached it.
        A checkpoint falling due while another one runs is not dropped: it runs
        as soon as that one ends, so the last commit is always covered.
        """
        self._commits += 1
        if self._in_memory or self._commits < CHECKPOINT_EVERY:
            return
        self._commits = 0
        self._checkpoint_due = True
        if self._checkpoints is None or self._checkpoints.done():
            self._checkpoints = asyncio.get_running_loop().create_task(self._checkpoint_while_due())

    async def _checkpoint_while_due(self) -> None:
        loop = asyncio.get_running_loop()
        while self._checkpoint_due:
            self._checkpoint_due = False
            await loop.run_in_executor(None, self._run_checkpoint)

    def _run_checkpoint(self) -> None:
        try:
            connection = sqlite3.connect(*self._args, **self._options)
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                connection.close()
        except sqlite3.Error:
            # The next one copies what this one could not; the WAL only grows meanwhile.
            log.warning("SQLite checkpoint failed", exc_info=True)

    async def settle(self) -> None:
        """Wait for the checkpoints under way and due (before the engines close): they cover every commit so far."""
        if self._checkpoints is not None:
            await self._checkpoints
            self._checkpoints = None
