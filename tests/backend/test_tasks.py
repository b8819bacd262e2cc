"""Follow-up tasks (issue 28) against the real backend on a real SQLite file: from a completed consult's
follow-ups or added by the worker, listed overdue first, closed once, exported as FHIR ``Task``, and
reminded of exactly once per reminder day in the worker outbox, through restarts of the backend.

The hub's people and consults are made as ``test_hub_api`` makes them; everything the hub and the
workers do goes through HTTP. Only the passing of days is set straight in the database (a task's due
date moved back) or by the backend's clock setting (``clock_offset_days``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assistant.core.clock import Clock
from assistant.core.rules import (
    MAX_FOLLOW_UPS,
    TASK_REMINDER_CAP,
    TASK_REMINDER_HOUR,
    TASK_REMINDER_REPEAT_DAYS,
    TASK_TEXT_LIMIT,
)
from assistant.db.engine import Database
from assistant.db.models import HubNotice, Task
from assistant.domain.task_reminders import remind, remind_due_tasks
from tests.backend.test_hub_api import COORDINATOR, Desk, assigned, open_desk
from tests.support.backend import RunningBackend, serve_backend

TIMEZONE = "Asia/Kolkata"
ADVICE = "Continue amlodipine 5 mg daily; recheck the blood pressure."


@pytest.fixture(scope="module")
def desk(sqlite_backend: RunningBackend) -> Desk:
    return open_desk(sqlite_backend)


def today() -> dt.date:
    return Clock(TIMEZONE).today()


def patient() -> str:
    return f"TK-{uuid.uuid4().hex[:6].upper()}"


def complete(desk: Desk, follow_ups: list[dict[str, Any]], patient_ref: str | None = None) -> requests.Response:
    consult_id, _ = assigned(desk, patient_ref or patient())
    body = {"advice": ADVICE, "follow_ups": follow_ups}
    return desk.post(f"/consults/{consult_id}/complete", "HT-S1", body)


def tasks_of(desk: Desk, worker: str = "W001", **params: str) -> list[dict[str, Any]]:
    answer = desk.get("/tasks", worker, **params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def move_due(backend: RunningBackend, task_id: int, due: dt.date) -> None:
    """The days pass: the task is due on ``due`` (in the past, for an overdue one)."""
    with Session(backend.db) as session, session.begin():
        session.execute(update(Task).where(Task.id == task_id).values(due_on=due))


# --- Tasks from a completed consult -----------------------------------------------------


def test_a_completed_consults_follow_ups_become_the_requesting_workers_tasks(desk: Desk) -> None:
    ref = patient()
    due = today() + dt.timedelta(days=5)
    answer = complete(
        desk,
        [
            {"task": "recheck BP", "in_days": 2, "checklist": "blood_pressure_measurement"},
            {"task": "review", "due": due.isoformat()},
        ],
        ref,
    )
    assert answer.status_code == 200, answer.text
    made = answer.json()["follow_ups"]
    assert [(t["task"], t["due"], t["state"]) for t in made] == [
        ("recheck BP", (today() + dt.timedelta(days=2)).isoformat(), "open"),
        ("review", due.isoformat(), "open"),
    ]
    assert {t["patient_ref"] for t in made} == {ref} and {t["worker_id"] for t in made} == {"W001"}
    assert made[0]["consult_id"] == answer.json()["id"] and made[0]["checklist"] == "blood_pressure_measurement"
    listed = {t["id"]: t for t in tasks_of(desk)}
    assert {t["id"] for t in made} <= set(listed)
    # Nobody else's list has them: another worker's, and another facility's supervisor's.
    assert not {t["id"] for t in made} & {t["id"] for t in tasks_of(desk, "W002")}


def test_due_today_lists_due_and_overdue_tasks_overdue_first(desk: Desk) -> None:
    ref = patient()
    made = complete(desk, [{"task": f"visit {n}", "in_days": n} for n in (0, 3, 1)], ref).json()["follow_ups"]
    ids = [t["id"] for t in made]
    move_due(desk.backend, ids[2], today() - dt.timedelta(days=2))  # overdue by two days
    due = [t for t in tasks_of(desk, due="today", patient_ref=ref)]
    assert [t["id"] for t in due] == [ids[2], ids[0]]
    assert (due[0]["overdue"], due[0]["days_overdue"]) == (True, 2)
    assert (due[1]["overdue"], due[1]["days_overdue"]) == (False, 0)
    assert [t["id"] for t in tasks_of(desk, patient_ref=ref)] == [ids[2], ids[0], ids[1]]


@pytest.mark.parametrize(
    ("follow_ups", "field"),
    [
        ([{"task": "recheck BP", "in_days": 2, "due": "2030-01-01"}], "follow_ups[0].due"),
        ([{"task": "recheck BP"}], "follow_ups[0].due"),
        ([{"task": "recheck BP", "due": "2000-01-01"}], "follow_ups[0].due"),
        ([{"task": "recheck BP", "in_days": 400}], "follow_ups[0].in_days"),
        ([{"task": "x" * (TASK_TEXT_LIMIT + 1), "in_days": 1}], "follow_ups[0].task"),
        ([{"in_days": 1}], "follow_ups[0].task"),
        ([{"task": "a", "in_days": 1}, "recheck"], "follow_ups[1]"),
        ([{"task": "a", "in_days": 1, "checklist": "no_such_checklist"}], "follow_ups[0].checklist"),
        ([{"task": f"t{n}", "in_days": 1} for n in range(MAX_FOLLOW_UPS + 1)], "follow_ups"),
    ],
)
def test_a_bad_follow_up_refuses_the_whole_completion_in_words(desk: Desk, follow_ups: list[Any], field: str) -> None:
    consult_id, _ = assigned(desk, patient())
    answer = desk.post(f"/consults/{consult_id}/complete", "HT-S1", {"advice": ADVICE, "follow_ups": follow_ups})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert answer.json()["error"]["message"]
    still = desk.get(f"/consults/{consult_id}", COORDINATOR).json()
    assert still["status"] == "scheduled"  # nothing completed, no task made
    with Session(desk.backend.db) as session:
        assert session.execute(select(func.count()).where(Task.consult_id == consult_id)).scalar() == 0


def test_the_openapi_document_describes_the_follow_ups_and_the_tasks(desk: Desk) -> None:
    document = requests.get(desk.url("/openapi.json"), timeout=30).json()
    schemas = document["components"]["schemas"]
    follow_ups = schemas["CompleteRequest"]["properties"]["follow_ups"]
    assert follow_ups["maxItems"] == MAX_FOLLOW_UPS and follow_ups["items"] == {"$ref": "#/components/schemas/FollowUp"}
    assert schemas["FollowUp"]["properties"]["task"]["maxLength"] == TASK_TEXT_LIMIT
    assert {"/tasks", "/tasks/{id}", "/tasks/{id}/done", "/tasks/{id}/cancel", "/tasks/{id}/fhir"} <= set(
        document["paths"]
    )


# --- A worker's own tasks, closing them --------------------------------------------------


def add_task(desk: Desk, worker: str = "W001", **body: Any) -> dict[str, Any]:
    answer = desk.post("/tasks", worker, {"task": "postnatal visit", "patient_ref": patient(), "in_days": 1, **body})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def log_visit(desk: Desk, patient_ref: str, worker: str = "W001") -> int:
    answer = desk.post("/encounters", worker, {"patient_ref": patient_ref, "complaint": "follow-up visit"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_a_worker_adds_a_task_and_closes_it_once_linking_the_visit(desk: Desk) -> None:
    task = add_task(desk)
    assert (task["consult_id"], task["created_by"], task["state"]) == (None, "W001", "open")
    visit = log_visit(desk, task["patient_ref"])
    key = {"Idempotency-Key": f"done-{task['id']}"}
    done = desk.post(f"/tasks/{task['id']}/done", "W001", {"encounter_id": visit}, **key)
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["encounter_id"], done.json()["closed_by"]) == ("done", visit, "W001")
    replay = desk.post(f"/tasks/{task['id']}/done", "W001", {"encounter_id": visit}, **key)
    assert replay.status_code == 200 and replay.json() == done.json()
    again = desk.post(f"/tasks/{task['id']}/done", "W001", {})
    assert again.status_code == 409 and "done" in again.json()["error"]["message"]
    assert task["id"] not in {t["id"] for t in tasks_of(desk)}
    assert task["id"] in {t["id"] for t in tasks_of(desk, state="done")}


def test_closing_is_the_owners_alone_and_a_visit_must_be_theirs_of_that_patient(desk: Desk) -> None:
    task = add_task(desk)
    assert desk.post(f"/tasks/{task['id']}/done", "W002", {}).status_code == 404  # another worker: not there
    other_patient = log_visit(desk, patient())
    wrong = desk.post(f"/tasks/{task['id']}/done", "W001", {"encounter_id": other_patient})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "encounter_id"
    theirs = log_visit(desk, task["patient_ref"], worker="W003")
    assert desk.post(f"/tasks/{task['id']}/done", "W001", {"encounter_id": theirs}).status_code == 422
    cancelled = desk.post(f"/tasks/{task['id']}/cancel", "W001", {})
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert desk.post(f"/tasks/{task['id']}/done", "W001", {}).status_code == 409


def test_supervisors_see_their_facilities_tasks_and_close_none(desk: Desk) -> None:
    task = add_task(desk)
    supervisor = {**desk.backend.headers("supervisor", "S002")}  # chc-pindwara, over hwc-ajari
    answer = requests.get(desk.url("/tasks"), params={"worker": "W001"}, headers=supervisor, timeout=30)
    assert answer.status_code == 200 and task["id"] in {t["id"] for t in answer.json()["items"]}
    other = {**desk.backend.headers("supervisor", "S003")}  # Rajsamand
    elsewhere = requests.get(desk.url("/tasks"), headers=other, timeout=30).json()["items"]
    assert task["id"] not in {t["id"] for t in elsewhere}
    refused = requests.post(desk.url(f"/tasks/{task['id']}/done"), json={}, headers=supervisor, timeout=30)
    assert refused.status_code == 403


def test_a_new_task_is_refused_in_words_when_it_is_not_well_said(desk: Desk) -> None:
    for body, field in (
        ({"task": "visit", "in_days": 1}, "patient_ref"),
        ({"task": "visit", "patient_ref": "P1"}, "due"),
        ({"task": "visit", "patient_ref": "P1", "due": "tomorrow"}, "due"),
        ({"task": " ", "patient_ref": "P1", "in_days": 1}, "task"),
    ):
        answer = desk.post("/tasks", "W001", body)
        assert answer.status_code == 422 and answer.json()["error"]["field"] == field, (body, answer.text)
    assert desk.post("/tasks", "HT-S1", {"task": "v", "patient_ref": "P1", "in_days": 1}).status_code in (403, 422)


# --- FHIR ------------------------------------------------------------------------------------


def test_a_task_exports_as_a_fhir_task_based_on_its_consults_service_request(desk: Desk) -> None:
    answer = complete(desk, [{"task": "recheck BP", "in_days": 2}])
    consult, [task] = answer.json(), answer.json()["follow_ups"]
    resource = desk.get(f"/tasks/{task['id']}/fhir", "W001")
    assert resource.status_code == 200 and resource.headers["Content-Type"].startswith("application/fhir+json")
    fhir = resource.json()
    assert (fhir["resourceType"], fhir["status"], fhir["intent"], fhir["description"]) == (
        "Task",
        "requested",
        "order",
        "recheck BP",
    )
    assert fhir["basedOn"][0]["identifier"]["value"] == str(consult["id"])
    assert fhir["for"]["identifier"]["value"] == consult["patient_ref"]
    assert fhir["owner"]["identifier"]["value"] == "W001"
    assert fhir["restriction"]["period"]["end"] == fhir["executionPeriod"]["end"] == task["due"]
    assert "output" not in fhir
    visit = log_visit(desk, consult["patient_ref"])
    assert desk.post(f"/tasks/{task['id']}/done", "W001", {"encounter_id": visit}).status_code == 200
    done = desk.get(f"/tasks/{task['id']}/fhir", "W001").json()
    assert done["status"] == "completed"
    assert done["output"][0]["valueReference"]["identifier"]["value"] == str(visit)
    assert desk.get(f"/tasks/{task['id']}/fhir", "W002").status_code == 404


# --- Reminders, once --------------------------------------------------------------------


def reminders_of(backend: RunningBackend, task_id: int) -> list[HubNotice]:
    with Session(backend.db) as session:
        query = select(HubNotice).where(HubNotice.task_id == task_id).order_by(HubNotice.id)
        return list(session.execute(query).scalars())


def run_reminders(backend: RunningBackend, day: dt.date) -> int:
    async def run() -> int:
        db = Database.connect(backend.db_url)
        try:
            async with db.write() as session:
                return await remind(session, day, limit=10_000)
        finally:
            await db.dispose()

    return asyncio.run(run())


def test_a_task_is_reminded_once_on_its_day_then_every_few_days_up_to_the_cap(desk: Desk) -> None:
    [task] = complete(desk, [{"task": "recheck BP", "in_days": 2}]).json()["follow_ups"]
    due = dt.date.fromisoformat(task["due"])
    run_reminders(desk.backend, due - dt.timedelta(days=1))
    assert reminders_of(desk.backend, task["id"]) == []  # not yet due
    run_reminders(desk.backend, due)
    run_reminders(desk.backend, due)  # the job again the same day: nothing more
    [first] = reminders_of(desk.backend, task["id"])
    assert (first.event, first.worker_id, first.consult_id) == ("task_due", "W001", task["consult_id"])
    assert "recheck BP" in first.text_en and "due today" in first.text_en and "recheck BP" in first.text_hi
    assert "Specialist" in first.text_en or "'s follow-up" in first.text_en  # the specialist's words, as theirs
    day = due
    for _ in range(TASK_REMINDER_CAP + 2):
        day += dt.timedelta(days=1)
        run_reminders(desk.backend, day)
    sent = reminders_of(desk.backend, task["id"])
    assert len(sent) == TASK_REMINDER_CAP
    assert "days ago" in sent[1].text_en and "दिन पहले" in sent[1].text_hi
    with Session(desk.backend.db) as session:
        row = session.get(Task, task["id"])
        assert row is not None and row.reminded_count == TASK_REMINDER_CAP
        assert row.last_reminded_on == due + dt.timedelta(days=TASK_REMINDER_REPEAT_DAYS * (TASK_REMINDER_CAP - 1))


def test_a_reminder_goes_through_the_worker_outbox_on_the_channel_last_used(desk: Desk) -> None:
    task = add_task(desk, channel="web", in_days=0)  # a worker's own token says "api" whatever the body says
    run_reminders(desk.backend, today())
    [notice] = reminders_of(desk.backend, task["id"])
    assert notice.consult_id is None
    service = desk.backend.headers("service", None)
    pending = requests.get(desk.url("/notices"), params={"worker": "W001"}, headers=service, timeout=30).json()
    [listed] = [item for item in pending["items"] if item["id"] == notice.id]
    assert (listed["event"], listed["task_id"], listed["consult_id"]) == ("task_due", task["id"], None)
    assert set(listed["text"]) == {"en", "hi"}
    done = requests.post(desk.url(f"/notices/{notice.id}/delivered"), json={"via": "web"}, headers=service, timeout=30)
    assert done.status_code == 200
    run_reminders(desk.backend, today())
    assert len(reminders_of(desk.backend, task["id"])) == 1  # delivered is not "to be reminded again"


def morning_of(day: dt.date, hour: int = TASK_REMINDER_HOUR + 2) -> float:
    """The clock offset, in days, that makes the backend's "now" ``hour`` o'clock local on ``day``."""
    then = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(TIMEZONE))
    return (then - dt.datetime.now(dt.timezone.utc)).total_seconds() / 86400


@pytest.mark.slow
def test_reminders_are_exactly_once_when_the_backend_restarts_on_the_due_morning(
    backend_factory: Callable[..., RunningBackend],
) -> None:
    backend = backend_factory("sqlite")
    desk = open_desk(backend)
    [task] = complete(desk, [{"task": "bring the child back", "in_days": 2}]).json()["follow_ups"]
    offset = morning_of(dt.date.fromisoformat(task["due"]))
    for start in range(2):  # the backend starts on the due morning, twice: its job runs at each start
        restarted = serve_backend(backend.db_url, clock_offset_days=offset)
        listed = requests.get(
            restarted.url + "/tasks", params={"due": "today"}, headers=restarted.headers("worker", "W001"), timeout=30
        ).json()
        assert task["id"] in {t["id"] for t in listed["items"]} and listed["today"] == task["due"]
        deadline = time.monotonic() + (10 if start == 0 else 2)  # the first start reminds; the second must not
        while time.monotonic() < deadline and (start > 0 or not reminders_of(backend, task["id"])):
            time.sleep(0.1)
        restarted.stop()
        assert len(reminders_of(backend, task["id"])) == 1, f"after start {start + 1}"
    # The job itself, once more, on the clock of that morning.
    assert asyncio.run(_job(backend.db_url, Clock(TIMEZONE, offset))) == 0
    assert len(reminders_of(backend, task["id"])) == 1


async def _job(db_url: str, clock: Clock) -> int:
    db = Database.connect(db_url)
    try:
        return await remind_due_tasks(db, clock)
    finally:
        await db.dispose()


def test_the_specialists_day_list_shows_whether_the_follow_ups_were_done(desk: Desk) -> None:
    consult_id, slot = assigned(desk, patient())
    # A consult that left no follow-ups says so: null.
    bare_id, _ = assigned(desk, patient())
    assert desk.post(f"/consults/{bare_id}/complete", "HT-S1", {"advice": ADVICE}).status_code == 200
    answer = desk.post(
        f"/consults/{consult_id}/complete",
        "HT-S1",
        {"advice": ADVICE, "follow_ups": [{"task": "recheck BP", "in_days": 2}, {"task": "review", "in_days": 0}]},
    )
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["follow_ups"]
    day = slot.starts_at.astimezone(ZoneInfo(TIMEZONE)).date().isoformat()

    def standing() -> dict[int, Any]:
        listed = desk.get("/consults", "HT-S1", specialist="me", date=day)
        assert listed.status_code == 200, listed.text
        return {item["id"]: item["follow_ups"] for item in listed.json()["items"]}

    found = standing()
    assert found[bare_id] is None
    assert (found[consult_id]["status"], found[consult_id]["open"], found[consult_id]["done"]) == ("open", 2, 0)
    assert desk.post(f"/tasks/{first['id']}/done", "W001").status_code == 200
    move_due(desk.backend, second["id"], today() - dt.timedelta(days=1))
    assert (standing()[consult_id]["status"], standing()[consult_id]["overdue"]) == ("overdue", 1)
    assert desk.post(f"/tasks/{second['id']}/done", "W001").status_code == 200
    found = standing()[consult_id]
    assert (found["status"], found["done"], found["open"]) == ("done", 2, 0)
    assert {task["task"]: task["state"] for task in found["tasks"]} == {"recheck BP": "done", "review": "done"}
