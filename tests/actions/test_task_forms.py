"""Closing and adding a follow-up task by voice or chat (issue 28), against the real backend.

"done for patient 4521" reads back the worker's open task for that patient,
with today's visit to link, and closes it on yes; "remind me to recheck
patient 4521's BP in 3 days" is read from the sentence, read back, and added.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import requests
from rasa_sdk.executor import CollectingDispatcher

from actions.services import Services
from actions.task_forms import (
    ActionAddTask,
    ActionAskTaskAddConfirmed,
    ActionAskTaskDays,
    ActionAskTaskDoneConfirmed,
    ActionCloseTask,
    ValidateTaskAddForm,
    ValidateTaskDoneForm,
    days_said,
    task_words,
)
from tests.actions.test_tasks import new_worker
from tests.support.backend import RunningBackend
from tests.support.trackers import domain, entity, said, slot_events, tracker, user_message


def patient() -> str:
    return str(uuid.uuid4().int % 900000 + 100000)


def worker_post(backend: RunningBackend, worker: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{backend.url}{path}", json=body, headers=backend.headers("worker", worker), timeout=30)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def task_of(backend: RunningBackend, worker: str, task_id: int) -> dict[str, Any]:
    answer = requests.get(f"{backend.url}/tasks/{task_id}", headers=backend.headers("worker", worker), timeout=30)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def run(action: Any, conversation: Any) -> tuple[list[str], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, conversation, domain())
    return said(dispatcher), events


@pytest.mark.parametrize(
    ("sentence", "ref", "what", "days"),
    [
        ("remind me to recheck patient 4521's BP in 3 days", "4521", "recheck BP", 3),
        ("patient 5530 ka BP 3 din baad check karna yaad dilana", "5530", "BP check karna", 3),
        ("मरीज़ 4521 का बीपी 3 दिन बाद जाँचना याद दिलाना", "4521", "बीपी जाँचना", 3),
        ("remind me to visit patient 7788 in two days", "7788", "visit", 2),
        ("patient 2290 ka wajan ek hafte baad yaad dilao", "2290", "wajan", 7),
        ("मरीज 3310 की दवाई कल याद दिलाना", "3310", "दवाई", 1),
    ],
)
def test_what_and_when_are_read_from_the_sentence(sentence: str, ref: str, what: str, days: int) -> None:
    assert task_words(sentence, ref) == what
    assert days_said(sentence) == days


async def test_done_for_a_patient_reads_back_links_todays_visit_and_closes_the_task(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    worker, ref = new_worker(sqlite_backend), patient()
    task = worker_post(sqlite_backend, worker, "/tasks", {"task": "recheck BP", "patient_ref": ref, "in_days": 0})
    visit = worker_post(sqlite_backend, worker, "/encounters", {"patient_ref": ref, "complaint": "BP recheck"})

    words = f"done for patient {ref}"
    opening = user_message(words, "task_done", [entity("patient_id", ref, words)])
    events = await ValidateTaskDoneForm().run(
        CollectingDispatcher(), tracker(opening, sender=worker, active_loop="task_done_form"), domain()
    )
    chosen = slot_events(events)["task_to_close"]
    assert (chosen["id"], chosen["task"], chosen["visit"]["id"]) == (task["id"], "recheck BP", visit["id"])
    (readback,), _ = await run(ActionAskTaskDoneConfirmed(), tracker(opening, {"task_to_close": chosen}, sender=worker))
    assert f'Mark "recheck BP" for patient {ref} done, with the visit you logged at' in readback
    (hindi,), _ = await run(
        ActionAskTaskDoneConfirmed(), tracker(opening, {"task_to_close": chosen, "language": "hi"}, sender=worker)
    )
    assert f"मरीज़ {ref}" in hindi and "विज़िट" in hindi

    no = tracker(user_message("no", "deny"), {"task_to_close": chosen, "confirmed": False}, sender=worker)
    assert (await run(ActionCloseTask(), no))[0] == ["OK, the task stays open."]
    assert task_of(sqlite_backend, worker, task["id"])["state"] == "open"

    yes = tracker(user_message("yes", "affirm"), {"task_to_close": chosen, "confirmed": True}, sender=worker)
    (reply,), events = await run(ActionCloseTask(), yes)
    assert reply == f'Done: "recheck BP" for patient {ref}, with the visit linked.'
    closed = task_of(sqlite_backend, worker, task["id"])
    assert (closed["state"], closed["encounter_id"]) == ("done", visit["id"])
    assert slot_events(events)["task_to_close"] is None  # the form is cleared for the next one


async def test_done_for_a_patient_without_an_open_task_says_so(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    worker, ref = new_worker(sqlite_backend), patient()
    words = f"मरीज़ {ref} का काम हो गया"
    opening = user_message(words, "task_done", [entity("patient_id", ref, words)], metadata={"language": "hi"})
    events = await ValidateTaskDoneForm().run(
        CollectingDispatcher(), tracker(opening, sender=worker, active_loop="task_done_form"), domain()
    )
    chosen = slot_events(events)["task_to_close"]
    assert chosen["id"] is None
    (reply,), _ = await run(
        ActionCloseTask(), tracker(opening, {"task_to_close": chosen, "language": "hi"}, sender=worker)
    )
    assert reply == f"मरीज़ {ref} का कोई खुला काम नहीं है।"


async def test_remind_me_reads_back_and_adds_the_workers_own_task(
    online: Services, sqlite_backend: RunningBackend
) -> None:
    worker, ref = new_worker(sqlite_backend), patient()
    words = f"remind me to recheck patient {ref}'s BP in 3 days"
    opening = user_message(words, "add_task", [entity("patient_id", ref, words)])
    events = await ValidateTaskAddForm().run(
        CollectingDispatcher(), tracker(opening, sender=worker, active_loop="task_add_form"), domain()
    )
    found = slot_events(events)
    assert (found["task_patient"], found["task_what"], found["task_days"]) == (ref, "recheck BP", 3)
    slots = {"task_patient": ref, "task_what": "recheck BP", "task_days": 3}
    (readback,), _ = await run(ActionAskTaskAddConfirmed(), tracker(opening, slots, sender=worker))
    assert readback == f'Remind you in 3 days: "recheck BP" for patient {ref}? Say yes or no.'

    yes = tracker(user_message("yes", "affirm"), {**slots, "confirmed": True}, sender=worker)
    (reply,), _ = await run(ActionAddTask(), yes)
    assert reply == f'Added: "recheck BP" for patient {ref}, due in 3 days.'
    listed = requests.get(
        f"{sqlite_backend.url}/tasks", params={"patient_ref": ref}, headers=sqlite_backend.headers("worker", worker)
    ).json()["items"]
    due = dt.date.fromisoformat(listed[0]["due"])
    assert [(t["task"], t["consult_id"]) for t in listed] == [("recheck BP", None)]
    assert due - dt.date.fromisoformat(
        requests.get(f"{sqlite_backend.url}/tasks", headers=sqlite_backend.headers("worker", worker)).json()["today"]
    ) == dt.timedelta(days=3)


async def test_a_reminder_without_its_days_asks_for_them(online: Services, sqlite_backend: RunningBackend) -> None:
    worker, ref = new_worker(sqlite_backend), patient()
    words = f"मरीज़ {ref} का वज़न जाँचना याद दिलाना"
    opening = user_message(words, "add_task", [entity("patient_id", ref, words)])
    events = await ValidateTaskAddForm().run(
        CollectingDispatcher(), tracker(opening, sender=worker, active_loop="task_add_form"), domain()
    )
    found = slot_events(events)
    assert found["task_what"] == "वज़न जाँचना" and found.get("task_days") is None
    (question,), _ = await run(ActionAskTaskDays(), tracker(opening, {"language": "hi"}, sender=worker))
    assert question == "कितने दिन में? संख्या बोलिए, आज के लिए 0।"
    answer = user_message("teen", "inform")
    slots = {"task_patient": ref, "task_what": "वज़न जाँचना", "requested_slot": "task_days"}
    events = await ValidateTaskAddForm().run(
        CollectingDispatcher(), tracker(answer, slots, sender=worker, active_loop="task_add_form"), domain()
    )
    assert slot_events(events)["task_days"] == 3
    no = tracker(user_message("nahi", "deny"), {**slots, "task_days": 3, "confirmed": False}, sender=worker)
    assert (await run(ActionAddTask(), no))[0] == ["OK, I have not added it."]
