"""The follow-up loop closed, end to end on the shared running stack (issue 28), in English and in Hindi.

1. A specialist completes the worker's consult with a follow-up in 2 days (the backend's API).
2. The worker hears the advice on their next web chat turn.
3. Two days pass; the worker's web chat shows one reminder.
4. The worker asks "what is due today" and hears the task.
5. The worker logs the visit and closes the task ("done for patient ..."), the visit linked.
6. The supervisor's console shows it done.

How the days pass: the shared stack's processes cannot change their clock
setting (``ASSISTANT_CLOCK_OFFSET_DAYS``) without a restart every other test
of the session would feel, so the task's due date is moved back two days in
the stack's database instead, the same shift for every process at once (the
backend's ``GET /tasks?due=today``, its reminder job, the console). The
reminder is then written by the job's own function (``remind``) against the
stack's database, exactly as the backend's housekeeping would write it at its
next run; whichever runs first, the reminder is written once (the task's
conditional update), and the test checks that there is exactly one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import secrets
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import text
from sqlalchemy.orm import Session

from assistant.core.clock import Clock
from assistant.db.engine import Database
from assistant.db.models import Consult, utcnow
from assistant.domain.api_tokens import create_token
from assistant.domain.task_reminders import remind
from tests.channels.conftest import ChannelWorker
from tests.support.console import ConsoleClient, set_console_password
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ADVICE = "Continue amlodipine 5 mg daily; recheck the blood pressure."
SUPERVISOR_PASSWORD = "task-story-supervisor-1"
WORDS = {
    "en": {
        "status": "consult status",
        "due": "what is due today",
        "done": "done for patient {patient}",
        "yes": "yes",
        "task": "recheck BP",
        "closed": 'Done: "recheck BP" for patient {patient}, with the visit linked.',
    },
    "hi": {
        "status": "कंसल्ट स्टेटस",
        "due": "आज क्या करना है",
        "done": "मरीज़ {patient} का काम हो गया",
        "yes": "हाँ",
        "task": "बीपी दोबारा जाँचें",
        "closed": 'हो गया: मरीज़ {patient} का "बीपी दोबारा जाँचें", विज़िट के साथ।',
    },
}


def _in_thread(work: Any) -> Any:
    """``asyncio.run`` away from any loop the test process may have running."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


def _on_database(stack: RunningStack, work: Any) -> Any:
    async def run() -> Any:
        db = Database.connect(stack.backend_db_url)
        try:
            async with db.write() as session:
                return await work(session)
        finally:
            await db.dispose()

    return _in_thread(run)


def _specialist_consult(stack: RunningStack, worker: ChannelWorker, patient: str) -> tuple[int, str]:
    """A consult of the worker's, scheduled with a specialist; the specialist's login token."""
    with stack.backend_db.connect() as connection:
        login, specialist_id, specialty = connection.execute(
            text(
                "SELECT w.id, s.id, s.specialty FROM workers w JOIN specialists s ON s.id = w.specialist_id "
                "WHERE w.role = 'specialist' ORDER BY w.id LIMIT 1"
            )
        ).one()
        hub = connection.execute(text("SELECT served_by FROM facilities WHERE id = 'hwc-ajari'")).scalar()
    with Session(stack.backend_db) as session, session.begin():
        consult = Consult(
            patient_ref=patient,
            specialty=specialty,
            urgency="routine",
            status="scheduled",
            requested_by=worker.id,
            facility_id="hwc-ajari",
            hub_id=hub,
            specialist_id=specialist_id,
            scheduled_for=utcnow(),
            channel="web",
            conversation_id=worker.id,
        )
        session.add(consult)
        session.flush()
        consult_id = int(consult.id)
    token = _on_database(stack, lambda session: create_token(session, "specialist", login, "task story"))
    return consult_id, str(token)


def _web(stack: RunningStack) -> str:
    return f"{stack.rasa_url}/webhooks/web"


def _sign_in(stack: RunningStack, worker: ChannelWorker) -> dict[str, str]:
    response = requests.post(f"{_web(stack)}/login", json={"worker_id": worker.id, "pin": worker.pin}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _turn(stack: RunningStack, headers: dict[str, str], message: str) -> list[dict[str, Any]]:
    body = {"message": message, "message_id": uuid.uuid4().hex}
    response = requests.post(f"{_web(stack)}/webhook", json=body, headers=headers, timeout=120)
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(message.get("text") or "") for message in messages]


