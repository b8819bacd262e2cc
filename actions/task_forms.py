"""Closing and adding a follow-up task by voice or chat (issue 28), each after a read-back.

- "done for patient 4521" (``task_done_form``): the worker's open task for
  that patient (the most overdue first) is read back, with the latest visit
  the worker logged for that patient today, if any: "yes" closes the task and
  links that visit; "no" leaves it open. No open task for the patient is said
  so, and nothing is asked.
- "remind me to recheck patient 4521's BP in 3 days" (``task_add_form``): the
  patient, what to do and in how many days are read from the sentence (or
  asked for, one at a time), then read back; "yes" adds the worker's own task.

The slots are the forms' own (custom mappings, extracted here), so nothing a
consult or an encounter form holds is touched; "confirmed" is the shared
read-back answer. A request for another flow said inside either form steps
aside like in every form (``actions.flow_requests``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import fields
from actions.context import Turn, language_of
from actions.flow_requests import other_request
from actions.forms import TASK_ADD, TASK_DONE, StartForm
from actions.services import services
from actions.texts import ask, label, say, say_rejection
from actions.validation import INTERRUPTIONS, YesOrNoReadBack, answers, step_aside
from assistant.core.rules import TASK_DAYS_AHEAD, TASK_TEXT_LIMIT
from assistant.core.spoken_numbers import normalise_numbers, parse_number
from assistant.http.backend_client import BackendRejected, BackendUnavailable

# A word character, Devanagari's vowel signs included (Python's \w leaves them out).
_W = r"[\w\u0900-\u097f]"
_NUMBER = r"(?:\d+|[^\W\d]+(?:\s+[^\W\d]+)?)"
# "in 3 days", "after two days", "3 din mein", "तीन दिन बाद"; the number group is read by parse_number.
_IN_DAYS_RE = re.compile(
    rf"(?<!{_W})(?:(?:in|after)\s+)?(?P<number>{_NUMBER})\s+(?:days?|din|दिन)(?:\s+(?:mein|me|में|baad|bad|बाद|later))?(?!{_W})",
    re.IGNORECASE,
)
_WEEK_RE = re.compile(
    rf"(?<!{_W})(?:(?:in|after)\s+)?(?:a|one|ek|एक|1)\s+(?:week|hafte|hafta|हफ़्ते|हफ्ते|हफ़्ता|हफ्ता)(?:\s+(?:mein|me|में|baad|बाद))?(?!{_W})",
    re.IGNORECASE,
)
_TOMORROW_RE = re.compile(rf"(?<!{_W})(?:tomorrow|kal|कल)(?!{_W})", re.IGNORECASE)
_TODAY_RE = re.compile(rf"(?<!{_W})(?:today|aaj|आज)(?!{_W})", re.IGNORECASE)
_REMIND_RE = re.compile(
    rf"(?<!{_W})(?:please\s+)?(?:set\s+a\s+reminder\s+to|remind\s+me\s+to|remind\s+me|add\s+a\s+task\s+to|add\s+a\s+task"
    rf"|(?:ki|की|ka|का)?\s*(?:yaad|याद)\s+(?:dila{_W}*|दिला{_W}*)(?:\s+(?:dena|देना))?)(?!{_W})",
    re.IGNORECASE,
)
_PATIENT_WORDS = r"(?:for\s+)?(?:patient|mareez|marij|mariz|मरीज़|मरीज)\s*(?:no\.?|number|id|नंबर)?\s*"
_POSSESSIVE = r"(?:'s|’s|\s+(?:ka|ki|ke|का|की|के))?"
_FILLER = " \t.,!?।-:;'\""


def _said(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def _patient_entity(tracker: Tracker) -> str | None:
    for found in (tracker.latest_message or {}).get("entities") or []:
        if found.get("entity") == "patient_id" and found.get("value"):
            checked = fields.patient_id(str(found["value"]))
            if checked.ok:
                return str(checked.value)
    return None


def named_patient(tracker: Tracker) -> str | None:
    """The patient a message names: the tagger's, else an id read from the words (not a number of days)."""
    tagged = _patient_entity(tracker)
    if tagged is not None:
        return tagged
    checked = fields.patient_id(_without_days(normalise_numbers(_said(tracker))))
    return str(checked.value) if checked.ok else None


def _without_days(said: str) -> str:
    for pattern in (_IN_DAYS_RE, _WEEK_RE, _TOMORROW_RE, _TODAY_RE):
        said = pattern.sub(" ", said)
    return said


def days_said(said: str, *, whole: bool = False) -> int | None:
    """In how many days, as said: "in 3 days", "teen din baad", "a week", "tomorrow"; ``whole``: a bare "3" too."""
    said = normalise_numbers(said)
    match = _IN_DAYS_RE.search(said)
    if match is not None:
        number = parse_number(match.group("number"))
        if number is not None and number == int(number):
            return int(number)
    if _WEEK_RE.search(said):
        return 7
    if _TOMORROW_RE.search(said):
        return 1
    if _TODAY_RE.search(said):
        return 0
    if whole:
        number = parse_number(said)
        if number is not None and number == int(number):
            return int(number)
    return None


