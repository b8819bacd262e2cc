"""Form validation and form questions for the consult, encounter and cancel forms.

The consult and encounter forms end with a read-back (slot ``confirmed``):
"yes" completes the form and the rules book or save; "no" starts the
correction loop: the worker names a field (or says the new value straight
away, "no, the age is 46"), the field is asked again, and everything is read
back again.

An answer that cannot be taken is re-asked with the reason when it answers
the question just asked (or the read-back, or the opening sentence). A value
picked up in passing from an answer to another question only fills a slot
that is still empty: a bad one is quietly dropped, and none ever overwrites
an answer already given, so a mis-tagged number never replaces a good one.

A request for something else said where an answer was expected ("log a new
encounter for patient 8813" while the consult form asks for the reason) is
not an answer at all (``actions.flow_requests``): the form steps aside for
the rules, and every slot this turn filled is put back as it was.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection
from rasa_sdk.types import DomainDict

from actions import fields
from actions.consult import choose_candidate, describe_candidates, open_consults_of
from actions.context import language_of
from actions.encounter import vitals_phrase
from actions.flow_requests import other_request
from actions.forms import CANCEL, CONSULT, ENCOUNTER, FormSpec, form_named
from actions.services import services
from actions.texts import ask, join_choices, label, say
from actions.vitals import FIELDS_OF, VitalsReading, bp_order_wrong, problems, read_vitals
from assistant.core.dialogue import CONTROL_INTENTS, FREE_TEXT_SLOTS
from assistant.core.rules import CONSULT_REASON_LIMIT
from assistant.core.vocabulary import URGENCIES

# Intents the rules answer inside a form carry no values (``assistant.core.dialogue``).
# (A low-confidence answer is still read: the field check says what was wrong.)
INTERRUPTIONS = frozenset(CONTROL_INTENTS)
# The read-back: a correction said there is meant, not picked up in passing.
_READ_BACK = "confirmed"
# Numeric slots, and the entity the tagger marks each one with.
_NUMBER_ENTITIES = {"patient_id": "patient_id", "age": "age"}


Validator = Callable[[Any, Any, CollectingDispatcher, Tracker, DomainDict], dict[str, Any]]


def answers(validate: Validator) -> Validator:
    """Marks ``validate_<slot>``: a cleared slot (None) is not an answer and is not judged.

    Rasa hands a form's validation the slots set since the user spoke, which
    includes the ones ``action_start_*`` has just cleared.
    """
    slot = validate.__name__.removeprefix("validate_")

    @functools.wraps(validate)
    def checked(
        self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {slot: None}
        return validate(self, value, dispatcher, tracker, domain)

    return checked


def _previous_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest user message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def step_aside(tracker: Tracker, spec: FormSpec) -> list[EventType]:
    """The form takes nothing from a turn that asked for something else.

    Right after the worker spoke, the form rejects the turn, exactly as Rasa
    rejects one it could not read, so the rules answer the request (another
    flow, stop, help, a status question). When the form then resumes, it puts
    back every slot of its own that the request's words filled ("... for
    patient 8813"), and asks its question again.
    """
    if _right_after_the_worker_spoke(tracker):
        raise ActionExecutionRejection(f"validate_{spec.name}")
    changed = _set_since_the_worker_spoke(tracker) & set(spec.all_slots)
    restored = [SlotSet(slot, _previous_value(tracker, slot)) for slot in sorted(changed)]
    return [*restored, SlotSet("requested_slot", tracker.get_slot("requested_slot"))]


def _set_since_the_worker_spoke(tracker: Tracker) -> set[str]:
    names: set[str] = set()
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "slot":
            names.add(str(event.get("name")))
    return names


def _right_after_the_worker_spoke(tracker: Tracker) -> bool:
    """Whether nothing but the form itself has run since the latest user message.

    Rasa shows a form's validation a tracker that ends with the form's own
    ``ActionExecuted``; when the form resumes after the rules answered, their
    actions come before it.
    """
    actions: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action":
            actions.append(str(event.get("name")))
    return set(actions) <= {str(tracker.active_loop.get("name"))}


def _cut_short(tracker: Tracker, slot: str, value: Any) -> bool:
    """Whether the number for ``slot`` was not heard whole in the latest message."""
    message = tracker.latest_message or {}
    said = str(message.get("text") or "")
    if str(value).strip() == said.strip():
        return False  # the whole answer: the field reader judges it
    spans = [
        (int(e["start"]), int(e["end"]))
        for e in message.get("entities") or []
        if e.get("entity") == _NUMBER_ENTITIES.get(slot) and "start" in e and "end" in e
    ]
    return fields.cut_short_near(said, spans) is not None


class ReadBackFormValidation(FormValidationAction, ABC):
    """Shared by the consult and encounter forms: field checks and the correction loop."""

    @property
    @abstractmethod
    def spec(self) -> FormSpec: ...

    def name(self) -> str:
        return f"validate_{self.spec.name}"

    def data_slots(self, tracker: Tracker) -> list[str]:
        return list(self.spec.data_slots)

    def confirms(self, tracker: Tracker) -> bool:
        return True

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if other_request(tracker, self.spec.name):
            return step_aside(tracker, self.spec)
        before = {slot: tracker.get_slot(slot) for slot in self.spec.working_slots}
        events = await super().run(dispatcher, tracker, domain)
        # rasa-sdk returns only the form's required slots; the working slots the
        # extract and validate methods changed (in the tracker) are added here.
        set_now = {event.get("name") for event in events if event.get("event") == "slot"}
        events += [
            SlotSet(slot, tracker.get_slot(slot))
            for slot in self.spec.working_slots
            if slot not in set_now and tracker.get_slot(slot) != before[slot]
        ]
        return events

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        slots = self.data_slots(tracker)
        if tracker.get_slot("correcting"):
            slots.append("correction_field")
        if self.confirms(tracker):
            slots.append("confirmed")
        return slots

    def take(
        self, slot: str, checked: fields.Checked, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        answered = tracker.get_slot("requested_slot") in (slot, None, _READ_BACK)
        previous = _previous_value(tracker, slot)
        in_passing_fills_empty = slot not in FREE_TEXT_SLOTS and previous is None
        if checked.ok and (answered or in_passing_fills_empty):
            return {slot: checked.value}
        if checked.problem is not None and answered:
            say(dispatcher, checked.problem, language_of(tracker), **checked.details)
            return {slot: None}
        return {slot: previous}

    def take_number(
        self, slot: str, value: Any, checked: fields.Checked, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """A number is only taken whole: "age forty five point" is asked again, never saved as 45."""
        if checked.ok and _cut_short(tracker, slot, value):
            checked = fields.Checked(problem=f"invalid_{slot}_unfinished")
        return self.take(slot, checked, dispatcher, tracker)

    # --- fields shared by both forms -----------------------------------------------
    @answers
    def validate_patient_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take_number("patient_id", value, fields.patient_id(value), dispatcher, tracker)

    # --- the read-back and the correction loop ------------------------------------------
    @answers
    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is True:
            return {"confirmed": True, "correcting": False}
        changed = set(tracker.slots_to_validate()) & set(self.spec.data_slots)
        if changed:  # "no, the age is 46": already corrected, read back again
            return {"confirmed": None, "correcting": False}
        field = self._field(next(tracker.get_latest_entity_values("field"), None))
        if field:  # "the age is wrong": ask that field again
            return {"confirmed": None, "correcting": False, field: None}
        return {"confirmed": None, "correcting": True}

    @answers
    def validate_correction_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_intent_of_latest_message() in ("affirm", "deny"):
            # "no" / "nothing": no change after all, hear the read-back again.
            return {"correction_field": None, "correcting": False}
        field = self._field(value)
        if field:
            return {"correction_field": None, "correcting": False, field: None}
        say(dispatcher, "invalid_field", language_of(tracker))
        return {"correction_field": None}

    def _field(self, said: str | None) -> str | None:
        field = services().canonical.canonical("field", said)
        return field if field in self.spec.data_slots else None


def field_choices(spec: FormSpec, language: str) -> str:
    """ "patient ID, age, sex, complaint, vitals or notes" for the correction question."""
    return join_choices([label(slot, language) for slot in spec.data_slots], language)


class ValidateConsultForm(ReadBackFormValidation):
    spec = CONSULT

    def data_slots(self, tracker: Tracker) -> list[str]:
        if tracker.get_slot("urgency") == "emergency":
            # An emergency books at once: only what routing needs, plus a
            # patient id if one was given.
            slots = ["urgency", "specialty"]
            if tracker.get_slot("patient_id") is not None:
                slots.append("patient_id")
            return slots
        return list(self.spec.data_slots)

    def confirms(self, tracker: Tracker) -> bool:
        return tracker.get_slot("urgency") != "emergency"

    @answers
    def validate_specialty(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take(
            "specialty", fields.closed_choice("specialty", value, services().canonical), dispatcher, tracker
        )

    @answers
    def validate_urgency(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        result = self.take("urgency", fields.closed_choice("urgency", value, services().canonical), dispatcher, tracker)
        if result["urgency"] == "emergency" and _previous_value(tracker, "urgency") != "emergency":
            say(dispatcher, "emergency_first", language_of(tracker))
        return result

    @answers
    def validate_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take("reason", fields.free_text(value, limit=CONSULT_REASON_LIMIT), dispatcher, tracker)


class ValidateEncounterForm(ReadBackFormValidation):
    spec = ENCOUNTER

    @answers
    def validate_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take_number("age", value, fields.age(value), dispatcher, tracker)

    @answers
    def validate_sex(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take("sex", fields.closed_choice("sex", value, services().canonical), dispatcher, tracker)

    @answers
    def validate_complaint(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take("complaint", fields.free_text(value), dispatcher, tracker)

    @answers
    def validate_notes(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.take("notes", fields.free_text(value, optional=True), dispatcher, tracker)

    async def extract_vitals(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Vitals from any turn of the form ("log a visit, bp 140/90"), or "skip" when asked.

        A vital named but not heard whole ("bp 140 overnight") is asked for
        again; what was heard whole waits in ``vitals_partial`` meanwhile.
        """
        if tracker.get_intent_of_latest_message(skip_fallback_intent=False) in INTERRUPTIONS:
            return {}
        requested = tracker.get_slot("requested_slot")
        if requested == "notes":
            return {}  # notes may mention numbers; they stay notes
        said = (tracker.latest_message or {}).get("text") or ""
        reading = read_vitals(said)
        known = tracker.get_slot("vitals") or {}
        partial = tracker.get_slot("vitals_partial") or {}
        held = {**partial.get("values", {}), **reading.values}
        missing = [name for name in partial.get("missing", []) if not _given(name, reading)]
        missing = list(dict.fromkeys([*missing, *reading.unheard]))
        if requested == "vitals":
            skipped = not reading.values and not reading.unheard and _skips(said, tracker)
            if skipped:
                return {"vitals": held, "vitals_partial": None}  # what was heard whole, nothing more
            if missing:
                return {"vitals": None, "vitals_partial": {"values": held, "missing": missing}}
            if held:
                return {"vitals": {**known, **held}, "vitals_partial": None}
            say(dispatcher, "vitals_unreadable", language_of(tracker))
            return {"vitals": None}
        if missing:  # "no, the bp is one forty": ask for the vitals again
            return {"vitals": None, "vitals_partial": {"values": {**known, **held}, "missing": missing}}
        if partial and held:
            return {"vitals": {**known, **held}, "vitals_partial": None}
        if reading.values:
            # In passing a vital fills what is missing; at the read-back it corrects.
            merged = {**known, **reading.values} if requested == _READ_BACK else {**reading.values, **known}
            return {"vitals": merged}
        return {}

    @answers
    def validate_vitals(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if not value:
            return {"vitals": value}
        language = language_of(tracker)
        wrong = problems(value)
        if wrong:
            first = wrong[0]
            checked = fields.Checked(
                problem="invalid_vital",
                details={
                    "label": label(first.field, language),
                    "value": f"{first.value:g}",
                    "low": f"{first.low:g}",
                    "high": f"{first.high:g}",
                    "unit": first.unit,
                },
            )
            return {**self.take("vitals", checked, dispatcher, tracker), "vitals_partial": None}
        if bp_order_wrong(value):
            return {
                **self.take("vitals", fields.Checked(problem="invalid_bp_order"), dispatcher, tracker),
                "vitals_partial": None,
            }
        return {"vitals": value}


def _given(name: str, reading: VitalsReading) -> bool:
    return any(key in reading.values for key in FIELDS_OF.get(name, (name,)))


def _skips(said: str, tracker: Tracker) -> bool:
    """ "skip", "no", "nahi": no (more) vitals."""
    return tracker.get_intent_of_latest_message() == "deny" or fields.free_text(said, optional=True).value == ""


class YesOrNoReadBack:
    """A form whose read-back is answered yes or no, with no correction loop (cancel, close or add a task)."""

    @answers
    def validate_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"confirmed": bool(value)}


