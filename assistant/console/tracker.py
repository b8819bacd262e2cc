"""Read access to Rasa's SQL tracker store (the ``events`` table), through the URL Rasa uses.

The console keeps no copy of transcripts: every page is a query on Rasa's
own rows. A *conversation* is one Rasa conversation session: it starts at a
``session_started`` event and runs until the sender's next one (the sender id
is the worker id, so one worker has many conversations). It is identified by
the id of its ``session_started`` row.

Rasa indexes only ``sender_id``; :func:`ensure_indexes` adds the few indexes
the console's list and filters need so they stay fast at 100,000
conversations. They are plain indexes on Rasa's table: they cannot drift.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text, and_, func, inspect, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import Float as FloatType
from sqlalchemy.types import String as StringType

from assistant.console.app_state import STATE, TRACKER
from assistant.db.engine import Database

log = logging.getLogger(__name__)

SESSION_STARTED = "session_started"
# Rasa runs this just before writing ``session_started``, so by id it is the
# last row of the previous conversation; it belongs to neither for display.
SESSION_START_ACTION = "action_session_start"
USER = "user"
BOT = "bot"
ACTION = "action"
# Values inside an event's JSON that the filters test.
CHANNEL_PATH = ("metadata", "channel")
ASR_CONFIDENCE_PATH = ("metadata", "asr_confidence")
INTENT_CONFIDENCE_PATH = ("parse_data", "intent", "confidence")
# Ids grow with time within a sender; this stands for "no later session"
# (Rasa's id column is a 32-bit INTEGER on PostgreSQL).
NO_END = 2**31 - 1

# Rasa's schema (rasa/core/tracker_store.py, SQLTrackerStore.SQLEvent), mirrored
# rather than imported so the console does not load Rasa.
metadata = MetaData()
events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


class json_value(FunctionElement):
    """``data`` parsed as JSON, one value at a path: the same SQL on SQLite and PostgreSQL."""

    inherit_cache = True

    def __init__(self, column: Any, *path: str, as_float: bool = False) -> None:
        self.path = path
        self.as_float = as_float
        self.type = FloatType() if as_float else StringType()
        super().__init__(column)


@compiles(json_value, "sqlite")
def _json_value_sqlite(element: json_value, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    return f"json_extract({column}, '$.{'.'.join(element.path)}')"


@compiles(json_value, "postgresql")
def _json_value_postgresql(element: json_value, compiler: Any, **kw: Any) -> str:
    column = compiler.process(list(element.clauses)[0], **kw)
    text = f"(CAST({column} AS json) #>> '{{{','.join(element.path)}}}')"
    return f"CAST({text} AS double precision)" if element.as_float else text


class day_number(FunctionElement):
    """Whole days since the epoch of a Unix timestamp shifted by an offset in seconds."""

    inherit_cache = True
    type = Integer()


@compiles(day_number, "sqlite")
def _day_sqlite(element: day_number, compiler: Any, **kw: Any) -> str:
    timestamp, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(({timestamp} + {offset}) / 86400 AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_postgresql(element: day_number, compiler: Any, **kw: Any) -> str:
    timestamp, offset = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(FLOOR(({timestamp} + {offset}) / 86400) AS INTEGER)"


class epoch_seconds(FunctionElement):
    """Unix time of a naive-UTC ``DateTime`` column, computed by the database (no Python objects per row)."""

    inherit_cache = True
    type = Float()


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(list(element.clauses)[0], **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(list(element.clauses)[0], **kw)})"


class json_array_agg(FunctionElement):
    """All values of a group as one JSON array: one row per group crosses the wire, not one per value."""

    inherit_cache = True
    type = Text()


@compiles(json_array_agg, "sqlite")
def _json_agg_sqlite(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"json_group_array({compiler.process(list(element.clauses)[0], **kw)})"


@compiles(json_array_agg, "postgresql")
def _json_agg_postgresql(element: json_array_agg, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg({compiler.process(list(element.clauses)[0], **kw)}) AS text)"


def channel_of(table: Any = events) -> ColumnElement:
    """The channel a user message came in on, as the channel that heard it recorded it (the contract)."""
    return json_value(table.c.data, *CHANNEL_PATH)


def _indexes() -> list[Index]:
    c = events.c
    return [
        # Conversations newest first, within a date range, for some senders; it also
        # covers the dashboard's per-day counts of turns and fallbacks.
        Index(
            "console_ix_events_type_time_sender", c.type_name, c.timestamp, c.sender_id, c.intent_name, c.action_name
        ),
        # A sender's conversations, where the next one starts, and its user turns.
        Index("console_ix_events_sender_type_id", c.sender_id, c.type_name, c.id),
        # "Had intent X" and "ran fallback action Y" inside one conversation.
        Index("console_ix_events_sender_intent_id", c.sender_id, c.intent_name, c.id),
        Index("console_ix_events_sender_action_id", c.sender_id, c.action_name, c.id),
        # The channel lives in the JSON: index the value itself. (Low-confidence
        # checks read the few user events of one conversation; an index there
        # measured no faster.)
        Index("console_ix_events_sender_channel", c.sender_id, json_value(c.data, *CHANNEL_PATH)),
    ]


def next_session_start(session: Any, column: str = "id") -> Any:
    """Id (or timestamp) of the sender's next ``session_started`` row after ``session``; NULL if none."""
    later = events.alias("later_session")
    return (
        select(later.c[column])
        .where(
            later.c.sender_id == session.c.sender_id, later.c.type_name == SESSION_STARTED, later.c.id > session.c.id
        )
        .order_by(later.c.id)
        .limit(1)
        .scalar_subquery()
        # Nested inside an EXISTS, auto-correlation would not reach ``session``.
        .correlate_except(later)
    )


