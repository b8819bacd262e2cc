"""A real console over a seeded backend and a tracker store holding known conversations.

The transcripts are written in Rasa's own row format (tests/support/conversations.py);
the browser tests instead hold real conversations with the running stack.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import Engine

from tests.support.console import RunningConsole, start_console
from tests.support.conversations import Said, conversation_events, entity, event_rows, tracker_engine, write_rows
from tests.support.in_process import console_password, seeded

PASSWORD = "console-test-password"
HOUR = 3600.0


@dataclass
class World:
    """What the tracker store and backend hold, by name."""

    db_url: str
    tracker_url: str
    backend: Engine
    tracker: Engine
    conversations: dict[str, int] = field(default_factory=dict)  # name -> conversation id
    encounters: dict[str, int] = field(default_factory=dict)
    consults: dict[str, int] = field(default_factory=dict)

    def demote(self, worker: str) -> None:
        with self.backend.begin() as connection:
            connection.execute(text("UPDATE workers SET role = 'worker' WHERE id = :id"), {"id": worker})


def _store(world: World, name: str, sender: str, turns: list[Said], start: float) -> None:
    rows = event_rows(sender, conversation_events(turns, start))
    write_rows(world.tracker, rows)
    with world.tracker.connect() as connection:
        world.conversations[name] = connection.execute(
            text("SELECT max(id) FROM events WHERE sender_id = :s AND type_name = 'session_started'"), {"s": sender}
        ).scalar_one()


def _record(world: World, table: str, values: dict, moment: float) -> int:
    from assistant.db.models import Consult, Encounter

    model = {"encounters": Encounter, "consults": Consult}[table]
    created = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    with world.backend.begin() as connection:
        if model is Consult and "hub_id" not in values:  # the hub serving its facility, as the booking sets it
            served_by = "SELECT served_by FROM facilities WHERE id = :id"
            values = {**values, "hub_id": connection.execute(text(served_by), {"id": values["facility_id"]}).scalar()}
        result = connection.execute(insert(model.__table__).values(created_at=created, updated_at=created, **values))
        return result.inserted_primary_key[0]


def build_world(root: Path, db_url: str | None = None, tracker_url: str | None = None) -> World:
    """Seeded databases: SQLite files under ``root`` unless URLs (PostgreSQL, say) are given."""
    db_url = db_url or f"sqlite:///{root / 'backend.db'}"
    tracker_url = tracker_url or f"sqlite:///{root / 'tracker.db'}"
    seeded(db_url)
    world = World(db_url, tracker_url, create_engine(db_url, future=True), tracker_engine(tracker_url))
    now = time.time()

    # W001, 100 days ago (Rasa writes in time order, so first): for the retention purge.
    _store(
        world,
        "old_w001",
        "W001",
        [Said("hand hygiene", "get_checklist", 0.97, replies=["Step 1 of 6."], channel="web")],
        now - 100 * 24 * HOUR,
    )

    # W001 (hwc-ajari, under chc-pindwara): a voice encounter, heard with low ASR confidence once.
    text_1 = "log encounter patient 7788 bukhar hai"
    start = now - 5 * HOUR
    _store(
        world,
        "encounter_voice",
        "W001",
        [
            Said(
                text_1,
                "log_encounter",
                0.91,
                [entity(text_1, "patient_id", "7788", "7788")],
                slots={"patient_id": "7788"},
                actions=["encounter_form"],
                replies=["How old is the patient?"],
                channel="voice",
                asr_confidence=0.48,
                language="hi",
            ),
            Said(
                "chautees saal",
                "inform",
                0.77,
                [entity("chautees saal", "age", "34", "chautees")],
                slots={"age": 34},
                replies=["Reading back: patient 7788, 34 years. Save?"],
                channel="voice",
                asr_confidence=0.9,
                language="hi",
            ),
            Said(
                "haan",
                "affirm",
                0.98,
                actions=["action_save_encounter"],
                replies=["Encounter saved."],
                channel="voice",
                asr_confidence=0.95,
                language="hi",
            ),
        ],
        start,
    )
    world.encounters["encounter_voice"] = _record(
        world,
        "encounters",
        {
            "patient_ref": "7788",
            "age_years": 34,
            "sex": "female",
            "complaint": "fever",
            "systolic_bp": 140,
            "diastolic_bp": 90,
            "temperature_c": 38.3,
            "pulse": 88,
            "worker_id": "W001",
            "facility_id": "hwc-ajari",
            "channel": "voice",
            "conversation_id": "W001",
        },
        start + 30,
    )

    # W002 (sc-abu-road, under chc-abu-road): a consult booked over WhatsApp.
    text_2 = "urgent cardiology consult for patient 4521"
    start = now - 3 * HOUR
    _store(
        world,
        "consult_whatsapp",
        "W002",
        [
            Said(
                text_2,
                "request_consult",
                0.94,
                [
                    entity(text_2, "urgency", "urgent", "urgent"),
                    entity(text_2, "specialty", "cardiology", "cardiology"),
                    entity(text_2, "patient_id", "4521", "4521"),
                ],
                slots={"specialty": "cardiology", "urgency": "urgent", "patient_id": "4521"},
                actions=["consult_form"],
                replies=["What is the reason?"],
                channel="whatsapp",
            ),
            Said('=HYPERLINK("x") chest pain', "inform", 0.83, replies=["Book it?"], channel="whatsapp"),
            Said(
                "yes",
                "affirm",
                0.97,
                actions=["action_book_consult"],
                replies=["Booked with Dr. Kumawat."],
                channel="whatsapp",
            ),
        ],
        start,
    )
    world.consults["consult_whatsapp"] = _record(
        world,
        "consults",
        {
            "patient_ref": "4521",
            "specialty": "cardiology",
            "urgency": "urgent",
            "status": "requested",
            "requested_by": "W002",
            "facility_id": "sc-abu-road",
            "channel": "whatsapp",
            "conversation_id": "W002",
            "hub_queue": True,
        },
        start + 30,
    )
    world.encounters["abu_road"] = _record(
        world,
        "encounters",
        {
            "patient_ref": "9911",
            "age_years": 60,
            "sex": "male",
            "complaint": "cough",
            "worker_id": "W002",
            "facility_id": "sc-abu-road",
            "channel": "whatsapp",
            "conversation_id": None,
        },
        start + 60,
    )

    # W003 (chc-pindwara): the assistant did not understand.
    start = now - 2 * HOUR
    _store(
        world,
        "fallback_web",
        "W003",
        [
            Said("mausam kaisa hai", "nlu_fallback", 0.21, replies=["Sorry, I did not get that."], channel="web"),
            Said(
                "<script>alert(1)</script> checklist",
                "get_checklist",
                0.66,
                replies=["Which checklist?"],
                channel="web",
            ),
        ],
        start,
    )

    for worker in ("S001", "S002", "A001"):
        console_password(db_url, worker, PASSWORD)
    # A supervisor who is later demoted to field worker keeps a console password.
    with world.backend.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO workers (id, name, facility_id, role, active) VALUES ('S900', 'Demoted "
                "Supervisor', 'chc-abu-road', 'supervisor', true)"
            )
        )
    console_password(db_url, "S900", PASSWORD)
    return world


@contextlib.contextmanager
def console_over(
    world: World, artifacts_dir: Path, env: Mapping[str, str] | None = None
) -> Iterator[tuple[World, RunningConsole]]:
    """A running console over ``world``; stopped, and the world's connections closed, afterwards."""
    console = start_console(world.db_url, world.tracker_url, artifacts_dir / "logs", env=dict(env) if env else None)
    try:
        yield world, console
    finally:
        console.stop()
        world.backend.dispose()
        world.tracker.dispose()


@pytest.fixture(scope="session")
def console_world(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[tuple[World, RunningConsole]]:
    with console_over(build_world(tmp_path_factory.mktemp("console")), artifacts_dir) as running:
        yield running
