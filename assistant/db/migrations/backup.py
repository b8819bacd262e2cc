"""A copy of a database taken before a migration changes it.

A SQLite file is copied with SQLite's online backup API (a plain copy of a
live WAL database is not a backup) to ``<name>.pre-<revision>.bak`` beside
it, readable by its owner only: the way back if a new release misbehaves,
restored by copying it over the file. It is one file, not an archive:
``assistant backup`` (``assistant.operations``, which may import this package
but not the other way round) makes the encrypted archives of the whole data
dir, and operators take one before upgrading (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def backup_before_migration(url: str, revision: str) -> Path | None:
    """The database at ``url`` copied before it is migrated to ``revision``; None where no copy was made."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        log.warning(
            "migrating PostgreSQL database %s to revision %s: the migration is one transaction, "
            "but take a pg_dump of it first if none was taken today",
            parsed.database,
            revision,
        )
        return None
    source = Path(str(parsed.database))
    target = source.with_name(f"{source.name}.pre-{revision}.bak")
    target.unlink(missing_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private before a byte is written
    with contextlib.closing(sqlite3.connect(source)) as original, contextlib.closing(sqlite3.connect(target)) as copy:
        original.backup(copy)
    log.info("copied %s to %s before migrating it to revision %s", source.name, target, revision)
    return target
