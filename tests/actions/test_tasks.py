"""The worker's day (issue 28): ``action_tasks_today`` reads the worker's due tasks from the real backend,
overdue first, short enough to speak, in the worker's language, and offers a checklist a task names."""

from __future__ import annotations

import datetime as dt
import uuid

import requests
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update
from sqlalchemy.orm import Session

from actions.services import Services
from actions.tasks import ActionTasksToday
from assistant.core.rules import TASKS_SPOKEN
from assistant.db.models import Task
from tests.support.backend import RunningBackend
from tests.support.trackers import domain, said, tracker, user_message


async def ask(worker: str, language: str = "en") -> list[str]:
    dispatcher = CollectingDispatcher()
    words = "what is due today" if language == "en" else "आज क्या करना है"
    conversation = tracker(user_message(words, "tasks_today"), {"language": language}, sender=worker)
    await ActionTasksToday().run(dispatcher, conversation, domain())
    return said(dispatcher)


def new_worker(backend: RunningBackend) -> str:
    """A worker of their own, so no other test's tasks are in the list."""
    worker = f"TT{uuid.uuid4().hex[:8].upper()}"
    with backend.db.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO workers (id, name, facility_id, role, active) VALUES (?, 'Task Worker', 'hwc-ajari', "
            "'worker', 1)",
            (worker,),
        )
    return worker


def add(backend: RunningBackend, worker: str, what: str, days: int, checklist: str | None = None) -> int:
    """The worker's task due in ``days`` (a negative number: that many days late; the days passed in the database)."""
    body = {"task": what, "patient_ref": f"P{uuid.uuid4().hex[:4]}", "in_days": max(days, 0), "checklist": checklist}
    answer = requests.post(f"{backend.url}/tasks", json=body, headers=backend.headers("worker", worker), timeout=30)
    assert answer.status_code == 201, answer.text
    task_id = int(answer.json()["id"])
    if days < 0:
        with Session(backend.db) as session, session.begin():
            due = dt.date.fromisoformat(answer.json()["due"]) + dt.timedelta(days=days)
            session.execute(update(Task).where(Task.id == task_id).values(due_on=due))
    return task_id


async def test_nothing_due_is_said_so(online: Services, sqlite_backend: RunningBackend) -> None:
    worker = new_worker(sqlite_backend)
    assert await ask(worker) == ["Nothing is due today."]
    assert await ask(worker, "hi") == ["आज कुछ बाकी नहीं है।"]


async def test_the_day_is_read_overdue_first_a_few_at_a_time_with_the_checklist_offered(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    worker = new_worker(sqlite_backend)
    add(sqlite_backend, worker, "recheck BP", 0, checklist="blood_pressure_measurement")
    add(sqlite_backend, worker, "postnatal visit", -3)
    for n in range(TASKS_SPOKEN):
        add(sqlite_backend, worker, f"visit {n}", 0)
    add(sqlite_backend, worker, "next week", 7)  # not due: not read
    replies = await ask(worker)
    assert replies[0].startswith(f"Due today, {TASKS_SPOKEN + 2}:")
    assert replies[0].index('"postnatal visit", 3 days late') < replies[0].index('"recheck BP"')
    assert "next week" not in " ".join(replies)
    assert replies[1] == "And 2 more."
    assert "checklist" in replies[2] and "blood pressure" in replies[2].lower()
    hindi = await ask(worker, "hi")
    assert hindi[0].startswith(f"आज के {TASKS_SPOKEN + 2} काम:") and "3 दिन देर" in hindi[0]


async def test_an_unreachable_hub_is_said_so(offline: Services) -> None:
    assert "can't reach the hub" in (await ask("W001"))[0]
