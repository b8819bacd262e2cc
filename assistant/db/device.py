"""The action server's own durable store (``actions.db``): one SQLite file under the data directory.

It holds the offline outbox and the checklists read while the hub was
reachable, so both survive a restart of the action server or the phone.
SQLAlchemy 1.4 in 2.0 style; WAL mode so a reader never blocks the writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    Text,
    event,
    text,
)
from sqlalchemy.engine import Engine

from assistant.db.engine_options import sync_engine
from assistant.db.naming import named_metadata

FILENAME = "actions.db"

metadata = named_metadata()

outbox_table = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # consult | encounter
    Column("idempotency_key", String(96), nullable=False, unique=True),
    Column("worker_id", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),  # the JSON body, sent as it was first built
    # pending | sending | delivered | rejected | cancelling | cancelled (actions.outbox)
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", String(200)),  # an error code or class, never patient data
    Column("result", Text),  # the backend's answer once delivered
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("delivered_at", DateTime),
    Column("next_attempt_at", DateTime),  # after a "not now" from the hub: wait until then
    # An attempt may have reached the hub (it timed out after sending): a cancel must go through the hub.
    Column("maybe_sent", Boolean, nullable=False, server_default=text("0")),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("0")),
    Column("announced_at", DateTime),  # when the worker was told it was rejected
)

checklist_cache_table = Table(
    "checklist_cache",
    metadata,
    Column("key", String(128), primary_key=True),  # "<slug>:<lang>" or "index"
    Column("body", Text, nullable=False),
    Column("fetched_at", Float, nullable=False),  # time.time()
)


def open_engine(data_dir: Path) -> Engine:
    """The action server's engine, on the file migrated to the newest revision (it owns the file)."""
    from assistant.db.migrations import migrate  # alembic only when the action server starts, not on every import

    data_dir.mkdir(parents=True, exist_ok=True)
    migrate(f"sqlite:///{data_dir / FILENAME}", "outbox")
    return connect(data_dir, create=True)


def connect(data_dir: Path, *, create: bool = False) -> Engine:
    """An engine on the file; without ``create``, connecting fails while the action server has not made it.

    Other processes (Rasa, announcing rejected records) use it that way: they
    read and mark rows but never create the file or own its schema.
    """
    path = data_dir / FILENAME
    url = f"sqlite:///{path}" if create else f"sqlite:///file:{path}?mode=rw&uri=true"
    engine = sync_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a queued record must survive a power cut
        cursor.close()

    return engine
