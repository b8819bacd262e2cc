"""Rasa's SQL tracker store reads the current session through its indexes, with the same events as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from assistant.rasa_server import tracker_indexes


def index_names(engine: sa.engine.Engine) -> set[str]:
    return {index["name"] for index in sa.inspect(engine).get_indexes(SQLTrackerStore.SQLEvent.__tablename__)}


def store_on(path: Path) -> SQLTrackerStore:
    tracker_indexes.install()
    return SQLTrackerStore(dialect="sqlite", db=str(path))


def day(start: float) -> list[Event]:
    """Two sessions: one from ``start``, the next from ``start + 10``."""
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        UserUttered("hello", timestamp=start + 1),
        ActionExecuted("action_session_start", timestamp=start + 10),
        SessionStarted(timestamp=start + 10),
        UserUttered("next", timestamp=start + 11),
    ]


def timestamps(tracker: DialogueStateTracker | None) -> list[float]:
    assert tracker is not None
    return [event.timestamp for event in tracker.events]


def test_a_tracker_database_made_before_the_indexes_gains_them(tmp_path: Path) -> None:
    old = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    SQLTrackerStore.Base.metadata.create_all(old)  # the table as Rasa alone made it
    assert not index_names(old) & set(tracker_indexes.INDEXES)
    store = store_on(tmp_path / "tracker.db")
    assert set(tracker_indexes.INDEXES) <= index_names(store.engine)
    store_on(tmp_path / "tracker.db")  # and a second start finds them there


async def test_the_current_session_is_read_whole_and_alone(tmp_path: Path) -> None:
    store = store_on(tmp_path / "tracker.db")
    await store.save(DialogueStateTracker.from_events("W001", day(100.0)))
    await store.save(DialogueStateTracker.from_events("W002", day(105.0)))  # interleaved in time
    await store.save(DialogueStateTracker.from_events("W003", [UserUttered("hi", timestamp=1.0)]))

    assert timestamps(await store.retrieve("W001")) == [110.0, 110.0, 111.0]
    assert timestamps(await store.retrieve("W002")) == [115.0, 115.0, 116.0]
    assert timestamps(await store.retrieve_full_tracker("W001")) == [100.0, 100.0, 101.0, 110.0, 110.0, 111.0]
    assert timestamps(await store.retrieve("W003")) == [1.0]  # no session started yet: all of it

    # A save stores only what the current session does not hold yet.
    tracker = await store.retrieve("W001")
    assert tracker is not None
    tracker.update(UserUttered("repeat", timestamp=112.0))
    await store.save(tracker)
    assert timestamps(await store.retrieve_full_tracker("W001")) == [100.0, 100.0, 101.0, 110.0, 110.0, 111.0, 112.0]


def test_the_session_is_found_and_read_by_index_range(tmp_path: Path) -> None:
    store = store_on(tmp_path / "tracker.db")
    plans: list[str] = []

    def explain(connection: sa.engine.Connection, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            plans.append(" ".join(row[-1] for row in rows))

    with store.session_scope() as session:
        session.add(store.SQLEvent(sender_id="W001", type_name="session_started", timestamp=5.0, data="{}"))
        session.commit()
        sa.event.listen(store.engine, "before_cursor_execute", explain)
        try:
            tracker_indexes.event_query(store, session, "W001", fetch_events_from_all_sessions=False).all()
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", explain)
    start, events = plans
    assert "ix_events_sender_type_timestamp" in start, start
    assert "ix_events_sender_timestamp (sender_id=? AND timestamp>?)" in events, events
