"""A database's schema as plain, comparable values, read from the database itself.

Two databases have the same schema when their snapshots are equal: the same
tables; columns with the same type, nullability and server default;
primary keys, foreign keys and unique constraints with the same names and
columns; indexes with the same names, columns, uniqueness and predicate.
SQLAlchemy's inspector reads all of it but a partial index's predicate,
which is read here from each database's own catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection


@dataclass(frozen=True)
class TableShape:
    columns: frozenset[tuple[str, str, bool, str | None]]  # name, type, nullable, server default
    primary_key: tuple[str | None, tuple[str, ...]]
    foreign_keys: frozenset[tuple[str | None, tuple[str, ...], str, tuple[str, ...]]]
    unique_constraints: frozenset[tuple[str | None, tuple[str, ...]]]
    indexes: frozenset[tuple[str | None, tuple[str, ...], bool, str | None]]  # name, columns, unique, predicate


def snapshot(connection: Connection, tables: Iterable[str] | None = None) -> dict[str, TableShape]:
    """Each table's shape (of ``tables``, or of every table), by name."""
    inspector = inspect(connection)
    names = sorted(tables) if tables is not None else sorted(inspector.get_table_names())
    return {name: _table_shape(connection, name) for name in names}


def _table_shape(connection: Connection, table: str) -> TableShape:
    inspector = inspect(connection)
    dialect = connection.dialect
    columns = frozenset(
        (column["name"], str(column["type"].compile(dialect=dialect)), bool(column["nullable"]), column.get("default"))
        for column in inspector.get_columns(table)
    )
    key = inspector.get_pk_constraint(table)
    foreign_keys = frozenset(
        (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
        for fk in inspector.get_foreign_keys(table)
    )
    uniques = frozenset((uq["name"], tuple(uq["column_names"])) for uq in inspector.get_unique_constraints(table))
    indexes = frozenset(
        (
            index["name"],
            tuple(str(name) for name in index["column_names"]),
            bool(index["unique"]),
            index_predicate(connection, str(index["name"])),
        )
        for index in inspector.get_indexes(table)
        # PostgreSQL lists the index behind each unique constraint too: the constraint stands for it.
        if not index.get("duplicates_constraint")
    )
    return TableShape(columns, (key.get("name"), tuple(key["constrained_columns"])), foreign_keys, uniques, indexes)


def index_predicate(connection: Connection, index: str) -> str | None:
    """A partial index's WHERE clause as the database keeps it; None for an index of every row."""
    if connection.dialect.name == "postgresql":
        query = (
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
        )
        return connection.execute(text(query), {"name": index}).scalar()
    sql = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"), {"name": index}
    ).scalar()
    found = re.search(r"\bWHERE\b(.*)$", sql or "", re.IGNORECASE | re.DOTALL)
    return " ".join(found.group(1).split()) if found else None
