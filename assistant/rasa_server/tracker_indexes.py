"""Rasa's SQL tracker store reads a worker's current session through an index, so it costs the same all day.

Rasa's ``SQLTrackerStore`` reads the current session as the events ``WHERE
sender_id = ? AND (timestamp >= s OR s IS NULL)``, where ``s`` is a subquery
for the latest ``session_started``, on every retrieve and again (as a count)
on every save. Its only index is on ``sender_id``, so each of those queries
read every event the worker ever had, each row with its JSON, and a worker's
sender id is their worker id: by the end of a day (some 6 000 events) that
was 11 ms a query, several times a turn, however short the session.

Here the table gets two indexes, and the query is Rasa's in two steps: the
session's start from the first index, then the events from that timestamp
on, a range of the second. Both are the same rows as Rasa's query (its ``OR``
is what kept the range from being used), and both read only the session
(0.6 to 0.9 ms at 6 000 events; the indexes alone made it 1.1 to 1.4 ms and
still growing with the day).

Rasa creates its table when the store starts; the indexes are created right
after it, if missing, so a clinic's existing tracker database gains them too.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import SessionStarted
from sqlalchemy.orm import Query, Session

from assistant.db.engine_options import hide_parameters
from assistant.rasa_server.rasa_version import require_supported_rasa

log = logging.getLogger(__name__)

# name -> columns of Rasa's ``events`` table
INDEXES = {
    "ix_events_sender_type_timestamp": ("sender_id", "type_name", "timestamp"),  # the session's start
    "ix_events_sender_timestamp": ("sender_id", "timestamp"),  # the events since it
}
_INSTALLED = "_assistant_reads_tracker_sessions_by_index"


def ensure_indexes(engine: sa.engine.Engine) -> None:
    """Create the indexes on the tracker store's table where they are missing."""
    table = SQLTrackerStore.SQLEvent.__tablename__
    with engine.begin() as connection:
        for name, columns in INDEXES.items():
            # IF NOT EXISTS (SQLite, PostgreSQL): two Rasa processes starting at once may both get here.
            connection.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"))


def event_query(
    store: SQLTrackerStore, session: Session, sender_id: str, fetch_events_from_all_sessions: bool
) -> Query:
    """``SQLTrackerStore._event_query``: the sender's events (of the latest session only, unless all), by id."""
    events = store.SQLEvent
    query = session.query(events).filter(events.sender_id == sender_id)
    if not fetch_events_from_all_sessions:
        session_start = (
            session.query(sa.func.max(events.timestamp))
            .filter(events.sender_id == sender_id, events.type_name == SessionStarted.type_name)
            .scalar()
        )
        if session_start is not None:  # no session started yet: all of them, as Rasa does
            query = query.filter(events.timestamp >= session_start)
    return query.order_by(events.id)


def install() -> None:
    if getattr(SQLTrackerStore, _INSTALLED, False):
        return
    require_supported_rasa(__name__)
    start_store = SQLTrackerStore.__init__

    def __init__(self: SQLTrackerStore, *args: Any, **kwargs: Any) -> None:
        start_store(self, *args, **kwargs)
        hide_parameters(self.engine)  # its rows are the conversations' text: never in an error's message
        ensure_indexes(self.engine)

    SQLTrackerStore.__init__ = __init__
    SQLTrackerStore._event_query = event_query
    setattr(SQLTrackerStore, _INSTALLED, True)
