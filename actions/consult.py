"""Consults: read-back, booking (or queueing offline), status and cancellation."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.context import Turn, language_of
from actions.forms import CANCEL, CONSULT, StartForm, form_named
from actions.outbox import submit
from actions.services import services
from actions.texts import ask, label, say, say_rejection, specialty_name, text
from assistant.core.rules import ADVICE_RECALL, CANCELLABLE_STATUSES
from assistant.core.spoken_numbers import parse_number
from assistant.core.spoken_times import parse_iso, when_phrase
from assistant.http.backend_client import BackendRejected, BackendUnavailable

# An emergency is booked before anyone asks for the patient id.
UNKNOWN_PATIENT = "UNKNOWN"
# Spoken lists stay short.
MAX_LISTED = 5
# The advice of at most this many completed consults is read in one answer (newest first).
MAX_ADVICE_READ = 3
# Words that name what is to be cancelled.
_CONSULT_WORDS = re.compile(
    r"(?<!\w)(?:consult\w*|booking|appointment|specialist|कंसल्ट|परामर्श|बुकिंग|अपॉइंटमेंट)(?!\w)", re.IGNORECASE
)


class ActionStartConsult(StartForm):
    spec = CONSULT
    flow = "consult"


class ActionAskConsultConfirmed(Action):
    """The read-back before booking."""

    def name(self) -> str:
        return "action_ask_consult_form_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        ask(
            dispatcher,
            "consult_readback",
            language,
            "confirmed",
            urgency=label(tracker.get_slot("urgency") or "routine", language).capitalize(),
            specialty=specialty_name(tracker.get_slot("specialty"), language),
            patient_id=tracker.get_slot("patient_id"),
            reason=tracker.get_slot("reason") or label("none", language),
        )
        return []


class ActionBookConsult(Action):
    def name(self) -> str:
        return "action_book_consult"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        urgency = tracker.get_slot("urgency") or "routine"
        body = {
            "patient_ref": tracker.get_slot("patient_id") or UNKNOWN_PATIENT,
            "specialty": tracker.get_slot("specialty"),
            "urgency": urgency,
            "reason": tracker.get_slot("reason"),
            "channel": turn.channel,
            "conversation_id": turn.conversation_id,
        }
        parts = services()
        submitted = await submit(
            parts.outbox, parts.backend, "consult", turn.idempotency_key("consult"), turn.worker_id, body
        )
        if submitted.outcome == "sent" and submitted.result:
            dispatcher.utter_message(text=consult_outcome(submitted.result, turn.language, parts.settings.timezone))
        elif submitted.outcome == "queued":
            say(dispatcher, "consult_queued_emergency" if urgency == "emergency" else "consult_queued", turn.language)
            dispatcher.utter_message(json_message={"outbox": "queued"})  # screens show it (docs/contracts.md)
        else:
            say_rejection(dispatcher, submitted.error, turn.language)
        return CONSULT.reset()


# What a worker hears of a consult that waits at the hub, by why it waits (the backend's ``queue_reason``).
WAITING_TEXTS = {"no_specialist": "consult_no_specialist_at_hub", "no_hub": "consult_no_hub"}


def consult_outcome(consult: dict[str, Any], language: str, timezone: str) -> str:
    """What the worker hears after the backend has taken a consult request."""
    specialty = specialty_name(consult.get("specialty"), language)
    specialist = (consult.get("specialist") or {}).get("name", "")
    emergency = consult.get("urgency") == "emergency"
    if consult.get("status") == "scheduled":
        key = "consult_booked_emergency" if emergency else "consult_booked"
        when = when_phrase(consult.get("scheduled_for"), language, timezone)
        return text(
            key, language, specialist=specialist, specialty=specialty, when=when, link=consult.get("call_link") or ""
        )
    if emergency:
        return text("emergency_no_specialist", language, specialty=specialty)
    # Why it waits (the backend's queue_reason): the worker hears what would happen next.
    key = WAITING_TEXTS.get(consult.get("queue_reason") or "", "consult_with_hub")
    return text(key, language, specialty=specialty, id=consult.get("id"))


class ActionConsultStatus(Action):
    def name(self) -> str:
        return "action_consult_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        timezone = services().settings.timezone
        consults = await consults_of(tracker.sender_id)
        candidates = consults.open
        if not consults.reachable:
            say(dispatcher, "status_unreachable", language)
            if candidates:  # only queued ones are known without the hub
                items = "; ".join(describe(c, language) for c in candidates[:MAX_LISTED])
                say(dispatcher, "status_waiting_to_send", language, items=items)
        elif not candidates and not consults.advised:
            say(dispatcher, "status_none", language)
        else:
            if candidates:
                items = "; ".join(_status_item(c, language, timezone) for c in candidates[:MAX_LISTED])
                say(dispatcher, "status_list", language, items=items)
            for consult in consults.advised[:MAX_ADVICE_READ]:
                relay_advice(dispatcher, consult, language)
        return []


def relay_advice(dispatcher: CollectingDispatcher, consult: dict[str, Any], language: str) -> None:
    """A completed consult's advice, said to be the specialist's own words and marked so in the message.

    The assistant never rephrases it: the text is quoted as the specialist
    wrote it, and ``custom.quote`` tells every screen and voice whose words they are.
    """
    specialist = (consult.get("specialist") or {}).get("name") or label("the_specialist", language)
    values = {
        "specialty": specialty_name(consult.get("specialty"), language),
        "patient_id": consult.get("patient_ref"),
        "specialist": specialist,
        "advice": consult.get("specialist_advice") or "",
    }
    words = text("status_advice", language, **values)
    if consult.get("follow_up"):
        words += " " + text("status_follow_up", language, follow_up=consult["follow_up"])
    quote = {"speaker": "specialist", "name": specialist, "consult_id": consult.get("id")}
    dispatcher.utter_message(text=words, json_message={"quote": quote})


def _status_item(candidate: dict[str, Any], language: str, timezone: str) -> str:
    values = {
        "specialty": specialty_name(candidate["specialty"], language),
        "patient_id": candidate["patient_id"],
        "specialist": candidate.get("specialist") or "",
        "when": when_phrase(candidate.get("scheduled_for"), language, timezone),
    }
    if candidate["key"]:
        return text("status_queued", language, **values)
    return text("status_scheduled" if candidate.get("scheduled_for") else "status_requested", language, **values)


# --- cancelling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerConsults:
    """The worker's consults as seen from here: the open ones, those advised lately, and whether the hub answered."""

    open: list[dict[str, Any]]
    advised: list[dict[str, Any]] = field(default_factory=list)
    reachable: bool = True


