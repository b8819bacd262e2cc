"""``pg_dump`` and ``pg_restore`` for a PostgreSQL database named by one of our URLs.

The password travels in ``PGPASSWORD``, never on a command line (``ps``
shows those to every user). Dumps are in the custom format, the one
``pg_restore`` reads, and restores run in one transaction: a failed restore
leaves the database as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from assistant.operations.errors import BackupError

PG_DUMP, PG_RESTORE = "pg_dump", "pg_restore"
INSTALL_HINT = "install the PostgreSQL client tools (Debian: apt install postgresql-client)"
TOOL_SECONDS = 6 * 3600  # a large district database dumps in minutes; a stuck server must not hang backups forever
PUBLIC = "public"


def shown(url: str) -> str:
    """The URL as it may be printed: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def tool(name: str) -> str | None:
    """The tool's path, or None when it is not installed."""
    return shutil.which(name)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A connection URI without the password, and the environment that carries the password."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TOOL_SECONDS)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish within {TOOL_SECONDS // 3600} hours") from None
    if done.returncode != 0:
        # The tools' own messages name the connection or the object, never the rows.
        detail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit code {done.returncode}"
        raise BackupError(f"{what} failed: {detail}")


def dump(url: str, target: Path) -> None:
    path = tool(PG_DUMP)
    if path is None:
        raise BackupError(f"{PG_DUMP} is not installed: {INSTALL_HINT}")
    uri, env = _libpq(url)
    _run([path, "--format=custom", "--no-owner", "--file", str(target), "--dbname", uri], env, PG_DUMP)


def restore(dump_file: Path, url: str) -> None:
    path = tool(PG_RESTORE)
    if path is None:
        raise BackupError(f"{PG_RESTORE} is not installed: {INSTALL_HINT}")
    uri, env = _libpq(url)
    command = [path, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--dbname", uri]
    _run([*command, str(dump_file)], env, PG_RESTORE)


def _engine(url: str) -> Engine:
    """A synchronous engine (psycopg2) for the few statements a restore needs."""
    return create_engine(make_url(url).set(drivername="postgresql"), future=True, poolclass=NullPool)


def table_names(url: str) -> list[str]:
    """The tables in the database's ``public`` schema (where ours are); it must be reachable."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return sorted(inspect(connection).get_table_names(schema=PUBLIC))
    except Exception as exc:  # the driver's OperationalError: no such database, refused, wrong password
        where = shown(url)
        detail = (str(getattr(exc, "orig", exc)).strip().splitlines() or [exc.__class__.__name__])[0]
        raise BackupError(f"cannot reach the PostgreSQL database {where}: {detail}") from None
    finally:
        engine.dispose()


def set_schema_aside(url: str, aside: str) -> None:
    """Keep what is in ``public`` under the schema ``aside``, and leave an empty ``public`` to restore into."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'ALTER SCHEMA {PUBLIC} RENAME TO "{aside}"'))
            connection.execute(text(f"CREATE SCHEMA {PUBLIC}"))
    finally:
        engine.dispose()


def put_schema_back(url: str, aside: str) -> None:
    """Undo ``set_schema_aside`` after a restore that failed (and so left ``public`` empty)."""
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {PUBLIC}"))
            connection.execute(text(f'ALTER SCHEMA "{aside}" RENAME TO {PUBLIC}'))
    finally:
        engine.dispose()