def in_session(event_table: Any, session: Any, end_id: Any) -> ColumnElement:
    """``event_table`` rows that belong to the conversation ``session`` (ending before ``end_id``)."""
    return and_(
        event_table.c.sender_id == session.c.sender_id,
        event_table.c.id > session.c.id,
        event_table.c.id < func.coalesce(end_id, NO_END),
    )


async def has_events_table(db: Database) -> bool:
    async with db.reader_engine.connect() as connection:
        return await connection.run_sync(lambda sync: inspect(sync).has_table("events"))


async def ensure_indexes(db: Database) -> bool:
    """Add the console's indexes to Rasa's table; False while Rasa has not created it yet.

    On a large store the first run takes a while (about 20 s for 1.5 million
    events); later runs find them in place at once.
    """
    if not await has_events_table(db):
        return False
    async with db.writer_engine.begin() as connection:
        existing = await _index_names(connection, db.is_sqlite)
        added = [index for index in _indexes() if index.name not in existing]
        for index in added:
            ddl = str(CreateIndex(index).compile(dialect=connection.dialect))
            await connection.exec_driver_sql(ddl.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
        if added or (db.is_sqlite and not await _has_statistics(connection)):
            # The planner needs statistics to prefer the new indexes. SQLite never
            # gathers them by itself; PostgreSQL would, later.
            await connection.exec_driver_sql("ANALYZE events")
    log.info("tracker store indexes in place (%d added)", len(added))
    return True


async def _index_names(connection: Any, sqlite: bool) -> set[str]:
    # Read from the catalogue: SQLAlchemy's inspector skips expression indexes.
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'"
        if sqlite
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'events'"
    )
    return {row[0] for row in await connection.exec_driver_sql(query)}


async def _has_statistics(connection: Any) -> bool:
    tables = await connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
    if tables.first() is None:
        return False
    rows = await connection.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = 'events' LIMIT 1")
    return rows.first() is not None


async def ready(app: web.Application) -> bool:
    """Whether Rasa's table exists (indexed); retried on each request until it does."""
    state = app[STATE]
    if not state.get("tracker_ready"):
        state["tracker_ready"] = await ensure_indexes(app[TRACKER])
    return bool(state["tracker_ready"])


async def session_at(session: Any, sender_id: str, timestamp: float) -> int | None:
    """The conversation ``sender_id`` was having at ``timestamp``: their latest session start up to then."""
    found = await session.execute(
        select(func.max(events.c.id)).where(
            events.c.sender_id == sender_id, events.c.type_name == SESSION_STARTED, events.c.timestamp <= timestamp
        )
    )
    value = found.scalar_one_or_none()
    return None if value is None else int(value)
