"""Every question says what input comes next (docs/contracts.md): slot, mode, choices, language."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher

from actions.consult import ActionAskConsultConfirmed
from actions.encounter import ActionAskEncounterConfirmed
from actions.validation import AskComplaint, AskNotes, AskPatientId, AskReason, AskSex, AskSpecialty, AskUrgency
from assistant.core.dialogue import NextInput
from assistant.core.vocabulary import SPECIALTIES
from tests.support.trackers import domain, tracker, user_message

READ_BACK_SLOTS = {
    "specialty": "cardiology",
    "urgency": "urgent",
    "patient_id": "4521",
    "reason": "chest pain",
    "age": 45.0,
    "sex": "female",
    "complaint": "fever",
    "vitals": {},
    "notes": "",
}


async def question(action: Action, language: str = "en", slots: dict[str, Any] | None = None) -> dict[str, Any]:
    """The one bot message a question action sends."""
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker(user_message("x"), {**(slots or {}), "language": language}), domain())
    (message,) = dispatcher.messages
    return message


@pytest.mark.parametrize(
    "action, slot, mode",
    [
        (AskComplaint(), "complaint", "dictation"),
        (AskNotes(), "notes", "dictation"),
        (AskReason(), "reason", "dictation"),
        (AskPatientId(), "patient_id", "command"),
        (AskUrgency(), "urgency", "command"),
    ],
)
async def test_each_question_names_its_slot_and_mode(action: Action, slot: str, mode: str) -> None:
    expects = NextInput.of([await question(action)])
    assert (expects.slot, expects.mode, expects.language) == (slot, mode, "en")


async def test_closed_questions_offer_their_values_as_choices_and_buttons_in_the_workers_language() -> None:
    message = await question(AskUrgency(), "hi")
    expects = NextInput.of([message])
    assert [c.title for c in expects.choices] == ["सामान्य", "जल्दी", "इमरजेंसी"]
    assert [c.payload for c in expects.choices] == [
        '/inform{"urgency":"routine"}',
        '/inform{"urgency":"urgent"}',
        '/inform{"urgency":"emergency"}',
    ]
    assert message["buttons"] == [c.button() for c in expects.choices]  # what plain Rasa clients show
    assert expects.language == "hi"
    assert [c.title for c in NextInput.of([await question(AskSex())]).choices] == ["male", "female", "other"]
    assert len(NextInput.of([await question(AskSpecialty())]).choices) == len(SPECIALTIES)


@pytest.mark.parametrize("action", [ActionAskConsultConfirmed(), ActionAskEncounterConfirmed()])
async def test_a_read_back_expects_yes_or_no(action: Action) -> None:
    expects = NextInput.of([await question(action, slots=READ_BACK_SLOTS)])
    assert expects.slot == "confirmed" and [c.payload for c in expects.choices] == ["/affirm", "/deny"]


def test_a_message_without_the_payload_means_a_command_and_no_choices() -> None:
    assert NextInput.of([{"text": "Booked."}, {"custom": {"outbox": "queued"}}]) == NextInput()
    assert NextInput.of([]).mode == "command"
