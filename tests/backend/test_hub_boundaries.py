"""Every hub keeps to its own (issue 24): the real backend app on a real seeded SQLite database.

The demo has two hubs: AIIMS Jodhpur serves Sirohi (W001 at hwc-ajari; its
coordinator H001), RNT Medical College Udaipur serves Rajsamand (W004 at
sc-kelwara; its coordinator H002), which has no cardiologist. Everything is
asked through HTTP with real tokens, as the channels and the Hub desk do.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from assistant.backend.app import create_app
from assistant.db.engine import Database
from assistant.db.models import Facility, HubNotice, Specialist, Worker
from assistant.domain.api_tokens import create_token
from assistant.domain.people import add_worker
from tests.support.in_process import seeded

TIMEZONE = "Asia/Kolkata"
JODHPUR, UDAIPUR = "aiims-jodhpur", "rnt-udaipur"
# Worker and coordinator of each hub; H119 is a Jodhpur cardiologist's login, H126 an Udaipur physician's.
PEOPLE = {
    "W001": "worker",
    "W004": "worker",
    "H001": "coordinator",
    "H002": "coordinator",
    "H119": "specialist",
    "H102": "specialist",
    "H126": "specialist",
    "W-DH": "worker",
}
_patients = itertools.count(1)


def patient() -> str:
    return f"HB-{next(_patients)}"


@dataclass
class Hubs:
    client: TestClient
    db: Database
    tokens: dict[str, str]

    async def call(self, method: str, path: str, who: str, body: Any = None, **params: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        response = await self.client.request(method, path, json=body, params=params, headers=headers)
        return response.status, await response.json()

    async def ask(self, who: str, specialty: str, urgency: str = "routine", ref: str | None = None) -> dict[str, Any]:
        body = {"patient_ref": ref or patient(), "specialty": specialty, "urgency": urgency}
        status, consult = await self.call("POST", "/consults", who, body)
        assert status == 201, consult
        return dict(consult)

    async def hub_of_specialist(self, specialist_id: int) -> str | None:
        async with self.db.read() as session:
            specialist = await session.get(Specialist, specialist_id)
            facility = await session.get(Facility, specialist.facility_id)
            return facility.served_by

    async def specialists_of(self, hub: str, specialty: str | None = None) -> set[int]:
        query = select(Specialist.id).join(Facility, Facility.id == Specialist.facility_id)
        query = query.where(Facility.served_by == hub)
        if specialty is not None:
            query = query.where(Specialist.specialty == specialty)
        async with self.db.read() as session:
            return set((await session.execute(query)).scalars())

    async def specialist_of(self, login: str) -> int:
        async with self.db.read() as session:
            return int((await session.get(Worker, login)).specialist_id)


@pytest.fixture
async def hubs(tmp_path: Path) -> AsyncIterator[Hubs]:
    url = f"sqlite:///{tmp_path / 'backend.db'}"
    seeded(url, TIMEZONE)
    db = Database.connect(url)
    async with db.write() as session:
        # A field worker at the district hospital where the Jodhpur physician H102 has their login.
        await add_worker(session, "W-DH", "Ward nurse", "dh-sirohi")
        tokens = {person: await create_token(session, role, person) for person, role in PEOPLE.items()}
    client = TestClient(TestServer(create_app(db, close_db=False, timezone=TIMEZONE, housekeeping=False)))
    await client.start_server()
    yield Hubs(client, db, tokens)
    await client.close()
    await db.dispose()


async def test_each_hubs_workers_are_booked_with_their_own_hubs_specialists_only(hubs: Hubs) -> None:
    for worker, hub in (("W001", JODHPUR), ("W004", UDAIPUR)):
        for urgency in ("routine", "urgent", "emergency"):
            consult = await hubs.ask(worker, "general_medicine", urgency)
            assert consult["status"] == "scheduled", consult
            assert consult["hub_id"] == hub
            assert await hubs.hub_of_specialist(consult["specialist"]["id"]) == hub, (worker, urgency)


async def test_no_specialist_of_the_kind_at_the_hub_says_so_and_waits_in_that_hubs_queue(hubs: Hubs) -> None:
    # Jodhpur has free cardiology slots; Udaipur has no cardiologist at all.
    assert await hubs.specialists_of(JODHPUR, "cardiology") and not await hubs.specialists_of(UDAIPUR, "cardiology")
    for urgency in ("routine", "emergency"):
        consult = await hubs.ask("W004", "cardiology", urgency)
        assert consult["status"] == "requested" and consult["specialist"] is None, consult
        assert consult["hub_id"] == UDAIPUR and consult["queue_reason"] == "no_specialist"
        # An emergency's advice stays the emergency's (call 108); a routine one says why it waits.
        expected = "Call 108" if urgency == "emergency" else "No specialist of this specialty works at your hub"
        assert expected in consult["advice"]
        status, queue = await hubs.call("GET", "/hub/queue", "H002")
        assert status == 200 and consult["id"] in {item["id"] for item in queue["items"]}
        status, queue = await hubs.call("GET", "/hub/queue", "H001")
        assert consult["id"] not in {item["id"] for item in queue["items"]}


async def test_a_coordinator_sees_only_their_hubs_consults_slots_and_day_lists(hubs: Hubs) -> None:
    theirs = await hubs.ask("W004", "cardiology")
    ours = await hubs.ask("W001", "general_medicine")
    for who, visible, hidden in (("H001", ours, theirs), ("H002", theirs, ours)):
        assert (await hubs.call("GET", f"/consults/{visible['id']}", who))[0] == 200
        # Another hub's consult looks exactly like a missing one, to reading and to every change.
        assert (await hubs.call("GET", f"/consults/{hidden['id']}", who))[0] == 404
        assert (await hubs.call("GET", f"/consults/{hidden['id']}/fhir", who))[0] == 404
        cancel = await hubs.call("POST", f"/consults/{hidden['id']}/cancel", who, {"reason": "not ours"})
        assert cancel[0] == 404 and str(hidden["id"]) not in str(cancel[1])
        status, listed = await hubs.call("GET", "/consults", who)
        assert status == 200 and hidden["id"] not in {item["id"] for item in listed["items"]}

    for who, hub in (("H001", JODHPUR), ("H002", UDAIPUR)):
        status, slots = await hubs.call("GET", "/slots", who)
        assert status == 200 and slots["items"]
        assert {slot["specialist_id"] for slot in slots["items"]} <= await hubs.specialists_of(hub)
    udaipur_physician = await hubs.specialist_of("H126")
    assert (await hubs.call("GET", "/consults", "H002", specialist=str(udaipur_physician)))[0] == 200
    assert (await hubs.call("GET", "/consults", "H001", specialist=str(udaipur_physician)))[0] == 404


async def test_a_consult_is_never_assigned_or_moved_onto_another_hubs_slot(hubs: Hubs) -> None:
    waiting = await hubs.ask("W004", "cardiology")
    status, jodhpur_slots = await hubs.call("GET", "/slots", "H001", specialty="cardiology")
    slot = jodhpur_slots["items"][0]
    # Udaipur's coordinator cannot put an Udaipur consult on a Jodhpur slot, named by id or by time.
    status, refused = await hubs.call("POST", f"/consults/{waiting['id']}/assign", "H002", {"slot_id": slot["id"]})
    assert status == 422 and refused["error"]["message"] == "No such slot at this consult's hub.", refused
    by_time = {"specialist_id": slot["specialist_id"], "start": slot["start"]}
    status, refused = await hubs.call("POST", f"/consults/{waiting['id']}/assign", "H002", by_time)
    assert status == 422, refused

    booked = await hubs.ask("W004", "general_medicine")
    status, jodhpur_physicians = await hubs.call("GET", "/slots", "H001", specialty="general_medicine")
    other = jodhpur_physicians["items"][0]["id"]
    status, refused = await hubs.call("POST", f"/consults/{booked['id']}/reschedule", "H002", {"slot_id": other})
    assert status == 422 and "another hub" not in refused["error"]["message"].lower()
    status, still = await hubs.call("GET", f"/consults/{booked['id']}", "H002")
    assert still["specialist"]["id"] == booked["specialist"]["id"]


async def test_a_coordinator_refers_a_consult_to_another_hub_and_the_worker_is_told(hubs: Hubs) -> None:
    consult = await hubs.ask("W004", "cardiology")
    url = f"/consults/{consult['id']}/refer"
    assert (await hubs.call("POST", url, "H002", {"hub_id": JODHPUR}))[0] == 422  # no reason
    assert (await hubs.call("POST", url, "H002", {"hub_id": "dh-sirohi", "reason": "x"}))[0] == 422  # not a hub
    assert (await hubs.call("POST", url, "H002", {"hub_id": UDAIPUR, "reason": "x"}))[0] == 422  # already there
    assert (await hubs.call("POST", url, "H001", {"hub_id": JODHPUR, "reason": "x"}))[0] == 404  # not H001's
    assert (await hubs.call("POST", url, "H126", {"hub_id": JODHPUR, "reason": "x"}))[0] == 403  # the desk refers

    reason = "No cardiologist at Udaipur this month"
    status, referred = await hubs.call("POST", url, "H002", {"hub_id": JODHPUR, "reason": reason})
    assert status == 200, referred
    assert referred["hub_id"] == JODHPUR and referred["status"] == "requested"
    assert referred["queue_reason"] == "referred"
    assert referred["referral"]["from_hub"] == UDAIPUR and referred["referral"]["reason"] == reason
    assert referred["referral"]["by"] == "H002"

    # It left Udaipur's desk and waits at Jodhpur's, whose coordinator books it with their own cardiologist.
    assert (await hubs.call("GET", f"/consults/{consult['id']}", "H002"))[0] == 404
    status, queue = await hubs.call("GET", "/hub/queue", "H001")
    assert consult["id"] in {item["id"] for item in queue["items"]}
    status, slots = await hubs.call("GET", "/slots", "H001", specialty="cardiology")
    status, assigned = await hubs.call(
        "POST", f"/consults/{consult['id']}/assign", "H001", {"slot_id": slots["items"][0]["id"]}
    )
    assert status == 200 and await hubs.hub_of_specialist(assigned["specialist"]["id"]) == JODHPUR

    async with hubs.db.read() as session:
        query = select(HubNotice).where(HubNotice.consult_id == consult["id"]).order_by(HubNotice.id)
        notices = list((await session.execute(query)).scalars())
    assert [notice.event for notice in notices] == ["referred", "scheduled"]
    assert notices[0].worker_id == "W004"
    assert "AIIMS Jodhpur" in notices[0].text_en and reason in notices[0].text_en
    assert "AIIMS Jodhpur" in notices[0].text_hi and reason in notices[0].text_hi


async def test_a_scheduled_consult_referred_leaves_its_slot_free(hubs: Hubs) -> None:
    consult = await hubs.ask("W001", "general_medicine")
    slot_start = consult["scheduled_for"]
    body = {"hub_id": UDAIPUR, "reason": "The family moved to Rajsamand"}
    status, referred = await hubs.call("POST", f"/consults/{consult['id']}/refer", "H001", body)
    assert status == 200 and referred["specialist"] is None and referred["scheduled_for"] is None
    status, slots = await hubs.call("GET", "/slots", "H001", specialty="general_medicine", free="false")
    held = [s for s in slots["items"] if s["start"] == slot_start and s["specialist_id"] == consult["specialist"]["id"]]
    assert held and held[0]["free"] is True


async def test_a_specialist_reads_only_the_patients_of_consults_assigned_to_them(hubs: Hubs) -> None:
    # Encounters at dh-sirohi, where H102's login belongs: the facility alone opens nothing to them.
    unassigned = {"patient_ref": patient(), "complaint": "cough"}
    status, hidden = await hubs.call("POST", "/encounters", "W-DH", unassigned)
    assert status == 201, hidden
    for path in (f"/encounters/{hidden['id']}", f"/encounters/{hidden['id']}/fhir"):
        assert (await hubs.call("GET", path, "H102"))[0] == 404
    status, listed = await hubs.call("GET", "/encounters", "H102")
    assert status == 200 and listed["items"] == [] and listed["total"] == 0

    # A patient of a consult assigned to the Jodhpur cardiologist H119: their visits open to H119 only.
    ref = patient()
    status, visit = await hubs.call("POST", "/encounters", "W001", {"patient_ref": ref, "complaint": "chest pain"})
    consult = await hubs.ask("W001", "cardiology", ref=ref)
    own = await hubs.specialist_of("H119")
    if consult["specialist"]["id"] != own:
        status, slots = await hubs.call("GET", "/slots", "H001", specialist_id=str(own))
        move = {"slot_id": slots["items"][0]["id"]}
        assert (await hubs.call("POST", f"/consults/{consult['id']}/reschedule", "H001", move))[0] == 200
    assert (await hubs.call("GET", f"/encounters/{visit['id']}", "H119"))[0] == 200
    assert (await hubs.call("GET", f"/encounters/{visit['id']}/fhir", "H119"))[0] == 200
    status, listed = await hubs.call("GET", "/encounters", "H119")
    assert [item["id"] for item in listed["items"]] == [visit["id"]]
    assert (await hubs.call("GET", f"/encounters/{hidden['id']}", "H119"))[0] == 404
    assert (await hubs.call("GET", f"/encounters/{visit['id']}", "H126"))[0] == 404  # another hub's specialist
