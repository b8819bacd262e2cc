"""A database newer than the code is refused untouched; an older one is copied before it is migrated."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from assistant.db.migrations import DatabaseTooNew, migrate
from tests.support.old_releases import RELEASES, build_old_databases
from tests.support.postgres import PostgresServer
from tests.support.processes import free_port

FUTURE = "9999_from_a_newer_release"


# The backend line's head: 0002 added the follow-up tasks (issue 28).
BACKEND_HEAD = "0002"


def stamp(url: str, revision: str) -> None:
    engine = create_engine(url, future=True)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version_backend SET version_num = :revision"), {"revision": revision})
    engine.dispose()


def test_the_backend_refuses_a_database_a_newer_release_migrated_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "backend.db"
    url = f"sqlite:///{path}"
    migrate(url, "backend")
    stamp(url, FUTURE)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    served = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "serve", "backend", "--db", url, "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2, served.stderr
    assert f"the backend database is at revision {FUTURE}" in served.stderr
    assert f"the newest it knows is {BACKEND_HEAD}" in served.stderr and "Upgrade the assistant" in served.stderr
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not list(tmp_path.glob("*.bak"))


def test_postgresql_refuses_before_any_table_is_made(postgres: PostgresServer) -> None:
    url = postgres.create_database("refused_backend")
    engine = create_engine(url, future=True)
    with engine.begin() as connection:  # only the version of a newer release, as if it had made the rest
        connection.execute(text("CREATE TABLE alembic_version_backend (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version_backend VALUES (:revision)"), {"revision": FUTURE})
    with pytest.raises(DatabaseTooNew, match="Nothing was changed"):
        migrate(url, "backend")
    assert inspect(engine).get_table_names() == ["alembic_version_backend"]
    engine.dispose()


@pytest.mark.slow
def test_an_old_database_is_copied_before_it_is_migrated_and_a_new_one_is_not(tmp_path: Path) -> None:
    old, fresh = tmp_path / "old", tmp_path / "fresh"
    build_old_databases(RELEASES["2026-12-01"], old, f"sqlite:///{old / 'backend.db'}", f"sqlite:///{old / 'c.db'}")
    with sqlite3.connect(old / "backend.db") as connection:
        consults = connection.execute("SELECT count(*) FROM consults").fetchone()
    assert migrate(f"sqlite:///{old / 'backend.db'}", "backend") == BACKEND_HEAD
    copy = old / f"backend.db.pre-{BACKEND_HEAD}.bak"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with sqlite3.connect(copy) as connection:  # the database as the old release left it
        assert connection.execute("SELECT count(*) FROM consults").fetchone() == consults
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "alembic_version_backend" not in tables and "programme" not in tables
    fresh.mkdir()
    migrate(f"sqlite:///{fresh / 'backend.db'}", "backend")
    assert migrate(f"sqlite:///{fresh / 'backend.db'}", "backend") == BACKEND_HEAD  # at the head: nothing to do
    assert not list(fresh.glob("*.bak"))
