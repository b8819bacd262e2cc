"""The hub desk's HTTP API (issue 14), against the real backend on a real SQLite file.

Coordinators take the queue and assign, reschedule or cancel consults; the
assigned specialist completes them or marks a no-show; each change leaves the
requesting worker a notice, which the channels fetch and mark delivered.

The hub's people are made here as an operator would (``add_worker``, a
token), at the demo's two hubs: ``aiims-jodhpur``, which serves ``dh-sirohi``
and the facilities under it, and ``rnt-udaipur``, which serves Rajsamand. Consults waiting
for the hub are written straight to the database when a test needs their age
or urgency; everything the hub does goes through HTTP.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from assistant.core.rules import ADVICE_LIMIT, TOKEN_LIFETIMES
from assistant.core.spoken_times import parse_iso, when_phrase
from assistant.db.engine import Database
from assistant.db.models import (
    SLOT_HOLDING_STATUSES,
    ApiToken,
    Consult,
    Facility,
    HubNotice,
    Slot,
    Specialist,
    Worker,
)
from assistant.domain.api_tokens import create_token, hash_token
from assistant.domain.people import add_worker
from assistant.http.backend_client import BackendClient
from tests.support.backend import RunningBackend

T = TypeVar("T")
HUB, OTHER_HUB = "aiims-jodhpur", "rnt-udaipur"
TIMEZONE = "Asia/Kolkata"  # the backend's default, which these tests run with
COORDINATOR, SECOND_COORDINATOR, OTHER_COORDINATOR = "HT-C1", "HT-C2", "HT-C9"
SPECIALTY = "dermatology"  # the desk's consults here; each seeded specialty has two specialists
_slot_minutes = itertools.count(1)


def in_database(backend: RunningBackend, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``work(session)`` in one write transaction on the backend's database (test set-up with our own functions)."""

    async def run() -> T:
        db = Database.connect(backend.db_url)
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(run())


@dataclass
class Desk:
    """The hub's people on one backend: tokens for its coordinators and specialists' logins."""

    backend: RunningBackend
    specialists: dict[str, int]  # login -> the specialist record it is
    _tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.backend.url + path

    def headers(self, person: str, **extra: str) -> dict[str, str]:
        """A real token of ``person`` (a coordinator or a specialist's login), made as ``assistant token create``."""
        if person not in self._tokens:
            role = "specialist" if person in self.specialists else "coordinator"
            self._tokens[person] = in_database(self.backend, lambda s: create_token(s, role, person, "hub tests"))
        return {"Authorization": f"Bearer {self._tokens[person]}", **extra}

    def worker(self, worker: str = "W001", **extra: str) -> dict[str, str]:
        return {**self.backend.headers("worker", worker), **extra}

    def post(self, path: str, person: str, body: dict[str, Any] | None = None, **extra: str) -> requests.Response:
        headers = self.worker(person) if person.startswith("W") else self.headers(person)
        return requests.post(self.url(path), json=body or {}, headers={**headers, **extra}, timeout=30)

    def get(self, path: str, person: str, **params: Any) -> requests.Response:
        headers = self.worker(person) if person.startswith("W") else self.headers(person)
        return requests.get(self.url(path), params=params, headers=headers, timeout=30)


async def _ensure_people(session: AsyncSession) -> dict[str, int]:
    for person, facility in ((COORDINATOR, HUB), (SECOND_COORDINATOR, HUB), (OTHER_COORDINATOR, OTHER_HUB)):
        if await session.get(Worker, person) is None:
            await add_worker(session, person, f"Coordinator {person}", facility, role="coordinator")
    ids = (
        await session.execute(select(Specialist.id).where(Specialist.specialty == SPECIALTY).order_by(Specialist.id))
    ).scalars()
    logins = dict(zip(("HT-S1", "HT-S2"), ids, strict=False))
    for login, specialist_id in logins.items():
        if await session.get(Worker, login) is None:
            await add_worker(session, login, f"Specialist {login}", HUB, role="specialist")
        await session.execute(update(Worker).where(Worker.id == login).values(specialist_id=specialist_id))
    return logins


