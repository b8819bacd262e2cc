"""A request for another flow inside a form's question: the form steps aside and keeps its slots.

Real trackers, shaped as ``rasa run`` sends them: the latest user turn with
its intent and entities, then the slot candidates Rasa's mappings found in
it (a whole free-text answer, an entity for another slot). The intents are
the ones the trained model gives these sentences (``tests/test_conversations.py``
replays some of them through the real NLU).
"""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.interfaces import ActionExecutionRejection

from actions.consult import ActionStartCancel
from actions.flow_requests import other_request
from actions.validation import ValidateCancelForm, ValidateConsultForm, ValidateEncounterForm
from tests.support.trackers import domain, entity, said, slot_events, tracker, user_message

CONSULT_SO_FAR = {"specialty": "cardiology", "urgency": "routine", "patient_id": "4400"}
ENCOUNTER_SO_FAR = {"patient_id": "4400", "age": 45.0, "sex": "female", "complaint": "fever", "vitals": {}}

# Requests for another flow, in English, Hindi and Hinglish: (text, intent, entities).
REQUESTS = [
    (
        "log a new encounter for patient 8813",
        "log_encounter",
        [entity("patient_id", "8813", "log a new encounter for patient 8813")],
    ),
    ("नई विज़िट दर्ज करो", "log_encounter", []),
    ("visit darj karo patient 8813", "log_encounter", [entity("patient_id", "8813", "visit darj karo patient 8813")]),
    ("show me the hand hygiene checklist", "get_checklist", [entity("procedure", "hand_hygiene")]),
    ("हाथ धोने की चेकलिस्ट दिखाओ", "get_checklist", [entity("procedure", "hand_hygiene")]),
    ("ORS kaise banate hain", "get_checklist", [entity("procedure", "oral_rehydration")]),
    (
        "book a neurology consult for patient 8813",
        "request_consult",
        [entity("specialty", "neurology"), entity("patient_id", "8813", "book a neurology consult for patient 8813")],
    ),
    ("बच्चों के डॉक्टर से कंसल्ट चाहिए", "request_consult", [entity("specialty", "pediatrics")]),
    ("cancel my consult", "cancel_consult", []),
    ("consult cancel kar do", "cancel_consult", []),
    ("कंसल्ट रद्द करो", "cancel_consult", []),
    ("what is the status of my consult", "consult_status", []),
    ("mera consult kab hai", "consult_status", []),
    ("stop", "stop", []),
    ("ruko", "stop", []),
    ("please stop this, I want to start over", "stop", []),
    ("help", "help", []),
    ("madad karo", "help", []),
]

# Free-text answers that are answers, whatever the NLU thinks of them outside a form.
ANSWERS = [
    ("patient has chest pain", "inform", [entity("complaint", "chest pain")]),
    ("seene mein dard", "request_consult", [entity("complaint", "seene mein dard")]),
    ("मरीज़ को सीने में दर्द है", "request_consult", [entity("complaint", "सीने में दर्द")]),
    ("breathlessness on walking, needs cardiology review", "request_consult", [entity("specialty", "cardiology")]),
    ("patient was referred from the PHC last week", "previous_step", []),
    ("bachche ko bukhar hai", "request_consult", [entity("complaint", "bukhar")]),
    ("the patient needs help to walk since the fall", "help", []),
]

FREE_TEXT_QUESTIONS = [
    (ValidateConsultForm, "consult_form", "reason", CONSULT_SO_FAR),
    (ValidateEncounterForm, "encounter_form", "complaint", {**ENCOUNTER_SO_FAR, "complaint": None}),
    (ValidateEncounterForm, "encounter_form", "notes", ENCOUNTER_SO_FAR),
]


def turn(
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
    form: str,
    requested: str,
    so_far: dict[str, Any],
    candidates: dict[str, Any],
    latest_action: str = "action_listen",
) -> Any:
    """The worker's answer to ``requested``, with what the form already holds as earlier slot events."""
    history = [{"event": "slot", "name": name, "value": value} for name, value in so_far.items()]
    return tracker(
        user_message(text, intent, entities),
        {**so_far, "requested_slot": requested},
        active_loop=form,
        history=history,
        candidates=candidates,
        latest_action=latest_action,
    )


