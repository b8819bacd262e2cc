"""Bringing an existing database up to the tables this version declares.

``create_all`` makes missing tables but never touches existing ones, so a
clinic's database from an earlier version would lack a column added since
(``api_tokens.expires_at``, say). New columns are always nullable or have a
server default, so adding them is all an upgrade needs: ``ensure_schema``
creates missing tables, then adds each missing column with ``ALTER TABLE``
and the indexes that use it. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.schema import Column

log = logging.getLogger(__name__)


def ensure_schema(connection: Connection, metadata: MetaData) -> list[str]:
    """Create missing tables, add missing columns (and their indexes); returns the columns added (``table.column``)."""
    metadata.create_all(connection)
    inspector = inspect(connection)
    added = []
    for table in metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        new = {column.name for column in table.columns if column.name not in present}
        for column in table.columns:
            if column.name in new:
                connection.exec_driver_sql(_add_column(connection, table.name, column))
                added.append(f"{table.name}.{column.name}")
        # An index on a column just added cannot exist yet: make it (no reflection of indexes needed).
        for index in table.indexes:
            if any(column.name in new for column in index.columns):
                index.create(connection)
    if added:
        log.info("database upgraded: added %s", ", ".join(added))
    return added


def _add_column(connection: Connection, table: str, column: Column) -> str:
    if not (column.nullable or column.server_default is not None):
        raise RuntimeError(f"{table}.{column.name} is new and NOT NULL without a server default: it cannot be added")
    preparer = connection.dialect.identifier_preparer
    kind = column.type.compile(dialect=connection.dialect)
    default = f" DEFAULT {getattr(column.server_default, 'arg', '')}" if column.server_default is not None else ""
    return f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {kind}{default}"
