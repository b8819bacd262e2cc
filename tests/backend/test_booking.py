"""Booking rules, idempotency and concurrency, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import requests
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.db.models import SLOT_HOLDING_STATUSES, Consult, Slot, Specialist
from tests.support.backend import RunningBackend

# Each test books its own specialty so the tests in a module don't share slots.


def book(
    backend: RunningBackend, specialty: str, urgency: str = "routine", key: str | None = None, **extra: Any
) -> requests.Response:
    headers = backend.headers("worker", "W001")
    if key:
        headers["Idempotency-Key"] = key
    body = {"patient_ref": extra.pop("patient_ref", "BK-1"), "specialty": specialty, "urgency": urgency, **extra}
    return requests.post(f"{backend.url}/consults", json=body, headers=headers)


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def free_slots(backend: RunningBackend, specialty: str, until: dt.timedelta) -> list[Slot]:
    now = dt.datetime.now(dt.timezone.utc)
    taken = select(Consult.slot_id).where(Consult.status.in_(SLOT_HOLDING_STATUSES), Consult.slot_id.is_not(None))
    with Session(backend.db) as session:
        return list(
            session.execute(
                select(Slot)
                .join(Specialist)
                .where(
                    Specialist.specialty == specialty,
                    Slot.starts_at >= now,
                    Slot.starts_at < now + until,
                    Slot.id.not_in(taken),
                )
                .order_by(Slot.starts_at, Slot.id)
            ).scalars()
        )


def delete_slots(backend: RunningBackend, specialty: str, keep: int = 0, within: dt.timedelta | None = None) -> None:
    """Leave the specialty with only ``keep`` slots (optionally only touching the next ``within``)."""
    now = dt.datetime.now(dt.timezone.utc)
    with Session(backend.db) as session, session.begin():
        query = (
            select(Slot.id).join(Specialist).where(Specialist.specialty == specialty).order_by(Slot.starts_at, Slot.id)
        )
        if within is not None:
            query = query.where(Slot.starts_at < now + within)
        ids = list(session.execute(query).scalars())[keep:]
        session.execute(delete(Slot).where(Slot.id.in_(ids)))


def test_the_call_link_names_the_specialist_alone_whatever_their_stored_upn(any_backend: RunningBackend) -> None:
    """A upn stored before upns were checked (rules.UPN) is encoded: it cannot add parameters to the link."""
    hostile = "dr.x@hub.example&users=someone@elsewhere.example&withVideo=true#{n} ?"
    with Session(any_backend.db) as session, session.begin():
        specialists = session.execute(select(Specialist).where(Specialist.specialty == "obstetrics_gynecology"))
        for n, specialist in enumerate(specialists.scalars()):
            specialist.upn = hostile.format(n=n)
    response = book(any_backend, "obstetrics_gynecology")
    assert response.status_code == 201, response.text
    consult = response.json()
    link = urlsplit(consult["call_link"])
    assert (link.scheme, link.netloc, link.path, link.fragment) == ("https", "teams.microsoft.com", "/l/call/0/0", "")
    assert parse_qs(link.query) == {"users": [consult["specialist"]["upn"]]}


def test_routine_gets_the_earliest_free_slot_of_the_specialty(any_backend: RunningBackend) -> None:
    expected = free_slots(any_backend, "general_medicine", dt.timedelta(days=14))[0]
    response = book(any_backend, "general_medicine", reason="chronic cough")
    assert response.status_code == 201, response.text
    consult = response.json()
    assert consult["status"] == "scheduled"
    assert parse_time(consult["scheduled_for"]) == expected.starts_at
    assert consult["specialist"]["specialty"] == "general_medicine"
    assert consult["call_link"] == f"https://teams.microsoft.com/l/call/0/0?users={consult['specialist']['upn']}"
    assert consult["hub_queue"] is False and consult["advice"] is None


def test_urgent_is_booked_within_24_hours(any_backend: RunningBackend) -> None:
    consult = book(any_backend, "pediatrics", "urgent").json()
    assert consult["status"] == "scheduled"
    wait = parse_time(consult["scheduled_for"]) - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(0) <= wait <= dt.timedelta(hours=24)


def test_urgent_without_a_slot_in_24_hours_is_queued_for_the_hub(any_backend: RunningBackend) -> None:
    delete_slots(any_backend, "nephrology", within=dt.timedelta(hours=24))
    assert free_slots(any_backend, "nephrology", dt.timedelta(days=14))  # later slots still exist
    consult = book(any_backend, "nephrology", "urgent").json()
    assert consult["status"] == "requested"
    assert consult["hub_queue"] is True and "queued" in consult["advice"]
    assert consult["specialist"] is None and consult["call_link"] is None


def test_routine_without_any_slot_is_queued_for_the_hub(any_backend: RunningBackend) -> None:
    delete_slots(any_backend, "neurology")
    consult = book(any_backend, "neurology").json()
    assert (consult["status"], consult["hub_queue"]) == ("requested", True)


def test_emergency_is_scheduled_at_once_with_the_on_call_specialist_and_108(any_backend: RunningBackend) -> None:
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    consult = book(any_backend, "cardiology", "emergency", reason="crushing chest pain").json()
    assert consult["status"] == "scheduled"
    assert before <= parse_time(consult["scheduled_for"]) <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    assert "108" in consult["advice"]
    with Session(any_backend.db) as session:
        assert session.get(Specialist, consult["specialist"]["id"]).on_call is True


def test_cancelling_frees_the_slot_for_the_next_request(any_backend: RunningBackend) -> None:
    first = book(any_backend, "ophthalmology").json()
    cancelled = requests.post(
        f"{any_backend.url}/consults/{first['id']}/cancel",
        json={"reason": "patient recovered"},
        headers=any_backend.headers(),
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["cancelled_at"]
    second = book(any_backend, "ophthalmology").json()
    assert second["scheduled_for"] == first["scheduled_for"]
    assert second["specialist"]["id"] == first["specialist"]["id"]


def test_cancelling_twice_is_a_conflict(any_backend: RunningBackend) -> None:
    consult = book(any_backend, "ent").json()
    url = f"{any_backend.url}/consults/{consult['id']}/cancel"
    assert requests.post(url, headers=any_backend.headers()).status_code == 200
    again = requests.post(url, headers=any_backend.headers())
    assert again.status_code == 409 and "cancelled" in again.json()["error"]["message"]


def count_consults(backend: RunningBackend, patient_ref: str) -> int:
    with Session(backend.db) as session:
        return session.execute(select(func.count(Consult.id)).where(Consult.patient_ref == patient_ref)).scalar_one()


def test_same_idempotency_key_and_body_replays_without_booking_twice(any_backend: RunningBackend) -> None:
    key = f"conv-W001-turn-{uuid.uuid4()}"
    first = book(any_backend, "dermatology", key=key, patient_ref="IDEM-1")
    replay = book(any_backend, "dermatology", key=key, patient_ref="IDEM-1")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert count_consults(any_backend, "IDEM-1") == 1


def test_same_idempotency_key_with_a_different_body_is_409(any_backend: RunningBackend) -> None:
    key = f"conv-W001-turn-{uuid.uuid4()}"
    assert book(any_backend, "dermatology", key=key, patient_ref="IDEM-2").status_code == 201
    clash = book(any_backend, "dermatology", "urgent", key=key, patient_ref="IDEM-2")
    assert clash.status_code == 409
    assert count_consults(any_backend, "IDEM-2") == 1


def test_idempotency_key_covers_encounters_too(any_backend: RunningBackend) -> None:
    headers = {**any_backend.headers(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"patient_ref": "IDEM-ENC", "age": 40, "vitals": {"pulse": 80}}
    first = requests.post(f"{any_backend.url}/encounters", json=body, headers=headers)
    second = requests.post(f"{any_backend.url}/encounters", json=body, headers=headers)
    assert first.json()["id"] == second.json()["id"]
    listed = requests.get(
        f"{any_backend.url}/encounters", params={"patient_ref": "IDEM-ENC"}, headers=any_backend.headers()
    )
    assert listed.json()["total"] == 1


async def _post_all(
    backend: RunningBackend, bodies: list[dict[str, Any]], headers: list[dict[str, str]]
) -> list[tuple[int, dict[str, Any]]]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(body: dict[str, Any], header: dict[str, str]) -> tuple[int, dict[str, Any]]:
            async with session.post(f"{backend.url}/consults", json=body, headers=header) as response:
                return response.status, await response.json()

        return await asyncio.gather(*(one(body, header) for body, header in zip(bodies, headers, strict=True)))


def test_concurrent_replays_of_one_key_create_one_consult(any_backend: RunningBackend) -> None:
    headers = {**any_backend.headers(), "Idempotency-Key": str(uuid.uuid4())}
    body = {"patient_ref": "IDEM-RACE", "specialty": "psychiatry", "urgency": "routine"}
    results = asyncio.run(_post_all(any_backend, [body] * 10, [headers] * 10))
    assert {status for status, _ in results} == {201}
    assert len({payload["id"] for _, payload in results}) == 1
    assert count_consults(any_backend, "IDEM-RACE") == 1


def test_fifty_simultaneous_bookings_never_share_a_slot(any_backend: RunningBackend) -> None:
    delete_slots(any_backend, "orthopedics", keep=10)
    free = len(free_slots(any_backend, "orthopedics", dt.timedelta(days=14)))
    assert 0 < free <= 10
    bodies = [{"patient_ref": f"RACE-{n}", "specialty": "orthopedics", "urgency": "routine"} for n in range(50)]
    results = asyncio.run(_post_all(any_backend, bodies, [any_backend.headers()] * 50))

    assert [status for status, _ in results] == [201] * 50  # every request got a definite answer
    scheduled = [payload for _, payload in results if payload["status"] == "scheduled"]
    queued = [payload for _, payload in results if payload["status"] == "requested"]
    assert len(scheduled) == free and len(queued) == 50 - free
    assert all(payload["hub_queue"] for payload in queued)
    with Session(any_backend.db) as session:
        slot_ids = list(
            session.execute(
                select(Consult.slot_id).where(Consult.patient_ref.like("RACE-%"), Consult.status == "scheduled")
            ).scalars()
        )
    assert len(slot_ids) == len(set(slot_ids)) == free


def test_the_database_itself_refuses_a_double_booked_slot(any_backend: RunningBackend) -> None:
    slot = free_slots(any_backend, "general_surgery", dt.timedelta(days=14))[0]

    def scheduled_consult(ref: str) -> Consult:
        return Consult(
            patient_ref=ref,
            specialty="general_surgery",
            urgency="routine",
            status="scheduled",
            requested_by="W001",
            facility_id="hwc-ajari",
            slot_id=slot.id,
            specialist_id=slot.specialist_id,
        )

    with Session(any_backend.db) as session, session.begin():
        session.add(scheduled_consult("DB-1"))
    with pytest.raises(IntegrityError):
        with Session(any_backend.db) as session, session.begin():
            session.add(scheduled_consult("DB-2"))