async def open_consults_of(worker_id: str) -> tuple[list[dict[str, Any]], bool]:
    """The worker's open consults (newest first) and those still waiting in the outbox.

    Returns the candidates and whether the hub answered. Each candidate is a
    plain dict (it is kept in a slot): ``id`` for a consult the hub has,
    ``key`` for one only in the outbox.
    """
    consults = await consults_of(worker_id)
    return consults.open, consults.reachable


def _recently_advised(consult: dict[str, Any], now: dt.datetime) -> bool:
    closed = consult.get("closed_at")
    return (
        consult.get("status") == "completed"
        and bool(consult.get("specialist_advice"))
        and bool(closed)
        and now - parse_iso(str(closed)) <= ADVICE_RECALL
    )


async def consults_of(worker_id: str) -> WorkerConsults:
    """One read of the hub for the worker's open consults and the advice of those completed lately."""
    parts = services()
    queued = [
        {
            "id": None,
            "key": item.key,
            "specialty": item.payload.get("specialty"),
            "patient_id": item.payload.get("patient_ref"),
        }
        for item in reversed(await parts.outbox.pending(worker_id, "consult"))
    ]
    try:
        recent = await parts.backend.recent_consults(worker_id)
    except BackendUnavailable:
        return WorkerConsults(queued, reachable=False)
    except BackendRejected:
        return WorkerConsults(queued)
    now = dt.datetime.now(dt.timezone.utc)
    advised = [consult for consult in recent if _recently_advised(consult, now)]
    consults = [consult for consult in recent if consult.get("status") in CANCELLABLE_STATUSES]
    held = [
        {
            "id": consult["id"],
            "key": None,
            "specialty": consult["specialty"],
            "patient_id": consult["patient_ref"],
            "scheduled_for": consult.get("scheduled_for"),
            "specialist": (consult.get("specialist") or {}).get("name"),
        }
        for consult in consults
    ]
    return WorkerConsults(queued + held, advised)