class ValidateCancelForm(YesOrNoReadBack, FormValidationAction):
    """Which consult to cancel (asked only when there are several), then yes or no."""

    def name(self) -> str:
        return f"validate_{CANCEL.name}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        if other_request(tracker, CANCEL.name):
            return step_aside(tracker, CANCEL)
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        chosen = tracker.get_slot("consult_to_cancel")
        if isinstance(chosen, dict) and chosen.get("id") is None and chosen.get("key") is None:
            return ["consult_to_cancel"]  # nothing to cancel: the action says why
        return ["consult_to_cancel", "confirmed"]

    async def extract_consult_to_cancel(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("consult_to_cancel") is not None:
            return {}
        if tracker.get_intent_of_latest_message(skip_fallback_intent=False) in INTERRUPTIONS:
            return {}
        candidates, reachable = await open_consults_of(tracker.sender_id)
        if not candidates:
            return {"consult_to_cancel": {"id": None, "key": None, "unreachable": not reachable}}
        asked = tracker.get_slot("requested_slot") == "consult_to_cancel"
        chosen = choose_candidate(candidates, tracker, by_number=asked)
        if chosen is not None:
            return {"consult_to_cancel": chosen}
        if len(candidates) == 1 and not asked:
            return {"consult_to_cancel": candidates[0]}
        if asked:
            say(dispatcher, "cancel_choice_unclear", language_of(tracker))
            return {"consult_to_cancel": None}
        return {}

    @answers
    def validate_consult_to_cancel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"consult_to_cancel": value}