def open_desk(backend: RunningBackend) -> Desk:
    return Desk(backend, in_database(backend, _ensure_people))


@pytest.fixture(scope="module")
def desk(sqlite_backend: RunningBackend) -> Desk:
    return open_desk(sqlite_backend)


# --- Set-up straight in the database -------------------------------------------------


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def add_slot(backend: RunningBackend, specialist_id: int, start: dt.datetime | None = None) -> Slot:
    """A slot of the specialist's, by default a distinct one a few days ahead (never two at one start)."""
    if start is None:
        day = now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=3)
        # Seven seconds past the minute: never the start of a seeded slot (those are on the minute).
        start = day + dt.timedelta(minutes=3 * next(_slot_minutes), seconds=7)
    with Session(backend.db, expire_on_commit=False) as session, session.begin():
        slot = Slot(specialist_id=specialist_id, starts_at=start, ends_at=start + dt.timedelta(minutes=20))
        session.add(slot)
    return slot


def waiting_consult(
    backend: RunningBackend,
    patient_ref: str,
    *,
    specialty: str = SPECIALTY,
    urgency: str = "routine",
    age: dt.timedelta = dt.timedelta(0),
    worker: str = "W001",
    facility: str = "hwc-ajari",
) -> int:
    """A consult the booking could not place: ``requested`` and queued for its hub, asked ``age`` ago."""
    with Session(backend.db) as session, session.begin():
        hub = session.get(Facility, facility).served_by  # as the booking sets it
        consult = Consult(
            hub_id=hub,
            queue_reason="no_slot",
            patient_ref=patient_ref,
            specialty=specialty,
            urgency=urgency,
            reason=f"reason of {patient_ref}",
            status="requested",
            hub_queue=True,
            requested_by=worker,
            facility_id=facility,
            channel="voice",
            conversation_id=worker,
            created_at=now() - age,
            updated_at=now() - age,
        )
        session.add(consult)
        session.flush()
        return int(consult.id)


def notices_of(backend: RunningBackend, consult_id: int) -> list[HubNotice]:
    with Session(backend.db) as session:
        query = select(HubNotice).where(HubNotice.consult_id == consult_id).order_by(HubNotice.id)
        return list(session.execute(query).scalars())


def around(slot: Slot) -> dict[str, str]:
    """GET /slots parameters that match this slot's start only."""
    return {"from": slot.starts_at.isoformat(), "to": (slot.starts_at + dt.timedelta(seconds=1)).isoformat()}


def ref() -> str:
    return f"HT-{uuid.uuid4().hex[:6].upper()}"


def assigned(desk: Desk, patient_ref: str, login: str = "HT-S1") -> tuple[int, Slot]:
    """A consult the coordinator has put on a fresh slot of ``login``'s."""
    consult_id = waiting_consult(desk.backend, patient_ref)
    slot = add_slot(desk.backend, desk.specialists[login])
    answer = desk.post(f"/consults/{consult_id}/assign", COORDINATOR, {"slot_id": slot.id})
    assert answer.status_code == 200, answer.text
    return consult_id, slot


# --- The queue ------------------------------------------------------------------------


def test_the_queue_is_most_urgent_first_then_oldest_with_how_long_each_waited(desk: Desk) -> None:
    hour = dt.timedelta(hours=1)
    made = {
        "old routine": waiting_consult(desk.backend, ref(), age=3 * hour),
        "new routine": waiting_consult(desk.backend, ref(), age=hour),
        "urgent": waiting_consult(desk.backend, ref(), urgency="urgent", age=hour / 2),
        "emergency": waiting_consult(
            desk.backend, ref(), urgency="emergency", age=hour / 6, worker="W002", facility="sc-abu-road"
        ),
    }
    answer = desk.get("/hub/queue", COORDINATOR)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ours = [item for item in body["items"] if item["id"] in made.values()]
    assert [item["id"] for item in ours] == [made[n] for n in ("emergency", "urgent", "old routine", "new routine")]
    assert body["total"] >= len(made) and body["total"] == len(body["items"])
    waited = {item["id"]: item["waiting_seconds"] for item in ours}
    assert waited[made["old routine"]] >= 3 * 3600 > waited[made["new routine"]] >= 3600
    assert all(item["status"] == "requested" and item["hub_queue"] for item in ours)


