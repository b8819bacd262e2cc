"""A consistent copy of one database, taken while its services write to it.

A SQLite file is copied with SQLite's online backup API, never as a file:
the copy of a live WAL database's main file misses what is still in its
``-wal``, and a file copied while a transaction commits can be torn. The
backup API reads one snapshot, under a read transaction: in WAL mode
writers go on meanwhile; a database in the older rollback mode (Rasa's
tracker store) makes its writers wait for the copy, as for any reader.
PostgreSQL is dumped with ``pg_dump`` (``postgres_tools``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import quote

from assistant.operations.errors import BackupError

BUSY_TIMEOUT_SECONDS = 60.0  # a writer of a rollback-mode database holds its lock for one transaction at most


def copy_sqlite(source: Path, target: Path) -> str:
    """Copy the database at ``source`` to ``target`` (a new file, in rollback mode); SQLite's quick_check of the copy.

    The source is opened read-write but never created (a missing file is an
    error): SQLite needs to write the shared-memory index of a WAL database
    even to read it. No row is changed; at most SQLite checkpoints the WAL
    when this is the last connection to close, as any reader would.
    """
    try:
        with (
            contextlib.closing(
                sqlite3.connect(f"file:{quote(str(source))}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_SECONDS)
            ) as live,
            contextlib.closing(sqlite3.connect(target, isolation_level=None)) as copy,
        ):
            live.backup(copy)  # all pages in one step: one snapshot, never restarted by a writer
            # A file of its own, without the -wal and -shm that WAL mode keeps beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            return str(copy.execute("PRAGMA quick_check").fetchone()[0])
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy the SQLite database {source}: {exc}") from None
