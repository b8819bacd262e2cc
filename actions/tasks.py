"""The worker's day, hands-free (issue 28): "what is due today" reads their follow-up tasks.

Overdue first, at most ``TASKS_SPOKEN`` read out and the rest counted, so the
answer is short enough to hear. A task is relayed as written (the
specialist's words, in quotes), never reworded. When a task read out names a
checklist, the worker is told how to open it.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import language_of
from actions.services import services
from actions.texts import say, say_rejection, text
from assistant.core.rules import TASKS_SPOKEN
from assistant.http.backend_client import BackendRejected, BackendUnavailable


def task_item(task: dict[str, Any], language: str) -> str:
    """One task as the day's list says it: the patient, what to do, and how late it is."""
    values = {"patient": task.get("patient_ref"), "task": task.get("task")}
    if task.get("overdue"):
        return text("task_overdue", language, days=task.get("days_overdue"), **values)
    return text("task_due_today", language, **values)


async def _checklist_title(worker_id: str, slug: str, language: str) -> str | None:
    try:
        title = (await services().backend.checklist(worker_id, slug, language)).get("title")
    except (BackendUnavailable, BackendRejected):
        return None
    return str(title) if title else None


class ActionTasksToday(Action):
    def name(self) -> str:
        return "action_tasks_today"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language, worker_id = language_of(tracker), tracker.sender_id
        try:
            due = await services().backend.due_tasks(worker_id)
        except BackendUnavailable:
            say(dispatcher, "tasks_unreachable", language)
            return []
        except BackendRejected as error:
            say_rejection(dispatcher, error, language)
            return []
        if not due:
            say(dispatcher, "tasks_none", language)
            return []
        spoken = due[:TASKS_SPOKEN]
        items = "; ".join(task_item(task, language) for task in spoken)
        say(dispatcher, "tasks_list", language, count=len(due), items=items)
        if len(due) > len(spoken):
            say(dispatcher, "tasks_more", language, count=len(due) - len(spoken))
        with_checklist = next((task for task in spoken if task.get("checklist")), None)
        if with_checklist is not None:
            title = await _checklist_title(worker_id, str(with_checklist["checklist"]), language)
            if title:
                say(dispatcher, "task_checklist", language, patient=with_checklist.get("patient_ref"), title=title)
        return []