def _updates(stack: RunningStack, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = requests.get(f"{_web(stack)}/updates", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def _two_days_pass(stack: RunningStack, task_id: int) -> None:
    with stack.backend_db.begin() as connection:
        connection.execute(
            text("UPDATE tasks SET due_on = :due WHERE id = :id"),
            {"due": Clock(stack.settings.timezone).today(), "id": task_id},
        )
    _on_database(stack, lambda session: remind(session, Clock(stack.settings.timezone).today()))


@pytest.mark.parametrize("language", ["en", "hi"])
def test_advice_becomes_a_task_reminded_once_closed_by_voice_and_seen_done(
    running_stack: RunningStack, worker: ChannelWorker, language: str
) -> None:
    stack, words = running_stack, WORDS[language]
    patient = str(800000 + secrets.randbelow(99999))
    headers = _sign_in(stack, worker)
    if language == "hi":
        _turn(stack, headers, "हिंदी में बोलो")

    # 1. The specialist completes the consult with a follow-up in 2 days.
    consult_id, specialist = _specialist_consult(stack, worker, patient)
    answer = requests.post(
        f"{stack.backend_url}/consults/{consult_id}/complete",
        json={"advice": ADVICE, "follow_ups": [{"task": words["task"], "in_days": 2}]},
        headers={"Authorization": f"Bearer {specialist}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    [task] = answer.json()["follow_ups"]

    # 2. The worker's next turn starts with the news, once; the status gives the advice, the specialist's words.
    messages = _updates(stack, headers) + _turn(stack, headers, words["status"])
    news = [m for m in messages if "hub_notice" in (m.get("custom") or {}) and patient in str(m.get("text"))]
    assert len(news) == 1 and news[0]["custom"]["hub_notice"]["event"] == "completed", messages
    assert any(ADVICE in said for said in _texts(messages)), messages

    # 3. Two days later the web chat shows one reminder, and only one.
    _two_days_pass(stack, task["id"])
    reminders = [m for m in _updates(stack, headers) if patient in str(m.get("text"))]
    assert len(reminders) == 1 and words["task"] in reminders[0]["text"], reminders
    assert _updates(stack, headers) == []
    with stack.backend_db.connect() as connection:
        written = connection.execute(
            text("SELECT count(*) FROM hub_notices WHERE task_id = :id AND event = 'task_due'"), {"id": task["id"]}
        ).scalar_one()
    assert written == 1

    # 4. "What is due today" reads it.
    due = " ".join(_texts(_turn(stack, headers, words["due"])))
    assert patient in due and f'"{words["task"]}"' in due, due

    # 5. The visit is logged (the worker's own token, the backend's API), then the task closed by voice.
    visit = requests.post(
        f"{stack.backend_url}/encounters",
        json={"patient_ref": patient, "complaint": "BP recheck", "vitals": {"systolic_bp": 132, "diastolic_bp": 84}},
        headers={"Authorization": f"Bearer {stack.worker_token(worker.id)}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert visit.status_code == 201, visit.text
    readback = " ".join(_texts(_turn(stack, headers, words["done"].format(patient=patient))))
    assert patient in readback and words["task"] in readback, readback
    closed = _texts(_turn(stack, headers, words["yes"]))
    assert words["closed"].format(patient=patient) in closed, closed
    with stack.backend_db.connect() as connection:
        state, encounter = connection.execute(
            text("SELECT state, encounter_id FROM tasks WHERE id = :id"), {"id": task["id"]}
        ).one()
    assert (state, encounter) == ("done", visit.json()["id"])

    # 6. The supervisor's console shows it done: a supervisor of the worker's own facility, made for this
    # test (the demo's S001 keeps its demo password for the other tests of this shared stack).
    with stack.backend_db.connect() as connection:
        facility = connection.execute(
            text("SELECT facility_id FROM workers WHERE id = :id"), {"id": worker.id}
        ).scalar_one()
    supervisor = stack.new_worker(facility=facility, role="supervisor", name="Follow-up supervisor")
    set_console_password(stack.backend_db_url, supervisor, SUPERVISOR_PASSWORD)
    console = ConsoleClient(f"http://127.0.0.1:{stack.settings.console_port}")
    assert console.login(supervisor, SUPERVISOR_PASSWORD).status_code == 303
    page = console.get(f"/follow-ups?state=done&worker={worker.id}").text
    assert f'id="task-{task["id"]}" data-task="{task["id"]}" data-state="done"' in page
    assert dt.date.fromisoformat(task["due"])  # as the backend wrote it
