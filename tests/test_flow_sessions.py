"""A worker's long day through the real stack: sessions end between flows, and nothing is lost.

The session ending between flows (``assistant.rasa_server.flow_sessions``) is
what keeps a turn's cost flat over a day; these tests hold it to what it must
keep: the slots that survive a session (the reply language chosen), a new
booking in each session (never an earlier session's idempotency key replayed),
a flow that is open never cut in two, and every turn still in the tracker
store, where the supervisor console reads all sessions.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text

from assistant.core.rules import SESSION_TURNS_BEFORE_FLOW_BREAK
from assistant.rasa_server.tracker_indexes import INDEXES
from tests.support.stack import RunningStack

pytestmark = pytest.mark.stack

DEVANAGARI = range(0x0900, 0x0980)


def events_of(stack: RunningStack, worker: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    with stack.engine(stack.tracker_db_url).connect() as connection:
        rows = connection.execute(
            text("SELECT type_name, data FROM events WHERE sender_id = :worker ORDER BY id"), {"worker": worker}
        ).all()
    return [(type_name, json.loads(data)) for type_name, data in rows]


def said(stack: RunningStack, worker: str, message: str) -> str:
    return " ".join(reply.get("text", "") for reply in stack.say(worker, message))


def test_sessions_end_between_flows_and_keep_what_must_survive(running_stack: RunningStack) -> None:
    worker = running_stack.new_worker()
    spoken = ["speak hindi"]
    said(running_stack, worker, "speak hindi")
    for n in range(3):
        for message in (
            f"routine dermatology consult for patient {41000 + n}, itchy rash",
            "yes",
            "hello",
            "hello",
        ):
            spoken.append(message)
            reply = said(running_stack, worker, message)
        assert any(ord(ch) in DEVANAGARI for ch in reply), reply  # English words, the chosen Hindi reply

    events = events_of(running_stack, worker)
    starts = [i for i, (kind, _) in enumerate(events) if kind == "session_started"]
    assert len(starts) >= 3, "a busy worker's session never ended"
    current = [data for kind, data in events[starts[-1] :] if kind == "user"]
    first_turn = next(i for i, (kind, _) in enumerate(events) if kind == "user" and i > starts[-1])
    carried = [data["name"] for kind, data in events[starts[-1] : first_turn] if kind == "slot"]
    assert "language_choice" in carried
    assert len(carried) == len(set(carried)), "each slot is carried once, not every SlotSet of the session"
    assert len(current) <= SESSION_TURNS_BEFORE_FLOW_BREAK + 4  # the session Rasa loads stays short
    # Every turn of the day is still in the store, in order, across its sessions.
    assert [data["text"] for kind, data in events if kind == "user"] == spoken
    # Each session booked its own consult: a new session's keys never replay an earlier booking.
    with running_stack.backend_db.connect() as connection:
        patients = connection.execute(
            text("SELECT patient_ref FROM consults WHERE requested_by = :worker ORDER BY id"), {"worker": worker}
        ).scalars()
        assert list(patients) == ["41000", "41001", "41002"]


def test_an_open_checklist_is_never_cut_by_a_session_end(running_stack: RunningStack) -> None:
    worker = running_stack.new_worker()
    for _ in range(SESSION_TURNS_BEFORE_FLOW_BREAK):
        said(running_stack, worker, "hello")
    said(running_stack, worker, "show me the hand hygiene checklist")
    steps = [said(running_stack, worker, "next") for _ in range(3)]
    assert all("step" in reply.lower() for reply in steps), steps
    events = events_of(running_stack, worker)
    last_start = max(i for i, (kind, _) in enumerate(events) if kind == "session_started")
    opened = next(i for i, (kind, data) in enumerate(events) if kind == "user" and "checklist" in data["text"])
    assert last_start < opened  # the session ended before the checklist, not inside it


def test_the_stacks_tracker_store_finds_sessions_in_an_index(running_stack: RunningStack) -> None:
    """Rasa under ``assistant.rasa_server`` made the indexes that keep reading a session flat over a day."""
    indexes = inspect(running_stack.engine(running_stack.tracker_db_url)).get_indexes("events")
    assert set(INDEXES) <= {index["name"] for index in indexes}
