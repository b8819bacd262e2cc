"""The names of every index and constraint, the same on SQLite and PostgreSQL.

Left to the database, a foreign key is ``facilities_hub_id_fkey`` on
PostgreSQL and has no name at all on SQLite, so a migration could not name
the constraint it changes. Each metadata of ours takes this convention;
an explicit name (``uq_consult_active_slot``) is kept as it is.
"""

from __future__ import annotations

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def named_metadata() -> MetaData:
    """A new metadata whose constraints and indexes all get a name of the convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)
