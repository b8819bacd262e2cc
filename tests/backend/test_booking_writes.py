"""What a booking's write path must keep while it is made cheaper, on SQLite and on a real PostgreSQL server.

A booking answers from what it inserted, without reading the consult back:
the answer must be what the database holds. The idempotency record is
written last, so a twin request that runs at the same time must still end
up with the first one's answer, even when its own work fails (the consult
was cancelled meanwhile). And on PostgreSQL a booking whose slot is taken
while it inserts takes the next one instead of failing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import requests
from sqlalchemy import delete, select, text, update

from assistant.backend import seed
from assistant.backend.booking import book as book_consult
from assistant.db.engine import Database
from assistant.db.models import Consult, Slot, Specialist, utcnow
from tests.backend.test_booking import book, count_consults, delete_slots
from tests.support.backend import RunningBackend
from tests.support.postgres import PostgresServer

Call = tuple[str, dict[str, Any], dict[str, str]]  # path, body, headers


def at_once(backend: RunningBackend, calls: list[Call]) -> list[tuple[int, dict[str, Any]]]:
    """POST every call at the same moment, each on a connection of its own; status and body of each, in order."""

    async def run() -> list[tuple[int, dict[str, Any]]]:
        connector = aiohttp.TCPConnector(force_close=True)  # several backend processes: spread over them
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:

            async def one(path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
                async with session.post(f"{backend.url}{path}", json=body, headers=headers) as response:
                    return response.status, await response.json()

            return list(await asyncio.gather(*(one(*call) for call in calls)))

    return asyncio.run(run())


def stored(backend: RunningBackend, consult_id: int) -> dict[str, Any]:
    answer = requests.get(f"{backend.url}/consults/{consult_id}", headers=backend.headers())
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.parametrize(
    ("specialty", "urgency", "status"),
    [("cardiology", "routine", "scheduled"), ("nephrology", "urgent", "requested"), ("neurology", "emergency", None)],
)
def test_a_booking_answers_exactly_what_was_stored(
    any_backend: RunningBackend, specialty: str, urgency: str, status: str | None
) -> None:
    if urgency == "urgent":
        delete_slots(any_backend, specialty, within=dt.timedelta(days=2))  # nothing within 24 hours: queued
    answer = book(any_backend, specialty, urgency, reason="Chest pain on exertion", patient_ref=f"ST-{urgency}")
    assert answer.status_code == 201, answer.text
    booked = answer.json()
    assert booked["status"] == (status or "scheduled")
    assert booked["hub_queue"] == (status == "requested")
    assert (booked["specialist"] is None) == (status == "requested")
    assert stored(any_backend, booked["id"]) == booked


def test_twin_cancels_with_one_key_all_get_the_first_answer(any_backend: RunningBackend) -> None:
    """Each twin that ran alongside the first finds the consult cancelled (409), yet answers the first's 200."""
    for _ in range(3):
        consult = book(any_backend, "ophthalmology", patient_ref="TWIN-CANCEL").json()
        headers = {**any_backend.headers(), "Idempotency-Key": str(uuid.uuid4())}
        path = f"/consults/{consult['id']}/cancel"
        answers = at_once(any_backend, [(path, {"reason": "family travelling"}, headers)] * 8)
        assert {status for status, _ in answers} == {200}, answers
        assert len({str(body) for _, body in answers}) == 1
        assert answers[0][1]["status"] == "cancelled"
        assert stored(any_backend, consult["id"]) == answers[0][1]


def test_twins_of_many_bookings_at_once_book_each_once(any_backend: RunningBackend) -> None:
    keys = [str(uuid.uuid4()) for _ in range(6)]
    calls: list[Call] = []
    for n, key in enumerate(keys):
        body = {"patient_ref": f"TWINS-{n}", "specialty": "psychiatry", "urgency": "routine"}
        calls += [("/consults", body, {**any_backend.headers(), "Idempotency-Key": key})] * 5
    answers = at_once(any_backend, calls)
    assert {status for status, _ in answers} == {201}
    for n in range(len(keys)):
        of_key = [answers[n * 5 + copy][1] for copy in range(5)]
        assert all(body == of_key[0] for body in of_key)
        assert count_consults(any_backend, f"TWINS-{n}") == 1
    slots = [stored(any_backend, body["id"])["scheduled_for"] for body in (answers[n * 5][1] for n in range(6))]
    specialists = [answers[n * 5][1]["specialist"]["id"] for n in range(6)]
    assert len(set(zip(slots, specialists, strict=True))) == 6  # six consults, six different slots


# --- PostgreSQL: the slot taken while the booking inserts -----------------------------------


