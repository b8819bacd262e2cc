"""Hands-free checklists: open one, then next / back / repeat / go to step n.

Progress lives in two slots (``checklist``, ``checklist_step``) that nothing
else touches, so a question in between ("help", a consult status, a whole
consult request) leaves the worker on the same step. Steps are read in the
worker's current language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.checklists_store import ChecklistUnavailable
from actions.context import Turn
from actions.forms import leave_open_form
from actions.services import services
from actions.texts import join_choices, say, text, utter_question
from assistant.core.dialogue import CHECKLIST_STEP
from assistant.core.spoken_numbers import parse_number, unfinished_numbers
from assistant.core.vocabulary import PROCEDURES
from assistant.http.backend_client import BackendRejected

PROGRESS_SLOTS = ("checklist", "checklist_step")


def clear_progress() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in PROGRESS_SLOTS]


def _procedure(tracker: Tracker) -> str | None:
    named = next(tracker.get_latest_entity_values("procedure"), None)
    if named in PROCEDURES:
        return named
    said = named or (tracker.latest_message or {}).get("text")
    return services().canonical.canonical("procedure", said)


def step_text(checklist: dict[str, Any], number: int, language: str) -> str:
    """ "Step 3 of 7: ..." with the caution said first when the step carries one."""
    steps = checklist["steps"]
    step = steps[number - 1]
    key = "checklist_step_caution" if step.get("caution") else "checklist_step"
    spoken = text(key, language, number=number, total=len(steps), text=step["text"])
    if number == len(steps):
        spoken += " " + text("checklist_last_step", language)
    return spoken


def read_step(dispatcher: CollectingDispatcher, checklist: dict[str, Any], number: int, language: str) -> None:
    """One step, with next / repeat / back / stop as what may come next."""
    utter_question(dispatcher, step_text(checklist, number, language), language, CHECKLIST_STEP)


def spoken_source(guideline: str) -> str:
    """The guideline's main citation: what comes before a ";" note, unless that splits a bracket."""
    head = guideline.split(";")[0].strip()
    return head if head.count("(") == head.count(")") else guideline


class ActionStartChecklist(Action):
    def name(self) -> str:
        return "action_start_checklist"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        left = leave_open_form(dispatcher, tracker)
        return [*left, *await self._open(dispatcher, tracker)]

    async def _open(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        store = services().checklists
        slug = _procedure(tracker)
        try:
            if slug is None:
                titles = [
                    item["title_hi" if turn.language == "hi" else "title"] for item in await store.index(turn.worker_id)
                ]
                say(dispatcher, "checklist_offer", turn.language, titles=join_choices(titles, turn.language))
                return []
            checklist = await store.checklist(turn.worker_id, slug, turn.language)
        except ChecklistUnavailable:
            say(dispatcher, "checklist_unavailable", turn.language)
            return []
        except BackendRejected:
            say(dispatcher, "checklist_unknown", turn.language)
            return []
        source = spoken_source(str((checklist.get("source") or {}).get("guideline", "")))
        say(
            dispatcher,
            "checklist_intro",
            turn.language,
            title=checklist["title"],
            total=len(checklist["steps"]),
            source=source,
        )
        read_step(dispatcher, checklist, 1, turn.language)
        return [SlotSet("checklist", slug), SlotSet("checklist_step", 1)]


class ActionChecklistNavigate(Action):
    """next_step, previous_step, repeat_step and goto_step."""

    def name(self) -> str:
        return "action_checklist_navigate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        slug = tracker.get_slot("checklist")
        if not slug:
            say(dispatcher, "checklist_none_open", turn.language)
            return []
        try:
            checklist = await services().checklists.checklist(turn.worker_id, slug, turn.language)
        except (ChecklistUnavailable, BackendRejected):
            say(dispatcher, "checklist_unavailable", turn.language)
            return []
        total = len(checklist["steps"])
        current = int(tracker.get_slot("checklist_step") or 1)
        intent = tracker.get_intent_of_latest_message()
        if intent == "next_step":
            if current >= total:
                say(dispatcher, "checklist_done", turn.language, title=checklist["title"])
                return clear_progress()
            target = current + 1
        elif intent == "previous_step":
            if current <= 1:
                say(dispatcher, "checklist_first_step", turn.language)
            target = max(1, current - 1)
        elif intent == "goto_step":
            said = (tracker.latest_message or {}).get("text") or ""
            if unfinished_numbers(said):  # "go to step four point": never guess the step
                say(dispatcher, "checklist_step_unheard", turn.language)
                return []
            named = next(tracker.get_latest_entity_values("step_number"), None)
            number = parse_number(str(named)) if named is not None else None
            if number is None:
                number = parse_number(said)
            if number is None or not number.is_integer() or not 1 <= number <= total:
                shown = "?" if number is None else f"{number:g}"
                say(dispatcher, "checklist_no_step", turn.language, number=shown, total=total)
                return []
            target = int(number)
        else:  # repeat_step
            target = current
        read_step(dispatcher, checklist, target, turn.language)
        return [SlotSet("checklist_step", target)]