def task_words(said: str, patient: str | None) -> str | None:
    """What to do, as said: the sentence without "remind me to", the patient and the days."""
    rest = _REMIND_RE.sub(" ", said)
    if patient is not None:
        rest = re.sub(rf"{_PATIENT_WORDS}{re.escape(patient)}{_POSSESSIVE}(?!{_W})", " ", rest, flags=re.IGNORECASE)
        rest = re.sub(rf"(?<!{_W}){re.escape(patient)}{_POSSESSIVE}(?!{_W})", " ", rest, flags=re.IGNORECASE)
    rest = _without_days(normalise_numbers(rest)) if patient is not None else _without_days(rest)
    rest = " ".join(rest.split()).strip(_FILLER)
    rest = re.sub(r"^(?:to|for|ko|को|ka|का|ki|की|ke|के)\s+", "", rest, flags=re.IGNORECASE)
    checked = fields.free_text(rest, limit=TASK_TEXT_LIMIT)
    return str(checked.value) if checked.ok and len(str(checked.value)) > 1 else None


def _when(days: int, language: str) -> str:
    if days == 0:
        return label("today", language)
    if days == 1:
        return label("tomorrow", language)
    return label("in_days", language, days=days)


# --- "done for patient 4521" ------------------------------------------------------------


async def task_for(worker_id: str, patient: str) -> dict[str, Any]:
    """The worker's open task for ``patient`` to close (the most overdue), and the visit to link with it."""
    backend = services().backend
    try:
        found = await backend.open_tasks_of(worker_id, patient)
    except BackendUnavailable:
        return {"id": None, "patient": patient, "unreachable": True}
    except BackendRejected:
        return {"id": None, "patient": patient}
    if not found:
        return {"id": None, "patient": patient}
    task = found[0]
    chosen = {"id": task["id"], "task": task["task"], "patient": patient, "visit": None}
    try:
        visit = await backend.latest_encounter(worker_id, patient)
    except (BackendUnavailable, BackendRejected):
        visit = None
    if visit is not None:
        zone = ZoneInfo(services().settings.timezone)
        logged = dt.datetime.fromisoformat(str(visit["created_at"]).replace("Z", "+00:00")).astimezone(zone)
        if logged.date() == dt.datetime.now(zone).date():  # logged today (visits are stamped by the wall clock)
            chosen["visit"] = {"id": visit["id"], "time": logged.strftime("%H:%M")}
    return chosen


class ActionStartTaskDone(StartForm):
    spec = TASK_DONE
    flow = "task_done"


