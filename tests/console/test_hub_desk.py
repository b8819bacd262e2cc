"""The Hub desk of the real console over a real database: queue, assign, races, roles, CSRF and audit.

The hub's people are added the way ``assistant worker add`` adds them
(``assistant.domain.people``) and get their passwords from the real
``assistant console password``; the consults and encounters are rows in
the seeded database, the transcripts rows in Rasa's own format.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import insert, select, text

from assistant.console.demo import DEMO_COORDINATOR, DEMO_SUPERVISOR, demo_password, login_hint
from assistant.console.hub_desk import waited
from assistant.core.config import Settings
from assistant.core.passwords import hash_secret
from assistant.db.engine import Database
from assistant.db.models import Slot, Specialist, Worker
from assistant.domain import people
from tests.console.conftest import HOUR, PASSWORD, World, _record, build_world, console_over
from tests.support.console import ConsoleClient, RunningConsole, set_console_password
from tests.support.in_process import console_password, seeded
from tests.support.logs import mentions
from tests.support.processes import ManagedProcess, free_port, http_ok

ZONE = ZoneInfo(Settings().timezone)
COORDINATOR, SECOND_COORDINATOR = DEMO_COORDINATOR, "HT02"
# Two specialists of one specialty (the first two cardiologists), so one cannot touch the other's consults.
SPECIALIST, OTHER_SPECIALIST = "HT11", "HT12"
OUTSIDE_FACILITY = "phc-elsewhere"  # a facility no hub serves
# name -> (patient, specialty, urgency, worker, facility, hours waiting)
CONSULTS: dict[str, tuple[str, str, str, str, str, float]] = {
    "emergency": ("61003", "pediatrics", "emergency", "W001", "hwc-ajari", 0.3),
    "urgent_new": ("61002", "cardiology", "urgent", "W003", "chc-pindwara", 1),
    "routine_old": ("61001", "cardiology", "routine", "W001", "hwc-ajari", 10),
    "for_specialist": ("61006", "cardiology", "routine", "W003", "chc-pindwara", 6),
    "for_other": ("61007", "cardiology", "routine", "W003", "chc-pindwara", 7),
    "csrf": ("61004", "cardiology", "routine", "W003", "chc-pindwara", 4),
    "race": ("61005", "cardiology", "routine", "W002", "sc-abu-road", 5),
    "slot_race_a": ("61008", "cardiology", "routine", "W001", "hwc-ajari", 4.5),
    "slot_race_b": ("61009", "cardiology", "routine", "W003", "chc-pindwara", 4.4),
    "errors": ("61010", "cardiology", "routine", "W001", "hwc-ajari", 3.5),
    "browser": ("61011", "cardiology", "urgent", "W003", "chc-pindwara", 2.5),
    "outside": ("61099", "cardiology", "emergency", "W900", OUTSIDE_FACILITY, 8),
    # Rajsamand's, at the Udaipur hub (which has no cardiologist): its coordinator's, never H001's.
    "udaipur": ("61020", "cardiology", "routine", "W004", "sc-kelwara", 2),
}
UDAIPUR_COORDINATOR = "H002"
# The patient of the seeded WhatsApp consult (urgent cardiology, W002, 3 hours ago), with two visits.
WHATSAPP_PATIENT = "4521"
QUEUE_ROW = re.compile(r'<tr class="queued" id="consult-(\d+)"')
BOOKED_ITEM = re.compile(r'<li class="booked" id="consult-(\d+)"')


@dataclass
class HubWorld:
    world: World
    consults: dict[str, int]
    specialists: dict[str, int]  # login -> specialists.id
    slots: dict[str, list[int]]  # login -> our free slots, tomorrow, earliest first
    pediatric_slot: int
    day: dt.date  # the local day of our slots
    used: set[int] = field(default_factory=set)

    def take_slot(self, login: str) -> int:
        """A slot no test has used yet: tests share the world, never a slot."""
        slot = next(slot for slot in self.slots[login] if slot not in self.used)
        self.used.add(slot)
        return slot

    def query(self, sql: str, **values: Any) -> list[Any]:
        with self.world.backend.connect() as connection:
            return list(connection.execute(text(sql), values).all())

    def consult(self, name: str) -> Any:
        return self.query("SELECT * FROM consults WHERE id = :id", id=self.consults[name])[0]

    def notices(self, name: str) -> list[str]:
        rows = self.query("SELECT event FROM hub_notices WHERE consult_id = :id ORDER BY id", id=self.consults[name])
        return [row.event for row in rows]

    def audit(self, actor: str, action: str, consult: int | None = None) -> list[str]:
        """The targets of ``actor``'s ``action`` rows (of one consult only, if given: tests share the log)."""
        rows = self.query(
            "SELECT target FROM console_audit WHERE actor = :a AND action = :b ORDER BY id", a=actor, b=action
        )
        targets = [row.target for row in rows]
        if consult is None:
            return targets
        return [target for target in targets if re.match(rf"consult {consult}(\D|$)", target)]