def candidates_of(text: str, requested: str, entities: list[dict[str, Any]], so_far: dict[str, Any]) -> dict[str, Any]:
    """What Rasa's slot mappings put forward: the whole text for the asked free-text slot, and entities."""
    found: dict[str, Any] = {requested: text}
    for item in entities:
        if item["entity"] == "patient_id" and "patient_id" in so_far:
            found["patient_id"] = item["value"]
    return found


REJECTED = [{"event": "rejected"}]


async def run_form(validation: Any, conversation: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The form's validation for one turn; a rejection (Rasa then lets the rules answer) as ``REJECTED``."""
    dispatcher = CollectingDispatcher()
    try:
        events = await validation().run(dispatcher, conversation, domain())
    except ActionExecutionRejection as rejection:
        assert rejection.action_name == validation().name()
        return said(dispatcher), REJECTED
    return said(dispatcher), events


def rejected(events: list[dict[str, Any]], form: str) -> bool:
    return events is REJECTED


@pytest.mark.parametrize("validation, form, requested, so_far", FREE_TEXT_QUESTIONS)
@pytest.mark.parametrize("text, intent, entities", REQUESTS)
async def test_a_request_inside_a_free_text_answer_is_not_the_answer(
    validation: Any,
    form: str,
    requested: str,
    so_far: dict[str, Any],
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
) -> None:
    candidates = candidates_of(text, requested, entities, so_far)
    replies, events = await run_form(validation, turn(text, intent, entities, form, requested, so_far, candidates))
    assert replies == [] and rejected(events, form)
    # The rules answer (help, a status, ...); when the form resumes, it takes nothing from the request.
    resumed = turn(text, intent, entities, form, requested, so_far, candidates, latest_action="utter_help")
    replies, events = await run_form(validation, resumed)
    restored = slot_events(events)
    assert replies == [] and restored["requested_slot"] == requested  # the same question again
    assert restored[requested] == so_far.get(requested)  # the request is not the reason, complaint or note
    if "patient_id" in candidates:
        assert restored["patient_id"] == "4400"  # the other flow's patient never lands in this form


@pytest.mark.parametrize("validation, form, requested, so_far", FREE_TEXT_QUESTIONS)
@pytest.mark.parametrize("text, intent, entities", ANSWERS)
async def test_free_text_that_names_no_other_flow_is_the_answer(
    validation: Any,
    form: str,
    requested: str,
    so_far: dict[str, Any],
    text: str,
    intent: str,
    entities: list[dict[str, Any]],
) -> None:
    replies, events = await run_form(
        validation, turn(text, intent, entities, form, requested, so_far, {requested: text})
    )
    assert replies == [] and not rejected(events, form)
    assert slot_events(events)[requested] == text


async def test_a_patient_named_in_a_free_text_answer_never_replaces_the_patient_given() -> None:
    text = "patient 8813 has chest pain"
    conversation = turn(
        text,
        "inform",
        [entity("patient_id", "8813", text)],
        "consult_form",
        "reason",
        CONSULT_SO_FAR,
        {"reason": text, "patient_id": "8813"},
    )
    _, events = await run_form(ValidateConsultForm, conversation)
    assert slot_events(events)["patient_id"] == "4400" and slot_events(events)["reason"] == text


async def test_another_flow_asked_for_at_a_closed_question_keeps_the_forms_slots() -> None:
    text = "log a new encounter for patient 8813"
    so_far = {"specialty": "cardiology", "patient_id": "4400"}
    conversation = turn(
        text,
        "log_encounter",
        [entity("patient_id", "8813", text)],
        "consult_form",
        "urgency",
        so_far,
        {"patient_id": "8813"},
    )
    _, events = await run_form(ValidateConsultForm, conversation)
    assert rejected(events, "consult_form")
    resumed = turn(
        text,
        "log_encounter",
        [entity("patient_id", "8813", text)],
        "consult_form",
        "urgency",
        so_far,
        {"patient_id": "8813"},
        latest_action="action_consult_status",
    )
    _, events = await run_form(ValidateConsultForm, resumed)
    assert slot_events(events)["patient_id"] == "4400"


async def test_the_same_flow_named_in_a_closed_answer_is_the_answer() -> None:
    """ "cardiology consult" answers "which specialist?": the consult form keeps going."""
    conversation = turn(
        "cardiology consult please",
        "request_consult",
        [entity("specialty", "cardiology")],
        "consult_form",
        "specialty",
        {"urgency": "urgent"},
        {"specialty": "cardiology"},
    )
    replies, events = await run_form(ValidateConsultForm, conversation)
    assert not rejected(events, "consult_form") and slot_events(events)["specialty"] == "cardiology"


async def test_the_read_back_steps_aside_for_another_flow() -> None:
    so_far = {**CONSULT_SO_FAR, "reason": "chest pain"}
    conversation = turn(
        "show me the hand hygiene checklist",
        "get_checklist",
        [entity("procedure", "hand_hygiene")],
        "consult_form",
        "confirmed",
        so_far,
        {},
    )
    _, events = await run_form(ValidateConsultForm, conversation)
    assert rejected(events, "consult_form")


async def test_the_cancel_form_steps_aside_too() -> None:
    conversation = turn(
        "log a new encounter",
        "log_encounter",
        [],
        "cancel_form",
        "confirmed",
        {"consult_to_cancel": {"id": 1, "key": None, "specialty": "ent", "patient_id": "1"}},
        {},
    )
    _, events = await run_form(ValidateCancelForm, conversation)
    assert rejected(events, "cancel_form")


def test_the_opening_sentence_is_never_a_request_for_something_else() -> None:
    """At activation nothing is asked yet: "log a new encounter" is what opened the form."""
    opening = tracker(
        user_message("log a new encounter", "log_encounter"), {"requested_slot": None}, active_loop="encounter_form"
    )
    assert other_request(opening, "encounter_form") is None
    assert other_request(opening, "consult_form") is None  # another form's name: not this form's turn


def test_a_guess_of_the_nlu_is_not_a_request() -> None:
    unsure = user_message("log a visit", "log_encounter")
    unsure["intent"]["confidence"] = 0.4
    conversation = tracker(unsure, {"requested_slot": "reason"}, active_loop="consult_form")
    assert other_request(conversation, "consult_form") is None


@pytest.mark.parametrize(
    "language, stopped", [("en", "Stopped. Nothing was saved."), ("hi", "रोक दिया। कुछ सेव नहीं हुआ।")]
)
async def test_a_bare_cancel_inside_a_form_stops_that_form(language: str, stopped: str) -> None:
    conversation = tracker(
        user_message("cancel", "cancel_consult"),
        {**CONSULT_SO_FAR, "requested_slot": "reason", "language": language},
        active_loop="consult_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionStartCancel().run(dispatcher, conversation, domain())
    assert said(dispatcher) == [stopped]
    assert {"event": "followup", "name": "action_listen"} in [{k: e.get(k) for k in ("event", "name")} for e in events]
    assert slot_events(events)["patient_id"] is None  # the unfinished request is dropped, as "stop" drops it


async def test_cancelling_a_named_consult_inside_a_form_starts_the_cancel_flow() -> None:
    conversation = tracker(
        user_message("cancel my cardiology consult", "cancel_consult", [entity("specialty", "cardiology")]),
        {**ENCOUNTER_SO_FAR, "requested_slot": "notes"},
        active_loop="encounter_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionStartCancel().run(dispatcher, conversation, domain())
    assert said(dispatcher) == ["I closed the unfinished form. Nothing from it was saved."]
    assert not any(e.get("event") == "followup" for e in events)


async def test_a_new_request_of_the_same_kind_at_which_field_to_change_starts_afresh() -> None:
    conversation = turn(
        "routine cardiology consult for patient 4400",
        "request_consult",
        [entity("specialty", "cardiology"), entity("urgency", "routine")],
        "consult_form",
        "correction_field",
        {**CONSULT_SO_FAR, "reason": "chest pain", "correcting": True},
        {"correction_field": "routine cardiology consult for patient 4400"},
    )
    _, events = await run_form(ValidateConsultForm, conversation)
    assert rejected(events, "consult_form")
