"""The models and the head revision agree: a change to the models without a revision of its own fails here.

A database migrated from nothing to the head must be the database the models
describe. Alembic's ``compare_metadata`` finds a missing table, column,
index, constraint or a changed type; it does not look at a partial index's
predicate, so the schema snapshots (``assistant.db.migrations.snapshot``) of
the migrated database and of one made straight from the models are compared too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, create_engine
from sqlalchemy.engine import Engine

from assistant.db.migrations import migrate
from assistant.db.migrations.databases import DATABASES
from assistant.db.migrations.snapshot import snapshot
from tests.support.postgres import PostgresServer


@contextlib.contextmanager
def engine_on(url: str) -> Iterator[Engine]:
    engine = create_engine(url, future=True)
    try:
        yield engine
    finally:
        engine.dispose()


def differences(url: str, database: str) -> list[object]:
    """What alembic finds between the database at ``url`` and the models of ``database``, metadata by metadata."""
    own = DATABASES[database]
    found: list[object] = []
    with engine_on(url) as engine, engine.connect() as connection:
        for metadata in own.load_metadata():
            tables = set(metadata.tables)
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": own.version_table,
                    "compare_type": True,
                    "compare_server_default": True,
                    "include_name": lambda name, kind, _parent, tables=tables: kind != "table" or name in tables,
                },
            )
            found += compare_metadata(context, metadata)
    return found


def shapes(url: str, tables: set[str]) -> dict[str, object]:
    with engine_on(url) as engine, engine.connect() as connection:
        return dict(snapshot(connection, tables))


def made_from_the_models(url: str, database: str) -> None:
    with engine_on(url) as engine, engine.begin() as connection:
        for metadata in DATABASES[database].load_metadata():
            metadata.create_all(connection)


def check(migrated: str, from_models: str, database: str) -> None:
    migrate(migrated, database)
    made_from_the_models(from_models, database)
    assert differences(migrated, database) == []
    tables = DATABASES[database].table_names()
    assert shapes(migrated, tables) == shapes(from_models, tables)


@pytest.mark.parametrize("database", sorted(DATABASES))
def test_the_head_revision_is_the_models_on_sqlite(tmp_path: Path, database: str) -> None:
    check(f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'models.db'}", database)


@pytest.mark.parametrize("database", ["backend", "channels"])  # the outbox is the action server's SQLite file
def test_the_head_revision_is_the_models_on_postgresql(postgres: PostgresServer, database: str) -> None:
    migrated = postgres.create_database(f"agreement_{database}_migrated")
    check(migrated, postgres.create_database(f"agreement_{database}_models"), database)


def test_a_model_change_without_a_revision_is_found(tmp_path: Path) -> None:
    """The check itself: a column the models gained and no revision made is a difference."""
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    migrate(url, "outbox")
    changed = MetaData()
    for table in DATABASES["outbox"].load_metadata()[0].tables.values():
        table.to_metadata(changed)
    changed.tables["outbox"].append_column(Column("new_field", String(8)))
    with engine_on(url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": "alembic_version_outbox"})
        found = compare_metadata(context, changed)
    assert [difference[0] for difference in found] == ["add_column"]
