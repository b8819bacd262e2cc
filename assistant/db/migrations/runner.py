"""``migrate``: a database of ours brought to the newest revision this release knows, or refused.

One transaction, which first takes the database's migration lock (SQLite's
write lock, ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so that
services starting together migrate once and the others find it done. Then:

1. the database's revision is read, before anything is written: a revision
   this release does not know means a newer release has upgraded the
   database, and it is refused (``DatabaseTooNew``) untouched;
2. at the newest revision already: nothing more (the usual start);
3. otherwise a database that holds tables is copied first
   (``backup_before_migration``), then alembic upgrades it to the head.

The engine is a synchronous one of its own: the services' engines turn
SQLite's foreign keys on, and a table that SQLite makes anew must be dropped
with them off. It lives only for the migration.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from assistant.core.commands import CommandError
from assistant.db.engine_options import sync_engine
from assistant.db.inline_sqlite import SQLITE_BUSY_TIMEOUT_MS
from assistant.db.migrations.backup import backup_before_migration
from assistant.db.migrations.databases import DATABASES, OwnDatabase

log = logging.getLogger(__name__)

SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg2"}


class DatabaseTooNew(CommandError):
    """The database is at a revision this release does not know: a newer release has migrated it."""


def migrate(url: str, database: str) -> str:
    """``database`` (a name of ``DATABASES``) at ``url`` brought to the head revision; returns that revision."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    own = DATABASES[database]
    config = alembic_config(own)
    head = head_revision(database)
    engine = migration_engine(url)
    try:
        with engine.begin() as connection:
            _hold_migration_lock(connection, own)
            context = MigrationContext.configure(connection, opts={"version_table": own.version_table})
            current = tuple(context.get_current_heads())
            refuse_unknown(own, current, head)
            if current == (head,):
                log.info("%s at revision %s, the newest this release knows", own.title, head)
                return head
            if inspect(connection).get_table_names():
                backup_before_migration(url, head)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    log.info(
        "%s migrated from %s to revision %s", own.title, ", ".join(current) or "no revision (empty or older)", head
    )
    return head


def alembic_config(own: OwnDatabase) -> Any:
    """Alembic's configuration, made here rather than read from an alembic.ini (none ships)."""
    from alembic.config import Config

    config = Config()
    # ConfigParser reads % as interpolation.
    config.set_main_option("script_location", str(own.versions.parent).replace("%", "%%"))
    config.set_main_option("version_locations", str(own.versions).replace("%", "%%"))
    config.attributes["database"] = own.name
    return config


@functools.cache
def _script(database: str) -> Any:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(DATABASES[database]))


def head_revision(database: str) -> str:
    """The newest revision this release knows for ``database``."""
    head = _script(database).get_current_head()
    assert head is not None, f"no revisions for the {database} database"
    return str(head)


def refuse_unknown(own: OwnDatabase, current: tuple[str, ...], head: str) -> None:
    from alembic.util import CommandError as AlembicError

    for revision in current:
        try:
            _script(own.name).get_revision(revision)
        except AlembicError:
            raise DatabaseTooNew(
                f"the {own.name} database is at revision {revision}, which this release of the assistant does "
                f"not know (the newest it knows is {head}): a newer release has upgraded it. Upgrade the "
                "assistant to that release or later. Nothing was changed in the database."
            ) from None


def migration_engine(url: str) -> Engine:
    """A synchronous engine for one migration, on any URL of ours (plain or with an async driver)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in SYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    engine = sync_engine(parsed.set(drivername=SYNC_DRIVERS[backend]).render_as_string(False), poolclass=NullPool)
    if backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we say BEGIN ourselves: DDL then stays in the transaction
            dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _hold_migration_lock(connection: Connection, own: OwnDatabase) -> None:
    if connection.dialect.name == "postgresql":
        from assistant.db.locks import lock_key

        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(f"migrate {own.name}")})