class ValidateTaskDoneForm(YesOrNoReadBack, FormValidationAction):
    """Which task (the patient is asked for when not said), then yes or no."""

    def name(self) -> str:
        return f"validate_{TASK_DONE.name}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if other_request(tracker, TASK_DONE.name):
            return step_aside(tracker, TASK_DONE)
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        chosen = tracker.get_slot("task_to_close")
        if isinstance(chosen, dict) and chosen.get("id") is None:
            return ["task_to_close"]  # nothing to close: the action says why
        return ["task_to_close", "confirmed"]

    async def extract_task_to_close(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("task_to_close") is not None:
            return {}
        if tracker.get_intent_of_latest_message(skip_fallback_intent=False) in INTERRUPTIONS:
            return {}
        patient = named_patient(tracker)
        if patient is None:
            return {}  # asked (again)
        return {"task_to_close": await task_for(tracker.sender_id, patient)}

    @answers
    def validate_task_to_close(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"task_to_close": value}


class ActionAskTaskToClose(Action):
    def name(self) -> str:
        return "action_ask_task_to_close"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        ask(dispatcher, "task_which_patient", language_of(tracker), "task_to_close")
        return []


class ActionAskTaskDoneConfirmed(Action):
    def name(self) -> str:
        return "action_ask_task_done_form_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        chosen = tracker.get_slot("task_to_close") or {}
        values = {"task": chosen.get("task"), "patient": chosen.get("patient")}
        visit = chosen.get("visit")
        if visit:
            ask(dispatcher, "task_done_readback_visit", language_of(tracker), "confirmed", time=visit["time"], **values)
        else:
            ask(dispatcher, "task_done_readback", language_of(tracker), "confirmed", **values)
        return []


class ActionCloseTask(Action):
    def name(self) -> str:
        return "action_close_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        chosen = tracker.get_slot("task_to_close") or {}
        if chosen.get("id") is None:
            if chosen.get("unreachable"):
                say(dispatcher, "tasks_unreachable", turn.language)
            else:
                say(dispatcher, "task_none_for_patient", turn.language, patient=chosen.get("patient") or "")
        elif not tracker.get_slot("confirmed"):
            say(dispatcher, "task_kept_open", turn.language)
        else:
            visit = (chosen.get("visit") or {}).get("id")
            try:
                await services().backend.task_done(turn.worker_id, chosen["id"], visit, turn.idempotency_key("task"))
            except BackendUnavailable:
                say(dispatcher, "task_write_unreachable", turn.language)
            except BackendRejected as error:
                say_rejection(dispatcher, error, turn.language)
            else:
                key = "task_closed_visit" if visit else "task_closed"
                say(dispatcher, key, turn.language, task=chosen.get("task"), patient=chosen.get("patient"))
        return TASK_DONE.reset()


# --- "remind me to recheck patient 4521's BP in 3 days" -----------------------------------


class ActionStartAddTask(StartForm):
    spec = TASK_ADD
    flow = "add_task"


class ValidateTaskAddForm(YesOrNoReadBack, FormValidationAction):
    """The patient, what to do and in how many days, from the opening sentence or asked; then yes or no."""

    def name(self) -> str:
        return f"validate_{TASK_ADD.name}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if other_request(tracker, TASK_ADD.name):
            return step_aside(tracker, TASK_ADD)
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        return ["task_patient", "task_what", "task_days", "confirmed"]

    @staticmethod
    def _listening(tracker: Tracker, slot: str) -> bool | None:
        """None: not this message (an interruption, or the slot is filled); else whether ``slot`` was asked."""
        if tracker.get_slot(slot) is not None:
            return None
        if tracker.get_intent_of_latest_message(skip_fallback_intent=False) in INTERRUPTIONS:
            return None
        return tracker.get_slot("requested_slot") == slot

    async def extract_task_patient(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if self._listening(tracker, "task_patient") is None:
            return {}
        patient = named_patient(tracker)
        return {} if patient is None else {"task_patient": patient}

    async def extract_task_what(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = self._listening(tracker, "task_what")
        if asked is None:
            return {}
        if asked:  # the whole answer is what to do
            checked = fields.free_text(_said(tracker), limit=TASK_TEXT_LIMIT)
            return {"task_what": checked.value} if checked.ok else {}
        if tracker.get_slot("requested_slot") is not None:
            return {}  # an answer to another question is not what to do
        what = task_words(_said(tracker), named_patient(tracker))
        return {} if what is None else {"task_what": what}

    async def extract_task_days(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        asked = self._listening(tracker, "task_days")
        if asked is None:
            return {}
        days = days_said(_said(tracker), whole=asked)
        if days is None:
            return {}
        if not 0 <= days <= TASK_DAYS_AHEAD:
            say(dispatcher, "task_when_unclear", language_of(tracker), most=TASK_DAYS_AHEAD)
            return {}
        return {"task_days": days}

    @answers
    def validate_task_patient(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"task_patient": value}

    @answers
    def validate_task_what(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"task_what": value}

    @answers
    def validate_task_days(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"task_days": value}


class ActionAskTaskPatient(Action):
    def name(self) -> str:
        return "action_ask_task_patient"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        ask(dispatcher, "task_which_patient", language_of(tracker), "task_patient")
        return []


class ActionAskTaskWhat(Action):
    def name(self) -> str:
        return "action_ask_task_what"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        patient = tracker.get_slot("task_patient")
        ask(dispatcher, "task_what", language_of(tracker), "task_what", patient=patient)
        return []


class ActionAskTaskDays(Action):
    def name(self) -> str:
        return "action_ask_task_days"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        ask(dispatcher, "task_when", language_of(tracker), "task_days")
        return []


class ActionAskTaskAddConfirmed(Action):
    def name(self) -> str:
        return "action_ask_task_add_form_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        ask(
            dispatcher,
            "task_add_readback",
            language,
            "confirmed",
            when=_when(int(tracker.get_slot("task_days") or 0), language),
            task=tracker.get_slot("task_what"),
            patient=tracker.get_slot("task_patient"),
        )
        return []


class ActionAddTask(Action):
    def name(self) -> str:
        return "action_add_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        what, patient, days = (tracker.get_slot(slot) for slot in ("task_what", "task_patient", "task_days"))
        if not tracker.get_slot("confirmed") or what is None or patient is None or days is None:
            say(dispatcher, "task_not_added", turn.language)
            return TASK_ADD.reset()
        body = {"task": what, "patient_ref": patient, "in_days": int(days)}
        try:
            await services().backend.add_task(turn.worker_id, body, turn.idempotency_key("task"))
        except BackendUnavailable:
            say(dispatcher, "task_write_unreachable", turn.language)
        except BackendRejected as error:
            say_rejection(dispatcher, error, turn.language)
        else:
            say(
                dispatcher,
                "task_added",
                turn.language,
                task=what,
                patient=patient,
                when=_when(int(days), turn.language),
            )
        return TASK_ADD.reset()
