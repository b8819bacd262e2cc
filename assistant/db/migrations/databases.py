"""The databases the assistant owns and migrates, each with its own line of revisions.

- ``backend``: the backend's tables and the console's, two metadatas in one
  database and one line of revisions, since they are always the same
  database, backed up and upgraded together.
- ``channels``: the chat channels' state (``channels.db`` or ``ASSISTANT_CHANNELS_DB_URL``).
- ``outbox``: the action server's store (``actions.db``, SQLite only).

Rasa's tracker store is Rasa's: Rasa makes and changes its tables itself.

Each keeps its version in a table of its own name, so that two of them
pointed at one PostgreSQL database never read each other's version. The
tables' metadata is loaded only when a revision is written or checked:
migrating a database needs the frozen schema of its revisions, not the models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData

HERE = Path(__file__).resolve().parent


def _backend() -> list[MetaData]:
    from assistant.db.console_tables import ConsoleBase
    from assistant.db.models import Base

    return [Base.metadata, ConsoleBase.metadata]


def _channels() -> list[MetaData]:
    from assistant.db.channel_tables import Base

    return [Base.metadata]


def _outbox() -> list[MetaData]:
    from assistant.db.device import metadata

    return [metadata]


@dataclass(frozen=True)
class OwnDatabase:
    name: str
    title: str  # how an error or a log line names it
    load_metadata: Callable[[], list[MetaData]]

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    @property
    def versions(self) -> Path:
        """Where its revisions live, shipped inside the package."""
        return HERE / self.name

    def table_names(self) -> set[str]:
        return {name for metadata in self.load_metadata() for name in metadata.tables}


DATABASES: dict[str, OwnDatabase] = {
    database.name: database
    for database in (
        OwnDatabase("backend", "backend database", _backend),
        OwnDatabase("channels", "channel state database", _channels),
        OwnDatabase("outbox", "action server's outbox database", _outbox),
    )
}