# --- questions ---------------------------------------------------------------------------


class AskSlot(Action, ABC):
    """``action_ask_<slot>``: the form's question, in the worker's language."""

    @property
    @abstractmethod
    def slot(self) -> str: ...

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def question(self, tracker: Tracker) -> str:
        return f"ask_{self.slot}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        ask(dispatcher, self.question(tracker), language_of(tracker), self.slot)
        return []


class AskUrgency(AskSlot):
    slot = "urgency"


class AskPatientId(AskSlot):
    slot = "patient_id"


class AskReason(AskSlot):
    slot = "reason"


class AskAge(AskSlot):
    slot = "age"


class AskSex(AskSlot):
    slot = "sex"


class AskComplaint(AskSlot):
    slot = "complaint"


class AskNotes(AskSlot):
    slot = "notes"


class AskSpecialty(AskSlot):
    """Which doctor; when the request already said the urgency or the patient, it says so first.

    The worker then hears that the rest was understood, and a one-word answer
    ("heart", "दिल", "bacche") is enough (``assistant.core.descriptions``).
    """

    slot = "specialty"

    def question(self, tracker: Tracker) -> str:
        return "ask_specialty_emergency" if tracker.get_slot("urgency") == "emergency" else "ask_specialty"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        language = language_of(tracker)
        details = self.understood(tracker, language)
        if self.question(tracker) != "ask_specialty" or not details:
            return await super().run(dispatcher, tracker, domain)
        ask(dispatcher, "ask_specialty_understood", language, self.slot, details="".join(", " + d for d in details))
        return []

    @staticmethod
    def understood(tracker: Tracker, language: str) -> list[str]:
        urgency, patient = tracker.get_slot("urgency"), tracker.get_slot("patient_id")
        details = [label(urgency, language)] if urgency in URGENCIES else []
        return details + ([label("for_patient", language, patient_id=patient)] if patient else [])


class AskVitals(AskSlot):
    """The vitals question; after a half-heard answer it names what is still missing."""

    slot = "vitals"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        partial = tracker.get_slot("vitals_partial") or {}
        language = language_of(tracker)
        if not partial.get("missing"):
            return await super().run(dispatcher, tracker, domain)
        missing = join_choices([label(name, language) for name in partial["missing"]], language)
        heard = partial.get("values") or {}
        key = "vitals_unheard_with_heard" if heard else "vitals_unheard"
        ask(dispatcher, key, language, self.slot, missing=missing, heard=vitals_phrase(heard, language))
        return []


class AskCorrectionField(AskSlot):
    slot = "correction_field"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        spec = form_named(tracker.active_loop.get("name")) or ENCOUNTER
        language = language_of(tracker)
        ask(dispatcher, "ask_correction_field", language, self.slot, fields=field_choices(spec, language))
        return []


class AskConsultToCancel(AskSlot):
    slot = "consult_to_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[dict[str, Any]]:
        candidates, _ = await open_consults_of(tracker.sender_id)
        language = language_of(tracker)
        ask(dispatcher, "ask_consult_to_cancel", language, self.slot, options=describe_candidates(candidates, language))
        return []