def test_the_queue_and_the_slots_are_the_desks_alone(desk: Desk) -> None:
    waiting_consult(desk.backend, ref())
    for person in ("W001", "HT-S1"):
        assert desk.get("/hub/queue", person).status_code == 403, person
    assert desk.get("/slots", "W001").status_code == 403
    elsewhere = desk.get("/hub/queue", OTHER_COORDINATOR).json()  # the other hub, which serves Rajsamand
    assert (elsewhere["items"], elsewhere["total"]) == ([], 0)


# --- Slots ----------------------------------------------------------------------------


def test_slots_lists_free_ones_by_specialty_and_says_which_are_taken_when_asked(desk: Desk) -> None:
    free, taken = (add_slot(desk.backend, desk.specialists["HT-S2"]) for _ in range(2))
    consult_id = waiting_consult(desk.backend, ref())
    assert desk.post(f"/consults/{consult_id}/assign", COORDINATOR, {"slot_id": taken.id}).status_code == 200
    window = {"from": (free.starts_at - dt.timedelta(hours=1)).isoformat(), "specialty": SPECIALTY}
    listed = {item["id"]: item for item in desk.get("/slots", COORDINATOR, **window).json()["items"]}
    assert free.id in listed and taken.id not in listed
    assert listed[free.id] == {
        "id": free.id,
        "specialist_id": desk.specialists["HT-S2"],
        "specialist_name": listed[free.id]["specialist_name"],
        "specialty": SPECIALTY,
        "start": free.starts_at.isoformat().replace("+00:00", "Z"),
        "end": free.ends_at.isoformat().replace("+00:00", "Z"),
    }
    everything = desk.get("/slots", COORDINATOR, free="false", **window).json()["items"]
    flags = {item["id"]: item["free"] for item in everything}
    assert (flags[free.id], flags[taken.id]) == (True, False)


def test_slots_refuses_an_unknown_specialty_a_long_span_and_another_specialists_list(desk: Desk) -> None:
    unknown = desk.get("/slots", COORDINATOR, specialty="astrology")
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "specialty"
    assert SPECIALTY in unknown.json()["error"]["allowed"]
    start = now()
    too_long = desk.get(
        "/slots", COORDINATOR, **{"from": start.isoformat(), "to": (start + dt.timedelta(days=32)).isoformat()}
    )
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "to"
    naive = desk.get("/slots", COORDINATOR, **{"from": "2030-01-01T10:00:00"})
    assert naive.status_code == 422 and naive.json()["error"]["field"] == "from"
    other = desk.get("/slots", "HT-S1", specialist_id=desk.specialists["HT-S2"])
    assert other.status_code == 403
    own = desk.get("/slots", "HT-S1").json()["items"]
    assert {item["specialist_id"] for item in own} <= {desk.specialists["HT-S1"]}


# --- Assigning ---------------------------------------------------------------------------