@pytest.fixture
async def pg_db(postgres: PostgresServer) -> AsyncIterator[Database]:
    db = Database.connect(postgres.create_database(f"lost_race_{uuid.uuid4().hex[:8]}"))
    await seed.seed(db)
    yield db
    await db.dispose()


async def _first_free_slot(db: Database, specialty: str) -> Slot:
    async with db.read() as session:
        query = (
            select(Slot)
            .join(Specialist, Specialist.id == Slot.specialist_id)
            .where(Specialist.specialty == specialty, Slot.starts_at >= utcnow())
            .order_by(Slot.starts_at, Slot.id)
            .limit(1)
        )
        return (await session.execute(query)).unique().scalar_one()


async def _waiting_on_a_lock(db: Database) -> bool:
    async with db.read() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool((await session.execute(query)).scalar_one())


def _request(ref: str, specialty: str) -> Consult:
    return Consult(
        patient_ref=ref,
        specialty=specialty,
        urgency="routine",
        status="requested",
        requested_by="W001",
        facility_id="hwc-ajari",
        hub_id="aiims-jodhpur",  # the hub serving hwc-ajari, as POST /consults sets it
        channel="api",
        conversation_id="W001",
    )


async def _lose_the_race_for(db: Database, slot: Slot, specialty: str) -> Consult:
    """Book a consult whose search finds ``slot`` free while another consult's uncommitted claim holds it.

    The winner here is a waiting consult put on the slot (as the hub desk
    does) in a transaction left open: it holds no lock on the slot row, so
    the booking's search finds the slot free and locks it; only the unique
    index on ``consults.slot_id`` stands between them. Returns the loser, booked.
    """
    async with db.write() as session:
        waiting = _request("HUB-PUT", specialty)
        waiting.created_at = waiting.updated_at = utcnow()
        session.add(waiting)
        await session.flush()
        # Waiting, and already naming the slot: that is not holding it (the index covers held statuses only).
        await session.execute(update(Consult).where(Consult.id == waiting.id).values(slot_id=slot.id))
    asked = _request("LOSER", specialty)

    async def booking() -> None:
        async with db.write() as session:
            await book_consult(session, asked, utcnow())

    async with db.write() as winner:
        await winner.execute(update(Consult).where(Consult.id == waiting.id).values(status="scheduled"))
        loser = asyncio.create_task(booking())
        for _ in range(200):
            if await _waiting_on_a_lock(db) or loser.done():
                break
            await asyncio.sleep(0.05)
        assert not loser.done(), loser
        assert await _waiting_on_a_lock(db)  # the loser waits on the index for the winner
    await asyncio.wait_for(loser, 30)  # the winner committed; no IntegrityError reached the loser
    async with db.read() as session:
        holders = (
            await session.execute(
                select(Consult.patient_ref).where(Consult.slot_id == slot.id, Consult.status == "scheduled")
            )
        ).scalars()
        assert list(holders) == ["HUB-PUT"]
    return asked


async def _stored(db: Database, consult_id: int) -> Consult:
    async with db.read() as session:
        return (await session.execute(select(Consult).where(Consult.id == consult_id))).unique().scalar_one()


async def test_a_booking_whose_slot_is_taken_as_it_inserts_takes_the_next(pg_db: Database) -> None:
    """The loser's INSERT meets the winner's uncommitted claim on the unique index, waits, and books another slot."""
    slot = await _first_free_slot(pg_db, "dermatology")
    asked = await _lose_the_race_for(pg_db, slot, "dermatology")
    assert asked.status == "scheduled" and asked.slot_id is not None and asked.slot_id != slot.id
    row = await _stored(pg_db, asked.id)
    assert (row.slot_id, row.status) == (asked.slot_id, "scheduled")


async def test_a_booking_that_loses_the_last_slot_waits_for_the_hub_unscheduled(pg_db: Database) -> None:
    """With no other slot to try, the loser goes to the hub queue as a plain request, naming no slot or specialist."""
    specialty = "dermatology"
    slot = await _first_free_slot(pg_db, specialty)
    async with pg_db.write() as session:
        others = select(Specialist.id).where(Specialist.specialty == specialty).scalar_subquery()
        await session.execute(
            delete(Slot)
            .where(Slot.specialist_id.in_(others), Slot.id != slot.id)
            .execution_options(synchronize_session=False)
        )
    asked = await _lose_the_race_for(pg_db, slot, specialty)
    row = await _stored(pg_db, asked.id)
    for consult in (asked, row):
        assert (consult.status, consult.hub_queue) == ("requested", True)
        assert (consult.slot_id, consult.specialist_id, consult.scheduled_for, consult.call_link) == (None,) * 4