def choose_candidate(candidates: list[dict[str, Any]], tracker: Tracker, *, by_number: bool) -> dict[str, Any] | None:
    """The one candidate the worker named: by list number, specialty or patient id."""
    said = (tracker.latest_message or {}).get("text") or ""
    if by_number:
        number = parse_number(said)
        if number is not None and number.is_integer() and 1 <= number <= len(candidates):
            return candidates[int(number) - 1]
    specialty = next(tracker.get_latest_entity_values("specialty"), None) or (
        services().canonical.canonical("specialty", said) if by_number else None
    )
    patient = next(tracker.get_latest_entity_values("patient_id"), None)
    if specialty is None and patient is None:
        return None
    matching = [
        c
        for c in candidates
        if (specialty is None or c["specialty"] == specialty)
        and (patient is None or str(c["patient_id"]) == str(patient))
    ]
    return matching[0] if len(matching) == 1 else None


def describe(candidate: dict[str, Any], language: str) -> str:
    described = text(
        "consult_label",
        language,
        specialty=specialty_name(candidate["specialty"], language),
        patient_id=candidate["patient_id"],
    )
    when = when_phrase(candidate.get("scheduled_for"), language, services().settings.timezone)
    return f"{described}, {when}" if when else described


def describe_candidates(candidates: list[dict[str, Any]], language: str) -> str:
    return "; ".join(f"{number}: {describe(c, language)}" for number, c in enumerate(candidates[:MAX_LISTED], start=1))


class ActionStartCancel(StartForm):
    """Starts cancelling a booked consult; a bare "cancel" inside a form stops that form."""

    spec = CANCEL
    flow = "cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        open_form = form_named(tracker.active_loop.get("name"))
        if open_form is not None and open_form is not CANCEL and not names_a_consult(tracker):
            say(dispatcher, "stopped_form", language_of(tracker))
            # The rule goes on to the cancel form; there is nothing to cancel but this form.
            return [ActiveLoop(None), *open_form.reset(), FollowupAction("action_listen")]
        return await super().run(dispatcher, tracker, domain)


def names_a_consult(tracker: Tracker) -> bool:
    """ "cancel my cardiology consult", "cancel booking for patient 4521": not a bare "cancel"."""
    said = str((tracker.latest_message or {}).get("text") or "")
    entities = {e.get("entity") for e in (tracker.latest_message or {}).get("entities") or []}
    return bool(entities & {"specialty", "patient_id"}) or _CONSULT_WORDS.search(said) is not None


class ActionAskCancelConfirmed(Action):
    def name(self) -> str:
        return "action_ask_cancel_form_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        ask(
            dispatcher,
            "cancel_readback",
            language,
            "confirmed",
            consult=describe(tracker.get_slot("consult_to_cancel"), language),
        )
        return []


class ActionCancelConsult(Action):
    def name(self) -> str:
        return "action_cancel_consult"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        turn = Turn.of(tracker)
        chosen = tracker.get_slot("consult_to_cancel") or {}
        if chosen.get("id") is None and chosen.get("key") is None:
            say(dispatcher, "cancel_unreachable" if chosen.get("unreachable") else "cancel_none", turn.language)
        elif not tracker.get_slot("confirmed"):
            say(dispatcher, "cancel_kept", turn.language)
        else:
            await self._cancel(dispatcher, turn, chosen)
        return CANCEL.reset()

    async def _cancel(self, dispatcher: CollectingDispatcher, turn: Turn, chosen: dict[str, Any]) -> None:
        parts = services()
        described = describe(chosen, turn.language)
        if chosen.get("key"):
            cancellation = await parts.outbox.cancel(chosen["key"])
            if cancellation.outcome == "withdrawn":  # it never reached the hub: that is the whole cancellation
                say(dispatcher, "cancelled", turn.language, consult=described)
                return
            if cancellation.outcome == "after_delivery":  # on its way: the outbox cancels it once it lands
                say(dispatcher, "cancel_queued", turn.language, consult=described)
                return
            if cancellation.outcome == "nothing":
                say(dispatcher, "cancel_none", turn.language)
                return
            chosen = {**chosen, "id": cancellation.delivered_id}  # delivered meanwhile: cancel it at the hub
        try:
            await parts.backend.cancel_consult(turn.worker_id, chosen["id"], turn.idempotency_key("cancel"))
        except BackendUnavailable:
            say(dispatcher, "cancel_unreachable", turn.language)
        except BackendRejected as exc:
            say_rejection(dispatcher, exc, turn.language)
        else:
            say(dispatcher, "cancelled", turn.language, consult=described)