def test_a_request_the_booking_could_not_place_is_assigned_and_the_worker_is_told(desk: Desk) -> None:
    # No free dermatology slot at all: the worker's routine request waits for the hub.
    with Session(desk.backend.db) as session, session.begin():
        held = select(Consult.slot_id).where(Consult.status.in_(SLOT_HOLDING_STATUSES), Consult.slot_id.is_not(None))
        ours = select(Specialist.id).where(Specialist.specialty == SPECIALTY)
        free = delete(Slot).where(Slot.specialist_id.in_(ours), Slot.id.not_in(held))
        session.execute(free.execution_options(synchronize_session=False))
    patient = ref()
    made = desk.post("/consults", "W001", {"patient_ref": patient, "specialty": SPECIALTY, "reason": "rash"}).json()
    assert (made["status"], made["hub_queue"]) == ("requested", True)
    assert made["id"] in [item["id"] for item in desk.get("/hub/queue", COORDINATOR).json()["items"]]

    slot = add_slot(desk.backend, desk.specialists["HT-S1"])
    answer = desk.post(f"/consults/{made['id']}/assign", COORDINATOR, {"slot_id": slot.id})
    assert answer.status_code == 200, answer.text
    consult = desk.get(f"/consults/{made['id']}", "W001").json()  # the worker's own view
    assert answer.json() == consult
    assert consult["status"] == "scheduled" and consult["hub_queue"] is False
    assert parse_iso(consult["scheduled_for"]) == slot.starts_at
    assert consult["specialist"]["id"] == desk.specialists["HT-S1"]
    assert consult["call_link"] == f"https://teams.microsoft.com/l/call/0/0?users={consult['specialist']['upn']}"
    assert made["id"] not in [item["id"] for item in desk.get("/hub/queue", COORDINATOR).json()["items"]]

    [notice] = notices_of(desk.backend, made["id"])
    when = when_phrase(slot.starts_at, "en", TIMEZONE, relative=False)
    doctor = consult["specialist"]["name"]
    assert (notice.worker_id, notice.event, notice.channel) == ("W001", "scheduled", "api")
    assert notice.text_en == f"One update: your dermatology consult for patient {patient} is {when}, with {doctor}."
    assert patient in notice.text_hi and doctor in notice.text_hi and notice.delivered_at is None