async def _add_hub_people(db_url: str) -> dict[str, int]:
    """The coordinators and specialist logins, as ``assistant worker add`` makes them, linked to their records."""
    db = Database.connect(db_url)
    try:
        async with db.write() as session:
            cardiologists = (
                (await session.execute(select(Specialist.id).where(Specialist.specialty == "cardiology")))
                .scalars()
                .all()
            )
            linked = {SPECIALIST: sorted(cardiologists)[0], OTHER_SPECIALIST: sorted(cardiologists)[1]}
            logins = [
                (COORDINATOR, "Hub Coordinator", "coordinator", None),
                (SECOND_COORDINATOR, "Second Coordinator", "coordinator", None),
                (SPECIALIST, "Heart Specialist", "specialist", linked[SPECIALIST]),
                (OTHER_SPECIALIST, "Other Heart Specialist", "specialist", linked[OTHER_SPECIALIST]),
            ]
            for worker_id, name, role, specialist_id in logins:
                if await session.get(Worker, worker_id) is None:  # the demo seed may already hold H001
                    await people.add_worker(session, worker_id, name, "aiims-jodhpur", role)
                if specialist_id is not None:
                    worker = await session.get(Worker, worker_id)
                    assert worker is not None
                    worker.specialist_id = specialist_id
            return linked
    finally:
        await db.dispose()


def _add_slots(hub_db: Any, specialist_id: int, day: dt.date, count: int) -> list[int]:
    """Slots of our own at times the demo plan never uses (07:10, 07:30, ...), so they are surely free."""
    ids = []
    with hub_db.begin() as connection:
        for number in range(count):
            start = dt.datetime.combine(day, dt.time(7, 10), ZONE) + dt.timedelta(minutes=20 * number)
            result = connection.execute(
                insert(Slot.__table__).values(
                    specialist_id=specialist_id, starts_at=start, ends_at=start + dt.timedelta(minutes=20)
                )
            )
            ids.append(int(result.inserted_primary_key[0]))
    return ids


def build_hub_world(root: Path) -> HubWorld:
    world = build_world(root)
    with world.backend.begin() as connection:
        connection.execute(
            text("INSERT INTO facilities (id, name, kind, district) VALUES (:id, 'PHC Elsewhere', 'phc', 'Elsewhere')"),
            {"id": OUTSIDE_FACILITY},
        )
        connection.execute(
            text(
                "INSERT INTO workers (id, name, facility_id, role, active) VALUES ('W900', 'Elsewhere Worker', :f, "
                "'worker', true)"
            ),
            {"f": OUTSIDE_FACILITY},
        )
    linked = asyncio.run(_add_hub_people(world.db_url))
    for login in (COORDINATOR, SECOND_COORDINATOR, SPECIALIST, OTHER_SPECIALIST, UDAIPUR_COORDINATOR):
        console_password(world.db_url, login, PASSWORD)
    now = dt.datetime.now(dt.timezone.utc)
    consults = {"whatsapp": world.consults["consult_whatsapp"]}
    for name, (patient, specialty, urgency, worker, facility, hours) in CONSULTS.items():
        consults[name] = _record(
            world,
            "consults",
            {
                "patient_ref": patient,
                "specialty": specialty,
                "urgency": urgency,
                "reason": f"reason of {name}",
                "status": "requested",
                "requested_by": worker,
                "facility_id": facility,
                "channel": "web",
                "conversation_id": worker,
                "hub_queue": True,
            },
            now.timestamp() - hours * HOUR,
        )
    # The WhatsApp patient's visits: an old one and the latest, whose vitals the specialist must see.
    for days_ago, systolic, temperature in ((30, 118, 36.8), (0, 152, 38.9)):
        _record(
            world,
            "encounters",
            {
                "patient_ref": WHATSAPP_PATIENT,
                "age_years": 58,
                "sex": "male",
                "complaint": "chest pain",
                "systolic_bp": systolic,
                "diastolic_bp": 96,
                "temperature_c": temperature,
                "pulse": 104,
                "spo2": 93,
                "worker_id": "W002",
                "facility_id": "sc-abu-road",
                "channel": "whatsapp",
                "conversation_id": "W002",
            },
            now.timestamp() - days_ago * 24 * HOUR - 3 * HOUR,
        )
    day = now.astimezone(ZONE).date() + dt.timedelta(days=1)
    slots = {login: _add_slots(world.backend, specialist, day, 10) for login, specialist in linked.items()}
    with world.backend.connect() as connection:
        pediatrician = connection.execute(
            text("SELECT min(id) FROM specialists WHERE specialty = 'pediatrics'")
        ).scalar_one()
    return HubWorld(world, consults, linked, slots, _add_slots(world.backend, pediatrician, day, 1)[0], day)


