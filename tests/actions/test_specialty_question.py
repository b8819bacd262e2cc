"""A consult asked for without a doctor: the question says what was understood, and one word answers it."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.validation import AskSpecialty, ValidateConsultForm
from tests.support.trackers import domain, entity, said, slot_events, tracker, user_message


async def _asked(slots: dict[str, str]) -> str:
    dispatcher = CollectingDispatcher()
    opening = user_message("consult chahiye", "request_consult", [])
    await AskSpecialty().run(dispatcher, tracker(opening, slots=slots, active_loop="consult_form"), domain())
    (question,) = said(dispatcher)
    return question


async def test_the_question_repeats_the_urgency_and_patient_already_said() -> None:
    question = await _asked({"urgency": "urgent", "patient_id": "4521", "language": "en"})
    assert question.startswith("A consult, urgent, for patient 4521.")
    assert "Which doctor: heart, children, bones" in question
    hindi = await _asked({"patient_id": "4521", "language": "hi"})
    assert hindi.startswith("कंसल्ट, मरीज़ 4521 के लिए।") and "कौन से डॉक्टर: दिल, बच्चों, हड्डी" in hindi


async def test_with_nothing_understood_yet_the_plain_question_is_asked() -> None:
    assert (await _asked({"language": "en"})).startswith("Which specialist do you need?")
    assert (await _asked({"urgency": "emergency", "language": "en"})).startswith("Which specialist?")


@pytest.mark.parametrize(
    "answer, specialty",
    [("heart", "cardiology"), ("दिल", "cardiology"), ("bacche", "pediatrics"), ("gurdon wale", "nephrology")],
)
async def test_a_one_word_answer_fills_the_specialty(answer: str, specialty: str) -> None:
    """The whole answer (from_text, as the voice loop sends it) goes through the same descriptions."""
    message = user_message(answer, "inform", [])
    dispatcher = CollectingDispatcher()
    events = await ValidateConsultForm().run(
        dispatcher,
        tracker(
            message,
            slots={"requested_slot": "specialty"},
            active_loop="consult_form",
            candidates={"specialty": answer},
        ),
        domain(),
    )
    assert slot_events(events)["specialty"] == specialty


async def test_an_answer_that_names_no_doctor_is_asked_again() -> None:
    message = user_message("pata nahi", "inform", [entity("complaint", "pata nahi")])
    dispatcher = CollectingDispatcher()
    events = await ValidateConsultForm().run(
        dispatcher,
        tracker(
            message,
            slots={"requested_slot": "specialty"},
            active_loop="consult_form",
            candidates={"specialty": "pata nahi"},
        ),
        domain(),
    )
    assert slot_events(events).get("specialty") is None
    assert "didn't catch the specialty" in said(dispatcher)[0]
