"""What each database's first revision does: bring a database of any earlier release to the frozen schema.

Before migrations, a release made missing tables and added missing columns
(``ensure_schema``) and nothing else, so a database may be at any step of
the road: empty, as the 2026-12-01 release made it, or that one opened by
every release since. The first revision of each database therefore does
not assume where it starts. Given the schema frozen inside it (a
``MetaData`` of its own, never the live models, which will change), it:

- creates each missing table, with its indexes;
- adds each missing column (a new column is nullable or has a server
  default, as ``ensure_schema`` required);
- on SQLite, rebuilds each table whose shape differs from the frozen one in
  anything else (foreign keys, constraint names, indexes, a partial index's
  predicate): alembic's batch mode makes the table anew and copies every
  row across, as SQLite can add no constraint to a table in place;
- on PostgreSQL, renames the constraints to the frozen names, adds the
  missing ones and drops those no longer declared, and makes every index
  that differs anew; each partial index is made anew whatever it looks like,
  because PostgreSQL keeps its predicate rewritten and it cannot be compared
  with the frozen text.

Every step looks before it acts, so running it on a database already of the
frozen schema changes nothing. It belongs to the first revisions: a later
change to the schema is a revision of its own, never a change here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from alembic import op
from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, create_engine, inspect
from sqlalchemy.engine import Connection

from assistant.db.migrations.snapshot import snapshot

log = logging.getLogger(__name__)


def bring_to(frozen: MetaData, obsolete: Iterable[str] = ()) -> None:
    """The database of the migration's connection, brought to ``frozen``; the ``obsolete`` tables dropped."""
    connection = op.get_bind()
    present = set(inspect(connection).get_table_names())
    expected = _expected_on_sqlite(frozen) if connection.dialect.name == "sqlite" else {}
    for table in frozen.sorted_tables:
        if table.name not in present:
            table.create(connection)
            continue
        _add_missing_columns(connection, table)
        if connection.dialect.name == "sqlite":
            if snapshot(connection, [table.name])[table.name] != expected[table.name]:
                _rebuild(table)
        else:
            _converge_on_postgresql(connection, table)
    for name in obsolete:
        if name in present:
            op.drop_table(name)


def _expected_on_sqlite(frozen: MetaData) -> dict:
    """The frozen schema's shape as SQLite keeps it: made in a database in memory and read back."""
    scratch = create_engine("sqlite://", future=True)
    try:
        with scratch.begin() as connection:
            frozen.create_all(connection)
            return snapshot(connection)
    finally:
        scratch.dispose()


def _add_missing_columns(connection: Connection, table: Table) -> None:
    present = {column["name"] for column in inspect(connection).get_columns(table.name)}
    for column in table.columns:
        if column.name in present:
            continue
        if not (column.nullable or column.server_default is not None):
            raise RuntimeError(f"{table.name}.{column.name} is missing and NOT NULL without a default: cannot add it")
        default = getattr(column.server_default, "arg", None)
        # Without its foreign key: SQLite cannot add one in place, and both dialects get it below.
        op.add_column(table.name, Column(column.name, column.type, nullable=column.nullable, server_default=default))
        log.info("added column %s.%s", table.name, column.name)


def _rebuild(table: Table) -> None:
    """SQLite: the table made anew as frozen, every row copied across (alembic's batch mode)."""
    with op.batch_alter_table(table.name, recreate="always", copy_from=table):
        pass
    log.info("rebuilt table %s", table.name)


def _converge_on_postgresql(connection: Connection, table: Table) -> None:
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote

    def rename(old: str, new: str) -> None:
        op.execute(f"ALTER TABLE {quote(table.name)} RENAME CONSTRAINT {quote(old)} TO {quote(new)}")

    key = inspector.get_pk_constraint(table.name)
    if key.get("name") and key["name"] != table.primary_key.name:
        rename(key["name"], str(table.primary_key.name))

    for reflected in inspector.get_columns(table.name):
        column = table.columns.get(reflected["name"])
        if column is not None and bool(reflected["nullable"]) != column.nullable:
            op.alter_column(table.name, column.name, nullable=column.nullable)

    uniques = {tuple(uq["column_names"]): uq["name"] for uq in inspector.get_unique_constraints(table.name)}
    for constraint in table.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        columns = tuple(column.name for column in constraint.columns)
        name = uniques.pop(columns, None)
        if name is None:
            op.create_unique_constraint(str(constraint.name), table.name, list(columns))
        elif name != constraint.name:
            rename(name, str(constraint.name))
    for name in uniques.values():
        op.drop_constraint(name, table.name, type_="unique")

    foreign_keys = {
        (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"])): fk["name"]
        for fk in inspector.get_foreign_keys(table.name)
    }
    for fk in table.foreign_key_constraints:
        columns = tuple(element.parent.name for element in fk.elements)
        referred = tuple(element.column.name for element in fk.elements)
        name = foreign_keys.pop((columns, fk.referred_table.name, referred), None)
        if name is None:
            op.create_foreign_key(str(fk.name), table.name, fk.referred_table.name, list(columns), list(referred))
        elif name != fk.name:
            rename(name, str(fk.name))
    for name in foreign_keys.values():
        op.drop_constraint(name, table.name, type_="foreignkey")

    indexes = {
        index["name"]: index for index in inspector.get_indexes(table.name) if not index.get("duplicates_constraint")
    }
    for index in table.indexes:
        reflected = indexes.pop(str(index.name), None)
        if reflected is not None and _same_index(reflected, index):
            continue
        if reflected is not None:
            op.drop_index(str(index.name), table_name=table.name)
        index.create(connection)
    for name in indexes:
        op.drop_index(name, table_name=table.name)


def _same_index(reflected: dict, index: Index) -> bool:
    partial = index.dialect_options["postgresql"]["where"] is not None
    columns = [column.name for column in index.columns]
    return not partial and list(reflected["column_names"]) == columns and bool(reflected["unique"]) == index.unique