def test_assign_by_specialist_and_start_and_a_replayed_key_assigns_once(desk: Desk) -> None:
    consult_id = waiting_consult(desk.backend, ref())
    slot = add_slot(desk.backend, desk.specialists["HT-S2"])
    body = {
        "specialist_id": desk.specialists["HT-S2"],
        "start": slot.starts_at.astimezone(ZoneInfo(TIMEZONE)).isoformat(),
    }
    key = {"Idempotency-Key": f"assign-{uuid.uuid4()}"}
    first = desk.post(f"/consults/{consult_id}/assign", COORDINATOR, body, **key)
    again = desk.post(f"/consults/{consult_id}/assign", COORDINATOR, body, **key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert first.json()["scheduled_for"] == slot.starts_at.isoformat().replace("+00:00", "Z")
    assert len(notices_of(desk.backend, consult_id)) == 1
    # Without the key, a second assign is refused: the consult is no longer waiting.
    assert desk.post(f"/consults/{consult_id}/assign", COORDINATOR, body).status_code == 409


def test_assign_refuses_what_does_not_fit(desk: Desk) -> None:
    consult_id = waiting_consult(desk.backend, ref())
    url = f"/consults/{consult_id}/assign"
    good = add_slot(desk.backend, desk.specialists["HT-S1"])
    with Session(desk.backend.db) as session:
        cardiologist = (
            session.execute(select(Specialist.id).where(Specialist.specialty == "cardiology")).scalars().first()
        )
    cases = [
        ({"slot_id": add_slot(desk.backend, cardiologist).id}, "slot_id"),  # another specialty
        ({"slot_id": add_slot(desk.backend, desk.specialists["HT-S1"], now() - dt.timedelta(days=1)).id}, "slot_id"),
        (
            {"slot_id": good.id, "specialist_id": desk.specialists["HT-S1"], "start": good.starts_at.isoformat()},
            "slot_id",
        ),
        ({}, "slot_id"),
        ({"specialist_id": desk.specialists["HT-S1"]}, "start"),
        ({"specialist_id": desk.specialists["HT-S1"], "start": "tomorrow"}, "start"),
        (
            {
                "specialist_id": desk.specialists["HT-S1"],
                "start": (good.starts_at + dt.timedelta(seconds=1)).isoformat(),
            },
            "start",
        ),
        ({"slot_id": "ten"}, "slot_id"),
    ]
    for body, field_name in cases:
        answer = desk.post(url, COORDINATOR, body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"]["code"] == "validation_error" and answer.json()["error"]["field"] == field_name
    assert notices_of(desk.backend, consult_id) == []
    missing = desk.post("/consults/2000000000/assign", COORDINATOR, {"slot_id": good.id})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    # A slot somebody holds is a conflict, and so is a consult that is not waiting any more.
    holder, held = assigned(desk, ref())
    taken = desk.post(url, COORDINATOR, {"slot_id": held.id})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "conflict"
    assert desk.post(f"/consults/{holder}/assign", COORDINATOR, {"slot_id": good.id}).status_code == 409


def test_only_the_desk_of_the_consults_hub_may_assign(desk: Desk) -> None:
    consult_id = waiting_consult(desk.backend, ref())
    slot = add_slot(desk.backend, desk.specialists["HT-S1"])
    url = f"/consults/{consult_id}/assign"
    assert desk.post(url, "W001", {"slot_id": slot.id}).status_code == 403
    assert desk.post(url, "HT-S1", {"slot_id": slot.id}).status_code == 403
    elsewhere = desk.post(url, OTHER_COORDINATOR, {"slot_id": slot.id})
    assert elsewhere.status_code == 404  # another hub's consult looks like no consult at all
    assert desk.get(f"/consults/{consult_id}", OTHER_COORDINATOR).status_code == 404
    assert desk.get(f"/consults/{consult_id}", COORDINATOR).status_code == 200
    assert notices_of(desk.backend, consult_id) == []


# --- Rescheduling and cancelling ---------------------------------------------------------------


def test_reschedule_moves_a_scheduled_consult_frees_its_slot_and_tells_the_worker(desk: Desk) -> None:
    consult_id, first = assigned(desk, ref())
    later = add_slot(desk.backend, desk.specialists["HT-S2"])
    answer = desk.post(f"/consults/{consult_id}/reschedule", COORDINATOR, {"slot_id": later.id})
    assert answer.status_code == 200, answer.text
    moved = answer.json()
    assert parse_iso(moved["scheduled_for"]) == later.starts_at
    assert moved["specialist"]["id"] == desk.specialists["HT-S2"] and moved["status"] == "scheduled"
    assert first.id in [item["id"] for item in desk.get("/slots", COORDINATOR, **around(first)).json()["items"]]
    assert [n.event for n in notices_of(desk.backend, consult_id)] == ["scheduled", "rescheduled"]
    assert "has moved to" in notices_of(desk.backend, consult_id)[-1].text_en
    waiting = waiting_consult(desk.backend, ref())
    refused = desk.post(f"/consults/{waiting}/reschedule", COORDINATOR, {"slot_id": first.id})
    assert refused.status_code == 409  # only a scheduled consult is rescheduled


def test_the_hub_cancels_with_a_reason_the_worker_is_told(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    url = f"/consults/{consult_id}/cancel"
    for body in ({}, {"reason": "  "}):
        refused = desk.post(url, COORDINATOR, body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "reason"
    answer = desk.post(url, COORDINATOR, {"reason": "Specialist on leave; please request again next week"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["cancelled_by"]) == ("cancelled", COORDINATOR)
    notice = notices_of(desk.backend, consult_id)[-1]
    assert notice.event == "cancelled"
    assert notice.text_en.endswith("Reason: Specialist on leave; please request again next week.")
    assert desk.post(url, COORDINATOR, {"reason": "again"}).status_code == 409


def test_a_workers_own_cancel_tells_nobody(desk: Desk) -> None:
    consult_id = waiting_consult(desk.backend, ref())
    answer = desk.post(f"/consults/{consult_id}/cancel", "W001", {"reason": "patient recovered"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["cancelled_by"]) == ("cancelled", "W001")
    assert notices_of(desk.backend, consult_id) == []


def test_a_workers_cancel_does_not_override_hub_news_they_have_not_heard(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    url = f"/consults/{consult_id}/cancel"
    first = desk.post(url, "W001", {}, **{"Idempotency-Key": f"cancel-{uuid.uuid4()}"})
    assert first.status_code == 409 and first.json()["error"]["code"] == "conflict"
    [told] = first.json()["error"]["notices"]
    assert told["event"] == "scheduled" and told["text"]["en"] in first.json()["error"]["message"]
    assert desk.get(f"/consults/{consult_id}", "W001").json()["status"] == "scheduled"
    [notice] = notices_of(desk.backend, consult_id)
    assert (notice.delivered_at is not None, notice.delivered_via) == (True, "api")  # told in that answer
    second = desk.post(url, "W001", {})
    assert second.status_code == 200 and second.json()["status"] == "cancelled"
    assert len(notices_of(desk.backend, consult_id)) == 1


def test_a_specialist_does_not_cancel(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    assert desk.post(f"/consults/{consult_id}/cancel", "HT-S1", {"reason": "busy"}).status_code == 403


# --- The specialist's day, completing and no-shows --------------------------------------------


def test_a_specialists_day_has_each_patients_latest_vitals_and_conversation(desk: Desk) -> None:
    patient = ref()
    for systolic in (150, 162):  # the later encounter is the one the specialist sees
        vitals = {"systolic_bp": systolic, "diastolic_bp": 95, "pulse": 88, "spo2": 96}
        created = desk.post("/encounters", "W001", {"patient_ref": patient, "complaint": "itching", "vitals": vitals})
        assert created.status_code == 201, created.text
    consult_id, slot = assigned(desk, patient)
    day = slot.starts_at.astimezone(ZoneInfo(TIMEZONE)).date().isoformat()

    answer = desk.get("/consults", "HT-S1", specialist="me", date=day)
    assert answer.status_code == 200, answer.text
    [item] = [item for item in answer.json()["items"] if item["id"] == consult_id]
    assert item["latest_encounter"]["patient_ref"] == patient
    assert item["latest_encounter"]["vitals"]["systolic_bp"] == 162
    assert item["latest_encounter"]["complaint"] == "itching"
    assert item["conversation"] == f"/hub/consults/{consult_id}/conversation"  # the console checks who may read it
    assert item["worker"]["id"] == "W001" and item["facility"]["id"] == "hwc-ajari"
    assert item["reason"] == f"reason of {patient}"
    # The desk names the specialist; a specialist's list is their own day, whichever parameters.
    desk_view = desk.get("/consults", COORDINATOR, specialist=desk.specialists["HT-S1"], date=day).json()
    assert consult_id in [entry["id"] for entry in desk_view["items"]]
    other_day = (slot.starts_at + dt.timedelta(days=1)).astimezone(ZoneInfo(TIMEZONE)).date().isoformat()
    assert consult_id not in [e["id"] for e in desk.get("/consults", "HT-S1", date=other_day).json()["items"]]


def test_a_specialist_sees_only_their_own_day(desk: Desk) -> None:
    other = desk.get("/consults", "HT-S1", specialist=desk.specialists["HT-S2"])
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert desk.get("/consults", "HT-S1", date="2030-02-30").status_code == 422
    # A worker's list is as it was: their own consults, the day-list parameters ignored.
    mine = desk.get("/consults", "W001", specialist="me").json()["items"]
    assert {item["requested_by"] for item in mine} == {"W001"}


def test_the_assigned_specialist_completes_with_advice_the_worker_reads_as_written(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    url = f"/consults/{consult_id}/complete"
    advice = "Apply clobetasol 0.05% twice daily for 2 weeks.\nदवा दिन में दो बार लगाएं।"
    assert desk.post(url, "W001", {"advice": advice}).status_code == 403
    assert desk.post(url, "HT-S2", {"advice": advice}).status_code == 404  # not their consult
    for body, problem in (
        ({}, "advice"),
        ({"advice": "x" * (ADVICE_LIMIT + 1)}, "advice"),
        ({"advice": "ok\x07"}, "advice"),
        ({"advice": "ok", "follow_up": "\x00"}, "follow_up"),
    ):
        refused = desk.post(url, "HT-S1", body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == problem, body
    answer = desk.post(url, "HT-S1", {"advice": advice, "follow_up": "Review in two weeks"})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["closed_by"]) == ("completed", "HT-S1")
    seen = desk.get(f"/consults/{consult_id}", "W001").json()
    assert (seen["specialist_advice"], seen["follow_up"]) == (advice, "Review in two weeks")
    assert notices_of(desk.backend, consult_id)[-1].event == "completed"
    assert advice not in notices_of(desk.backend, consult_id)[-1].text_en  # the advice is heard on asking
    assert desk.post(url, "HT-S1", {"advice": advice}).status_code == 409


def test_a_no_show_is_marked_and_the_worker_told(desk: Desk) -> None:
    consult_id, slot = assigned(desk, ref())
    url = f"/consults/{consult_id}/no_show"
    assert desk.post(url, "W001").status_code == 403
    assert desk.post(url, "HT-S2").status_code == 404
    answer = desk.post(url, COORDINATOR)
    assert answer.status_code == 200 and answer.json()["status"] == "no_show"
    assert notices_of(desk.backend, consult_id)[-1].event == "no_show"
    assert desk.get("/slots", COORDINATOR, **around(slot)).json()["items"] == []  # the slot stays used
    assert desk.post(url, COORDINATOR).status_code == 409


# --- FHIR ----------------------------------------------------------------------------------


def test_the_consults_fhir_bundle_has_the_request_and_its_appointment(desk: Desk) -> None:
    patient = ref()
    consult_id, slot = assigned(desk, patient)
    advice = "Emollients; return if fever."
    assert desk.post(f"/consults/{consult_id}/complete", "HT-S1", {"advice": advice}).status_code == 200
    answer = desk.get(f"/consults/{consult_id}/fhir", "W001")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/fhir+json")
    bundle = answer.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    resources = {entry["resource"]["resourceType"]: entry for entry in bundle["entry"]}
    assert set(resources) == {"ServiceRequest", "Appointment"}
    request = resources["ServiceRequest"]["resource"]
    assert (request["status"], request["intent"], request["priority"]) == ("completed", "order", "routine")
    assert request["subject"] == {"identifier": {"system": "urn:field-assistant:patient-ref", "value": patient}}
    assert request["requester"]["display"] == "W001"
    assert request["reasonCode"] == [{"text": f"reason of {patient}"}]
    assert [note["text"] for note in request["note"]] == [advice]
    appointment = resources["Appointment"]["resource"]
    assert appointment["status"] == "fulfilled"
    assert (parse_iso(appointment["start"]), parse_iso(appointment["end"])) == (slot.starts_at, slot.ends_at)
    assert appointment["basedOn"] == [{"reference": resources["ServiceRequest"]["fullUrl"]}]
    [participant] = appointment["participant"]
    assert participant["actor"]["display"] == desk.get(f"/consults/{consult_id}", "W001").json()["specialist"]["name"]
    assert desk.get(f"/consults/{consult_id}/fhir", "W002").status_code == 404  # another worker's
    assert desk.get(f"/consults/{consult_id}/fhir", "HT-S2").status_code == 404  # another specialist's


def test_a_cancelled_appointment_and_a_revoked_request(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    assert desk.post(f"/consults/{consult_id}/cancel", COORDINATOR, {"reason": "duplicate"}).status_code == 200
    resources = {
        e["resource"]["resourceType"]: e["resource"]
        for e in desk.get(f"/consults/{consult_id}/fhir", COORDINATOR).json()["entry"]
    }
    assert resources["ServiceRequest"]["status"] == "revoked"
    assert resources["Appointment"]["status"] == "cancelled"
    assert resources["Appointment"]["cancelationReason"] == {"text": "duplicate"}


# --- The worker outbox ---------------------------------------------------------------------------


def test_the_channels_fetch_notices_and_mark_them_delivered_once(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    [notice] = notices_of(desk.backend, consult_id)
    service = desk.backend.headers("service", None)
    url = desk.url("/notices")
    asked = [("worker", "W001"), ("channel", "voice"), ("channel", "web"), ("limit", "200")]
    pending = requests.get(url, params=asked, headers=service, timeout=30)
    assert pending.status_code == 200, pending.text
    [item] = [item for item in pending.json()["items"] if item["id"] == notice.id]
    assert item["text"]["en"] == notice.text_en and item["event"] == "scheduled"
    assert item["phone"] == "+919800000001" and item["delivered_at"] is None
    elsewhere = requests.get(url, params={"channel": "whatsapp"}, headers=service, timeout=30).json()["items"]
    assert notice.id not in [entry["id"] for entry in elsewhere]

    delivered = f"{url}/{notice.id}/delivered"
    first = requests.post(delivered, json={"via": "voice"}, headers=service, timeout=30)
    assert first.status_code == 200, first.text
    assert first.json()["delivered_via"] == "voice" and first.json()["delivered_at"]
    again = requests.post(delivered, json={"via": "twilio"}, headers=service, timeout=30)
    assert again.status_code == 200 and again.json() == first.json()  # marking twice changes nothing
    left = requests.get(url, params={"worker": "W001", "limit": 200}, headers=service, timeout=30).json()["items"]
    assert notice.id not in [entry["id"] for entry in left]

    assert requests.post(delivered, json={"via": "pigeon"}, headers=service, timeout=30).status_code == 422
    assert (
        requests.post(f"{url}/2000000000/delivered", json={"via": "web"}, headers=service, timeout=30).status_code
        == 404
    )
    for person in (desk.worker("W001"), desk.headers(COORDINATOR), desk.backend.headers("service", "W001")):
        assert requests.get(url, headers=person, timeout=30).status_code == 403
        assert requests.post(delivered, json={"via": "web"}, headers=person, timeout=30).status_code == 403


def test_the_backend_client_reads_and_marks_notices_for_the_channels(desk: Desk) -> None:
    consult_id, _ = assigned(desk, ref())
    [notice] = notices_of(desk.backend, consult_id)
    client = BackendClient(desk.backend.url, desk.backend.token("service"))

    async def fetch_and_mark() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        try:
            mine = await client.pending_notices("W001", ("rest", "voice"), limit=200)
            elsewhere = await client.pending_notices(channels=("whatsapp",), limit=200)
            return mine, elsewhere, await client.notice_delivered(notice.id, "voice")
        finally:
            await client.close()

    mine, elsewhere, marked = asyncio.run(fetch_and_mark())
    assert notice.id in [item["id"] for item in mine] and notice.id not in [item["id"] for item in elsewhere]
    assert (marked["id"], marked["delivered_via"]) == (notice.id, "voice")


def test_hub_tokens_belong_to_a_person_of_that_role_and_expire(desk: Desk) -> None:
    for role, worker, problem in (
        ("coordinator", None, "needs --worker"),
        ("specialist", None, "needs --worker"),
        ("specialist", "W001", "has role worker, not specialist"),
        ("coordinator", "HT-S1", "has role specialist, not coordinator"),
    ):
        with pytest.raises(ValueError, match=problem):
            in_database(desk.backend, lambda session, r=role, w=worker: create_token(session, r, w))
    token = in_database(desk.backend, lambda session: create_token(session, "coordinator", COORDINATOR))
    with Session(desk.backend.db) as session:
        record = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(token))).scalar_one()
    assert record.expires_at is not None and record.expires_at - now() <= TOKEN_LIFETIMES["supervisor"]