@pytest.fixture(scope="module")
def hub_world(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[tuple[HubWorld, Any]]:
    hub = build_hub_world(tmp_path_factory.mktemp("hub"))
    with console_over(hub.world, artifacts_dir) as (_, console):
        yield hub, console


def signed_in(console: RunningConsole, user: str) -> ConsoleClient:
    client = console.client()
    response = client.login(user, PASSWORD)
    assert response.status_code == 303, response.text
    return client


def assign(client: ConsoleClient, consult_id: int, slot_id: int) -> requests.Response:
    client.get("/hub")  # the form's CSRF token, as a browser holds it
    return client.post(f"/hub/consults/{consult_id}/assign", {"slot_id": slot_id})


def queue_order(page: str) -> list[int]:
    return [int(found) for found in QUEUE_ROW.findall(page)]


def booked(page: str) -> list[int]:
    return [int(found) for found in BOOKED_ITEM.findall(page)]


def test_waiting_times_read_as_hours_and_minutes() -> None:
    assert waited(2 * 3600 + 5 * 60 + 40) == "waiting 2 h 5 min"
    assert waited(59) == "waiting under a minute"
    assert waited(45 * 60) == "waiting 45 min"
    assert waited(3 * 86400 + 4 * 3600 + 7 * 60) == "waiting 3 d 4 h"


def test_a_coordinator_sees_the_queue_most_urgent_first_then_oldest(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    client = console.client()
    client.get("/login")
    response = client.post("/login", {"username": COORDINATOR, "password": PASSWORD})
    assert (response.status_code, response.headers["Location"]) == (303, "/hub")  # the coordinator's home
    page = client.get("/hub")
    assert page.status_code == 200, page.text

    waiting = {row.id for row in hub.query("SELECT id FROM consults WHERE status = 'requested'")}
    expected = [
        hub.consults[name]
        for name in ("emergency", "whatsapp", "browser", "urgent_new", "routine_old", "for_other", "for_specialist")
        + ("race", "slot_race_a", "slot_race_b", "csrf", "errors")
        if hub.consults[name] in waiting
    ]
    assert [consult for consult in queue_order(page.text) if consult in expected] == expected
    # Only the facilities the hub serves; the consult from elsewhere is not the desk's.
    assert hub.consults["outside"] not in queue_order(page.text)
    assert "61099" not in page.text
    row = page.text.split(f'id="consult-{hub.consults["routine_old"]}"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r"waiting 10 h( \d+ min)?<", row), row
    assert "patient 61001" in row and "Sunita Devi" in row  # who asked, by name
    assert hub.audit(COORDINATOR, "hub_queue_view")


def test_a_coordinator_assigns_a_consult_and_the_worker_is_notified(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    client = signed_in(console, COORDINATOR)
    consult, slot = hub.consults["urgent_new"], hub.take_slot(SPECIALIST)
    form = client.get("/hub").text.split(f'action="/hub/consults/{consult}/assign"', 1)[1].split("</form>", 1)[0]
    assert f'value="{slot}"' in form  # offered: a free slot of a cardiologist

    answer = client.post(f"/hub/consults/{consult}/assign", {"slot_id": slot})
    assert answer.status_code == 303, answer.text
    assert answer.headers["Location"].startswith(f"/hub?date={hub.day.isoformat()}&done=assign")
    shown = client.get(answer.headers["Location"].split("#")[0])
    assert f"Consult {consult} is scheduled" in shown.text
    assert consult in booked(shown.text) and consult not in queue_order(shown.text)

    stored = hub.consult("urgent_new")
    assert (stored.status, stored.slot_id, stored.specialist_id) == ("scheduled", slot, hub.specialists[SPECIALIST])
    assert stored.call_link and stored.call_link.startswith("https://")
    assert hub.notices("urgent_new") == ["scheduled"]
    # The slot is held: nobody is offered it any more.
    assert f'value="{slot}"' not in shown.text
    assert hub.audit(COORDINATOR, "hub_assign", consult) == [f"consult {consult} slot {slot}"]


def test_each_hubs_coordinator_sees_only_their_hubs_queue_specialists_and_slots(
    hub_world: tuple[HubWorld, Any],
) -> None:
    hub, console = hub_world
    jodhpur, udaipur = signed_in(console, COORDINATOR).get("/hub").text, signed_in(console, UDAIPUR_COORDINATOR)
    udaipur_page = udaipur.get("/hub").text
    assert hub.consults["udaipur"] in queue_order(udaipur_page)
    assert hub.consults["udaipur"] not in queue_order(jodhpur)
    assert not set(queue_order(udaipur_page)) & set(queue_order(jodhpur))
    # The day-list picker and the slots offered are the hub's own people: no Jodhpur cardiologist at Udaipur.
    assert "Dr. Sanjay Kumawat" in jodhpur and "Dr. Sanjay Kumawat" not in udaipur_page
    assert "Dr. Bhawna Menaria" in udaipur_page and "Dr. Bhawna Menaria" not in jodhpur
    row = udaipur_page.split(f'id="consult-{hub.consults["udaipur"]}"', 1)[1].split("</tr>", 1)[0]
    assert "no such specialist at this hub" in row and 'name="slot_id"' not in row
    # Asking Udaipur's desk for a Jodhpur specialist's day shows nobody's.
    shown = udaipur.get("/hub", params={"specialist": str(hub.specialists[SPECIALIST])})
    assert shown.status_code in (200, 404) and "Heart Specialist" not in shown.text


def test_hub_actions_need_the_sessions_csrf_token(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    client = signed_in(console, COORDINATOR)
    consult, slot = hub.consults["csrf"], hub.take_slot(SPECIALIST)
    client.get("/hub")
    path = f"/hub/consults/{consult}/assign"
    assert client.post(path, {"slot_id": slot}, csrf=False).status_code == 403
    assert client.post(path, {"slot_id": slot, "csrf_token": "forged"}).status_code == 403
    assert client.post(path, {"slot_id": slot}, headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post(f"/hub/consults/{consult}/cancel", {"reason": "x"}, csrf=False).status_code == 403
    assert hub.consult("csrf").status == "requested" and hub.notices("csrf") == []


def test_two_coordinators_assigning_one_consult_one_wins_one_is_told(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    consult = hub.consults["race"]
    clients = [signed_in(console, COORDINATOR), signed_in(console, SECOND_COORDINATOR)]
    slots = [hub.take_slot(SPECIALIST), hub.take_slot(OTHER_SPECIALIST)]
    for client in clients:
        client.get("/hub")
    start = threading.Barrier(2)
    answers: dict[int, requests.Response] = {}

    def submit(number: int) -> None:
        start.wait()
        answers[number] = clients[number].post(f"/hub/consults/{consult}/assign", {"slot_id": slots[number]})

    threads = [threading.Thread(target=submit, args=(number,)) for number in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers.values()) == [303, 409]
    winner = next(number for number, answer in answers.items() if answer.status_code == 303)
    loser = answers[1 - winner]
    assert "Someone else just assigned it" in loser.text and 'id="hub-problem"' in loser.text
    stored = hub.consult("race")
    assert (stored.status, stored.slot_id) == ("scheduled", slots[winner])
    assert hub.notices("race") == ["scheduled"]  # the worker is told once
    actors = (COORDINATOR, SECOND_COORDINATOR)
    assert hub.audit(actors[winner], "hub_assign", consult) == [f"consult {consult} slot {slots[winner]}"]
    assert hub.audit(actors[1 - winner], "hub_assign", consult) == []
    assert hub.audit(actors[1 - winner], "hub_assign_refused", consult) == [f"consult {consult}: conflict"]


def test_two_consults_racing_for_one_slot_the_loser_chooses_again(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    slot = hub.take_slot(OTHER_SPECIALIST)
    first = assign(signed_in(console, COORDINATOR), hub.consults["slot_race_a"], slot)
    second = assign(signed_in(console, SECOND_COORDINATOR), hub.consults["slot_race_b"], slot)
    assert (first.status_code, second.status_code) == (303, 409)
    assert "Someone else just took that slot; choose another." in second.text
    assert hub.consult("slot_race_b").status == "requested" and hub.notices("slot_race_b") == []


def test_refusals_are_said_in_words_never_a_500(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    client = signed_in(console, COORDINATOR)
    consult = hub.consults["errors"]
    client.get("/hub")
    cases = [
        (f"/hub/consults/{consult}/assign", {}, 400, "Choose a slot."),
        (f"/hub/consults/{consult}/assign", {"slot_id": hub.pediatric_slot}, 400, "needs cardiology"),
        ("/hub/consults/999999/assign", {"slot_id": hub.slots[SPECIALIST][-1]}, 404, "No such consult."),
        (f"/hub/consults/{consult}/cancel", {"reason": "  "}, 400, "Say why the hub cancels the consult"),
        (f"/hub/consults/{consult}/complete", {"advice": "rest"}, 409, "only a scheduled consult"),
        (f"/hub/consults/{hub.consults['outside']}/assign", {"slot_id": 1}, 404, "No such consult."),
    ]
    for path, form, status, message in cases:
        answer = client.post(path, form)
        assert (answer.status_code, message in answer.text) == (status, True), (path, form, answer.text[-500:])
    assert hub.consult("errors").status == "requested"

    # Assigned, moved, then cancelled with a reason: each step told to the worker.
    first, second = hub.take_slot(SPECIALIST), hub.take_slot(OTHER_SPECIALIST)
    assert assign(client, consult, first).status_code == 303
    moved = client.post(f"/hub/consults/{consult}/reschedule", {"slot_id": second})
    assert moved.status_code == 303, moved.text
    assert hub.consult("errors").slot_id == second
    cancelled = client.post(f"/hub/consults/{consult}/cancel", {"reason": "Patient referred to the district hospital"})
    assert cancelled.status_code == 303
    stored = hub.consult("errors")
    assert (stored.status, stored.cancel_reason) == ("cancelled", "Patient referred to the district hospital")
    assert hub.notices("errors") == ["scheduled", "rescheduled", "cancelled"]
    assert hub.audit(COORDINATOR, "hub_cancel", consult) == [f"consult {consult}"]


def test_a_specialist_sees_only_their_list_and_closes_only_their_consults(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    desk = signed_in(console, COORDINATOR)
    mine, theirs = hub.consults["for_specialist"], hub.consults["for_other"]
    assert assign(desk, mine, hub.take_slot(SPECIALIST)).status_code == 303
    assert assign(desk, theirs, hub.take_slot(OTHER_SPECIALIST)).status_code == 303

    specialist = console.client()
    specialist.get("/login")
    landing = specialist.post("/login", {"username": SPECIALIST, "password": PASSWORD})
    assert landing.headers["Location"] == "/hub"
    day = f"/hub?date={hub.day.isoformat()}"
    page = specialist.get(day).text
    assert mine in booked(page) and theirs not in booked(page)
    assert 'id="queue"' not in page and "61007" not in page and "61001" not in page  # nobody else's patients
    # Asking for the other specialist's list still shows one's own.
    other_id = hub.specialists[OTHER_SPECIALIST]
    assert theirs not in booked(specialist.get(f"{day}&specialist={other_id}").text)
    assert hub.audit(SPECIALIST, "hub_day_list_view")

    refused = specialist.post(f"/hub/consults/{theirs}/complete", {"advice": "not mine to give"})
    assert refused.status_code == 404 and "No such consult." in refused.text
    no_show = specialist.post(f"/hub/consults/{theirs}/no-show", {})
    assert no_show.status_code == 404
    assert hub.consult("for_other").status == "scheduled"
    desk_only = specialist.post(f"/hub/consults/{hub.consults['csrf']}/assign", {"slot_id": hub.slots[SPECIALIST][-1]})
    assert desk_only.status_code == 403 and "Only a hub coordinator" in desk_only.text
    assert specialist.post(f"/hub/consults/{mine}/cancel", {"reason": "no"}).status_code == 403

    done = specialist.post(f"/hub/consults/{mine}/complete", {"advice": "Start aspirin 75 mg", "follow_up": "ECG"})
    assert done.status_code == 303, done.text
    stored = hub.consult("for_specialist")
    assert (stored.status, stored.specialist_advice, stored.follow_up) == ("completed", "Start aspirin 75 mg", "ECG")
    assert stored.closed_by == SPECIALIST
    assert hub.notices("for_specialist") == ["scheduled", "completed"]
    assert hub.audit(SPECIALIST, "hub_complete", mine) == [f"consult {mine}"]
    assert hub.audit(SPECIALIST, "hub_complete_refused", theirs) == [f"consult {theirs}: not_found"]

    # Their own consult is the other specialist's to close: nobody joined that call.
    other = signed_in(console, OTHER_SPECIALIST)
    other.get(day)
    assert other.post(f"/hub/consults/{theirs}/no-show", {}).status_code == 303
    assert hub.consult("for_other").status == "no_show"
    assert hub.notices("for_other") == ["scheduled", "no_show"]
    assert hub.audit(OTHER_SPECIALIST, "hub_no_show", theirs) == [f"consult {theirs}"]


def test_a_specialist_reads_only_the_conversation_of_a_consult_assigned_to_them(
    hub_world: tuple[HubWorld, Any],
) -> None:
    hub, console = hub_world
    consult = hub.consults["whatsapp"]
    assert assign(signed_in(console, COORDINATOR), consult, hub.take_slot(SPECIALIST)).status_code == 303
    specialist = signed_in(console, SPECIALIST)
    page = specialist.get(f"/hub?date={hub.day.isoformat()}").text
    item = page.split(f'<li class="booked" id="consult-{consult}"', 1)[1].split("</li>", 1)[0]
    assert "BP 152/96 mmHg" in item and "temperature 38.9 °C" in item and "SpO2 93 %" in item  # the latest visit
    assert "BP 118/96" not in item
    assert re.search(r'<a class="button call-link" href="https://[^"]+" target="_blank" rel="noopener', item)

    opened = specialist.get(f"/hub/consults/{consult}/conversation")
    conversation = hub.world.conversations["consult_whatsapp"]
    assert (opened.status_code, opened.headers["Location"]) == (303, f"/conversations/{conversation}")
    transcript = specialist.get(f"/conversations/{conversation}")
    assert transcript.status_code == 200 and "chest pain" in transcript.text
    assert "export.json" not in transcript.text and "Flag this turn" not in transcript.text  # reading only
    assert hub.audit(SPECIALIST, "hub_open_conversation", consult) == [f"consult {consult} conversation {conversation}"]

    # Nothing else: no conversation without a consult of theirs in it, no list, no exports, no supervisor pages.
    for name in ("encounter_voice", "old_w001"):
        assert specialist.get(f"/conversations/{hub.world.conversations[name]}").status_code == 404
    for path in ("/conversations", f"/conversations/{conversation}/export.json", "/dashboard", "/flags"):
        assert specialist.get(path).status_code == 403, path
    assert specialist.get(f"/hub/consults/{hub.consults['for_other']}/conversation").status_code == 404


def test_a_coordinator_reads_its_facilities_conversations_but_no_supervisor_pages(
    hub_world: tuple[HubWorld, Any],
) -> None:
    hub, console = hub_world
    client = signed_in(console, COORDINATOR)
    voice = hub.world.conversations["encounter_voice"]
    assert client.get("/conversations").status_code == 200
    page = client.get(f"/conversations/{voice}")
    assert page.status_code == 200 and "7788" in page.text
    assert 'href="/dashboard"' not in page.text and 'href="/hub"' in page.text  # the nav is the hub's
    assert client.get(f"/encounters/{hub.world.encounters['encounter_voice']}").status_code == 200
    for path in (
        f"/conversations/{voice}/export.json",
        f"/conversations/{voice}/export.csv",
        f"/encounters/{hub.world.encounters['encounter_voice']}/fhir",
        "/dashboard",
        "/deliveries",
        "/flags",
        "/flags/nlu.yml",
        "/people",
        "/audit",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/conversations/{voice}/review", {"reviewed": "1"}).status_code == 403


def test_supervisors_and_workers_get_no_hub_desk(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    consult = hub.consults["csrf"]
    supervisor = signed_in(console, "S001")
    page = supervisor.get("/hub")
    assert page.status_code == 403 and "61004" not in page.text
    assert 'href="/hub"' not in supervisor.get("/conversations").text
    refused = supervisor.post(f"/hub/consults/{consult}/assign", {"slot_id": hub.slots[SPECIALIST][-1]})
    assert refused.status_code == 403
    assert supervisor.get(f"/hub/consults/{consult}/conversation").status_code == 403
    # An admin may run the desk, as assistant.domain.hub_operations lets an admin do.
    assert 'id="queue-list"' in signed_in(console, "A001").get("/hub").text

    # A field worker holding a console password is still refused, and nobody acts without a session.
    with hub.world.backend.begin() as connection:
        connection.execute(
            text("INSERT INTO console_passwords (worker_id, password_hash, updated_at) VALUES ('W003', :h, :t)"),
            {"h": hash_secret(PASSWORD), "t": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)},
        )
    assert console.client().login("W003", PASSWORD).status_code == 403
    with pytest.raises(RuntimeError, match="only supervisors, admins, coordinators and specialists"):
        set_console_password(hub.world.db_url, "W002", PASSWORD)
    anonymous = console.client()
    assert anonymous.post(f"/hub/consults/{consult}/assign", {"slot_id": 1}, csrf=False).status_code == 401
    assert anonymous.get("/hub").status_code == 303
    assert hub.consult("csrf").status == "requested"


def test_no_patient_reference_reaches_the_console_log(hub_world: tuple[HubWorld, Any]) -> None:
    hub, console = hub_world
    signed_in(console, COORDINATOR).get("/hub")  # at least one desk view, whatever ran before
    log = console.process.log_text()
    leaked = [patient for patient, *_ in CONSULTS.values() if mentions(log, patient)]
    assert leaked == [] and not mentions(log, WHATSAPP_PATIENT)
    targets = " ".join(row.target or "" for row in hub.query("SELECT target FROM console_audit"))
    assert not any(mentions(targets, patient) for patient, *_ in CONSULTS.values())


def test_assistant_up_prints_a_demo_coordinator_login_that_works(tmp_path: Path, artifacts_dir: Path) -> None:
    data_dir = tmp_path / "data"
    db_url, tracker_url = f"sqlite:///{tmp_path / 'backend.db'}", f"sqlite:///{tmp_path / 'tracker.db'}"
    seeded(db_url)
    asyncio.run(_add_hub_people(db_url))
    port = free_port()
    # As ``assistant up`` starts it (assistant/stack/console_service.py): naming the demo supervisor.
    process = ManagedProcess(
        "console",
        [
            *(sys.executable, "-m", "assistant.cli", "serve", "console", "--db", db_url, "--tracker-db", tracker_url),
            *("--port", str(port), "--demo-login", DEMO_SUPERVISOR),
        ],
        artifacts_dir / "logs" / f"console-demo-{port}.log",
        env={"ASSISTANT_DATA_DIR": str(data_dir)},
    ).start()
    try:
        url = f"http://127.0.0.1:{port}"
        process.wait_until_ready(lambda: http_ok(url + "/health"), timeout=120)
        settings = Settings(data_dir=data_dir)
        supervisor, coordinator = demo_password(settings), demo_password(settings, DEMO_COORDINATOR)
        assert supervisor != coordinator
        assert f"{DEMO_COORDINATOR} / {coordinator}" in login_hint(settings, DEMO_COORDINATOR)
        signing_in = ConsoleClient(url)
        answer = signing_in.login(DEMO_COORDINATOR, coordinator)
        assert (answer.status_code, answer.headers["Location"]) == (303, "/hub")
        assert ConsoleClient(url).login(DEMO_SUPERVISOR, supervisor).status_code == 303
        assert ConsoleClient(url).login(DEMO_COORDINATOR, supervisor).status_code == 401
    finally:
        process.stop()
